"""Video sources: cameras, video files, image folders, stream URLs and a synthetic pattern.

Every source is a plain object with no threads of its own: ``read()`` returns the next
:class:`SourceFrame` or ``None`` at the end of the stream. Sources never raise on a frame
that fails to decode: they count it in ``decode_errors`` and go on to the next one, and
``loss_report()`` says at the end what was lost (a file that ended before its header's last
frame is reported as truncated; an image folder names each unreadable image as it skips it).
A live source (camera, stream) that stops delivering raises :class:`SourceDisconnected`; the
caller decides whether to ``reopen()`` it (the capture node retries with :class:`Backoff`).
"""

from __future__ import annotations

import glob
import logging
import math
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import av
import av.video.reformatter
import cv2
import numpy as np

from livepose.errors import UserError

log = logging.getLogger(__name__)

SourceKind = Literal["camera", "file", "images", "url", "synthetic"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm"})
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


@dataclass(frozen=True)
class SourceSpec:
    """What ``--source`` names: the kind of source and its target (index, path, pattern, URL)."""

    kind: SourceKind
    target: str | int


def parse_source(text: str) -> SourceSpec:
    """Tell what kind of source a ``--source`` string names.

    ``synthetic`` is the test pattern; a bare number is a camera index and ``/dev/video*`` a
    camera device; ``scheme://...`` a stream URL; a pattern with ``*?[`` a glob of images;
    a directory a folder of images; a path with an image extension a single image; anything
    else a video file.
    """
    text = text.strip()
    if not text:
        raise UserError("empty --source: give a camera index (0), a video or image path, "
                        "a folder, a URL or 'synthetic'")
    if text.lower() == "synthetic":
        return SourceSpec("synthetic", "synthetic")
    if text.isdigit():
        return SourceSpec("camera", int(text))
    if text.startswith("/dev/video"):
        return SourceSpec("camera", text)
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", text)
    if scheme and scheme.group(1).lower() in URL_SCHEMES:
        return SourceSpec("url", text)
    if any(ch in text for ch in "*?["):
        return SourceSpec("images", text)
    path = Path(text).expanduser()
    if path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS:
        return SourceSpec("images", str(path))
    return SourceSpec("file", str(path))


@dataclass(frozen=True)
class SourceFrame:
    """One picture read from a source, with its time on the source's own clock."""

    image: np.ndarray
    """BGR uint8."""
    media_time: float
    """Seconds since the stream's first frame: the file's timestamps, or the arrival time
    for live sources, so a recording of a file keeps the file's timing however fast it is
    processed."""


class SourceDisconnected(Exception):
    """A live source stopped delivering frames; it may come back after ``reopen()``."""


class VideoSource:
    """Base of the sources: a stream of :class:`SourceFrame` read one at a time."""

    is_live: bool = False
    """Cameras and streams run at their own pace and are never paced or waited for."""

    def __init__(self) -> None:
        self.decode_errors = 0

    @property
    def fps(self) -> float | None:
        """Nominal frames per second, when the source knows it."""
        return None

    def frame_count(self) -> int | None:
        """How many frames the stream has, when known (files, folders)."""
        return None

    def read(self) -> SourceFrame | None:
        """The next frame, or ``None`` at the end of the stream."""
        raise NotImplementedError

    def reopen(self) -> None:
        """Open a live source again after :class:`SourceDisconnected`."""
        raise SourceDisconnected(f"{self.describe()} cannot be reopened")

    def loss_report(self) -> str | None:
        """What the stream read so far lost, in one line naming the source; ``None`` if nothing."""
        if not self.decode_errors:
            return None
        return f"skipped {self.decode_errors} frame(s) of {self.describe()} that failed to decode"

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file; safe to call more than once."""


class Backoff:
    """Delays for retrying a lost source: doubling from ``first`` up to ``longest`` seconds."""

    def __init__(self, first: float = 0.25, longest: float = 4.0) -> None:
        self.first = first
        self.longest = longest
        self._next = first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.longest)
        return delay

    def reset(self) -> None:
        self._next = self.first


def _camera_api() -> int:
    # CAP_ANY tries every backend in turn and logs a failure for each one; the platform's
    # native backend gives one clear failure and honours FOURCC/size requests.
    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    if sys.platform == "win32":
        return cv2.CAP_DSHOW
    return cv2.CAP_ANY


def _missing_linux_device(device: int | str) -> bool:
    """Whether ``device`` names a V4L2 device that does not exist (Linux only; elsewhere unknown)."""
    if not sys.platform.startswith("linux"):
        return False
    path = f"/dev/video{device}" if isinstance(device, int) else str(device)
    return path.startswith("/dev/") and not os.path.exists(path)


@contextmanager
def _opencv_quiet() -> Iterator[None]:
    """OpenCV logs a warning per backend it tries; livepose says what failed itself."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


class CameraSource(VideoSource):
    """A webcam by index or device path, asking for a size, frame rate and FOURCC."""

    is_live = True

    def __init__(self, device: int | str, *, width: int = 0, height: int = 0, fps: float = 0,
                 fourcc: str = "") -> None:
        super().__init__()
        if fourcc and len(fourcc) != 4:
            raise UserError(f"fourcc must be 4 characters such as MJPG or YUYV, not {fourcc!r}")
        self.device = device
        self.width, self.height, self.requested_fps, self.fourcc = width, height, fps, fourcc
        self._capture: cv2.VideoCapture | None = None
        self._first_arrival: float | None = None
        self._open()

    def _open(self) -> None:
        if _missing_linux_device(self.device):
            # Asking OpenCV would only add its own warnings to ours, and take longer.
            raise UserError(self._open_failure_message())
        with _opencv_quiet():
            capture = cv2.VideoCapture(self.device, _camera_api())
        if not capture.isOpened():
            capture.release()
            raise UserError(self._open_failure_message())
        if self.fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
        if self.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        if self.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        if self.requested_fps:
            capture.set(cv2.CAP_PROP_FPS, self.requested_fps)
        self._capture = capture

    def _open_failure_message(self) -> str:
        which = f"camera {self.device}" if isinstance(self.device, int) else f"camera device {self.device}"
        if sys.platform.startswith("linux"):
            devices = sorted(glob.glob("/dev/video*"))
            found = (f"video devices here: {', '.join(devices)}; check that no other program holds the "
                     "camera and that you may read it (group 'video')" if devices
                     else "this machine has no video devices (/dev/video*)")
        else:
            found = "check that it is connected, not in use, and that this terminal may use the camera"
        return (f"cannot open {which}: {found}.\n"
                "    try: --source synthetic (a test pattern), --source clip.mp4 (a video file), "
                "or --source 1 (another camera)")

    @property
    def fps(self) -> float | None:
        value = self._capture.get(cv2.CAP_PROP_FPS) if self._capture is not None else 0.0
        return value if value > 0 else None

    def actual_size(self) -> tuple[int, int]:
        """The (width, height) the driver granted, which may differ from the request."""
        if self._capture is None:
            return (0, 0)
        return (int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def read(self) -> SourceFrame | None:
        if self._capture is None:
            raise SourceDisconnected(f"{self.describe()} is closed")
        ok, image = self._capture.read()
        if not ok or image is None:
            raise SourceDisconnected(f"{self.describe()} stopped delivering frames")
        now = time.monotonic()
        if self._first_arrival is None:
            self._first_arrival = now
        return SourceFrame(image, now - self._first_arrival)

    def reopen(self) -> None:
        self.close()
        try:
            self._open()
        except UserError as exc:
            raise SourceDisconnected(str(exc)) from exc

    def describe(self) -> str:
        return f"camera {self.device}"

    def describe_mode(self) -> str:
        """What the driver granted, which may differ from the request (size, rate, format)."""
        width, height = self.actual_size()
        granted = f"{width}x{height}" + (f" at {self.fps:g} fps" if self.fps else "")
        if self.width and self.height and (width, height) != (self.width, self.height):
            granted += f" (asked for {self.width}x{self.height})"
        return granted

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


COLOR_MATRICES = ("auto", "bt601", "bt709")
"""How decoded YUV becomes BGR: ``auto`` follows the stream's own colour tag (BT.601 when it has
none); ``bt601`` / ``bt709`` force one. OpenCV 4 (and so most Python pipelines, MediaPipe's
examples included) always uses BT.601, so ``bt601`` reproduces its pixels on BT.709-tagged video."""


def _color_conversion(color_matrix: str) -> dict[str, str]:
    if color_matrix not in COLOR_MATRICES:
        raise ValueError(f"color_matrix must be one of {', '.join(COLOR_MATRICES)}, not {color_matrix!r}")
    return {} if color_matrix == "auto" else {"src_colorspace": {"bt601": "ITU601", "bt709": "ITU709"}[color_matrix]}


class _AvSource(VideoSource):
    """Shared decoding through PyAV (FFmpeg): files and network streams."""

    def __init__(self, location: str, options: dict[str, str] | None = None,
                 color_matrix: str = "auto") -> None:
        super().__init__()
        self.location = location
        self._options = options or {}
        self._convert_options = _color_conversion(color_matrix)
        # One converter for the stream, single-threaded: ``VideoFrame.to_ndarray`` builds a fresh
        # scaler per frame, whose worker threads are started and joined every time (2 thread
        # creations a frame on a 2-core machine, 0.06 ms and several context switches each).
        self._reformatter = av.video.reformatter.VideoReformatter()
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._start_pts = 0
        self._last_time = -math.inf
        self._first_arrival: float | None = None
        self.frames_read = 0
        """Frames ``read()`` has returned."""
        self._packets = 0
        self._reached_end = False
        self._open()

    def _open(self) -> None:
        try:
            container = av.open(self.location, mode="r", options=self._options, timeout=10.0)
        except FileNotFoundError as exc:
            raise UserError(f"video file not found: {self.location}. Check the path.") from exc
        except av.error.FFmpegError as exc:
            raise UserError(self._open_failure_message(exc)) from exc
        if not container.streams.video:
            container.close()
            raise UserError(f"{self.location} has no video stream: give a video file, "
                            f"an image folder or a camera index.")
        stream = container.streams.video[0]
        # Let FFmpeg decode on several threads: a 720p H.264 stream then costs ~1 ms a frame.
        stream.thread_type = "AUTO"
        self._container = container
        self._stream = stream
        self._start_pts = stream.start_time or 0
        self._frames = self._decode(container, stream)

    def _open_failure_message(self, exc: Exception) -> str:
        raise NotImplementedError

    def _decode(self, container: av.container.InputContainer,
                stream: av.video.stream.VideoStream) -> Iterator[av.VideoFrame]:
        for packet in container.demux(stream):
            if packet.dts is not None:  # not the demuxer's end-of-stream marker
                self._packets += 1
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                self.decode_errors += 1
                log.debug("%s: skipped a packet that failed to decode: %s", self.describe(), exc)
                continue
            yield from decoded

    def _next_decoded(self) -> av.VideoFrame | None:
        assert self._frames is not None
        try:
            return next(self._frames)
        except StopIteration:
            return None

    def _to_source_frame(self, frame: av.VideoFrame) -> SourceFrame | None:
        try:
            image = self._reformatter.reformat(frame, format="bgr24", threads=1,
                                               **self._convert_options).to_ndarray()
        except (av.error.FFmpegError, ValueError) as exc:
            self.decode_errors += 1
            log.debug("%s: skipped a frame that failed to convert: %s", self.describe(), exc)
            return None
        self.frames_read += 1
        return SourceFrame(image, self._media_time(frame))

    def frame_count(self) -> int | None:
        stream = self._stream
        if stream is None or self.is_live:
            return None
        if stream.frames:
            return int(stream.frames)
        # Containers such as WebM do not store a frame count: estimate it from the duration.
        if self._container is not None and self._container.duration and stream.average_rate:
            return round(self._container.duration / av.time_base * float(stream.average_rate))
        return None

    def _media_time(self, frame: av.VideoFrame) -> float:
        """The frame's time in the file, from zero; a frame without one follows its predecessor."""
        if frame.pts is None or frame.time_base is None:
            estimate = self._last_time + 1.0 / (self.fps or 30.0) if self._last_time > -math.inf else 0.0
        else:
            estimate = float((frame.pts - self._start_pts) * frame.time_base)
        self._last_time = max(estimate, 0.0)
        return self._last_time

    def _read_to_end(self) -> SourceFrame | None:
        """Read a finite stream: damaged parts are skipped, its end is the end."""
        while self._frames is not None:
            try:
                decoded = self._next_decoded()
            except av.error.FFmpegError as exc:
                # The demuxer itself gave up (a truncated or damaged file): what was read stands.
                self.decode_errors += 1
                log.warning("%s: stopped reading at a damaged part: %s", self.describe(), exc)
                self._reached_end = True
                return None
            if decoded is None:
                self._reached_end = True
                return None
            frame = self._to_source_frame(decoded)
            if frame is not None:
                return frame
        return None

    @property
    def fps(self) -> float | None:
        rate = self._stream.average_rate if self._stream is not None else None
        return float(rate) if rate else None

    def loss_report(self) -> str | None:
        """Read to its end, a file that demuxed fewer packets than its header counts frames was cut
        short (an intact one demuxes exactly that many, however many decode): the report says how
        many of its frames it held."""
        expected = int(self._stream.frames) if self._stream is not None else 0
        if self._reached_end and 0 < self._packets < expected:
            report = f"{self.location}: the file ended after {self.frames_read} of {expected} frames (truncated?)"
            return report + (f"; {self.decode_errors} failed to decode" if self.decode_errors else "")
        return super().loss_report()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._frames = None


class VideoFileSource(_AvSource):
    """A video file read frame by frame; frames that fail to decode are skipped and counted."""

    def __init__(self, path: str | os.PathLike[str], color_matrix: str = "auto") -> None:
        path = Path(path).expanduser()
        if not path.exists():
            raise UserError(f"video file not found: {path}. Check the path, or use --source 0 "
                            f"for a camera or --source synthetic for the test pattern.")
        if path.is_dir():
            raise UserError(f"{path} is a folder: to read its images, the capture node treats "
                            f"folders as image sequences (--source {path}).")
        super().__init__(str(path), color_matrix=color_matrix)

    def _open_failure_message(self, exc: Exception) -> str:
        return (f"could not read {self.location} as a video ({exc}). The file may be corrupt, "
                f"truncated or not a video; check that it plays in a video player.")

    def read(self) -> SourceFrame | None:
        return self._read_to_end()

    def describe(self) -> str:
        return f"video file {self.location}"


class StreamSource(_AvSource):
    """A network stream (RTSP, HTTP, ...), reopened by the caller when it drops.

    A URL of a finite video (one with a duration, such as an MP4 on a web server) is read like
    a file instead: paced in realtime mode, and its end is the end of the stream.
    """

    def __init__(self, url: str, color_matrix: str = "auto") -> None:
        options = {"rtsp_transport": "tcp"} if url.lower().startswith("rtsp") else {}
        super().__init__(url, options, color_matrix)

    def _open(self) -> None:
        super()._open()
        assert self._container is not None
        self.is_live = self._container.duration is None

    def _open_failure_message(self, exc: Exception) -> str:
        return (f"could not open stream {self.location} ({exc}). Check the URL, that the server "
                f"is running and reachable from this machine, and any user name and password.")

    def _media_time(self, frame: av.VideoFrame) -> float:
        if not self.is_live:
            return super()._media_time(frame)
        # A live stream's timestamps restart when it reconnects: arrival times keep one timeline.
        now = time.monotonic()
        if self._first_arrival is None:
            self._first_arrival = now
        return now - self._first_arrival

    def read(self) -> SourceFrame | None:
        if not self.is_live:
            return self._read_to_end()
        while True:
            try:
                decoded = self._next_decoded() if self._frames is not None else None
            except av.error.FFmpegError as exc:
                raise SourceDisconnected(f"{self.describe()} failed: {exc}") from exc
            if decoded is None:
                raise SourceDisconnected(f"{self.describe()} ended")
            frame = self._to_source_frame(decoded)
            if frame is not None:
                return frame

    def reopen(self) -> None:
        self.close()
        try:
            self._open()
        except UserError as exc:
            raise SourceDisconnected(str(exc)) from exc

    def describe(self) -> str:
        return f"stream {self.location}"


class ImageFolderSource(VideoSource):
    """Still images, from a folder (sorted by name), a glob pattern or a single file."""

    def __init__(self, pattern: str, *, fps: float = 30.0) -> None:
        super().__init__()
        self.pattern = pattern
        self._fps = fps
        self.paths = self._list(pattern)
        self._next = 0

    @staticmethod
    def _list(pattern: str) -> list[Path]:
        path = Path(pattern).expanduser()
        if any(ch in pattern for ch in "*?["):
            found = [Path(p) for p in sorted(glob.glob(str(path), recursive=True))]
            paths = [p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
            if not paths:
                raise UserError(f"no images match {pattern}: check the pattern (quote it so "
                                f"the shell does not expand it).")
            return paths
        if path.is_dir():
            paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
            if not paths:
                raise UserError(f"folder {path} holds no images "
                                f"({', '.join(sorted(IMAGE_EXTENSIONS))}).")
            return paths
        if not path.exists():
            raise UserError(f"image not found: {path}. Check the path.")
        return [path]

    @property
    def fps(self) -> float | None:
        return self._fps

    def frame_count(self) -> int | None:
        return len(self.paths)

    def read(self) -> SourceFrame | None:
        while self._next < len(self.paths):
            position = self._next
            self._next += 1
            path = self.paths[position]
            image, fault = _read_image(path)
            if image is None:
                # Each image is read once, so this names each bad file once.
                self.decode_errors += 1
                log.warning("skipped %s: %s", path, fault)
                continue
            return SourceFrame(image, position / self._fps)
        return None

    def loss_report(self) -> str | None:
        # Each skipped image was named when it was read.
        return None

    def describe(self) -> str:
        return f"images {self.pattern}"


def _read_image(path: Path) -> tuple[np.ndarray | None, str]:
    """A BGR image from a file, or ``None`` and why not.

    A JPEG or PNG cut short is refused before decoding: OpenCV would return a JPEG's missing part
    as grey, and libjpeg / libpng print their own message, which does not name the file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if data.startswith(b"\xff\xd8") and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        # Entropy-coded data never holds 0xFFD9 (0xFF bytes are stuffed), so the last scan
        # (0xFFDA) of a complete JPEG is followed by its end-of-image marker.
        return None, "the JPEG ends before its end-of-image marker (truncated?)"
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data.rfind(b"IEND") < 0:
        return None, "the PNG ends before its IEND chunk (truncated?)"
    # cv2.imdecode turns the image upright by its EXIF orientation, as cv2.imread does.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None, "not a readable image"
    return image, ""


class SyntheticSource(VideoSource):
    """A moving test pattern (shapes on a gradient) for tests and benchmarks with no media.

    Frame ``i`` depends only on ``i``, so runs are reproducible.
    """

    def __init__(self, *, width: int = 1280, height: int = 720, fps: float = 30.0,
                 frames: int | None = None) -> None:
        super().__init__()
        if width < 16 or height < 16:
            raise UserError(f"synthetic source size {width}x{height} is too small (16x16 at least)")
        self.width, self.height, self._fps, self.frames = width, height, fps, frames
        self._index = 0
        gradient_x = np.linspace(40, 120, width, dtype=np.float32)[None, :]
        gradient_y = np.linspace(30, 90, height, dtype=np.float32)[:, None]
        background = np.empty((height, width, 3), np.uint8)
        background[..., 0] = (gradient_x + gradient_y * 0.5).astype(np.uint8)
        background[..., 1] = (gradient_y + 20).astype(np.uint8)
        background[..., 2] = (gradient_x * 0.5 + 30).astype(np.uint8)
        self._background = background

    @property
    def fps(self) -> float | None:
        return self._fps

    def frame_count(self) -> int | None:
        return self.frames

    def render(self, index: int) -> np.ndarray:
        """The pattern's frame ``index``."""
        image = self._background.copy()
        w, h = self.width, self.height
        t = index / self._fps
        radius = max(4, min(w, h) // 12)
        cx = int(w / 2 + (w / 2 - radius * 1.5) * math.sin(t * 1.3))
        cy = int(h / 2 + (h / 2 - radius * 1.5) * math.sin(t * 0.9 + 1.0))
        cv2.circle(image, (cx, cy), radius, (40, 200, 250), -1, cv2.LINE_AA)
        box = ((w * (0.5 + 0.3 * math.cos(t * 0.7)), h * (0.5 + 0.25 * math.sin(t * 1.1))),
               (min(w, h) * 0.25, min(w, h) * 0.12), math.degrees(t * 1.7))
        corners = cv2.boxPoints(box).astype(np.int32)
        cv2.fillPoly(image, [corners], (220, 90, 60), cv2.LINE_AA)
        bar_x = int((index * 7) % w)
        cv2.rectangle(image, (bar_x, 0), (min(w - 1, bar_x + 5), h - 1), (250, 250, 250), -1)
        cv2.putText(image, f"{index:06d}", (10, h - 12), cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.4, h / 720), (255, 255, 255), 2, cv2.LINE_AA)
        return image

    def read(self) -> SourceFrame | None:
        if self.frames is not None and self._index >= self.frames:
            return None
        index = self._index
        self._index += 1
        return SourceFrame(self.render(index), index / self._fps)

    def describe(self) -> str:
        return f"synthetic {self.width}x{self.height}@{self._fps:g}"


def open_source(spec: SourceSpec, *, width: int = 1280, height: int = 720, fps: float = 30.0,
                fourcc: str = "", frames: int | None = None, color_matrix: str = "auto") -> VideoSource:
    """Open the source a :class:`SourceSpec` names.

    ``width``, ``height`` and ``fps`` are requests to a camera and the size and rate of the
    synthetic pattern; ``fps`` also paces an image folder. ``frames`` bounds the synthetic
    pattern (``None``: endless). ``color_matrix`` (see :data:`COLOR_MATRICES`) applies to files
    and streams. Raises :class:`~livepose.errors.UserError` saying what to try
    when the source cannot be opened.
    """
    if spec.kind == "camera":
        return CameraSource(spec.target, width=width, height=height, fps=fps, fourcc=fourcc)
    if spec.kind == "file":
        return VideoFileSource(str(spec.target), color_matrix=color_matrix)
    if spec.kind == "images":
        return ImageFolderSource(str(spec.target), fps=fps)
    if spec.kind == "url":
        return StreamSource(str(spec.target), color_matrix=color_matrix)
    return SyntheticSource(width=width, height=height, fps=fps, frames=frames)


def probe_frame_count(spec: SourceSpec) -> int | None:
    """How many frames a file or image folder holds, without keeping it open; ``None`` for
    live and endless sources or when the source cannot be read (opening it will say why)."""
    if spec.kind not in ("file", "images"):
        return None
    try:
        source = VideoFileSource(str(spec.target)) if spec.kind == "file" else ImageFolderSource(str(spec.target))
    except UserError:
        return None
    try:
        return source.frame_count()
    finally:
        source.close()
