"""The threaded runtime end to end: policies, fan-out and joins, feedback loops, every shutdown path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from livepose.graph.runner import Runner
from livepose.graph.spec import parse_pipeline
from livepose.testing import PipelineOutcome, run_pipeline
from cli_runs import wait_for_line

TESTS = Path(__file__).parent


def run(text: str, mode: str | None = None, max_frames: int | None = None) -> PipelineOutcome:
    """Run the pipeline in ``text`` (in its own mode unless given one): its result and its nodes."""
    return run_pipeline(text, mode=mode, max_frames=max_frames)


def test_offline_chain_delivers_every_frame_in_order():
    ran = run("""\
        mode: offline
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 200}, outputs: a}
          - {name: t1, type: "pipeline_nodes:Tag", inputs: a, outputs: b, params: {key: one}}
          - {name: t2, type: "pipeline_nodes:Tag", inputs: b, outputs: c, params: {key: two, factor: 3}}
          - {name: out, type: "pipeline_nodes:Collect", inputs: c, params: {delay: 0.0005}}
    """)
    result, frames = ran.result, ran.frames("out")
    assert result.exit_code == 0 and result.reason == "end of stream"
    assert [f.index for f in frames] == list(range(200))
    assert all(f.results["two"] == 3 * f.index and f.results["one"] == f.index for f in frames)
    data = result.metrics.to_dict()
    assert data["total_drops"] == 0
    assert data["nodes"]["t1"]["frames_in"] == 200 and data["nodes"]["out"]["latency_ms"]["p50"] > 0


def test_fan_out_and_join_by_index():
    ran = run("""\
        mode: offline
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 60}, outputs: frames}
          - {name: a, type: "pipeline_nodes:Tag", inputs: frames, outputs: fa, params: {key: a, delay: 0.001}}
          - {name: b, type: "pipeline_nodes:Tag", inputs: frames, outputs: fb, params: {key: b, factor: 2}}
          - {name: join, type: "pipeline_nodes:Merge", inputs: {left: fa, right: fb}, outputs: merged}
          - {name: out, type: "pipeline_nodes:Collect", inputs: merged}
          - {name: raw, type: "pipeline_nodes:Collect", inputs: frames}
    """)
    merged = ran.frames("out")
    assert [f.index for f in merged] == list(range(60))
    assert all(f.results["a"] == f.index and f.results["b"] == 2 * f.index for f in merged)
    assert all("a" not in f.results for f in ran.frames("raw")), "fan-out must not share mutations"


def test_join_survives_frames_dropped_on_one_branch():
    ran = run("""\
        mode: offline
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 40}, outputs: frames}
          - {name: even, type: "pipeline_nodes:DropOdd", inputs: frames, outputs: fa}
          - {name: b, type: "pipeline_nodes:Tag", inputs: frames, outputs: fb, params: {key: b}}
          - {name: join, type: "pipeline_nodes:Merge", inputs: [fa, fb], outputs: merged}
          - {name: out, type: "pipeline_nodes:Collect", inputs: merged}
    """)
    assert ran.exit_code == 0
    assert [f.index for f in ran.frames("out")] == list(range(0, 40, 2))
    assert ran.result.metrics.nodes["join"].skipped == 20


def test_realtime_slow_sink_sees_newest_frames_and_drops_are_counted():
    ran = run("""\
        mode: realtime
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 300, fps: 1000}, outputs: frames}
          - {name: out, type: "pipeline_nodes:Collect", inputs: frames, params: {delay: 0.01}}
    """)
    got = [f.index for f in ran.frames("out")]
    drops = ran.result.metrics.to_dict()["total_drops"]
    assert ran.exit_code == 0
    assert drops > 100 and len(got) + drops == 300
    assert got == sorted(got) and got[-1] == 299


def test_offline_mode_turns_every_policy_into_back_pressure():
    ran = run("""\
        streams: {frames: {policy: latest, size: 1}}
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 100}, outputs: frames}
          - {name: out, type: "pipeline_nodes:Collect", inputs: frames, params: {delay: 0.001}}
    """, mode="offline")
    assert len(ran.frames("out")) == 100 and ran.result.metrics.to_dict()["total_drops"] == 0


def test_feedback_loop_offline_sees_exactly_the_previous_frame():
    ran = run("""\
        mode: offline
        streams: {delayed: {feedback: true}}
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 50}, outputs: frames}
          - {name: loop, type: "pipeline_nodes:Loop", inputs: {frame: frames, previous: delayed}, outputs: looped}
          - {name: slow, type: "pipeline_nodes:Tag", inputs: looped, outputs: delayed, params: {delay: 0.001}}
          - {name: out, type: "pipeline_nodes:Collect", inputs: looped}
    """)
    frames = ran.frames("out")
    assert [f.results["loop"] for f in frames] == list(range(1, 51))
    assert [f.results["seen"] for f in frames] == [None] + list(range(49))


def test_feedback_loop_realtime_never_waits_for_dropped_frames():
    ran = run("""\
        mode: realtime
        streams: {delayed: {feedback: true}}
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 200, fps: 2000}, outputs: frames}
          - {name: loop, type: "pipeline_nodes:Loop", inputs: {frame: frames, previous: delayed}, outputs: looped}
          - {name: slow, type: "pipeline_nodes:Tag", inputs: looped, outputs: delayed, params: {delay: 0.003}}
          - {name: out, type: "pipeline_nodes:Collect", inputs: looped}
    """)
    assert ran.exit_code == 0
    frames = ran.frames("out")
    seen = [f.results["seen"] for f in frames]
    assert all(s is None or s < f.index for s, f in zip(seen, frames))


LOOP_WITH_PREPARE = """\
    streams: {delayed: {feedback: true}}
    nodes:
      - {name: src, type: "pipeline_nodes:Counter", params: {count: 20, fps: 500}, outputs: frames}
      - {name: loop, type: "pipeline_nodes:PreparingLoop", inputs: {frame: frames, previous: delayed},
         outputs: looped, params: {fail_on: %s}}
      - {name: slow, type: "pipeline_nodes:Tag", inputs: looped, outputs: delayed, params: {delay: 0.02}}
      - {name: out, type: "pipeline_nodes:Collect", inputs: looped}
"""


def test_prepare_runs_while_the_feedback_is_on_its_way_and_changes_no_result():
    frames = run(LOOP_WITH_PREPARE % "[]", mode="offline").frames("out")
    assert [f.results["loop"] for f in frames] == list(range(1, 21))
    prepared = [f.results["prepared"] for f in frames]
    assert not prepared[0], "frame 0 has no feedback to wait for"
    assert sum(prepared) >= 15, "the slow loop keeps every later frame waiting for its feedback"


def test_prepare_is_not_called_in_realtime_and_its_failure_stops_the_run():
    realtime = run(LOOP_WITH_PREPARE % "[]", mode="realtime")
    assert realtime.exit_code == 0
    assert not any(f.results["prepared"] for f in realtime.frames("out"))
    failed = run(LOOP_WITH_PREPARE % "[3]", mode="offline")
    assert failed.exit_code == 1 and "loop" in failed.result.reason
    assert [f.index for f in failed.frames("out")] == [0, 1, 2]


def test_node_exception_with_stop_shuts_down_cleanly(caplog):
    t0 = time.monotonic()
    ran = run("""\
        mode: offline
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0}, outputs: frames}
          - {name: bad, type: "pipeline_nodes:Fail", inputs: frames, outputs: out, params: {fail_on: [5]}}
          - {name: out, type: "pipeline_nodes:Collect", inputs: out}
    """)
    result = ran.result
    assert result.exit_code == 1 and "bad" in result.reason
    assert time.monotonic() - t0 < 3
    assert [f.index for f in ran.frames("out")] == list(range(5))
    assert "node 'bad' failed on frame 5" in caplog.text and "RuntimeError: boom on frame 5" in caplog.text
    assert not result.stuck_nodes


def test_node_exception_with_skip_frame_goes_on(caplog):
    ran = run("""\
        mode: offline
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 20}, outputs: frames}
          - {name: bad, type: "pipeline_nodes:Fail", inputs: frames, outputs: out, params: {fail_on: [3, 7]}, on_error: skip_frame}
          - {name: out, type: "pipeline_nodes:Collect", inputs: out}
    """)
    result = ran.result
    assert result.exit_code == 0
    assert [f.index for f in ran.frames("out")] == [i for i in range(20) if i not in (3, 7)]
    assert result.metrics.nodes["bad"].errors == 2 and result.metrics.nodes["out"].skipped == 2
    assert caplog.text.count("Traceback") == 1, "the first failure has a traceback, repeats one line"


def test_bad_return_value_is_reported():
    result = run("""\
        mode: offline
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 5}, outputs: frames}
          - {name: bad, type: "pipeline_nodes:BadOutput", inputs: frames, outputs: out}
          - {name: out, type: "pipeline_nodes:Collect", inputs: out}
    """).result
    assert result.exit_code == 1 and "returned a str" in result.reason


def test_setup_user_error_exits_2_and_closes_the_others(caplog):
    ran = run("""\
        nodes:
          - {name: cam, type: "pipeline_nodes:NeedsCamera", outputs: frames}
          - {name: out, type: "pipeline_nodes:Collect", inputs: frames}
    """)
    assert ran.exit_code == 2 and "camera 7 could not be opened" in caplog.text
    # The sink's setup may or may not have begun before the camera failed: if it was set up, it
    # was closed, and either way it saw no frame.
    out = ran.nodes["out"]
    assert getattr(out, "frames", []) == []
    assert not hasattr(out, "closed") or out.closed.is_set()


def test_quit_key_stops_an_endless_source():
    t0 = time.monotonic()
    ran = run("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0, fps: 500}, outputs: frames}
          - {name: out, type: "pipeline_nodes:Collect", inputs: frames, params: {quit_after: 20}}
    """)
    assert ran.exit_code == 0 and ran.result.reason == "quit key"
    assert time.monotonic() - t0 < 2.5 and len(ran.frames("out")) >= 20


def test_hotkey_disables_a_node_which_then_passes_frames_through():
    spec = parse_pipeline(textwrap.dedent("""\
        mode: offline
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 10}, outputs: frames}
          - {name: tag, type: "pipeline_nodes:Tag", inputs: frames, outputs: tagged, hotkey: t, enabled: false}
          - {name: out, type: "pipeline_nodes:Collect", inputs: tagged}
    """), "t.yaml")
    runner = Runner(spec, install_signal_handlers=False)
    result = runner.run()
    assert result.exit_code == 0 and all("tag" not in f.results for f in runner.nodes["out"].frames)
    assert runner.press_key("x") is True  # Collect's own key handler
    assert runner.nodes["out"].marks == 1
    assert runner.press_key("t") is True and runner._nodes[1].enabled
    assert runner.press_key("z") is False


def test_max_frames_and_metrics_json(tmp_path):
    result = run("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0}, outputs: frames}
          - {name: out, type: "pipeline_nodes:Collect", inputs: frames}
    """, mode="offline", max_frames=25).result
    path = tmp_path / "m.json"
    result.metrics.write_json(path)
    data = json.loads(path.read_text())
    assert data["nodes"]["src"]["frames_out"] == 25 and data["nodes"]["out"]["frames_in"] == 25
    assert {"p50", "p95", "max"} <= set(data["nodes"]["out"]["process_ms"])
    assert data["streams"][0]["stream"] == "frames" and "drops" in data["streams"][0]
    assert "out" in result.metrics.summary_table()


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    return subprocess.Popen([sys.executable, "-m", "livepose", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


ENDLESS = """\
nodes:
  - {name: src, type: "pipeline_nodes:Counter", params: {count: 0, fps: 200}, outputs: frames}
  - {name: out, type: "pipeline_nodes:Collect", inputs: frames, params: {done_file: DONE, delay: 0.002, announce_after: 20}}
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_shuts_down_in_order_within_two_seconds(tmp_path, sig):
    done = tmp_path / "done.txt"
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(ENDLESS.replace("DONE", str(done)))
    proc = _cli("run", str(pipeline), "--metrics", str(tmp_path / "m.json"))
    before = wait_for_line(proc, "collected 20 frames", timeout=60)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    err = before + err
    assert time.monotonic() - sent < 2.0, err
    assert proc.returncode == 0, err
    assert f"stopping: {sig.name}" in err and "livepose: running" in err
    received = json.loads((tmp_path / "m.json").read_text())["nodes"]["out"]["frames_in"]
    assert received > 10 and int(done.read_text()) == received, "the sink was closed after every frame it got"


def test_signal_during_set_up_stops_at_once_without_a_traceback(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(textwrap.dedent("""\
        nodes:
          - {name: model, type: "pipeline_nodes:SlowSetup", outputs: frames}
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0, fps: 100}, outputs: other}
          - {name: out, type: "pipeline_nodes:Collect", inputs: frames, params: {done_file: DONE}}
          - {name: out2, type: "pipeline_nodes:Collect", inputs: other}
    """).replace("DONE", str(tmp_path / "done")))
    proc = _cli("run", str(pipeline))
    before = wait_for_line(proc, "setting up", timeout=60)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    err = before + err
    assert time.monotonic() - sent < 2.0, err
    assert proc.returncode == 0 and "Traceback" not in err and "left behind" not in err, err
    assert "stopping: SIGINT" in err and "livepose: running" not in err
    done = tmp_path / "done"
    assert not done.exists() or done.read_text() == "0", "a node set up in time was closed, having seen nothing"


def test_cli_exit_codes_and_messages(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(ENDLESS.replace("Collect", "Colect"))
    proc = _cli("run", str(bad))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "Traceback" not in err
    assert f"{bad}:3: error: node 'out': module 'pipeline_nodes' has no class 'Colect'" in err
    proc = _cli("validate", str(bad).replace("bad", "missing"))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "cannot read the pipeline file" in err
    good = tmp_path / "good.yaml"
    good.write_text(ENDLESS.replace("DONE", str(tmp_path / "d")))
    proc = _cli("validate", str(good))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "ok (2 nodes" in out
    proc = _cli("run", str(good), "--offline", "--max-frames", "30", "--set", "out.delay=0")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and (tmp_path / "d").read_text() == "30"


def test_node_preferred_input_queue_applies_unless_the_file_sets_the_stream():
    text = """\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 3}, outputs: frames}
          - {name: deep, type: "pipeline_nodes:DeepCollect", inputs: frames}
          - {name: plain, type: "pipeline_nodes:Collect", inputs: frames}
    """
    runner = Runner(parse_pipeline(textwrap.dedent(text), "t.yaml"), install_signal_handlers=False)
    edges = {consumer: (e.size, e.policy) for consumer, e in runner.metrics.edges()}
    assert edges == {"deep": (5, "drop_oldest"), "plain": (1, "latest")}
    configured = "streams: {frames: {size: 2, policy: latest}}\n" + textwrap.dedent(text)
    runner = Runner(parse_pipeline(configured, "t.yaml"), install_signal_handlers=False)
    assert {c: (e.size, e.policy) for c, e in runner.metrics.edges()}["deep"] == (2, "latest")


REALTIME_JOIN = """\
    mode: realtime
    max_in_flight: %d
    nodes:
      - {name: src, type: "pipeline_nodes:Counter", params: {count: 120, fps: 200}, outputs: frames}
      - {name: slow, type: "pipeline_nodes:Tag", inputs: frames, outputs: fa, params: {key: a, delay: 0.012}}
      - {name: fast, type: "pipeline_nodes:Tag", inputs: frames, outputs: fb, params: {key: b, delay: 0.004}}
      - {name: join, type: "pipeline_nodes:Merge", inputs: {left: fa, right: fb}, outputs: merged}
      - {name: out, type: "pipeline_nodes:Collect", inputs: merged}
"""


@pytest.mark.parametrize("in_flight", [1, 2])
def test_realtime_admits_at_the_source_and_every_admitted_frame_reaches_the_sink(in_flight):
    ran = run(REALTIME_JOIN % in_flight)
    data = ran.result.metrics.to_dict()
    delivered = [f.index for f in ran.frames("out")]
    assert ran.exit_code == 0
    admitted = data["nodes"]["src"]["frames_out"]
    assert admitted == data["nodes"]["slow"]["frames_in"] == data["nodes"]["fast"]["frames_in"]
    assert len(delivered) == admitted, "no admitted frame is lost at the join"
    assert data["nodes"]["src"]["dropped"] == 120 - admitted > 0, "the slow branch sets the pace"
    assert data["total_drops"] == data["nodes"]["src"]["dropped"], "drops happen at the source only"
    assert delivered == sorted(delivered) and delivered[-1] == 119, "the last frame is held, not lost"
    assert data["captured"] == 120 and data["delivered"] == admitted


def test_without_admission_each_branch_drops_on_its_own_and_the_join_loses_frames():
    ran = run(REALTIME_JOIN % 0)
    data = ran.result.metrics.to_dict()
    entered = data["nodes"]["fast"]["frames_in"]
    assert data["nodes"]["src"]["frames_out"] == 120 and data["nodes"]["src"]["dropped"] == 0
    assert len(ran.frames("out")) < 0.9 * entered, "the work of the fast branch is mostly thrown away"


def test_live_rate_is_what_reaches_the_sinks():
    ran = run((REALTIME_JOIN % 1).replace("{name: out, type: \"pipeline_nodes:Collect\", inputs: merged}",
                                          "{name: out, type: \"pipeline_nodes:LiveProbe\", inputs: merged}"))
    snapshots = ran.nodes["out"].snapshots
    late = snapshots[len(snapshots) // 2:]
    assert late and all(s.source_fps > 120 for s in late), "the source runs at 200 fps"
    assert all(0 < s.fps < 0.6 * s.source_fps for s in late), "the overlay shows the delivered rate"
    assert all(s.latency_ms > 10 for s in late), "the slow branch takes 12 ms a frame"


def test_realtime_sink_slower_than_the_source_drops_at_the_source_and_keeps_latency_bounded():
    ran = run("""\
        mode: realtime
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 150, fps: 300}, outputs: frames}
          - {name: out, type: "pipeline_nodes:Collect", inputs: frames, params: {delay: 0.02}}
    """)
    data = ran.result.metrics.to_dict()
    got = len(ran.frames("out"))
    assert ran.exit_code == 0 and got + data["nodes"]["src"]["dropped"] == 150
    assert data["nodes"]["src"]["dropped"] > 50, "the sink takes 20 ms a frame, the source sends one every 3"
    # A frame waits at most for the one in flight (20 ms) before it is processed (20 ms).
    assert data["nodes"]["out"]["latency_ms"]["p95"] < 150


def test_realtime_node_that_drops_frames_never_stalls_admission():
    ran = run("""\
        mode: realtime
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 200, fps: 400}, outputs: frames}
          - {name: even, type: "pipeline_nodes:DropOdd", inputs: frames, outputs: fa}
          - {name: b, type: "pipeline_nodes:Tag", inputs: frames, outputs: fb, params: {key: b, delay: 0.002}}
          - {name: join, type: "pipeline_nodes:Merge", inputs: [fa, fb], outputs: merged}
          - {name: out, type: "pipeline_nodes:Collect", inputs: merged}
    """)
    data = ran.result.metrics.to_dict()
    admitted = data["nodes"]["src"]["frames_out"]
    delivered = [f.index for f in ran.frames("out")]
    assert ran.exit_code == 0
    assert all(i % 2 == 0 for i in delivered) and len(delivered) + data["nodes"]["out"]["skipped"] == admitted
    assert data["nodes"]["src"]["frames_out"] + data["nodes"]["src"]["dropped"] == 200


@pytest.mark.parametrize("mode", ["realtime", "offline"])
def test_a_node_returning_old_frames_cannot_stall_the_graph(mode, caplog):
    ran = run("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 60, fps: 300}, outputs: frames}
          - {name: stale, type: "pipeline_nodes:Stale", inputs: frames, outputs: old}
          - {name: b, type: "pipeline_nodes:Tag", inputs: frames, outputs: fb, params: {key: b}}
          - {name: join, type: "pipeline_nodes:Merge", inputs: [old, fb], outputs: merged}
          - {name: out, type: "pipeline_nodes:Collect", inputs: merged}
    """, mode=mode)
    data = ran.result.metrics.to_dict()
    assert ran.exit_code == 0
    assert len(ran.frames("out")) == data["nodes"]["src"]["frames_out"], "every admitted frame is delivered"
    assert caplog.text.count("node 'stale' returned frame") == 1
