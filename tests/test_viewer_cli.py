"""The viewer through the real ``livepose run`` command, in a fresh folder, as a user starts it.

Qt runs offscreen (``QT_QPA_PLATFORM=offscreen``), the platform Qt uses on a machine without a
screen; without it and without ``$DISPLAY`` the viewer falls back to running headless, once said.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import cv2
import pytest

from media_paths import SHORT_CLIP, media_file
from test_readme import read_until

LIVEPOSE = shutil.which("livepose", path=str(Path(sys.executable).parent))
STOP_SECONDS = 2.0

CRASHING_NODE = textwrap.dedent("""\
    from livepose import Frame, Node


    class Crash(Node):
        inputs = ("frame",)
        outputs = ("frame",)

        def process(self, frame: Frame) -> Frame:
            if frame.index == 30:  # a second in: the window is open by then
                raise RuntimeError("crashed on purpose")
            return frame
    """)


def pipeline(folder: Path, *, mode: str = "realtime", crash: bool = False) -> Path:
    middle = "  - {name: crash, type: crash_node:Crash, inputs: frames, outputs: checked}\n" if crash else ""
    stream = "checked" if crash else "frames"
    (folder / "crash_node.py").write_text(CRASHING_NODE)
    path = folder / "viewer.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: viewer
        mode: {mode}
        source: synthetic
        nodes:
          - {{name: camera, type: capture, outputs: frames, params: {{width: 640, height: 360}}}}
        """) + middle + f"""\
  - {{name: draw, type: visualize, inputs: {stream}, outputs: annotated, hotkey: v}}
  - {{name: window, type: viewer, inputs: annotated}}
""")
    return path


def environment(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LIVEPOSE_SOURCE")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def start(args: list[str], folder: Path, **env: str | None) -> subprocess.Popen[str]:
    return subprocess.Popen([LIVEPOSE, *args], cwd=folder, env=environment(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> list[str]:
    """The stderr lines up to the first that contains ``text`` (event-driven: read as they come)."""
    seen: list[str] = []
    read_until(proc, text, seen, timeout)
    return seen


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda sig: sig.name)
def test_a_signal_stops_the_viewer_in_order_within_2_s_and_the_recording_plays(tmp_path, sig):
    proc = start(["run", str(pipeline(tmp_path)), "--record", "out.mp4"], tmp_path)
    seen = wait_for_line(proc, "running: Ctrl-C stops")
    # Let frames reach the recording, then stop as a user's Ctrl-C (or a service manager) would.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not (tmp_path / "out.mp4").exists():
        time.sleep(0.05)
    stopped = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - stopped
    err = "".join(seen) + err
    assert proc.returncode == 0, err
    assert elapsed < STOP_SECONDS, f"{elapsed:.2f} s\n{err}"
    assert "viewer: window open" in err and "Traceback" not in err
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0


def test_a_crashing_node_ends_the_viewer_run_with_status_1(tmp_path):
    proc = start(["run", str(pipeline(tmp_path, crash=True)), "--set", "window.hold_on_error=0"], tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "crashed on purpose" in err and "viewer: window open" in err


def test_without_a_display_the_viewer_says_so_once_and_runs_headless(tmp_path):
    proc = start(["run", str(pipeline(tmp_path)), "--max-frames", "20"], tmp_path, QT_QPA_PLATFORM=None,
                 DISPLAY=None, WAYLAND_DISPLAY=None)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    said = [line for line in err.splitlines() if "viewer:" in line]
    assert said == ["livepose: viewer: no display is available ($DISPLAY is not set); running headless"], err
    assert "delivered: 20 of" in err


def test_the_demo_command_opens_the_viewer(tmp_path, models_ready):
    (tmp_path / "clip.mp4").symlink_to(media_file(SHORT_CLIP))
    proc = start(["run", "hands_face"], tmp_path, LIVEPOSE_SOURCE=str(tmp_path / "clip.mp4"))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "viewer: window open" in err and "delivered:" in err
    assert "Traceback" not in err


def readme_command(prefix: str) -> tuple[dict[str, str], list[str]]:
    """The README's command line that starts with ``prefix``: its VAR=value prefixes and its words."""
    from test_readme import readme_commands

    words = shlex.split(next(c for c in readme_commands() if c.startswith(prefix)))
    env = {}
    while "=" in words[0] and words[0].split("=")[0].isupper():
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words


def test_the_readme_trace_command_opens_the_viewer_following_the_nose(tmp_path, models_ready):
    env, words = readme_command("livepose run hands_face --source synthetic --set window.trace")
    assert words[:2] == ["livepose", "run"] and not env
    proc = start(words[1:], tmp_path)  # a screen here is Qt's offscreen one; the user then presses q
    seen = "".join(wait_for_line(proc, "running: Ctrl-C stops"))  # the window opens while models load
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    err = seen + err
    assert proc.returncode == 0, err
    assert "viewer: window open" in err and "delivered:" in err


def test_the_readme_offscreen_command(tmp_path, models_ready):
    env, words = readme_command("QT_QPA_PLATFORM=offscreen livepose run")
    assert env == {"QT_QPA_PLATFORM": "offscreen"}
    proc = start(words[1:], tmp_path, DISPLAY=None, **env)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "viewer: window open" in err and re.search(r"delivered: \d+ of 90 frames", err)


def test_the_screenshot_tool_makes_the_readme_picture(tmp_path, models_ready):
    _, words = readme_command("python tools/make_viewer_screenshot.py")
    out = tmp_path / "viewer.png"
    tool = Path(__file__).resolve().parents[1] / words[1]
    result = subprocess.run([sys.executable, str(tool), str(out), "--seconds", "3"], cwd=tmp_path,
                            env=environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(out))
    assert image is not None and image.shape[:2] == (800, 1400)
    assert image.std() > 20  # a picture, not a blank window
