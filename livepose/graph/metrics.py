"""Run metrics: per node, per stream and end to end, read live by nodes and summarised at exit.

Recording a sample is a couple of float stores; percentiles are computed only when asked.
Samples live in fixed-size rings, so the figures cover the last ``WINDOW`` frames of a run.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from livepose.graph.queues import Edge, Inbox

WINDOW = 1 << 16
"""Processing-time and latency samples kept per node (the last 65,536 frames)."""
LIVE_SECONDS = 1.0


class SampleRing:
    """The last ``capacity`` float samples, with percentiles on demand."""

    __slots__ = ("_values", "_count")

    def __init__(self, capacity: int = WINDOW) -> None:
        # Filled now, not as samples arrive: the pages are committed at start, so a long run's
        # memory stays flat instead of growing by the ring's half megabyte per node.
        self._values = np.full(capacity, np.nan, dtype=np.float64)
        self._count = 0

    def add(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    def __len__(self) -> int:
        return min(self._count, len(self._values))

    def percentiles(self, *qs: float) -> list[float]:
        n = len(self)
        if n == 0:
            return [float("nan")] * len(qs)
        return [float(v) for v in np.percentile(self._values[:n], qs)]

    @property
    def count(self) -> int:
        """Samples added since the start (also those the ring no longer holds)."""
        return self._count

    def since(self, count: int) -> np.ndarray:
        """The samples added after the first ``count`` (at most the ring's capacity), oldest first:
        a reader that polls passes the ``count`` it saw last."""
        end = self._count
        first = max(count, end - len(self._values))
        if first >= end:
            return np.empty(0)
        positions = np.arange(first, end) % len(self._values)
        return self._values[positions]

    def maximum(self) -> float:
        n = len(self)
        return float(self._values[:n].max()) if n else float("nan")


class NodeMetrics:
    """Counters of one node; written only by that node's thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.frames_in = 0
        self.frames_out = 0
        self.frames_processed = 0
        self.skipped = 0
        self.errors = 0
        self.dropped = 0
        """Sources of a realtime run: frames produced that the graph had no room for (never processed)."""
        self.process_seconds = SampleRing()
        self.latency_seconds = SampleRing()
        """End-to-end latency, capture to this node's finish; recorded at sinks only."""
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.recent_latency: deque[tuple[float, float]] = deque(maxlen=256)
        self.frames_in_by_port: dict[str, int] = {}
        """Gathering nodes: frames taken from each input port (one per camera)."""

    def processed(self, started: float, finished: float) -> None:
        if self.first_time is None:
            self.first_time = started
        self.last_time = finished
        self.frames_processed += 1
        self.process_seconds.add(finished - started)

    def throughput(self) -> float:
        if self.first_time is None or self.last_time is None or self.last_time <= self.first_time:
            return 0.0
        return self.frames_processed / (self.last_time - self.first_time)


@dataclass(frozen=True)
class LiveSnapshot:
    """What a display overlay shows, over the last second: the rate at which frames reach the sinks
    (every sink: a frame counts once all have it), their end-to-end latency, and what the sources
    captured in the same time."""

    fps: float
    latency_ms: float
    drops: int
    source_fps: float = float("nan")


class SnapshotMetrics:
    """Live figures given from outside: the ``ctx.metrics`` of a node in a worker process (the
    pipeline sends them with each frame) or under test (``livepose.testing`` sets them).

    ``live()`` is the snapshot last received; before any, what a pipeline says before its first
    frame. Nothing else of :class:`PipelineMetrics` is there: the per-node and per-stream figures
    stay in the pipeline's process.
    """

    def __init__(self, snapshot: LiveSnapshot = LiveSnapshot(0.0, float("nan"), 0, 0.0)) -> None:
        self._snapshot = snapshot

    def received(self, snapshot: LiveSnapshot) -> None:
        self._snapshot = snapshot

    def live(self) -> LiveSnapshot:
        return self._snapshot

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"ctx.metrics.{name} is not available here, only live(): the node runs in a "
                             "worker process or under test")


class PipelineMetrics:
    """All metrics of one run. Nodes read ``live()``; the runner writes the rest."""

    def __init__(self, node_names: Iterable[str], inboxes: dict[str, Inbox], sources: Iterable[str],
                 sinks: Iterable[str]) -> None:
        self.nodes = {name: NodeMetrics(name) for name in node_names}
        self._inboxes = inboxes
        self._sources = list(sources)
        self._sinks = list(sinks)
        self.ends: dict[str, list[tuple[str, str | None]]] | None = None
        """Set when the graph gathers streams: per source, the sinks of its own part of the graph and the
        (gathering node, port) its frames end at."""
        self._source_times: deque[float] = deque(maxlen=1024)
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.finished: float | None = None
        self.first_delivery_unix: float | None = None
        """Wall-clock time a sink first finished a frame: the end of start-up, as a user sees it."""
        self.shared_calls: Callable[[], Mapping[str, Any]] | None = None
        """``batch_cameras``: each shared model's ``SharedCallStats`` (calls, requests, rows, shared), by label."""

    def source_emitted(self, when: float) -> None:
        self._source_times.append(when)

    def sink_finished(self, node: NodeMetrics, capture_time: float, now: float) -> None:
        if self.first_delivery_unix is None:
            self.first_delivery_unix = time.time()
        latency = now - capture_time
        node.latency_seconds.add(latency)
        node.recent_latency.append((now, latency))

    def edges(self) -> list[tuple[str, Edge]]:
        return [(consumer, edge) for consumer, inbox in self._inboxes.items() for edge in inbox.edges]

    def total_drops(self) -> int:
        return (sum(e.drops for _, e in self.edges()) + sum(i.join_drops for i in self._inboxes.values())
                + sum(m.dropped for m in self.nodes.values()))

    def drops_at(self, name: str) -> int:
        """Frames lost at this node: refused at admission (sources), or dropped from its inputs."""
        inbox = self._inboxes.get(name)
        queued = sum(e.drops for e in inbox.edges) + inbox.join_drops if inbox is not None else 0
        return self.nodes[name].dropped + queued

    def live(self) -> LiveSnapshot:
        now = time.monotonic()
        horizon = now - LIVE_SECONDS
        source_fps = _rate([t for t in list(self._source_times) if t >= horizon])
        delivered = [[when for when, _ in list(self.nodes[sink].recent_latency) if when >= horizon]
                     for sink in self._sinks]
        fps = min((_rate(times) for times in delivered), default=0.0)
        (latency,) = self.recent_latency_ms(50, now=now)
        return LiveSnapshot(fps, latency, self.total_drops(), source_fps)

    def recent_latency_ms(self, *percentiles: float, now: float | None = None) -> list[float]:
        """Percentiles of the end-to-end latency of the frames the sinks finished in the last
        ``LIVE_SECONDS``, in milliseconds (NaN when none)."""
        horizon = (time.monotonic() if now is None else now) - LIVE_SECONDS
        latencies = [lat for sink in self._sinks for when, lat in list(self.nodes[sink].recent_latency)
                     if when >= horizon]
        if not latencies:
            return [float("nan")] * len(percentiles)
        return [float(v) * 1000 for v in np.percentile(latencies, percentiles)]

    def captured(self) -> int:
        """Frames the sources produced, whether or not the graph took them."""
        return sum(self.nodes[s].frames_out + self.nodes[s].dropped for s in self._sources)

    def delivered(self) -> int:
        """Frames that reached every sink (the fewest any sink handled); with gathering nodes (several
        cameras), per source: the frames that reached every sink of that source's own part of the graph
        and the gathering node's port for it, summed over the sources."""
        if self.ends is None:
            return min((self.nodes[s].frames_in for s in self._sinks), default=0)
        total = 0
        for ends in self.ends.values():
            counts = [self.nodes[node].frames_in if port is None else self.nodes[node].frames_in_by_port.get(port, 0)
                      for node, port in ends]
            total += min(counts, default=0)
        return total

    def to_dict(self) -> dict[str, Any]:
        """Every figure of the run, in milliseconds and frames per second."""
        end = self.finished or time.monotonic()
        nodes = {}
        for name, m in self.nodes.items():
            p50, p95 = m.process_seconds.percentiles(50, 95)
            entry: dict[str, Any] = {
                "frames_in": m.frames_in, "frames_out": m.frames_out, "dropped": self.drops_at(name),
                "skipped": m.skipped, "errors": m.errors, "fps": round(m.throughput(), 2),
                "process_ms": {"p50": _ms(p50), "p95": _ms(p95), "max": _ms(m.process_seconds.maximum())},
            }
            if name in self._sinks:
                l50, l95 = m.latency_seconds.percentiles(50, 95)
                entry["latency_ms"] = {"p50": _ms(l50), "p95": _ms(l95)}
            nodes[name] = entry
        streams = [{"stream": e.stream, "consumer": consumer, "port": e.port, "policy": e.policy, "size": e.size,
                    "depth": e.depth, "max_depth": e.max_depth, "drops": e.drops}
                   for consumer, e in self.edges()]
        joins = {name: inbox.join_drops for name, inbox in self._inboxes.items() if inbox.join_drops}
        shared = {label: {"calls": st.calls, "requests": st.requests, "rows": st.rows, "shared": st.shared}
                  for label, st in (self.shared_calls() if self.shared_calls else {}).items()}
        return {"wall_seconds": round(end - self.started, 3), "first_delivery_unix": self.first_delivery_unix,
                "captured": self.captured(),
                "delivered": self.delivered(), "nodes": nodes, "streams": streams, "join_drops": joins,
                "total_drops": self.total_drops(), **({"batched_across_cameras": shared} if shared else {})}

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def summary_table(self) -> str:
        data = self.to_dict()
        rows = [("node", "in", "out", "drop", "fps", "p50 ms", "p95 ms", "max ms", "e2e p50", "e2e p95")]
        for name, n in data["nodes"].items():
            lat = n.get("latency_ms", {})
            rows.append((name, str(n["frames_in"]), str(n["frames_out"]), str(n["dropped"]), f"{n['fps']:.1f}",
                         _fmt(n["process_ms"]["p50"]), _fmt(n["process_ms"]["p95"]), _fmt(n["process_ms"]["max"]),
                         _fmt(lat.get("p50")), _fmt(lat.get("p95"))))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        dropped = [f"{name} (not admitted): {self.nodes[name].dropped}" for name in self._sources
                   if self.nodes[name].dropped]
        dropped += [f"{s['stream']}->{s['consumer']}: {s['drops']}" for s in data["streams"] if s["drops"]]
        dropped += [f"join in {name}: {count}" for name, count in data["join_drops"].items()]
        lines.append(f"drops: {', '.join(dropped) if dropped else 'none'}   wall time: {data['wall_seconds']:.2f} s")
        lines.append(self._delivery_line(data))
        for label, st in sorted(data.get("batched_across_cameras", {}).items()):
            if not st["calls"]:
                continue  # a model this run never called (no face came, no hand to track)
            per_call = st["requests"] / st["calls"] if st["calls"] else 0.0
            lines.append(f"batched across cameras: {label}: {st['calls']} calls for {st['requests']} requests "
                         f"({per_call:.2f} per call, {st['shared']} calls shared)")
        return "\n".join(lines)

    def _delivery_line(self, data: dict[str, Any]) -> str:
        captured, delivered = data["captured"], data["delivered"]
        share = f" ({100 * delivered / captured:.0f} %)" if captured else ""
        rates = [data["nodes"][s]["fps"] for s in self._sinks]
        latencies = [data["nodes"][s].get("latency_ms", {}).get("p50") for s in self._sinks]
        known = [lat for lat in latencies if lat is not None]
        latency = f", latency p50 {max(known):.1f} ms" if known else ""
        return (f"delivered: {delivered} of {captured} frames{share} at "
                f"{min(rates, default=0.0):.1f} fps{latency}")


def _rate(times: list[float]) -> float:
    """Events per second over a list of increasing times."""
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def _ms(seconds: float) -> float | None:
    return None if seconds != seconds else round(seconds * 1000, 3)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
