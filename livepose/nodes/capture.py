"""The capture node: frames from a camera, video file, image folder, stream URL or test pattern."""

from __future__ import annotations

import logging
import time
from typing import ClassVar

import cv2

from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.io.sources import (COLOR_MATRICES, Backoff, CameraSource, SourceDisconnected, SourceFrame,
                                 VideoSource, open_source, parse_source, probe_frame_count)
from livepose.results import CAMERA, MEDIA_TIME, STILL_IMAGE

log = logging.getLogger(__name__)

_LATE_RESYNC_SECONDS = 0.5
"""A paced file that falls this far behind its clock (a pause, a stall) restarts its clock
from the current frame instead of rushing to catch up."""


class Capture(Node):
    """Read frames from a camera, a video file, an image folder or glob, a stream URL or a test pattern."""

    outputs = ("frame",)
    writes = (MEDIA_TIME, STILL_IMAGE, CAMERA)
    pipeline_source_param: ClassVar[str] = "source"

    source: str = param("0", "camera index or device, video file, image folder or glob, rtsp/http URL, "
                        "or 'synthetic'")
    width: int = param(1280, "camera: requested width; synthetic: width", ge=16, le=16384)
    height: int = param(720, "camera: requested height; synthetic: height", ge=16, le=16384)
    fps: float = param(30.0, "camera: requested rate; synthetic and image folders: frame rate", gt=0, le=1000)
    fourcc: str = param("MJPG", "camera pixel format (MJPG gives full rate at high resolutions; '' for "
                        "the driver's default)")
    mirror: bool | None = param(None, "flip left-right for a selfie view (default: cameras only)")
    frames: int = param(0, "stop after this many frames (0: the whole source; synthetic: endless)", ge=0)
    color_matrix: str = param("auto", "files and streams: YUV to BGR matrix; auto follows the video's tag, "
                              "bt601 decodes like OpenCV 4", choices=COLOR_MATRICES)
    reconnect_timeout: float = param(0.0, "seconds to keep retrying a lost camera or stream before "
                                     "ending the stream (0: until stopped)", ge=0)
    camera: str = param("", "the camera's name, written to each frame's results (set per camera by a cameras: "
                        "pipeline)")

    def setup(self) -> None:
        self._spec = parse_source(self.source)
        synthetic_frames = self.frames or None
        try:
            self._source: VideoSource = open_source(self._spec, width=self.width, height=self.height,
                                                    fps=self.fps, fourcc=self.fourcc, frames=synthetic_frames,
                                                    color_matrix=self.color_matrix)
        except UserError as error:
            if not self.camera or "--source" not in str(error):
                raise
            # One of several cameras: --source does not apply, the pipeline's cameras: section does.
            problem = str(error).split("\n")[0]
            raise UserError(f"{problem}\n    try: give camera '{self.camera}' another source under cameras: "
                            f"({self.camera}: synthetic for a test pattern, {self.camera}: clip.mp4 for a video "
                            "file, or another camera index)") from None
        self._mirrored = self.mirror if self.mirror is not None else self._spec.kind == "camera"
        self._stills = self._spec.kind == "images"
        self._paced = self.ctx.realtime and not self._source.is_live
        self._clock_start: float | None = None
        self._clock_media = 0.0
        self._emitted = 0
        granted = f" {self._source.describe_mode()}" if isinstance(self._source, CameraSource) else ""
        log.info("capture: %s%s%s", self._source.describe(), granted, ", mirrored" if self._mirrored else "")

    def expected_frames(self) -> int | None:
        """Frames the source holds (files, folders, a bounded pattern), for the progress bar.

        Works before ``setup()`` too, by looking the source up without keeping it open.
        """
        source = getattr(self, "_source", None)
        total = source.frame_count() if source is not None else probe_frame_count(parse_source(self.source))
        if self.frames:
            return min(total, self.frames) if total else self.frames
        return total

    def process(self) -> Frame | None:
        if self.frames and self._emitted >= self.frames:
            return None
        read = self._read()
        if read is None:
            return None
        if self._paced and not self._wait_until_due(read.media_time):
            return None
        image = cv2.flip(read.image, 1) if self._mirrored else read.image
        frame = Frame.capture(image, self._emitted, mirrored=self._mirrored)
        self._emitted += 1
        found: dict[str, object] = {MEDIA_TIME: read.media_time}
        if self._stills:
            found[STILL_IMAGE] = True
        if self.camera:
            found[CAMERA] = self.camera
        return frame.with_results(**found)

    def _read(self) -> SourceFrame | None:
        try:
            return self._source.read()
        except SourceDisconnected as lost:
            return self._reconnect(lost)

    def _reconnect(self, lost: SourceDisconnected) -> SourceFrame | None:
        log.warning("%s; retrying (Ctrl-C to stop)", lost)
        backoff = Backoff()
        given_up_at = time.monotonic() + self.reconnect_timeout if self.reconnect_timeout else None
        attempts = 0
        while not self.stopping:
            if given_up_at is not None and time.monotonic() >= given_up_at:
                log.error("%s did not come back within %g s: ending the stream",
                          self._source.describe(), self.reconnect_timeout)
                return None
            if self.ctx.stop_event.wait(backoff.next_delay()):
                return None
            attempts += 1
            try:
                self._source.reopen()
                frame = self._source.read()
            except SourceDisconnected as still_lost:
                if attempts == 1 or attempts % 10 == 0:
                    log.info("%s still unavailable after %d attempts: %s", self._source.describe(),
                             attempts, still_lost)
                continue
            log.info("%s is back after %d attempts", self._source.describe(), attempts)
            # The file-like clock would otherwise see the outage as lateness.
            self._clock_start = None
            return frame
        return None

    def _wait_until_due(self, media_time: float) -> bool:
        """Pace a file at its own rate; False if the pipeline stopped while waiting."""
        now = time.monotonic()
        if self._clock_start is None:
            self._clock_start, self._clock_media = now, media_time
            return True
        delay = self._clock_start + (media_time - self._clock_media) - now
        if delay < -_LATE_RESYNC_SECONDS:
            self._clock_start, self._clock_media = now, media_time
            return True
        if delay > 0:
            return not self.ctx.stop_event.wait(delay)
        return True

    def close(self) -> None:
        lost = self._source.loss_report()
        if lost:
            log.warning("capture: %s", lost)
        self._source.close()

