"""Nodes in worker processes (``process:``): same frames as in-process, errors and crashes reported, no
process left behind."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import livepose.logs
from livepose.testing import run_pipeline


CHAIN = """\
    nodes:
      - {name: src, type: "pipeline_nodes:Counter", params: {count: 40, width: 64, height: 48}, outputs: a}
      - {name: fill, type: "pipeline_nodes:Fill", inputs: a, outputs: b, %s}
      - {name: tag, type: "pipeline_nodes:Tag", inputs: b, outputs: c, params: {key: t, factor: 3}, %s}
      - {name: out, type: "pipeline_nodes:Collect", inputs: c}
"""


def test_worker_nodes_give_the_frames_the_same_nodes_give_in_process():
    worker_run = run_pipeline(CHAIN % ("process: true", "process: {nice: 2}"))
    assert worker_run.exit_code == 0
    in_worker = worker_run.frames("out")
    process_run = run_pipeline(CHAIN % ("process: false", "process: false"))
    assert process_run.exit_code == 0
    in_process = process_run.frames("out")
    assert [f.index for f in in_worker] == list(range(40))
    for a, b in zip(in_worker, in_process):
        assert a.image.shape == (48, 64, 3) and a.image.dtype == np.uint8
        assert np.array_equal(a.image, b.image) and int(a.image[0, 0, 0]) == a.index
        assert dict(a.results) == dict(b.results) and a.results["t"] == 3 * a.index
        assert (a.mirrored, a.timestamp > 0) == (b.mirrored, True)


def test_a_frame_the_worker_only_annotates_keeps_the_pipelines_own_picture():
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 5}, outputs: a}
          - {name: tag, type: "pipeline_nodes:Tag", inputs: a, outputs: b, process: true}
          - {name: out, type: "pipeline_nodes:Collect", inputs: b}
          - {name: raw, type: "pipeline_nodes:Collect", inputs: a}
    """)
    assert len(ran.frames("out")) == 5
    for tagged, raw in zip(ran.frames("out"), ran.frames("raw")):
        assert tagged.image is raw.image, "no copy back of a picture the worker did not change"
        assert tagged.results["tag"] == tagged.index and "tag" not in raw.results


def test_a_worker_node_may_keep_its_input_pictures():
    # The shared buffer is rewritten every frame; the node's own copy must not change with it.
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 12, width: 16, height: 16}, outputs: a}
          - {name: fill, type: "pipeline_nodes:Fill", inputs: a, outputs: b}
          - {name: keep, type: "pipeline_nodes:KeepFirst", inputs: b, outputs: c, process: true}
          - {name: out, type: "pipeline_nodes:Collect", inputs: c}
    """)
    frames = ran.frames("out")
    assert [f.results["first_mean"] for f in frames] == [0.0] * 12
    assert int(frames[-1].image[0, 0, 0]) == 11


def test_worker_runs_in_its_own_process_at_the_asked_priority_and_ends_with_the_run(caplog):
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 3}, outputs: a}
          - {name: where, type: "pipeline_nodes:WhereAmI", inputs: a, outputs: b, process: {nice: 5}}
          - {name: out, type: "pipeline_nodes:Collect", inputs: b}
    """)
    results = ran.frames("out")[0].results
    assert results["pid"] != os.getpid()
    assert results["nice"] == min(os.nice(0) + 5, 19)
    assert f"frame 0 reached process {results['pid']}" in caplog.text, "the worker's log reaches the pipeline's"
    with pytest.raises(ProcessLookupError):
        os.kill(results["pid"], 0)


def test_a_once_per_run_warning_is_shown_once_whichever_processes_give_it(caplog, monkeypatch):
    monkeypatch.setattr(livepose.logs, "_warned", set())
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 2}, outputs: a}
          - {name: here, type: "pipeline_nodes:WarnOnce", inputs: a, outputs: b}
          - {name: there, type: "pipeline_nodes:WarnOnce", inputs: b, outputs: c, process: true}
          - {name: elsewhere, type: "pipeline_nodes:WarnOnce", inputs: c, outputs: d, process: true}
          - {name: out, type: "pipeline_nodes:Collect", inputs: d}
    """)
    assert len(ran.frames("out")) == 2
    assert caplog.text.count("the same warning from every process") == 1


def test_exception_in_a_worker_stops_the_run_with_the_workers_traceback(caplog):
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0}, outputs: a}
          - {name: bad, type: "pipeline_nodes:Fail", inputs: a, outputs: b, params: {fail_on: [4]}, process: true}
          - {name: out, type: "pipeline_nodes:Collect", inputs: b}
    """)
    assert ran.exit_code == 1 and "bad" in ran.result.reason
    assert [f.index for f in ran.frames("out")] == [0, 1, 2, 3]
    assert "RuntimeError: boom on frame 4" in caplog.text
    assert "in the worker process of node 'bad'" in caplog.text and "pipeline_nodes.py" in caplog.text
    assert not ran.result.stuck_nodes


def test_skip_frame_goes_on_with_the_same_worker():
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 10}, outputs: a}
          - {name: bad, type: "pipeline_nodes:Fail", inputs: a, outputs: b, params: {fail_on: [2, 5]},
             on_error: skip_frame, process: true}
          - {name: out, type: "pipeline_nodes:Collect", inputs: b}
    """)
    assert ran.exit_code == 0
    assert [f.index for f in ran.frames("out")] == [0, 1, 3, 4, 6, 7, 8, 9]


def test_a_user_error_in_a_workers_setup_is_a_message_without_traceback(caplog):
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 3}, outputs: a}
          - {name: model, type: "pipeline_nodes:NeedsModel", inputs: a, outputs: b, process: true}
          - {name: out, type: "pipeline_nodes:Collect", inputs: b}
    """)
    assert ran.exit_code == 2
    assert "node 'model': model 'nowhere.onnx' not found: run `livepose models prepare`" in caplog.text
    assert "Traceback" not in caplog.text


def test_a_worker_that_dies_stops_the_run_promptly(caplog):
    started = time.monotonic()
    ran = run_pipeline("""\
        nodes:
          - {name: src, type: "pipeline_nodes:Counter", params: {count: 0}, outputs: a}
          - {name: crash, type: "pipeline_nodes:ExitProcess", inputs: a, outputs: b, params: {at: 4}, process: true}
          - {name: out, type: "pipeline_nodes:Collect", inputs: b}
    """)
    assert ran.exit_code == 1 and "crash" in ran.result.reason
    assert "the worker process of node 'crash' exited with status 3" in caplog.text
    assert [f.index for f in ran.frames("out")] == [0, 1, 2, 3]
    assert time.monotonic() - started < 10 and not ran.result.stuck_nodes


def test_workers_start_from_the_file_before_it_is_loaded_and_are_claimed_once(tmp_path):
    from livepose.graph import prestart

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "nodes:\n"
        "  - {name: face, type: face_tracker, inputs: frames, process: true}\n"
        "  - {name: mine, type: 'pipeline_nodes:Tag', inputs: frames, process: true}\n"
        "  - {name: draw, type: visualize, inputs: frames}\n")
    assert prestart.prestart_workers(pipeline) == 1, "only built-in types: a module of the user's needs its path"
    claimed = prestart.claim_worker("livepose.nodes.face:FaceTrackerNode")
    assert claimed is not None and claimed[0].poll() is None
    assert prestart.claim_worker("livepose.nodes.face:FaceTrackerNode") is None
    worker, sock = claimed
    sock.close()
    assert worker.wait(timeout=30) == 0, "a worker nobody talks to exits when its socket closes"
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe nodes: [")
    assert prestart.prestart_workers(tmp_path / "bad.yaml") == 0
