"""The viewer's Qt application: started on the main thread, ended when its window closes."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from livepose.graph.controls import RunControls
from livepose.viewer.bridge import ViewerBridge
from livepose.viewer.trace import LandmarkTrace

log = logging.getLogger("livepose.viewer")

_OPENCV_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


@dataclass(frozen=True)
class ViewerOptions:
    title: str
    fullscreen: bool
    plots: bool
    screenshots: Path
    hold_on_error: float


def use_pyqt_plugins() -> None:
    """Let PyQt5's Qt load its own platform plugins and fonts.

    ``import cv2`` (opencv-python's wheels carry a Qt build of their own) points these variables at
    cv2's folder; PyQt5's Qt would load cv2's plugins, built against another Qt, and abort.
    """
    marker = f"{os.sep}cv2{os.sep}"
    for variable in _OPENCV_QT_VARIABLES:
        if marker in os.environ.get(variable, ""):
            del os.environ[variable]


def run_viewer(controls: RunControls, bridge: ViewerBridge, trace: LandmarkTrace, options: ViewerOptions) -> None:
    """Open the window and run Qt's event loop until the window closes (see ``window``)."""
    use_pyqt_plugins()
    from PyQt5 import QtCore, QtWidgets

    from livepose.viewer.window import ViewerWindow

    # Qt's own chatter (XDG_RUNTIME_DIR not set, a plugin lacking a feature) is for -v, not for every run.
    QtCore.qInstallMessageHandler(lambda kind, _context, text: log.log(
        logging.ERROR if kind in (QtCore.QtCriticalMsg, QtCore.QtFatalMsg) else logging.DEBUG, "Qt: %s", text))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0] or "livepose"])
    app.setApplicationName("livepose")
    window = ViewerWindow(controls, bridge, trace, options)
    # PyQt aborts the process on an exception in a slot unless an excepthook is set: a viewer's
    # fault is logged instead, and the pipeline stops in order.
    previous_hook = sys.excepthook

    def report(kind: type[BaseException], error: BaseException, trace_back: TracebackType | None) -> None:
        log.error("viewer: %s", "".join(traceback.format_exception(kind, error, trace_back)).rstrip())
        controls.request_stop("the viewer failed")

    sys.excepthook = report
    try:
        if options.fullscreen:
            window.showFullScreen()
        else:
            window.show()
        if controls.failure is None:  # a run that could not start has said all there is to say
            log.info("viewer: window open (q or Esc quits, F1 lists the keys)")
        app.exec_()
    finally:
        sys.excepthook = previous_hook
        bridge.close()
        window.deleteLater()
