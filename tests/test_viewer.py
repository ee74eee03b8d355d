"""The viewer (issue 17): its window driven in-process with Qt offscreen, and the real command.

The window tests run a pipeline on the main thread, so the viewer opens, and act on the window from
Qt's own event loop (``viewer_driver``): pause, grab, click, close, exactly as a user would.
"""

from __future__ import annotations

import textwrap
import time

import cv2
import numpy as np
import pytest

from livepose.graph.spec import Overrides, parse_pipeline
from livepose.nodes.record import Record
from viewer_driver import run_with_script


@pytest.fixture(autouse=True)
def offscreen(monkeypatch):
    """Qt on no screen: these tests never open a real window (read when the QApplication is made)."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")


def pipeline(tmp_path, *, mode="offline", frames=0, extra="", viewer_params="", source_size=(320, 240)):
    width, height = source_size
    text = textwrap.dedent(f"""\
        name: viewer test
        mode: {mode}
        nodes:
          - {{name: camera, type: capture, outputs: frames,
              params: {{source: synthetic, width: {width}, height: {height}, fps: 30.0, frames: {frames}}}}}
          - {{name: draw, type: visualize, inputs: frames, outputs: annotated, hotkey: v}}
          - {{name: rec, type: record, inputs: annotated, params: {{path: "{tmp_path / 'r.mp4'}", start: false}}}}
          - {{name: window, type: viewer, inputs: annotated,
              params: {{screenshots: "{tmp_path}"{viewer_params}}}}}
        """) + textwrap.indent(textwrap.dedent(extra), "  ")
    return parse_pipeline(text, str(tmp_path / "viewer_test.yaml"), Overrides())


def grabbed(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(4)  # QImage.Format_RGB32: B, G, R, 255 in memory
    pointer = image.constBits()
    pointer.setsize(image.byteCount())
    return np.frombuffer(pointer, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[
        :, :image.width(), :3].copy()


def test_the_window_shows_the_frame_the_plots_fill_and_closing_ends_the_run_within_2_s(tmp_path):
    closed = {}

    def script(window):
        yield lambda: window.bridge.newest() is not None and len(window.series.throughput["delivered"].values) >= 8
        window._toggle_pause()
        # Held: the node's thread waits in the bridge, so the newest frame stays the one shown.
        yield lambda: window.bridge.newest(window._shown_sequence) is None and window.bridge.newest() is not None
        shown = window.bridge.newest()
        window.video.repaint()
        pixels = grabbed(window.video)
        rect = window.video.image_rect()
        area = pixels[rect.top():rect.bottom() + 1, rect.left():rect.right() + 1]
        expected = cv2.resize(shown.image, (area.shape[1], area.shape[0]), interpolation=cv2.INTER_AREA)
        assert rect.width() > 100 and abs(rect.width() / rect.height() - 320 / 240) < 0.02  # aspect kept
        assert np.abs(area.astype(int) - expected.astype(int)).mean() < 6
        assert pixels[:, :max(rect.left() - 1, 0)].max(initial=0) == 0  # black beside the frame
        window.plots.refresh(time.monotonic())
        assert window.plots.has_data()
        delivered = np.array(window.series.throughput["delivered"].values)
        assert np.nanmax(delivered) > 1  # frames per second at the sink, from the run's metrics
        assert any(np.isfinite(s.values).any() for s in window.series.processing.values())
        assert "frame" in window.status_text() and "offline" in window.status_text()
        closed["at"] = time.monotonic()
        window.close()
        yield lambda: True

    result, runner = run_with_script(pipeline(tmp_path), script)
    assert result.exit_code == 0, result.reason
    assert time.monotonic() - closed["at"] < 2.0
    assert result.metrics.nodes["window"].frames_in > 0


def test_the_node_toggle_switches_the_node_off_and_on(tmp_path):
    def script(window):
        draw = window.controls.node("draw")
        calls = []
        process = draw.process
        draw.process = lambda frame: calls.append(frame.index) or process(frame)
        yield lambda: window.bridge.newest() is not None and calls
        action = window.toggle_actions["draw"]
        assert action.isChecked()
        action.trigger()
        assert not window.controls.enabled("draw")
        called = len(calls)
        seen = window.controls.metrics.nodes["window"].frames_in
        yield lambda: window.controls.metrics.nodes["window"].frames_in > seen + 10
        assert len(calls) <= called + 1  # the frames pass it by (one may have been inside it)
        window._tick()
        assert not action.isChecked()
        action.trigger()
        assert window.controls.enabled("draw")
        window.close()
        yield lambda: True

    result, _ = run_with_script(pipeline(tmp_path), script)
    assert result.exit_code == 0


def test_the_record_button_leaves_a_playable_file_and_screenshots_are_the_frame(tmp_path):
    target = tmp_path / "from the window.mp4"
    saved = {}

    def script(window):
        yield lambda: window.bridge.newest() is not None
        recorder = window.controls.node("rec")
        assert isinstance(recorder, Record) and not recorder.recording
        window.record_path.setText(str(target))
        window.record_action.trigger()
        yield lambda: recorder.frames_written >= 15
        window.record_action.trigger()
        assert not recorder.recording
        saved["png"] = window.screenshot()
        window.close()
        yield lambda: True

    result, _ = run_with_script(pipeline(tmp_path), script)
    assert result.exit_code == 0
    video = cv2.VideoCapture(str(target))
    count = 0
    while video.read()[0]:
        count += 1
    assert count >= 15
    image = cv2.imread(str(saved["png"]))
    assert image is not None and image.shape == (240, 320, 3)


def test_a_node_that_raises_shows_in_the_window_and_ends_the_run_with_status_1(tmp_path):
    extra = """\
        - {name: boom, type: pipeline_nodes:Fail, inputs: frames, outputs: failing, params: {fail_on: [5]}}
        - {name: sink, type: pipeline_nodes:Collect, inputs: failing}
        """
    banner = {}

    def script(window):
        yield lambda: window.banner.isVisible()
        banner["text"] = window.banner.text()

    spec = pipeline(tmp_path, extra=extra, viewer_params=", hold_on_error: 0.5")
    result, _ = run_with_script(spec, script)
    assert result.exit_code == 1
    assert "boom" in banner["text"]


def test_pause_holds_an_offline_run_and_the_step_lets_one_frame_through(tmp_path):
    def script(window):
        yield lambda: window.bridge.newest() is not None
        window._toggle_pause()
        yield lambda: window.bridge.newest(window._shown_sequence) is None
        before = window.controls.metrics.nodes["camera"].frames_out
        shown = window.bridge.newest().sequence
        window._tick()
        assert window.step_action.isEnabled()
        window.step_action.trigger()
        yield lambda: window.bridge.newest(shown) is not None
        stepped = window.bridge.newest().sequence
        assert stepped == shown + 1
        deadline = time.monotonic() + 0.3
        yield lambda: time.monotonic() > deadline
        assert window.bridge.newest().sequence == stepped  # still held after the one step
        assert window.controls.metrics.nodes["camera"].frames_out <= before + 8  # the queues fill, then wait
        window._toggle_pause()
        yield lambda: window.bridge.newest().sequence > stepped + 5
        window.close()
        yield lambda: True

    result, _ = run_with_script(pipeline(tmp_path), script)
    assert result.exit_code == 0


def test_keys_in_the_window_do_what_the_help_says(tmp_path):
    from PyQt5 import QtCore, QtWidgets
    from PyQt5.QtTest import QTest

    def script(window):
        yield lambda: window.bridge.newest() is not None
        QtWidgets.QApplication.setActiveWindow(window)  # as the window a user types into is
        QTest.keyClick(window, QtCore.Qt.Key_Space)
        assert window.bridge.paused
        QTest.keyClick(window, QtCore.Qt.Key_Space)
        assert not window.bridge.paused
        QTest.keyClick(window, "v")  # the draw node's YAML hotkey
        assert not window.controls.enabled("draw")
        QTest.keyClick(window, QtCore.Qt.Key_F1)
        assert window.help.isVisible() and "pause" in window.help.text()
        QTest.keyClick(window, "q")
        yield lambda: True

    result, _ = run_with_script(pipeline(tmp_path), script)
    assert result.exit_code == 0 and result.reason == "quit key"


def test_without_qt_the_viewer_falls_back_to_the_opencv_window_saying_so_once(monkeypatch, caplog):
    from livepose.nodes import display, viewer
    from livepose.testing import NodeHarness, frame

    shown = []

    class FakeWindow:
        def __init__(self, title, fullscreen):
            pass

        def show(self, image):
            shown.append(image.shape)

        def poll_key(self, wait_ms):
            return None

        def is_open(self):
            return True

        def close(self):
            pass

    monkeypatch.setattr(viewer, "qt_unavailable_reason", lambda: "PyQt5 is not installed (pip install PyQt5 pyqtgraph)")
    monkeypatch.setattr(viewer, "display_unavailable_reason", lambda headless: None)
    monkeypatch.setattr(display, "display_unavailable_reason", lambda headless: None)
    monkeypatch.setitem(display.WINDOW_BACKENDS, "opencv", FakeWindow)
    caplog.set_level("INFO", logger="livepose")
    harness = NodeHarness(viewer.Viewer, headless=False)
    assert harness.node.main_thread_loop() is None  # as the runner asks, before set-up: no Qt here
    with harness:
        for _ in range(3):
            harness.process(frame())
    assert len(shown) == 3
    said = [r.getMessage() for r in caplog.records if "viewer" in r.getMessage()]
    assert said == ["viewer: PyQt5 is not installed (pip install PyQt5 pyqtgraph); showing an OpenCV window instead"]


def test_a_notice_of_the_run_shows_over_the_video_for_a_while(tmp_path):
    def script(window):
        yield lambda: window.bridge.newest() is not None
        assert not window.banner.isVisible()
        # What the runner appends when a reloaded node fails (tests/test_reload.py runs that for real).
        window.controls.notices.append((time.monotonic(), "node 'dots': my_effects.py changed but does not "
                                        "load; still running the version before:\nSyntaxError: ..."))
        yield lambda: window.banner.isVisible()
        assert "does not load" in window.banner.text() and "SyntaxError" not in window.banner.text()
        window.close()
        yield lambda: True

    result, _ = run_with_script(pipeline(tmp_path), script)
    assert result.exit_code == 0
