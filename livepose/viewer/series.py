"""The viewer's plotted series: the run's own metrics (``livepose.graph.metrics``), sampled about ten
times a second and kept for the last 30 s.

Nothing is counted twice: each sample reads what the runner already records (the sinks' delivery
times and latencies, each node's processing-time ring, each queue's depth and drops).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from livepose.graph.metrics import PipelineMetrics

PLOT_SECONDS = 30.0
SAMPLE_SECONDS = 0.1
"""About ten samples a second."""


@dataclass
class Series:
    """One plotted line: times (monotonic seconds) and values, the last ``PLOT_SECONDS``."""

    name: str
    times: deque[float] = field(default_factory=deque)
    values: deque[float] = field(default_factory=deque)

    def add(self, when: float, value: float, seconds: float = PLOT_SECONDS) -> None:
        self.times.append(when)
        self.values.append(value)
        while self.times and self.times[0] < when - seconds:
            self.times.popleft()
            self.values.popleft()

    def arrays(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Seconds before ``now`` (negative) and the values."""
        return np.asarray(self.times, dtype=float) - now, np.asarray(self.values, dtype=float)


class RunSeries:
    """Samples a run's metrics into :class:`Series` (see the module doc). Call :meth:`sample` from
    one thread, at any rate; every call adds one point to each series."""

    def __init__(self, metrics: PipelineMetrics, seconds: float = PLOT_SECONDS) -> None:
        self.metrics = metrics
        self.seconds = seconds
        self.throughput = {"delivered": Series("delivered"), "captured": Series("captured")}
        """Frames per second reaching every sink, and captured by the sources."""
        self.latency = {"p50": Series("p50"), "p95": Series("p95")}
        """End-to-end latency at the sinks, milliseconds, over the last second."""
        self.processing = {name: Series(name) for name in metrics.nodes}
        """Median processing time of each node's frames since the previous sample, milliseconds."""
        edges = metrics.edges()
        self._edge_names = [_edge_name(consumer, edge.stream, edge.port, edges) for consumer, edge in edges]
        self.queue_fill = {name: Series(name) for name in self._edge_names}
        """Frames waiting in each queue, as a percentage of its size."""
        self.drops = {name: Series(name) for name in self._edge_names}
        """Frames each queue dropped, per second, since the previous sample."""
        self.source_drops = Series("not admitted")
        self._seen = {name: node.process_seconds.count for name, node in metrics.nodes.items()}
        self._drops_before = [edge.drops for _, edge in edges]
        self._refused_before = self._refused()
        self._last: float | None = None

    def _refused(self) -> int:
        return sum(node.dropped for node in self.metrics.nodes.values())

    def sample(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        elapsed = (now - self._last) if self._last is not None else SAMPLE_SECONDS
        self._last = now
        live = self.metrics.live()
        self.throughput["delivered"].add(now, live.fps, self.seconds)
        self.throughput["captured"].add(now, live.source_fps, self.seconds)
        p50, p95 = self.metrics.recent_latency_ms(50, 95)
        self.latency["p50"].add(now, p50, self.seconds)
        self.latency["p95"].add(now, p95, self.seconds)
        for name, node in self.metrics.nodes.items():
            new = node.process_seconds.since(self._seen[name])
            self._seen[name] = node.process_seconds.count
            self.processing[name].add(now, float(np.median(new)) * 1000 if len(new) else float("nan"), self.seconds)
        rate = 1.0 / elapsed if elapsed > 0 else 0.0
        for k, (name, (_, edge)) in enumerate(zip(self._edge_names, self.metrics.edges())):
            self.queue_fill[name].add(now, 100.0 * edge.depth / edge.size if edge.size else 0.0, self.seconds)
            self.drops[name].add(now, (edge.drops - self._drops_before[k]) * rate, self.seconds)
            self._drops_before[k] = edge.drops
        refused = self._refused()
        self.source_drops.add(now, (refused - self._refused_before) * rate, self.seconds)
        self._refused_before = refused


def _edge_name(consumer: str, stream: str, port: str, edges: list) -> str:  # type: ignore[type-arg]
    """``stream -> consumer``, with the port when the consumer reads one stream on two ports."""
    same = [e for c, e in edges if c == consumer and e.stream == stream]
    return f"{stream} -> {consumer}" + (f".{port}" if len(same) > 1 else "")
