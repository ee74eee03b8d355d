"""The record node: writes the stream it receives to MP4, with start/stop at runtime."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.io.video_writer import Mp4Writer
from livepose.results import MEDIA_TIME, frame_time

log = logging.getLogger(__name__)


def segment_path(path: Path, segment: int) -> Path:
    """``out.mp4`` for the first segment, then ``out-002.mp4``, ``out-003.mp4``..."""
    return path if segment == 1 else path.with_name(f"{path.stem}-{segment:03d}{path.suffix}")


class Record(Node):
    """Record the stream to an MP4 (H.264) file; 'r' starts and stops, each run in its own file."""

    inputs = ("frame",)
    reads = (MEDIA_TIME,)
    keys: ClassVar[dict[str, str]] = {"r": "toggle_recording"}
    # About a second of frames: a short encoder stall loses nothing, a long one drops the oldest.
    input_queue: ClassVar[dict[str, Any]] = {"size": 30, "policy": "drop_oldest"}

    path: str = param(..., "MP4 file to write; later segments get -002, -003... before the suffix")
    fps: float = param(0.0, "constant frame rate (0: variable, from each frame's time on its source's "
                       "clock)", ge=0)
    codec: str = param("auto", "auto: H.264 where available, else mp4v (logged)", choices=("auto", "h264", "mp4v"))
    crf: int = param(23, "H.264 quality (lower is better and bigger; 18 looks lossless)", ge=0, le=51)
    preset: str = param("superfast", "x264 speed/size trade-off (720p30 superfast: ~10 ms a frame)",
                        choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium"))
    start: bool = param(True, "record from the first frame (false: wait for the 'r' key)")
    segment_seconds: float = param(0.0, "start a new file every N seconds of video (0: one file)", ge=0)

    def setup(self) -> None:
        self._lock = threading.Lock()
        self._base = Path(self.path).expanduser()
        self._recording = self.start
        self._writer: Mp4Writer | None = None
        self._segment_start = 0.0
        self._segments = 0
        self.files: list[Path] = []
        self.frames_written = 0
        # Fail before the first frame, not after: a bad folder is a user error at startup.
        if not self._base.parent.exists():
            raise UserError(f"cannot record to {self._base}: folder {self._base.parent} does not exist")

    def toggle_recording(self) -> None:
        """Start or stop recording; a stopped recording's file is finished at once."""
        with self._lock:
            self._recording = not self._recording
            if not self._recording:
                self._finish_segment()
            log.info("recording %s", "started" if self._recording else "stopped")

    @property
    def recording(self) -> bool:
        """Whether frames are being written (false too before set-up, or when it never ran)."""
        return getattr(self, "_recording", False)

    def record_to(self, path: str | Path) -> None:
        """Record from the next frame on into ``path`` (its folder must exist), finishing the file
        being written; later segments of this path get -002, -003... (a viewer's Record button)."""
        target = Path(path).expanduser()
        if not target.parent.is_dir():
            raise UserError(f"cannot record to {target}: folder {target.parent} does not exist")
        with self._lock:
            self._finish_segment()
            self._base, self._segments, self._recording = target, 0, True
            log.info("recording to %s", target)

    def stop_recording(self) -> None:
        """Stop, the file being written finished at once (playable)."""
        with self._lock:
            if self._recording:
                self._recording = False
                self._finish_segment()
                log.info("recording stopped")

    def process(self, frame: Frame) -> None:
        with self._lock:
            if not self._recording:
                return None
            t = frame_time(frame)
            writer = self._writer
            if writer is not None and self.segment_seconds and t - self._segment_start >= self.segment_seconds:
                self._finish_segment()
            elif writer is not None and writer.size is not None and writer.size != _even_size(frame):
                log.info("frame size changed to %dx%d: starting a new file", frame.width, frame.height)
                self._finish_segment()
            if self._writer is None:
                self._start_segment(t)
            assert self._writer is not None
            self._writer.write(frame.image, t)
            self.frames_written += 1
        return None

    def _start_segment(self, t: float) -> None:
        self._segments += 1
        path = segment_path(self._base, self._segments)
        self._writer = Mp4Writer(path, fps=self.fps or None, codec=self.codec, crf=self.crf,
                                 preset=self.preset)
        self._segment_start = t
        self.files.append(path)

    def _finish_segment(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def close(self) -> None:
        with self._lock:
            self._finish_segment()
        if self.files:
            log.info("record: %d frames in %s", self.frames_written, ", ".join(map(str, self.files)))


def _even_size(frame: Frame) -> tuple[int, int]:
    return (frame.width & ~1, frame.height & ~1)
