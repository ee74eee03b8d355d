"""The viewer node (issue 17): what it costs the pipeline's threads and the main thread, per frame.

Every run is a real pipeline in this process, ``Runner(spec, headless=False).run()`` on the main
thread, so the viewer's window (Qt offscreen unless ``QT_QPA_PLATFORM`` says otherwise) runs Qt's
event loop there and the pipeline runs on its own threads. The pipeline is a synthetic source
(``capture``, ``source: synthetic``), ``visualize``, then the sink under test. The window is
resized to 1400x800 (its default) so the video area, and the size the node scales frames to, is
what a user sees first.

1. Realtime, 30 fps, 1280x720 and 1920x1080, ``--seconds`` (20) measured after ``--warmup`` (3) s:
   the viewer node's process time per frame on its pipeline thread (it scales each frame to the
   video area there), the window's time on the main thread per frame it takes and paints
   (``ViewerBridge.main_thread_seconds``), the plots' 10 Hz refresh on the main thread (the
   window's stats timer, timed by wrapping its slot), the CPU time of every thread
   (``/proc/self/task/<tid>/schedstat``) and of the process, frames captured / delivered, frames
   painted / received. The baseline, in the same invocation, just before: the same pipeline with a
   ``display`` node instead, run headless (frames consumed unseen). At 720p also the viewer with
   ``plots: false``.
2. Offline, ``--offline-frames`` (600) frames at 720p: every frame must reach the viewer (its
   frames_in equals the frames captured, ``total_drops`` 0); wall time against the headless
   baseline.
3. Memory: a realtime 720p30 run of ``--duration`` (600) s with the viewer, the process's RSS
   (VmRSS) sampled every 10 s; the RSS after the first minute, at the end, and the least-squares
   slope over minutes 1 to the end. Goal: no growth.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_viewer.py [--duration 600] [--quick] [--json out.json]

``--quick``: 5 s realtime runs, 120 offline frames and a 20 s memory run (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livepose.graph.runner import Runner  # noqa: E402
from livepose.graph.spec import Overrides, parse_pipeline  # noqa: E402
from livepose.viewer.app import use_pyqt_plugins  # noqa: E402
from machine import machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WINDOW_SIZE = (1400, 800)
FPS = 30.0
RSS_EVERY = 10.0  # seconds
GOAL_MAIN_MS = 2.0
GROWTH_LIMIT = 0.1  # MiB a minute: below it, "no growth"


# -- measuring ---------------------------------------------------------------------------------


def thread_cpu(native_id: int) -> float:
    """CPU seconds of one of this process's threads (schedstat: nanoseconds; stat: clock ticks)."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat") as handle:
            return int(handle.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/self/task/{native_id}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return math.nan


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def threads_cpu() -> dict[str, float]:
    """CPU seconds by thread name ("MainThread", "livepose:window", ...)."""
    return {t.name: thread_cpu(t.native_id) for t in threading.enumerate() if t.native_id is not None}


@dataclass
class Snapshot:
    when: float
    process_cpu: float
    threads: dict[str, float]
    nodes: dict[str, dict[str, int]]
    captured: int
    delivered: int
    drops: int
    process_count: int
    """Samples in the sink node's process-time ring so far."""
    shown_count: int
    """Frames the window took and painted so far (the bridge's main-thread ring)."""
    rss: float


def snapshot(runner: Runner, sink: str = "window") -> Snapshot:
    metrics = runner.metrics
    node = runner.nodes[sink]
    bridge = getattr(node, "bridge", None)
    return Snapshot(time.monotonic(), time.process_time(), threads_cpu(),
                    {name: {"in": m.frames_in, "out": m.frames_out, "dropped": m.dropped}
                     for name, m in metrics.nodes.items()},
                    metrics.captured(), metrics.delivered(), metrics.total_drops(),
                    metrics.nodes[sink].process_seconds.count,
                    bridge.main_thread_seconds.count if bridge is not None else 0, rss_mib())


@dataclass
class Run:
    """What one run measured between its two snapshots (and along the way)."""

    label: str
    width: int
    height: int
    viewer: bool
    start: Snapshot | None = None
    end: Snapshot | None = None
    process_ms: list[float] = field(default_factory=list)
    """The sink node's process time of each frame in the measured span."""
    main_ms: list[float] = field(default_factory=list)
    """The window's main-thread time of each frame it showed in the span."""
    tick_ms: list[float] = field(default_factory=list)
    """The window's stats timer (series sample, plots refresh, status line), each call."""
    rss: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the span's start, MiB)."""
    video_area: tuple[int, int] | None = None
    view_size: tuple[int, int] | None = None
    """The size of the frames the node scaled for the window."""
    load: tuple[float, float] = (math.nan, math.nan)
    wall: float = math.nan
    exit_code: int | None = None
    totals: dict[str, Any] = field(default_factory=dict)
    """``metrics.to_dict()`` at the end (offline runs)."""
    _tick_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _measuring: bool = False

    # Derived figures --------------------------------------------------------------------------
    @property
    def span(self) -> float:
        return self.end.when - self.start.when if self.start and self.end else math.nan

    def delta(self, key: str) -> int:
        assert self.start and self.end
        return getattr(self.end, key) - getattr(self.start, key)

    def node_delta(self, name: str, key: str) -> int:
        assert self.start and self.end
        return self.end.nodes[name][key] - self.start.nodes[name][key]

    def thread_share(self, name: str) -> float:
        """Percent of one core the thread used over the span."""
        assert self.start and self.end
        if name not in self.start.threads or name not in self.end.threads:
            return math.nan
        return 100 * (self.end.threads[name] - self.start.threads[name]) / self.span

    def process_share(self) -> float:
        assert self.start and self.end
        return 100 * (self.end.process_cpu - self.start.process_cpu) / self.span

    def thread_ms_per_frame(self, name: str, frames: int) -> float:
        assert self.start and self.end
        if name not in self.start.threads or name not in self.end.threads or not frames:
            return math.nan
        return 1000 * (self.end.threads[name] - self.start.threads[name]) / frames


def percentiles(values: list[float], *qs: float) -> list[float]:
    return [float(v) for v in np.percentile(values, qs)] if values else [math.nan] * len(qs)


class Probe(threading.Thread):
    """Waits for the first frame at the sink and ``warmup`` seconds, snapshots, samples RSS and the
    rings every ``RSS_EVERY`` s, snapshots again after ``seconds`` and stops the run (realtime)."""

    def __init__(self, runner: Runner, run: Run, warmup: float, seconds: float, stop: bool = True) -> None:
        super().__init__(name="bench:probe", daemon=True)
        self.runner, self.run_, self.warmup, self.seconds, self.stop = runner, run, warmup, seconds, stop
        self.cancel = threading.Event()

    def _collect(self, process_seen: int, shown_seen: int, upto: Snapshot) -> None:
        node = self.runner.nodes["window"]
        ring = self.runner.metrics.nodes["window"].process_seconds
        self.run_.process_ms += list(1000 * ring.since(process_seen)[:upto.process_count - process_seen])
        bridge = getattr(node, "bridge", None)
        if bridge is not None:
            main = bridge.main_thread_seconds.since(shown_seen)[:upto.shown_count - shown_seen]
            self.run_.main_ms += list(1000 * main)

    def run(self) -> None:
        metrics = self.runner.metrics.nodes["window"]
        while metrics.frames_in == 0 and not self.runner.stop_event.is_set():
            if self.cancel.wait(0.05):
                return
        if self.cancel.wait(self.warmup) or self.runner.stop_event.is_set():
            return
        start = snapshot(self.runner)
        self.run_.start = start
        with self.run_._tick_lock:
            self.run_._measuring = True
        self.run_.rss.append((0.0, start.rss))
        seen = start
        deadline = start.when + self.seconds
        sample = 0
        while True:
            sample += 1
            due = min(deadline, start.when + sample * RSS_EVERY)
            if self.cancel.wait(max(0.0, due - time.monotonic())):
                return
            now = snapshot(self.runner)
            self._collect(seen.process_count, seen.shown_count, now)
            seen = now
            self.run_.rss.append((now.when - start.when, now.rss))
            if now.when >= deadline or self.runner.stop_event.is_set():
                break
        with self.run_._tick_lock:
            self.run_._measuring = False
        self.run_.end = seen
        if self.stop:
            self.runner.request_stop("benchmark span over")


class WindowDriver:
    """On the main thread: finds the viewer's window, sizes it, times its stats timer's slot."""

    def __init__(self, run: Run) -> None:
        from PyQt5 import QtCore

        self.run = run
        self.window: Any = None
        self.timer = QtCore.QTimer(interval=20, timeout=self.poll)
        self.timer.start()

    def poll(self) -> None:
        from PyQt5 import QtWidgets

        from livepose.viewer.window import ViewerWindow

        if self.window is None:
            found = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, ViewerWindow) and w.isVisible()]
            if not found:
                return
            self.window = window = found[0]
            window.resize(*WINDOW_SIZE)
            stats = window._stats_timer
            stats.timeout.disconnect()
            stats.timeout.connect(self._timed_tick)
            self.timer.setInterval(500)  # only the view size is looked at from now on
            return
        self.run.video_area = (self.window.video.width(), self.window.video.height())
        frame = self.window.bridge.newest()
        if frame is not None:
            self.run.view_size = (frame.view.shape[1], frame.view.shape[0])

    def _timed_tick(self) -> None:
        started = time.perf_counter()
        self.window._tick()
        elapsed = time.perf_counter() - started
        with self.run._tick_lock:
            if self.run._measuring:
                self.run.tick_ms.append(1000 * elapsed)

    def stop(self) -> None:
        self.timer.stop()


_application: Any = None  # kept for the whole benchmark: one QApplication, reused by every run


def application() -> Any:
    global _application
    use_pyqt_plugins()
    from PyQt5 import QtWidgets

    _application = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["livepose-bench"])
    return _application


def pipeline_text(width: int, height: int, frames: int, mode: str, sink: str, plots: bool = True) -> str:
    if sink == "viewer":
        sink_node = f"{{name: window, type: viewer, inputs: annotated, params: {{plots: {str(plots).lower()}}}}}"
    else:
        sink_node = "{name: window, type: display, inputs: annotated}"
    return textwrap.dedent(f"""\
        name: bench viewer
        mode: {mode}
        nodes:
          - {{name: camera, type: capture, outputs: frames,
              params: {{source: synthetic, width: {width}, height: {height}, fps: {FPS}, frames: {frames}}}}}
          - {{name: draw, type: visualize, inputs: frames, outputs: annotated}}
          - {sink_node}
        """)


def measure(label: str, width: int, height: int, *, viewer: bool, mode: str, warmup: float, seconds: float,
            frames: int | None = None, plots: bool = True) -> Run:
    """One run; realtime runs are stopped by the probe after ``seconds``, offline ones run ``frames``."""
    run = Run(label, width, height, viewer)
    if frames is None:
        frames = int(FPS * (warmup + seconds + 30))  # more than the span needs: the probe stops it
    text = pipeline_text(width, height, frames, mode, "viewer" if viewer else "display", plots)
    spec = parse_pipeline(text, str(ROOT / "benchmarks" / "bench_viewer.yaml"), Overrides())
    runner = Runner(spec, headless=not viewer, install_signal_handlers=False)
    load_start = os.getloadavg()[0]
    driver = WindowDriver(run) if viewer else None
    offline = mode == "offline"
    probe = None if offline else Probe(runner, run, warmup, seconds)
    started = time.monotonic()
    if offline:
        run.start = snapshot(runner)
    if probe is not None:
        probe.start()
    try:
        result = runner.run()
    finally:
        if driver is not None:
            driver.stop()
        if probe is not None:
            probe.cancel.set()
            probe.join()
    run.wall = time.monotonic() - started
    run.exit_code = result.exit_code
    if offline:
        run.end = snapshot(runner)
        run.start.when = started
        ring = runner.metrics.nodes["window"].process_seconds
        run.process_ms = list(1000 * ring.since(0))
        bridge = getattr(runner.nodes["window"], "bridge", None)
        if bridge is not None:
            run.main_ms = list(1000 * bridge.main_thread_seconds.since(0))
        run.totals = runner.metrics.to_dict()
    run.load = (load_start, os.getloadavg()[0])
    if result.exit_code != 0:
        print(f"warning: {label}: exit code {result.exit_code} ({result.reason})", file=sys.stderr)
    return run


# -- reporting ---------------------------------------------------------------------------------


def header(args: argparse.Namespace) -> str:
    from PyQt5 import QtCore
    import pyqtgraph

    return machine_line(f"Qt {QtCore.QT_VERSION_STR} (QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}), "
                        f"pyqtgraph {pyqtgraph.__version__}")


def fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def realtime_table(runs: list[Run]) -> list[str]:
    lines = ["| run | video area (view) | sink process ms p50 / p95 | main thread ms a frame p50 / p95 / max "
             "| plots tick ms p50 / p95 (Hz) | captured / delivered | painted / received "
             "| CPU % main / sink thread / process | load start-end |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        p50, p95 = percentiles(r.process_ms, 50, 95)
        received = r.node_delta("window", "in")
        painted = r.delta("shown_count")
        if r.viewer:
            m50, m95, mmax = percentiles(r.main_ms, 50, 95, 100)
            t50, t95 = percentiles(r.tick_ms, 50, 95)
            main = f"{fmt(m50)} / {fmt(m95)} / {fmt(mmax)}"
            tick = f"{fmt(t50, 1)} / {fmt(t95, 1)} ({len(r.tick_ms) / r.span:.1f})"
            area = (f"{r.video_area[0]}x{r.video_area[1]} ({r.view_size[0]}x{r.view_size[1]})"
                    if r.video_area and r.view_size else "?")
            shown = f"{painted} / {received}"
        else:
            main = tick = "-"
            area = "(headless)"
            shown = f"- / {received}"
        cpu = (f"{fmt(r.thread_share('MainThread'), 1)} / {fmt(r.thread_share('livepose:window'), 1)} / "
               f"{fmt(r.process_share(), 1)}")
        lines.append(f"| {r.label} | {area} | {fmt(p50)} / {fmt(p95)} | {main} | {tick} | "
                     f"{r.delta('captured')} / {r.delta('delivered')} | {shown} | {cpu} | "
                     f"{r.load[0]:.1f}-{r.load[1]:.1f} |")
    return lines


def cost_table(pairs: list[tuple[Run, Run]]) -> list[str]:
    """The viewer minus its baseline, per frame delivered."""
    lines = ["| resolution | main thread CPU ms a frame (viewer; frames + plots + Qt) | sink thread CPU ms a frame, "
             "viewer vs display | process CPU ms a frame, viewer vs display (difference) | delivered, viewer vs display |",
             "|---|---|---|---|---|"]
    for viewer, base in pairs:
        v_frames, b_frames = viewer.delta("delivered"), base.delta("delivered")
        v_main = viewer.thread_ms_per_frame("MainThread", v_frames)
        v_sink = viewer.thread_ms_per_frame("livepose:window", v_frames)
        b_sink = base.thread_ms_per_frame("livepose:window", b_frames)
        v_proc = 1000 * (viewer.end.process_cpu - viewer.start.process_cpu) / v_frames if v_frames else math.nan
        b_proc = 1000 * (base.end.process_cpu - base.start.process_cpu) / b_frames if b_frames else math.nan
        lines.append(f"| {viewer.width}x{viewer.height} ({viewer.label}) | {fmt(v_main)} | {fmt(v_sink)} vs "
                     f"{fmt(b_sink)} | {fmt(v_proc)} vs {fmt(b_proc)} ({fmt(v_proc - b_proc)}) | "
                     f"{100 * v_frames / max(1, viewer.delta('captured')):.1f} % vs "
                     f"{100 * b_frames / max(1, base.delta('captured')):.1f} % |")
    return lines


def offline_table(runs: list[Run]) -> list[str]:
    lines = ["| run | frames captured | reached the sink | total_drops | painted | wall s (fps) "
             "| sink process ms p50 / p95 | main thread ms p50 / p95 | exit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        totals = r.totals
        p50, p95 = percentiles(r.process_ms, 50, 95)
        m50, m95 = percentiles(r.main_ms, 50, 95)
        frames = r.end.nodes["window"]["in"]
        lines.append(f"| {r.label} | {r.end.captured} | {frames} | {totals.get('total_drops', '?')} | "
                     f"{r.end.shown_count if r.viewer else '-'} | {r.wall:.1f} ({frames / r.wall:.1f}) | "
                     f"{fmt(p50)} / {fmt(p95)} | {fmt(m50) if r.viewer else '-'} / {fmt(m95) if r.viewer else '-'} | "
                     f"{r.exit_code} |")
    return lines


def memory_figures(run: Run) -> dict[str, float]:
    times = np.array([t for t, _ in run.rss])
    rss = np.array([m for _, m in run.rss])
    first_minute = min(60.0, run.span / 3)
    fit = times >= first_minute - 1e-6
    slope = float(np.polyfit(times[fit] / 60, rss[fit], 1)[0]) if fit.sum() >= 2 else math.nan
    after = float(rss[fit][0]) if fit.any() else math.nan
    return {"from": float(times[fit][0]) if fit.any() else math.nan, "rss_start": float(rss[0]),
            "rss_after_first": after, "rss_end": float(rss[-1]), "rss_max": float(rss.max()),
            "slope": slope, "growth": float(rss[-1]) - after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured span of each realtime run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds after the first frame before measuring")
    parser.add_argument("--offline-frames", type=int, default=600)
    parser.add_argument("--duration", type=float, default=600.0, help="the memory run's measured span, seconds "
                        "(0: none)")
    parser.add_argument("--quick", action="store_true", help="5 s realtime runs, 120 offline frames, 20 s memory run")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.offline_frames, args.duration = 5.0, 120, 20.0

    application()
    top = header(args)
    print(top, flush=True)
    os.chdir(tempfile.mkdtemp(prefix="bench-viewer-"))  # the viewer's screenshot folder ("."): nothing lands in the repo

    realtime: list[Run] = []
    pairs: list[tuple[Run, Run]] = []
    for width, height in ((1280, 720), (1920, 1080)):
        name = f"{height}p30"
        base = measure(f"{name} display --headless", width, height, viewer=False, mode="realtime",
                       warmup=args.warmup, seconds=args.seconds)
        view = measure(f"{name} viewer", width, height, viewer=True, mode="realtime", warmup=args.warmup,
                       seconds=args.seconds)
        realtime += [base, view]
        pairs.append((view, base))
        if height == 720:
            bare = measure(f"{name} viewer, plots: false", width, height, viewer=True, mode="realtime",
                           warmup=args.warmup, seconds=args.seconds, plots=False)
            realtime.append(bare)
            pairs.append((bare, base))
        print(f"  {name} done", file=sys.stderr, flush=True)

    offline = [measure("720p offline display --headless", 1280, 720, viewer=False, mode="offline", warmup=0,
                       seconds=0, frames=args.offline_frames),
               measure("720p offline viewer", 1280, 720, viewer=True, mode="offline", warmup=0, seconds=0,
                       frames=args.offline_frames)]
    print("  offline done", file=sys.stderr, flush=True)

    memory = None
    if args.duration > 0:
        memory = measure("720p30 viewer, memory", 1280, 720, viewer=True, mode="realtime", warmup=args.warmup,
                         seconds=args.duration)

    lines = [f"Realtime, {args.seconds:.0f} s measured after {args.warmup:.0f} s of warm-up, window "
             f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}:", ""]
    lines += realtime_table(realtime)
    lines += ["", "The viewer's cost against the headless display run (CPU time over the span / frames delivered):", ""]
    lines += cost_table(pairs)
    lines += ["", f"Offline, {args.offline_frames} frames at 1280x720:", ""]
    lines += offline_table(offline)
    verdicts = []
    v720 = next(r for r in realtime if r.label == "720p30 viewer")
    m50, m95 = percentiles(v720.main_ms, 50, 95)
    main_cpu = v720.thread_ms_per_frame("MainThread", v720.delta("shown_count"))
    verdicts.append(f"- main thread at 720p30: {fmt(m50)} ms p50, {fmt(m95)} ms p95 a frame taken and painted; "
                    f"all its work (plots, Qt) {fmt(main_cpu)} ms CPU a frame painted: goal < {GOAL_MAIN_MS:g} ms: "
                    f"frames {'pass' if m95 < GOAL_MAIN_MS else 'FAIL'} (p95), everything "
                    f"{'pass' if main_cpu < GOAL_MAIN_MS else 'FAIL'}")
    view_off = offline[1]
    lost = view_off.end.captured - view_off.end.nodes["window"]["in"]
    drops = view_off.totals.get("total_drops")
    verdicts.append(f"- offline: {view_off.end.nodes['window']['in']} of {view_off.end.captured} frames reached the "
                    f"viewer, total_drops {drops}: {'pass' if lost == 0 and drops == 0 else 'FAIL'}")
    if memory is not None:
        fig = memory_figures(memory)
        r50, r95 = percentiles(memory.main_ms, 50, 95)
        lines += ["", f"Memory, realtime 1280x720 at 30 fps with the viewer, {memory.span:.0f} s measured, RSS every "
                  f"{RSS_EVERY:.0f} s (load {memory.load[0]:.1f} at the start, {memory.load[1]:.1f} at the end):", "",
                  "| RSS at the start | after the first minute | at the end | max | growth | slope from the first "
                  "minute | captured / delivered | painted / received | main thread ms p50 / p95 |",
                  "|---|---|---|---|---|---|---|---|---|",
                  f"| {fig['rss_start']:.1f} MiB | {fig['rss_after_first']:.1f} MiB (at {fig['from']:.0f} s) | "
                  f"{fig['rss_end']:.1f} MiB | {fig['rss_max']:.1f} MiB | {fig['growth']:+.2f} MiB | "
                  f"{fig['slope']:+.3f} MiB/min | {memory.delta('captured')} / {memory.delta('delivered')} | "
                  f"{memory.delta('shown_count')} / {memory.node_delta('window', 'in')} | {fmt(r50)} / {fmt(r95)} |"]
        rss_line = ", ".join(f"{m:.1f}" for t, m in memory.rss if t % 60 < RSS_EVERY - 1e-6 or t == memory.rss[-1][0])
        lines += ["", f"RSS each minute (MiB): {rss_line}"]
        verdicts.append(f"- memory: slope {fig['slope']:+.3f} MiB/min over {fig['from']:.0f}-{memory.span:.0f} s: "
                        f"goal no growth (< {GROWTH_LIMIT} MiB/min): "
                        f"{'pass' if abs(fig['slope']) < GROWTH_LIMIT else 'FAIL'}")
    lines += ["", *verdicts, "", f"load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
              f"{os.getloadavg()[2]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}"]
    print("\n".join(lines), flush=True)

    if args.json:
        def raw(r: Run) -> dict[str, Any]:
            return {"label": r.label, "span": r.span, "wall": r.wall, "load": r.load, "video_area": r.video_area,
                    "view_size": r.view_size, "start": r.start.__dict__ if r.start else None,
                    "end": r.end.__dict__ if r.end else None, "process_ms": percentiles(r.process_ms, 50, 95, 99, 100),
                    "main_ms": percentiles(r.main_ms, 50, 95, 99, 100), "tick_ms": percentiles(r.tick_ms, 50, 95, 100),
                    "rss": r.rss}
        args.json.write_text(json.dumps({"header": top, "runs": [raw(r) for r in realtime + offline + (
            [memory] if memory else [])]}, indent=1, default=str))


if __name__ == "__main__":
    main()
