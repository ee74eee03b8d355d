"""An MP4 writer that browsers and common players play, safe against interruption.

H.264 (yuv420p, through PyAV's FFmpeg) where the machine can encode it, MPEG-4 part 2
(``mp4v``) only as a logged fallback. Frames carry their own timestamps, so a stream with
dropped frames still plays at the right speed (variable frame rate); pass ``fps`` for a
constant rate instead.

The file is written as fragmented MP4, a fragment per keyframe. Keyframes are forced by the
frames' timestamps, one at least every second of media time however few frames a second
arrive (a frame-counted GOP would leave a 3 fps stream 10 s between fragments). Every
completed fragment is on disk and playable, so a killed process leaves a file with every
frame but those of the last second of media (below 1 fps, the last frame). ``close()``
writes the rest, then rewrites a file of moderate size as a plain MP4 with its index first
(``faststart``: frame count and duration in the header, playback in a browser before the
download ends) by copying the packets, which takes tens of milliseconds; the fragmented file
is replaced only once the copy is complete.
"""

from __future__ import annotations

import logging
import math
import os
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from livepose.errors import UserError

log = logging.getLogger(__name__)

# The 90 kHz clock of MPEG transport: fine enough for any capture jitter, and every
# common frame rate (24, 25, 30, 30000/1001, 60) is a whole number of ticks.
TIME_BASE = Fraction(1, 90000)
# MPEG-4 part 2 allows at most 16 bits of time base denominator; 30 kHz keeps those rates whole.
FALLBACK_TIME_BASE = Fraction(1, 30000)

H264_ENCODERS = ("libx264", "libopenh264", "h264")
FALLBACK_ENCODER = "mpeg4"
FASTSTART_LIMIT_BYTES = 100_000_000
"""Larger recordings stay fragmented: rewriting them could outlast the shutdown grace period."""
ENCODER_GOP_FRAMES = 600
"""The encoder's own keyframe interval, a backstop behind the time-forced keyframes for a clock
that stands still (600: MPEG-4 part 2's largest; FFmpeg's default of 12 would cut fragments
by frame count again)."""


def available_h264_encoder() -> str | None:
    """The first H.264 encoder this machine's PyAV can open, or ``None``."""
    for name in H264_ENCODERS:
        try:
            codec = av.codec.Codec(name, "w")
        except (av.error.FFmpegError, ValueError):
            continue
        if codec.type == "video":
            return codec.name
    return None


class Mp4Writer:
    """Write BGR frames with timestamps to an MP4 file.

    The file is created on the first frame, whose size fixes the video's size (odd widths
    and heights lose their last column or row: H.264's 4:2:0 needs even sizes). Timestamps
    are seconds on any clock; the first frame is time zero. ``keyframe_interval_s`` is the most
    media time between keyframes, and so between fragments: what a killed process may lose.
    ``close()`` is idempotent.
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float | None = None,
                 codec: str = "auto", crf: int = 23, preset: str = "veryfast",
                 keyframe_interval_s: float = 1.0, nominal_fps: float = 30.0,
                 faststart_limit_bytes: int = FASTSTART_LIMIT_BYTES) -> None:
        if codec not in ("auto", "h264", "mp4v"):
            raise UserError(f"codec must be auto, h264 or mp4v, not {codec!r}")
        self.path = Path(path).expanduser()
        self.constant_fps = fps
        self.crf, self.preset = crf, preset
        self.faststart_limit_bytes = faststart_limit_bytes
        # Only sets the encoder's rate control and the last frame's duration in VFR mode.
        self.nominal_fps = fps or nominal_fps
        self.encoder = self._choose_encoder(codec)
        self.time_base = FALLBACK_TIME_BASE if self.encoder == FALLBACK_ENCODER else TIME_BASE
        self.frames_written = 0
        self.size: tuple[int, int] | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._first_time: float | None = None
        self._last_pts = -1
        self._keyframe_ticks = round(keyframe_interval_s / self.time_base)
        self._last_keyframe_pts: int | None = None
        self._durations: dict[int, int] = {}
        self._closed = False
        if not self.path.parent.exists():
            raise UserError(f"cannot record to {self.path}: folder {self.path.parent} does not exist")

    @staticmethod
    def _choose_encoder(codec: str) -> str:
        if codec == "mp4v":
            return FALLBACK_ENCODER
        found = available_h264_encoder()
        if found is not None:
            return found
        if codec == "h264":
            raise UserError("this machine's PyAV/FFmpeg has no H.264 encoder: record with "
                            "codec mp4v, or install a PyAV build with libx264")
        log.warning("no H.264 encoder in this PyAV/FFmpeg build: recording MPEG-4 part 2 "
                    "(mp4v), which browsers do not play")
        return FALLBACK_ENCODER

    def _open(self, width: int, height: int) -> None:
        rate = Fraction(self.nominal_fps).limit_denominator(1001)
        try:
            container = av.open(str(self.path), mode="w", format="mp4", options={
                "movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"})
        except (OSError, av.error.FFmpegError) as exc:
            raise UserError(f"cannot create {self.path}: {exc}") from exc
        stream = container.add_stream(self.encoder, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        stream.codec_context.gop_size = ENCODER_GOP_FRAMES
        if self.encoder == "libx264":
            # zerolatency: no lookahead or B-frames, so each frame is in a packet as soon as it
            # is encoded and an interruption loses nothing still held in the encoder. forced-idr:
            # a forced keyframe is an IDR frame, from which a fragment decodes on its own.
            stream.options = {"preset": self.preset, "crf": str(self.crf), "tune": "zerolatency",
                              "profile": "high", "forced-idr": "1"}
        elif self.encoder == FALLBACK_ENCODER:
            stream.codec_tag = "mp4v"
            stream.bit_rate = 8_000_000
        self._container, self._stream = container, stream
        self.size = (width, height)
        log.info("recording %s: %s %dx%d, %s", self.path, self.encoder, width, height,
                 f"{self.constant_fps:g} fps" if self.constant_fps else "variable frame rate")

    def _pts(self, timestamp: float | None) -> int:
        if self.constant_fps:
            pts = round(self.frames_written / self.constant_fps / self.time_base)
        else:
            if timestamp is None or not math.isfinite(timestamp):
                raise ValueError("a variable-frame-rate writer needs a timestamp for every frame")
            if self._first_time is None:
                self._first_time = timestamp
            pts = round((timestamp - self._first_time) / self.time_base)
        # Timestamps must strictly increase; equal or backwards clocks get the next tick.
        pts = max(pts, self._last_pts + 1)
        return pts

    def write(self, image: np.ndarray, timestamp: float | None = None) -> None:
        """Encode one BGR uint8 frame shown at ``timestamp`` seconds (any origin)."""
        if self._closed:
            raise RuntimeError(f"{self.path} is already closed")
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 image, got {image.dtype} {image.shape}")
        height, width = image.shape[0] & ~1, image.shape[1] & ~1
        if self._stream is None:
            self._open(width, height)
        assert self._stream is not None and self._container is not None and self.size is not None
        if (width, height) != self.size:
            raise ValueError(f"frame size {width}x{height} differs from the recording's "
                             f"{self.size[0]}x{self.size[1]}")
        if image.shape[0] != height or image.shape[1] != width:
            image = image[:height, :width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        pts = self._pts(timestamp)
        frame.pts = pts
        frame.time_base = self.time_base
        # The muxer closes a fragment at each keyframe: one per interval of media time bounds
        # what a kill loses, whatever the frame rate.
        if self._last_keyframe_pts is None or pts - self._last_keyframe_pts >= self._keyframe_ticks:
            frame.pict_type = av.video.frame.PictureType.I
            self._last_keyframe_pts = pts
        # A frame lasts until the next one, which is not known yet: the interval before it is
        # the best guess, and it is what gives the last frame (and the file) its duration.
        nominal = round(1 / self.nominal_fps / self.time_base)
        self._durations[pts] = pts - self._last_pts if self._last_pts >= 0 else nominal
        self._last_pts = pts
        self._mux(self._stream.encode(frame))
        self.frames_written += 1

    def _mux(self, packets: list[av.Packet]) -> None:
        assert self._container is not None
        for packet in packets:
            # Encoders stamp packets with 1/fps; the muxer takes the last one's as the file's end.
            if packet.pts is not None and packet.pts in self._durations:
                packet.duration = self._durations.pop(packet.pts)
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file; a writer that got no frame leaves no file."""
        if self._closed:
            return
        self._closed = True
        if self._container is None or self._stream is None:
            return
        try:
            self._mux(self._stream.encode(None))
        finally:
            self._container.close()
            self._container = None
        if self.path.stat().st_size <= self.faststart_limit_bytes:
            self._rewrite_with_index_first()
        log.debug("recorded %d frames to %s", self.frames_written, self.path)

    def _rewrite_with_index_first(self) -> None:
        started = time.perf_counter()
        partial = self.path.with_name(self.path.name + ".part")
        try:
            with av.open(str(self.path)) as source, \
                    av.open(str(partial), mode="w", format="mp4", options={"movflags": "faststart"}) as target:
                stream = source.streams.video[0]
                copy = target.add_stream_from_template(stream)
                for packet in source.demux(stream):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = copy
                    target.mux(packet)
            os.replace(partial, self.path)
        except (OSError, av.error.FFmpegError) as exc:
            # The fragmented file is complete and playable as it is.
            log.warning("kept %s fragmented: rewriting it failed (%s)", self.path, exc)
            partial.unlink(missing_ok=True)
            return
        log.debug("rewrote %s with its index first in %.0f ms", self.path, (time.perf_counter() - started) * 1000)

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
