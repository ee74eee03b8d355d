"""The viewer's main window: video, live plots, controls, status line and help.

Shortcuts: q or Esc quit, space pause, Right arrow one frame (offline, paused), F1 help, F2 plots,
F11 full screen, Ctrl+S screenshot; every other key goes to the pipeline as it would from a display
window (YAML hotkeys toggle their nodes, ``r`` starts and stops a recorder).
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Callable

import cv2
from PyQt5 import QtCore, QtGui, QtWidgets

from livepose.graph.controls import RunControls
from livepose.graph.keys import QUIT_KEYS
from livepose.logs import warn_once
from livepose.models.in_use import providers_in_use
from livepose.nodes.record import Record
from livepose.viewer.app import ViewerOptions
from livepose.viewer.bridge import ViewerBridge
from livepose.viewer.plots import PlotsPanel
from livepose.viewer.series import SAMPLE_SECONDS, RunSeries
from livepose.viewer.trace import LandmarkTrace
from livepose.viewer.video import VideoView

log = logging.getLogger(__name__)

FRAME_POLL_MS = 5
"""How often the window looks for a new frame: well under a frame at 60 fps."""

FAILURE_STYLE = "background: rgba(160, 0, 0, 220); color: white; padding: 8px; font-weight: bold"
NOTICE_STYLE = "background: rgba(200, 150, 0, 230); color: black; padding: 8px"
NOTICE_MS = 8000
"""How long a notice (a reload that failed) stays over the video."""

SHORTCUTS = [
    ("q, Esc", "quit (the pipeline stops in order)"),
    ("Space", "pause / resume"),
    ("Right", "one frame (offline, while paused)"),
    ("Ctrl+S", "screenshot of the frame (PNG)"),
    ("F1", "this help"),
    ("F2", "show / hide the plots"),
    ("F11", "full screen"),
]


class ViewerWindow(QtWidgets.QMainWindow):
    def __init__(self, controls: RunControls, bridge: ViewerBridge, trace: LandmarkTrace,
                 options: ViewerOptions) -> None:
        super().__init__()
        self.controls, self.bridge, self.options = controls, bridge, options
        self.series = RunSeries(controls.metrics)
        self._shown_sequence = 0
        self._shown_index: int | None = None
        self._closing = False
        self._failure_shown = False
        self._notices_shown = 0
        self.setWindowTitle(f"{options.title}: {controls.name}")
        self.resize(1400, 800)

        self.video = VideoView(bridge)
        self.plots = PlotsPanel(self.series, trace)
        self.plots.setMinimumWidth(360)
        self.plots.setVisible(options.plots)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        splitter.addWidget(self.video)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        self.banner = QtWidgets.QLabel(self.video)
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.help = QtWidgets.QLabel(self.video)
        self.help.setStyleSheet("background: rgba(0, 0, 0, 200); color: white; padding: 14px; font-size: 13px")
        self.help.setTextFormat(QtCore.Qt.RichText)
        self.help.hide()

        self._build_toolbar()
        self.status = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status, 1)
        self._refresh_help()

        self._frame_timer = QtCore.QTimer(self, interval=FRAME_POLL_MS, timeout=self._show_newest)
        self._frame_timer.start()
        self._stats_timer = QtCore.QTimer(self, interval=round(SAMPLE_SECONDS * 1000), timeout=self._tick)
        self._stats_timer.start()

    # -- building ---------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = self.addToolBar("controls")
        bar.setMovable(False)
        self.pause_action = self._action(bar, "Pause", "pause or resume (Space)", self._toggle_pause, checkable=True)
        self.step_action = self._action(bar, "Step", "one frame, while paused (Right arrow)", self.bridge.step)
        bar.addSeparator()
        self.toggle_actions: dict[str, QtWidgets.QAction] = {}
        for toggle in self.controls.toggles():
            action = self._action(bar, f"{toggle.name} [{toggle.hotkey}]", f"switch node '{toggle.name}' "
                                  f"({toggle.type_name}) on and off (key {toggle.hotkey})",
                                  lambda _=False, key=toggle.hotkey: self._press(key), checkable=True)
            action.setChecked(self.controls.enabled(toggle.name))
            self.toggle_actions[toggle.name] = action
        bar.addSeparator()
        self.recorders = self.controls.nodes_of(Record)
        self.record_path = QtWidgets.QLineEdit(datetime.now().strftime("livepose-%Y%m%d-%H%M%S.mp4"))
        self.record_path.setFixedWidth(280)
        self.record_path.setCursorPosition(0)
        self.record_path.setToolTip("the file the Record button writes (MP4)")
        bar.addWidget(self.record_path)
        self.record_action = self._action(bar, "Record", "start / stop recording to the file named on the left",
                                          self._toggle_record, checkable=True)
        if not self.recorders:
            for widget in (self.record_action, self.record_path):
                widget.setEnabled(False)
            self.record_action.setToolTip("no record node in this pipeline in this process: add one with "
                                          "start: false (the packaged demos have one)")
        self._action(bar, "Screenshot", "save the frame as PNG (Ctrl+S)", self.screenshot, "Ctrl+S")
        bar.addSeparator()
        self._action(bar, "Plots", "show / hide the plots (F2)", self._toggle_plots, "F2")
        self._action(bar, "Full screen", "full screen (F11)", self._toggle_fullscreen, "F11")
        self._action(bar, "Help", "keyboard shortcuts (F1)", self._toggle_help, "F1")
        for button in bar.findChildren(QtWidgets.QToolButton):
            button.setFocusPolicy(QtCore.Qt.NoFocus)  # Space must pause, not press the focused button

    def _action(self, bar: QtWidgets.QToolBar, text: str, tip: str, slot: Callable[..., object],
                shortcut: str | None = None, checkable: bool = False) -> QtWidgets.QAction:
        action = bar.addAction(text)
        action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.WindowShortcut)
        return action

    def _refresh_help(self) -> None:
        rows = list(SHORTCUTS)
        rows += [(t.hotkey, f"switch node '{t.name}' on / off") for t in self.controls.toggles()]
        if self.recorders:
            rows.append(("r", "start / stop recording (the record node's own file)"))
        table = "".join(f"<tr><td><b>{key}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for key, what in rows)
        self.help.setText(f"<h3>livepose viewer</h3><table>{table}</table>")
        self.help.adjustSize()

    # -- frames -----------------------------------------------------------------------------
    def _show_newest(self) -> None:
        started = time.perf_counter()
        frame = self.bridge.newest(self._shown_sequence)
        if frame is None:
            return
        self._shown_sequence, self._shown_index = frame.sequence, frame.index
        self.video.show_frame(frame)
        self.video.repaint()  # painted now, so that the cost below is the frame's whole cost here
        self.bridge.main_thread_seconds.add(time.perf_counter() - started)

    def _tick(self) -> None:
        self._follow_run()
        try:
            self._refresh()
        except Exception:  # a fault of the viewer's must not keep the window, and the run, from ending
            warn_once(log, f"viewer: the window could not refresh:\n{traceback.format_exc().rstrip()}")

    def _refresh(self) -> None:
        now = time.monotonic()
        self.series.sample(now)
        if self.plots.isVisible():
            self.plots.refresh(now)
        for name, action in self.toggle_actions.items():
            action.setChecked(self.controls.enabled(name))
        if self.recorders:
            recording = self._recorder().recording
            self.record_action.setChecked(recording)
            self.record_path.setEnabled(not recording)
        self.pause_action.setChecked(self.bridge.paused)
        self.step_action.setEnabled(self.bridge.paused and not self.controls.realtime)
        self.status.setText(self.status_text())

    def status_text(self) -> str:
        live = self.controls.metrics.live()
        providers = sorted({p.upper() if p != "tensorrt" else "TensorRT" for p in providers_in_use().values()})
        parts = [f"frame {self._shown_index}" if self._shown_index is not None else "waiting for the first frame",
                 f"source: {self.controls.source or 'as the pipeline sets it'}",
                 self.controls.mode, f"provider: {', '.join(providers) or 'no model'}",
                 f"{live.fps:.1f} fps"]
        if live.latency_ms == live.latency_ms:
            parts.append(f"latency {live.latency_ms:.0f} ms")
        parts.append(f"drops {live.drops}")
        if self.bridge.paused:
            parts.append("PAUSED")
        return "   ·   ".join(parts)

    def _follow_run(self) -> None:
        notices = list(self.controls.notices)
        if len(notices) > self._notices_shown and not self._failure_shown:
            self._notices_shown = len(notices)
            self._show_banner(notices[-1][1].splitlines()[0] + "  (details in the terminal)", NOTICE_STYLE)
            QtCore.QTimer.singleShot(NOTICE_MS, lambda shown=len(notices): self._hide_notice(shown))
        failure = self.controls.failure
        if failure and not self._failure_shown:
            self._failure_shown = True
            self._show_banner(f"the run failed: {failure}")
        if self.controls.finished.is_set() and not self._closing:
            self._closing = True
            result = self.controls.result
            # A crash while running stays on screen a while; a node that could not start (no camera,
            # no model) has said what to do in the terminal, and a Ctrl-C means now.
            crashed = result is not None and result.started and result.exit_code == 1
            hold = self.options.hold_on_error if crashed and not self.controls.interrupted.is_set() else 0.0
            if hold > 0:
                self._show_banner(f"the run failed: {failure}\n(see the terminal; this window closes in "
                                  f"{hold:.0f} s, or press any key)")
                QtCore.QTimer.singleShot(round(hold * 1000), self.close)
            else:
                self.close()

    def _hide_notice(self, shown: int) -> None:
        if not self._failure_shown and self._notices_shown == shown:
            self.banner.hide()

    def _show_banner(self, text: str, style: str | None = None) -> None:
        self.banner.setStyleSheet(style or FAILURE_STYLE)
        self.banner.setText(text)
        self.banner.setFixedWidth(max(200, self.video.width()))
        self.banner.adjustSize()
        self.banner.move(0, 0)
        self.banner.show()
        self.banner.raise_()

    # -- controls ---------------------------------------------------------------------------
    def _press(self, key: str) -> None:
        self.controls.press_key(key)
        self._tick()

    def _toggle_pause(self) -> None:
        self.bridge.set_paused(not self.bridge.paused)
        log.info("viewer: %s", "paused" if self.bridge.paused else "resumed")

    def _recorder(self) -> Record:
        return self.controls.node(self.recorders[0])  # type: ignore[return-value]

    def _toggle_record(self) -> None:
        recorder = self._recorder()
        if recorder.recording:
            recorder.stop_recording()
            self.statusBar().showMessage(f"recorded {', '.join(map(str, recorder.files[-1:]))}", 5000)
        else:
            try:
                recorder.record_to(self.record_path.text().strip() or "livepose.mp4")
            except Exception as exc:  # a folder that does not exist: say so in the window
                self.statusBar().showMessage(str(exc), 8000)
        self._tick()

    def screenshot(self) -> Path | None:
        """Save the newest frame at full size as PNG in the screenshots folder; returns its path."""
        frame = self.bridge.newest()
        if frame is None:
            return None
        path = self.options.screenshots / datetime.now().strftime(f"livepose-%Y%m%d-%H%M%S-{frame.index}.png")
        if not cv2.imwrite(str(path), frame.image):
            self.statusBar().showMessage(f"could not write {path}", 8000)
            return None
        self.statusBar().showMessage(f"saved {path}", 5000)
        log.info("viewer: screenshot %s", path)
        return path

    def _toggle_plots(self) -> None:
        self.plots.setVisible(not self.plots.isVisible())

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _toggle_help(self) -> None:
        self.help.setVisible(not self.help.isVisible())
        self.help.move(20, 20)
        self.help.raise_()

    # -- Qt events --------------------------------------------------------------------------
    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        key, text = event.key(), event.text()
        if self._closing:
            self.close()
        elif key == QtCore.Qt.Key_Escape or text in QUIT_KEYS:
            self.controls.request_stop("quit key")
        elif key == QtCore.Qt.Key_Space:
            self._toggle_pause()
        elif key == QtCore.Qt.Key_Right:
            if self.step_action.isEnabled():
                self.bridge.step()
        elif len(text) == 1 and text.isprintable():
            self._press(text)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        if not self.controls.finished.is_set():
            self.controls.request_stop("viewer window closed")
        self.bridge.close()
        self._frame_timer.stop()
        self._stats_timer.stop()
        event.accept()
