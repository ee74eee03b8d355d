"""The hand-off between the viewer node's thread and the window on the main thread.

The node thread offers each frame: the bridge keeps only the newest (a window that paints slower
than the source shows the newest frame; no queue grows) together with a copy already scaled to the
video area's size, so the main thread only copies pixels to the screen. Pause holds the node's
thread in :meth:`ViewerBridge.hold`, which holds the pipeline behind it: offline runs wait,
realtime sources drop the frames they capture meanwhile. A step lets one frame through.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from livepose.graph.metrics import SampleRing

HOLD_POLL_SECONDS = 0.05
"""While paused, how often the held thread looks at the pipeline's stop event."""


@dataclass(frozen=True)
class ShownFrame:
    """One frame as the window shows it."""

    sequence: int
    """Counts the frames offered, from 1."""
    index: int
    """The frame's index in its stream."""
    media_time: float | None
    image: np.ndarray
    """The frame at full size (BGR): what a screenshot saves."""
    view: np.ndarray
    """The frame scaled to fit the video area, aspect kept (BGR, contiguous)."""


def fit_size(image_size: tuple[int, int], area: tuple[int, int]) -> tuple[int, int]:
    """The largest (width, height) with the image's aspect that fits in ``area`` (at least 1x1)."""
    width, height = image_size
    area_width, area_height = area
    scale = min(area_width / width, area_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def scale_to_fit(image: np.ndarray, area: tuple[int, int] | None) -> np.ndarray:
    """``image`` resized to fit ``area`` (width, height), aspect kept; as it is when it fits exactly
    or no area is known yet. Area averaging when shrinking by more than half (no aliasing)."""
    height, width = image.shape[:2]
    if area is None or area[0] < 1 or area[1] < 1:
        return np.ascontiguousarray(image)
    size = fit_size((width, height), area)
    if size == (width, height):
        return np.ascontiguousarray(image)
    interpolation = cv2.INTER_AREA if size[0] < width / 2 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


class ViewerBridge:
    """Thread-safe state shared by the viewer node (pipeline thread) and its window (main thread)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._frame: ShownFrame | None = None
        self._sequence = 0
        self._view_area: tuple[int, int] | None = None
        self._paused = False
        self._steps = 0
        self._closed = False
        self.main_thread_seconds = SampleRing(1 << 14)
        """The window's time on the main thread for each frame it showed (taking it, painting it):
        what the viewer costs the thread that must stay responsive."""

    # -- the node's side ---------------------------------------------------------------------
    def offer(self, image: np.ndarray, index: int, media_time: float | None) -> None:
        """The newest frame; the scaling to the video area is done here, on the caller's thread."""
        with self._lock:
            area = self._view_area
        view = scale_to_fit(image, area)
        with self._lock:
            self._sequence += 1
            self._frame = ShownFrame(self._sequence, index, media_time, image, view)

    def hold(self, stop: threading.Event) -> None:
        """Return at once while playing; while paused, once a step is granted, the viewer resumes
        or closes, or ``stop`` is set."""
        with self._lock:
            while self._paused and not self._closed and not stop.is_set():
                if self._steps:
                    self._steps -= 1
                    return
                self._lock.wait(HOLD_POLL_SECONDS)

    # -- the window's side -------------------------------------------------------------------
    def newest(self, after: int = 0) -> ShownFrame | None:
        """The newest frame if it is newer than sequence ``after``, else ``None``."""
        with self._lock:
            frame = self._frame
        return frame if frame is not None and frame.sequence > after else None

    def set_view_area(self, width: int, height: int) -> None:
        """The video area's size in device pixels: later frames are scaled to fit it."""
        with self._lock:
            self._view_area = (int(width), int(height))

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused
            self._steps = 0
            self._lock.notify_all()

    def step(self) -> None:
        """While paused: let one more frame through."""
        with self._lock:
            if self._paused:
                self._steps += 1
                self._lock.notify_all()

    def close(self) -> None:
        """The window is gone: nothing is held any more."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
