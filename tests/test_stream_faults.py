"""A live stream that disappears mid-run and comes back: a real MJPEG-over-HTTP server that the test
cuts and restores, read by the real ``livepose run`` with its reconnect and backoff."""

from __future__ import annotations

import http.server
import signal
import socketserver
import textwrap
import threading
from pathlib import Path

import cv2
import pytest

from media_paths import SHORT_CLIP, media_file
from cli_runs import no_processes_left, no_run_outlives_its_test, start, wait_for_line  # noqa: F401


class _Camera(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """An IP camera: JPEG frames of a real clip as multipart/x-mixed-replace, at 25 frames/s."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, frames: list[bytes]) -> None:
        self.frames = frames
        self.cut = threading.Event()
        super().__init__(("127.0.0.1", port), _Stream)


class _Stream(http.server.BaseHTTPRequestHandler):
    server: _Camera

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        sent = 0
        while not self.server.cut.wait(0.04):  # the camera's frame clock
            data = self.server.frames[sent % len(self.server.frames)]
            sent += 1
            try:
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n"
                                 % (len(data), data))
            except OSError:
                return

    def log_message(self, *_args: object) -> None:
        pass


def _serve(port: int, frames: list[bytes]) -> _Camera:
    camera = _Camera(port, frames)
    threading.Thread(target=camera.serve_forever, daemon=True).start()
    return camera


def _stop(camera: _Camera) -> None:
    camera.cut.set()
    camera.shutdown()
    camera.server_close()


@pytest.fixture
def jpeg_frames() -> list[bytes]:
    capture = cv2.VideoCapture(str(media_file(SHORT_CLIP)))
    frames = []
    while len(frames) < 20:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.imencode(".jpg", cv2.resize(image, (270, 360)))[1].tobytes())
    return frames


def _free_port() -> int:
    with socketserver.TCPServer(("127.0.0.1", 0), None) as probe:
        return probe.server_address[1]


def _stream_pipeline(folder: Path, port: int, reconnect_timeout: float, announce_after: int) -> Path:
    """Capture from the test's camera into a Collect node that logs every ``announce_after`` frames."""
    pipeline = folder / "p.yaml"
    pipeline.write_text(textwrap.dedent(f"""\
        source: http://127.0.0.1:{port}/video.mjpg
        nodes:
          - {{name: camera, type: capture, outputs: frames, params: {{reconnect_timeout: {reconnect_timeout}}}}}
          - {{name: out, type: "pipeline_nodes:Collect", inputs: frames,
              params: {{announce_after: {announce_after}, done_file: {folder / "done"}}}}}
    """))
    return pipeline


def test_a_stream_that_drops_is_retried_with_backoff_and_resumes(tmp_path, jpeg_frames):
    port = _free_port()
    camera = _serve(port, jpeg_frames)
    proc, marker = start("run", str(_stream_pipeline(tmp_path, port, 30, 10)), cwd=tmp_path)
    try:
        log = wait_for_line(proc, "collected 10 frames")
        _stop(camera)
        log += wait_for_line(proc, "retrying")
        log += wait_for_line(proc, "still unavailable after 1 attempts")
        camera = _serve(port, jpeg_frames)
        log += wait_for_line(proc, "is back after")
        log += wait_for_line(proc, "collected 30 frames")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        _stop(camera)
        if proc.poll() is None:
            proc.kill()
    log += err
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    assert int((tmp_path / "done").read_text()) >= 30, "frames kept coming after the stream came back"
    assert no_processes_left(marker)


def test_a_stream_that_stays_away_ends_after_the_reconnect_timeout(tmp_path, jpeg_frames):
    port = _free_port()
    camera = _serve(port, jpeg_frames)
    proc, marker = start("run", str(_stream_pipeline(tmp_path, port, 1.5, 5)), cwd=tmp_path)
    try:
        log = wait_for_line(proc, "collected 5 frames")
        _stop(camera)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    log += err
    assert proc.returncode == 0, log
    assert "did not come back within 1.5 s: ending the stream" in log, log
    assert no_processes_left(marker)
