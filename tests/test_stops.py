"""Stopping in order, as a user sees it through the real command: how long, what is said, what is left."""

from __future__ import annotations

import signal
import sys
import textwrap
import time

import pytest

from cli_runs import left_behind, no_processes_left, no_run_outlives_its_test, start, wait_for_line  # noqa: F401
from media_paths import SHORT_CLIP, media_file

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_demo_stops_within_two_seconds_and_reaps_its_worker(tmp_path, models_ready, sig):
    clip = media_file(SHORT_CLIP)
    proc, marker = start("run", "hands_face", "--source", str(clip), "--headless", "--record", "out.mp4",
                         cwd=tmp_path)
    before = wait_for_line(proc, "livepose: running")
    assert len(left_behind(marker)) == 2, "the pipeline and its face worker"
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - sent
    err = before + err
    assert proc.returncode == 0 and elapsed < 2.0, (elapsed, err)
    assert "left behind" not in err and "Traceback" not in err, err
    assert no_processes_left(marker), "every worker is reaped"


def test_a_crash_stops_in_order_and_reaps_the_worker(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(textwrap.dedent("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0, fps: 100}, outputs: frames}
          - {name: tag, type: "pipeline_nodes:Tag", inputs: frames, outputs: tagged, process: true}
          - {name: bad, type: "pipeline_nodes:Fail", inputs: tagged, outputs: out, params: {fail_on: [30]}}
          - {name: out, type: "pipeline_nodes:Collect", inputs: out}
    """))
    started = time.monotonic()
    proc, marker = start("run", str(pipeline), "--offline", cwd=tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "node 'bad' failed on frame 30" in err, err
    assert "left behind" not in err
    assert no_processes_left(marker)
    assert time.monotonic() - started < 30


def test_a_missing_file_is_one_message_and_no_node_is_called_stuck(tmp_path, models_ready):
    proc, marker = start("run", "hands_face", "--source", str(tmp_path / "missing.mp4"), cwd=tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "missing.mp4" in err and "Traceback" not in err
    assert "did not stop" not in err and "left behind" not in err, err
    assert no_processes_left(marker)


def test_a_hung_node_is_named_and_the_stop_still_ends_the_run(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(textwrap.dedent("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0, fps: 100}, outputs: frames}
          - {name: stuck, type: "pipeline_nodes:Hang", inputs: frames, outputs: out, params: {at: 5}}
          - {name: out, type: "pipeline_nodes:Collect", inputs: out, params: {done_file: DONE}}
    """).replace("DONE", str(tmp_path / "done")))
    proc, marker = start("run", str(pipeline), cwd=tmp_path)
    before = wait_for_line(proc, "hanging on frame 5")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - sent
    err = before + err
    assert elapsed < 2.0, (elapsed, err)
    assert proc.returncode == 1, err
    assert "node 'stuck' (in process() on frame 5)" in err and "did not stop in time" in err, err
    assert (tmp_path / "done").read_text() == "5", "the sink after it was closed, with every frame it got"
    assert no_processes_left(marker)
