"""A node in a worker process sees the pipeline's live figures (``ctx.metrics.live()``), as the
built-in visualizer's overlay needs."""

from __future__ import annotations

import contextlib
import math
import textwrap
import threading
from typing import Iterator

import numpy as np
import pytest

from graph_check_nodes import EchoLive
from livepose.graph.frame import Frame
from livepose.graph import worker
from livepose.graph.metrics import LiveSnapshot, SnapshotMetrics
from livepose.graph.node import NodeContext
from livepose.graph.runner import Runner
from livepose.graph.spec import Overrides, WorkerSettings, parse_pipeline
from livepose.graph.worker import WorkerProcessNode


class CountingLive(SnapshotMetrics):
    """Stands in for a running pipeline's metrics, counting how often the figures are computed."""

    def __init__(self, snapshot: LiveSnapshot) -> None:
        super().__init__(snapshot)
        self.computed = 0

    def live(self) -> LiveSnapshot:
        self.computed += 1
        return super().live()


def black(index: int) -> Frame:
    return Frame.capture(np.zeros((8, 8, 3), np.uint8), index)


@contextlib.contextmanager
def echo_in_a_worker(metrics: SnapshotMetrics) -> Iterator[WorkerProcessNode]:
    """An EchoLive node in its worker process, set up with the pipeline metrics given, closed after."""
    node = WorkerProcessNode("echo", EchoLive, {}, WorkerSettings())
    node.ctx = NodeContext("offline", metrics, threading.Event(), headless=True)  # type: ignore[arg-type]
    node.setup()
    try:
        yield node
    finally:
        node.close()


def test_each_request_carries_the_pipelines_live_figures_to_the_worker(monkeypatch):
    monkeypatch.setattr(worker, "LIVE_REFRESH_SECONDS", 0.0)
    metrics = CountingLive(LiveSnapshot(12.5, 40.0, 3, 30.0))
    with echo_in_a_worker(metrics) as node:
        first = node.process(frame=black(0))
        metrics.received(LiveSnapshot(25.0, 20.0, 4, 31.0))
        second = node.process(frame=black(1))
    assert first.results["live"] == LiveSnapshot(12.5, 40.0, 3, 30.0)
    assert second.results["live"] == LiveSnapshot(25.0, 20.0, 4, 31.0)
    at_setup = first.results["live_at_setup"]
    assert (at_setup.fps, at_setup.drops, at_setup.source_fps) == (0.0, 0, 0.0) and math.isnan(at_setup.latency_ms)


def test_the_live_figures_are_computed_once_per_refresh_interval_not_per_frame(monkeypatch):
    monkeypatch.setattr(worker, "LIVE_REFRESH_SECONDS", 3600.0)
    metrics = CountingLive(LiveSnapshot(12.5, 40.0, 3, 30.0))
    with echo_in_a_worker(metrics) as node:
        answers = [node.process(frame=black(i)) for i in range(5)]
    assert metrics.computed == 1 and all(a.results["live"] == LiveSnapshot(12.5, 40.0, 3, 30.0) for a in answers)


def test_a_worker_nodes_metrics_hold_the_live_figures_only():
    metrics = SnapshotMetrics()
    metrics.received(LiveSnapshot(30.0, 15.0, 0, 30.0))
    assert metrics.live() == LiveSnapshot(30.0, 15.0, 0, 30.0)
    with pytest.raises(AttributeError, match=r"ctx.metrics.nodes is not available here, only live\(\)"):
        metrics.nodes  # noqa: B018 - the access is the test


def test_visualize_in_a_worker_process_draws_its_overlay_through_the_real_runner(caplog):
    spec = parse_pipeline(textwrap.dedent("""\
        nodes:
          - {name: camera, type: capture, params: {source: synthetic, frames: 5, width: 160, height: 120},
             outputs: frames}
          - {name: draw, type: visualize, inputs: frames, outputs: drawn, process: true}
          - {name: out, type: "graph_check_nodes:Keep", inputs: drawn}
          - {name: raw, type: "graph_check_nodes:Keep", inputs: frames}
    """), "t.yaml", Overrides(mode="offline"))
    runner = Runner(spec, headless=True, install_signal_handlers=False)
    result = runner.run()
    assert result.exit_code == 0, caplog.text
    drawn, raw = runner.nodes["out"].frames, runner.nodes["raw"].frames
    assert [f.index for f in drawn] == [f.index for f in raw] == list(range(5))
    for out, source in zip(drawn, raw):
        assert out.image.shape == source.image.shape and not np.array_equal(out.image, source.image)
