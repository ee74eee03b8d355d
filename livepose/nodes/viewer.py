"""The viewer node: the pipeline's output in a PyQt5 + pyqtgraph window, with live plots and controls.

The window runs on the main thread (``main_thread_loop``) while this node, on its own thread,
hands it each frame through a :class:`~livepose.viewer.bridge.ViewerBridge`. Without PyQt5, a
display or the main thread it falls back, saying so once, to the OpenCV window of the ``display``
node or to running headless. Qt is imported only by ``livepose.viewer``'s window modules.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from livepose.errors import UserError
from livepose.graph.controls import RunControls
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.nodes.display import Display, display_unavailable_reason
from livepose.results import MEDIA_TIME
from livepose.viewer.availability import qt_unavailable_reason
from livepose.viewer.bridge import ViewerBridge
from livepose.viewer.trace import LandmarkTrace, parse_trace

log = logging.getLogger(__name__)


class Viewer(Node):
    """Show the pipeline live: video, plots of its throughput, latency and queues, and controls."""

    inputs = ("frame",)
    # The trace plot follows a hand or face when there is one; a viewer of any other stream is as
    # useful, so it declares no reads (the validator would warn on every pipeline without models).
    shows_output = True

    title: str = param("livepose", "window title")
    fullscreen: bool = param(False, "open full screen (F11 toggles)")
    plots: bool = param(True, "show the live plots beside the video (F2 toggles)")
    trace: str = param("hand:INDEX_FINGER_TIP", "landmark the trace plot follows: hand:NAME, face:NAME "
                       "(livepose.results.HandLandmark, FaceLandmark) or face:INDEX")
    fallback: str = param("opencv", "without PyQt5 or a display: an OpenCV window if one can open, else "
                          "headless; or always headless", choices=("opencv", "headless"))
    screenshots: str = param(".", "folder the screenshot button (Ctrl+S) writes PNG files to")
    hold_on_error: float = param(10.0, "seconds the window keeps showing a failure before it closes "
                                 "(0: at once; any key or closing it ends it sooner)", ge=0)

    def __init__(self, name: str | None = None, **params: object) -> None:
        super().__init__(name, **params)
        self._bridge: ViewerBridge | None = None
        self._trace: LandmarkTrace | None = None
        self._unavailable: str | None = None
        self._fallback: Display | None = None

    @property
    def bridge(self) -> ViewerBridge | None:
        """The hand-off to the window (``None`` when no Qt window shows this run)."""
        return self._bridge

    def main_thread_loop(self) -> Callable[[RunControls], None] | None:
        if self.ctx.headless:
            return None
        self._unavailable = qt_unavailable_reason()
        if self._unavailable is not None:
            return None
        try:
            self._landmark_trace()
        except UserError:
            return None  # setup says what is wrong, as for any parameter it refuses
        self._bridge = ViewerBridge()
        return self._show_window

    def _show_window(self, controls: RunControls) -> None:
        from livepose.viewer.app import ViewerOptions, run_viewer

        assert self._bridge is not None
        options = ViewerOptions(self.title, self.fullscreen, self.plots, Path(self.screenshots).expanduser(),
                                self.hold_on_error)
        run_viewer(controls, self._bridge, self._landmark_trace(), options)

    def _landmark_trace(self) -> LandmarkTrace:
        # Made on first use, by whichever thread comes first: the window's or setup's.
        if self._trace is None:
            try:
                self._trace = LandmarkTrace(parse_trace(self.trace))
            except ValueError as exc:
                raise UserError(str(exc)) from None
        return self._trace

    def setup(self) -> None:
        self._landmark_trace()
        if not Path(self.screenshots).expanduser().is_dir():
            raise UserError(f"screenshots folder {self.screenshots} does not exist")
        if self._bridge is not None:
            return
        headless = bool(self.ctx.headless)
        reason = ("--headless was given" if headless else self._unavailable
                  or "the pipeline does not run on the main thread")
        if self.fallback == "opencv" and not headless and display_unavailable_reason(False) is None:
            log.warning("viewer: %s; showing an OpenCV window instead", reason)
            self._fallback = Display(name=self.name, title=self.title, fullscreen=self.fullscreen)
            self._fallback.ctx = self.ctx
            self._fallback.setup()
        else:
            # Asked for (--headless) it is news; found (no screen, no PyQt5) it is a warning.
            log.log(logging.INFO if headless else logging.WARNING, "viewer: %s; running headless", reason)

    def process(self, frame: Frame) -> None:
        if self._fallback is not None:
            return self._fallback.process(frame)
        bridge = self._bridge
        if bridge is None or bridge.closed:
            return None
        assert self._trace is not None
        self._trace.add(frame.results, time.monotonic())
        media_time = frame.results.get(MEDIA_TIME)
        bridge.offer(frame.image, frame.index, None if media_time is None else float(media_time))
        bridge.hold(self.ctx.stop_event)
        return None

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
        if self._bridge is not None:
            self._bridge.close()
