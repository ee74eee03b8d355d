"""Recordings interrupted the hard way: a SIGKILLed recorder keeps all but its last second of media,
however few frames a second it received; a recorder stopped in order still finishes its file."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import numpy as np
import pytest

KEYFRAME_INTERVAL_S = 1.0
"""Mp4Writer's default: the most media time between fragments, so the most a kill loses."""


def decode(path: Path) -> tuple[list[float], str]:
    """Frame times and codec of a video file; decoding all of it is what 'playable' means here."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [float(f.pts * f.time_base) for f in container.decode(stream)], stream.codec_context.name


def read_line(child: subprocess.Popen, timeout: float) -> str:
    """The child's next stdout line, or '' if it ends or says nothing within ``timeout`` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return child.stdout.readline().strip()


# The writer stops after the given frames with its file still open (as a recorder between two
# frames is) and waits on stdin, so the kill lands at a known point of the stream.
WRITER_SCRIPT = textwrap.dedent("""\
    import sys
    from livepose.io import Mp4Writer, SyntheticSource
    path, codec, times = sys.argv[1], sys.argv[2], [float(t) for t in sys.argv[3].split(",")]
    source = SyntheticSource(width=160, height=120)
    writer = Mp4Writer(path, codec=codec)
    for t in times:
        writer.write(source.read().image, t)
    print("written", writer.encoder, flush=True)
    sys.stdin.readline()
""")


def jittered_times(count: int, seed: int = 3) -> list[float]:
    """A stalling camera: intervals from 0.05 to 0.9 s."""
    return [float(t) for t in np.cumsum(np.random.default_rng(seed).uniform(0.05, 0.9, count)) - 0.05]


@pytest.mark.parametrize("times, recovered", [
    pytest.param([i / 3 for i in range(18)], 15, id="3fps-18-frames"),
    pytest.param([i / 3 for i in range(32)], 30, id="3fps-32-frames"),
    pytest.param([i / 30 for i in range(100)], 90, id="30fps-100-frames"),
    pytest.param([i * 2.0 for i in range(6)], 5, id="0.5fps-6-frames"),
    pytest.param(jittered_times(30), None, id="jittered-30-frames"),
])
@pytest.mark.parametrize("codec", ["auto", "mp4v"])
def test_killed_writer_keeps_every_frame_older_than_a_second_of_media(tmp_path, times, recovered, codec):
    path = tmp_path / "killed.mp4"
    child = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(path), codec, ",".join(map(repr, times))],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        said = read_line(child, timeout=60)
    finally:
        child.kill()  # SIGKILL: nothing of the writer's runs after this
        child.wait(10)
    assert said.startswith("written"), f"the writer did not get through its frames: {said!r}"
    assert said.split()[1] == ("mpeg4" if codec == "mp4v" else "libx264")
    found, _ = decode(path)
    # Every frame the file holds is the stream's, in order, from the start, with its own time...
    np.testing.assert_allclose(found, np.array(times[:len(found)]) - times[0], atol=1e-4)
    # ...and no frame more than a second of media older than the last one written is missing.
    assert len(found) >= sum(1 for t in times if t <= times[-1] - KEYFRAME_INTERVAL_S)
    if recovered is not None:
        assert len(found) == recovered


PIPELINE = """\
    mode: realtime
    output: frames
    nodes:
      - {name: camera, type: capture, outputs: frames}
      - {name: window, type: display, inputs: frames}
"""


def start_slow_recording(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    """``livepose run`` of a 3 fps pattern, recording and exporting keypoints (flushed per frame)."""
    pipeline = tmp_path / "slow.yaml"
    pipeline.write_text(textwrap.dedent(PIPELINE))
    video, keypoints = tmp_path / "out.mp4", tmp_path / "k.jsonl"
    livepose = Path(sys.executable).with_name("livepose")
    child = subprocess.Popen(
        [str(livepose), "run", str(pipeline), "--source", "synthetic", "--set", "camera.fps=3",
         "--set", "camera.width=160", "--set", "camera.height=120", "--headless",
         "--record", str(video), "--keypoints", str(keypoints)],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return child, video, keypoints


def exported_times(keypoints: Path) -> list[float]:
    """Media times of the frames that reached the sinks (complete lines only)."""
    if not keypoints.exists():
        return []
    lines = keypoints.read_text().split("\n")[:-1]  # the last piece is empty or a line being written
    return [json.loads(line)["t"] for line in lines]


def wait_for_media(child: subprocess.Popen, keypoints: Path, seconds: float, timeout: float = 60) -> list[float]:
    """Wait until the sinks have had ``seconds`` of media (the pattern's clock), polling the export."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        times = exported_times(keypoints)
        if times and times[-1] >= seconds:
            return times
        time.sleep(0.05)
    raise AssertionError(f"no {seconds} s of media within {timeout} s (exit code {child.poll()})")


def test_livepose_run_killed_at_3_fps_keeps_all_but_the_last_second(tmp_path):
    child, video, keypoints = start_slow_recording(tmp_path)
    try:
        wait_for_media(child, keypoints, 4.0)
    finally:
        child.kill()
        child.communicate(timeout=10)
    sent = exported_times(keypoints)
    found, codec = decode(video)
    assert codec == "h264"
    np.testing.assert_allclose(found, np.arange(len(found)) / 3, atol=1e-4)
    # The recorder may be a frame behind the export, which it runs beside; the export rounds times.
    last_recorded = sent[-1] - 1 / 3 + 1e-3
    assert len(found) >= sum(1 for t in sent if t <= last_recorded - KEYFRAME_INTERVAL_S) >= 9


def test_livepose_run_stopped_at_3_fps_finishes_its_file(tmp_path):
    child, video, keypoints = start_slow_recording(tmp_path)
    try:
        wait_for_media(child, keypoints, 2.0)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=10)
    assert child.returncode == 0, stderr
    recorded = [line for line in stderr.splitlines() if "record: " in line]
    assert recorded, stderr
    written = int(recorded[0].split("record: ")[1].split()[0])
    data = video.read_bytes()
    assert b"moof" not in data and data.find(b"moov") < data.find(b"mdat"), "rewritten with its index first"
    with av.open(str(video)) as container:
        assert container.streams.video[0].frames == written
        duration = container.duration / av.time_base
    found, _ = decode(video)
    assert len(found) == written == len(exported_times(keypoints)) >= 7
    np.testing.assert_allclose(found, np.arange(written) / 3, atol=1e-4)
    assert duration == pytest.approx(written / 3, abs=1 / 3)
