"""Drives the viewer's window from inside its own Qt event loop, as a user would, for the tests.

``run_with_script(spec, script)`` runs the pipeline on the main thread (so the viewer opens, Qt
offscreen) while ``script(window)``, a generator, acts on the window: each ``yield predicate``
waits (event-driven, polled every 10 ms by a Qt timer) until ``predicate()`` is true, at most
``WAIT_SECONDS``. A failing assertion in the script closes the window and is raised after the run.
"""

from __future__ import annotations

import time
from typing import Callable, Generator

from PyQt5 import QtCore, QtWidgets

from livepose.graph.runner import Runner, RunResult
from livepose.graph.spec import PipelineSpec
from livepose.viewer.app import use_pyqt_plugins
from livepose.viewer.window import ViewerWindow

WAIT_SECONDS = 20.0
Script = Callable[[ViewerWindow], Generator[Callable[[], bool], None, None]]


_application: QtWidgets.QApplication | None = None  # kept: an unreferenced QApplication is deleted at once


def application() -> QtWidgets.QApplication:
    global _application
    use_pyqt_plugins()
    _application = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["livepose-tests"])
    return _application


class _Driver:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.steps: Generator[Callable[[], bool], None, None] | None = None
        self.waiting: Callable[[], bool] | None = None
        self.deadline = time.monotonic() + WAIT_SECONDS
        self.error: BaseException | None = None
        self.done = False
        self.window: ViewerWindow | None = None
        self.timer = QtCore.QTimer(interval=10, timeout=self.poll)
        self.timer.start()

    def poll(self) -> None:
        if self.done:
            return
        try:
            if self.window is None:
                windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, ViewerWindow)
                           and w.isVisible()]
                if not windows:
                    return
                self.window = windows[0]
                self.steps = self.script(self.window)
                self.waiting = lambda: True
            assert self.steps is not None and self.waiting is not None
            while self.waiting():
                self.waiting = next(self.steps)
                self.deadline = time.monotonic() + WAIT_SECONDS
            if time.monotonic() > self.deadline:
                raise AssertionError(f"waited {WAIT_SECONDS:.0f} s in vain for {self.waiting}")
        except StopIteration:
            self.done = True
        except BaseException as exc:  # noqa: BLE001 (re-raised after the run)
            self.error, self.done = exc, True
            if self.window is not None:
                self.window.close()


def run_with_script(spec: PipelineSpec, script: Script) -> tuple[RunResult, Runner]:
    application()
    runner = Runner(spec, headless=False, install_signal_handlers=False)
    driver = _Driver(script)
    try:
        result = runner.run()
    finally:
        driver.timer.stop()
    if driver.error is not None:
        raise driver.error
    assert driver.window is not None, "no viewer window opened"
    return result, runner
