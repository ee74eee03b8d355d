"""Framework overhead: a chain of 5 pass-through nodes on 640x480 frames.

Offline: frames per second through the chain (every frame processed, back-pressure).
Realtime: end-to-end latency from capture to the sink with a source paced at 100 fps.
Baseline, measured in the same run: the same six process() calls made one after another in a
plain loop on one thread, which is what the graph costs on top of the nodes' own work.

    python benchmarks/bench_engine.py [--frames 3000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import numpy as np

from livepose import Frame, Node, param
from livepose.graph.runner import Runner
from livepose.graph.spec import Overrides, build_pipeline

IMAGE = np.zeros((480, 640, 3), np.uint8)


class BenchSource(Node):
    """Emits `count` 640x480 frames, paced at `fps` when non-zero."""

    outputs = ("frame",)
    count: int = param(1000, "frames to emit", ge=1)
    fps: float = param(0.0, "pace (0: as fast as possible)", ge=0)

    def setup(self) -> None:
        self._next = 0
        self._start = time.monotonic()

    def process(self) -> Frame | None:
        if self._next >= self.count:
            return None
        if self.fps:
            delay = self._start + self._next / self.fps - time.monotonic()
            if delay > 0 and self.ctx.stop_event.wait(delay):
                return None
        frame = Frame.capture(IMAGE, self._next)
        self._next += 1
        return frame


class PassThrough(Node):
    """Returns its input unchanged."""

    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> Frame:
        return frame


class Sink(Node):
    """Accepts frames."""

    inputs = ("frame",)

    def process(self, frame: Frame) -> None:
        return None


def chain_spec(count: int, fps: float, mode: str, hops: int = 5):
    names = [f"p{i}" for i in range(hops)]
    nodes = [{"name": "src", "type": "bench_engine:BenchSource", "outputs": "s0",
              "params": {"count": count, "fps": fps}}]
    for i, name in enumerate(names):
        nodes.append({"name": name, "type": "bench_engine:PassThrough", "inputs": f"s{i}", "outputs": f"s{i + 1}"})
    nodes.append({"name": "sink", "type": "bench_engine:Sink", "inputs": f"s{hops}"})
    data = {"name": "bench", "mode": mode, "nodes": nodes}
    return build_pipeline(data, "bench", Overrides())


def sequential_fps(count: int) -> float:
    source, nodes, sink = BenchSource(count=count), [PassThrough() for _ in range(5)], Sink()
    source.setup()
    start = time.perf_counter()
    while (frame := source.process()) is not None:
        for node in nodes:
            frame = node.process(frame=frame)
        sink.process(frame=frame)
    return count / (time.perf_counter() - start)


def graph_offline_fps(count: int) -> tuple[float, float]:
    runner = Runner(chain_spec(count, 0, "offline"), install_signal_handlers=False)
    start = time.perf_counter()
    result = runner.run()
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0 and result.metrics.nodes["sink"].frames_in == count
    return count / elapsed, result.metrics.to_dict()["nodes"]["sink"]["latency_ms"]["p50"]


def graph_realtime_latency(count: int, fps: float) -> tuple[float, float, int]:
    result = Runner(chain_spec(count, fps, "realtime"), install_signal_handlers=False).run()
    data = result.metrics.to_dict()
    lat = data["nodes"]["sink"]["latency_ms"]
    return lat["p50"], lat["p95"], data["total_drops"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.modules.setdefault("bench_engine", sys.modules[__name__])

    seq, off, off_lat, rt50, rt95, drops = [], [], [], [], [], []
    for _ in range(args.repeats):
        seq.append(sequential_fps(args.frames))
        fps, lat = graph_offline_fps(args.frames)
        off.append(fps)
        off_lat.append(lat)
        p50, p95, d = graph_realtime_latency(300, 100.0)
        rt50.append(p50)
        rt95.append(p95)
        drops.append(d)

    med = statistics.median
    print(f"machine: {platform.node()} {platform.machine()} python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"baseline, 6 process() calls in one loop: {med(seq):10.0f} frames/s")
    print(f"graph offline, 5 pass-through nodes:     {med(off):10.0f} frames/s "
          f"({med(off) / med(seq):.3f}x of baseline; {1e3 / med(off) - 1e3 / med(seq):.3f} ms overhead a frame)")
    print(f"graph offline, capture-to-sink latency p50: {med(off_lat):.3f} ms (queues full by design)")
    print(f"graph realtime at 100 fps, latency p50 {med(rt50):.3f} ms, p95 {med(rt95):.3f} ms, "
          f"drops {max(drops)}")


if __name__ == "__main__":
    main()
