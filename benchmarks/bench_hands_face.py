"""Speed of pipelines/hands_face.yaml on the shared clips, against baselines measured in the same run.

For each clip (640x360, the clips MediaPipe's own figure was taken on):
- sequential: livepose's hand tracker then face tracker called one after the other per frame on one
  thread, as MediaPipe's Python solutions are (decoding included);
- mediapipe: MediaPipe's legacy Hands + FaceMesh solutions, when a Python with mediapipe 0.10.21 is
  given with --mediapipe-python (it cannot share livepose's environment: its pins conflict);
- graph offline: the pipeline with every frame processed (drawing disabled, as in the baselines); its
  face branch is one ``face_tracker`` node in a worker process at nice 10;
- graph offline, face on threads: the same with the face branch as two nodes on the pipeline's own
  threads (``hands_face_threads.yaml``, the layout before the worker process), for the same-run ratio;
- graph realtime: the pipeline with the file paced at its native rate, for capture-to-output latency.

The first three run in interleaved rounds (``--rounds``, default 3) and the table gives medians, with
the graph / MediaPipe ratio of every round: this shared VM's speed drifts by 20-30% between runs.
Throughput and CPU per frame are steady-state figures for every variant alike: from the first result
to the last, so model loading and first-call warm-up (about 0.25 s for MediaPipe, whose models load
on the first frame) are left out; they are reported as start-up, the time to the first result. CPU
includes the worker processes' own.

    python benchmarks/bench_hands_face.py [--mediapipe-python /tmp/mpvenv/bin/python] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

import cv2
import numpy as np

from livepose.graph.runner import Runner
from livepose.graph.spec import Overrides, load_pipeline
from livepose.graph.worker import WorkerProcessNode
from livepose.models.runtime import ModelSession
from livepose.vision.face import FaceTracker
from livepose.vision.hands import HandTracker

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
CLIPS = ["Hand-keypoints/test_examples/webm/hands1.webm", "Hand-keypoints/test_examples/webm/hands3.webm",
         "Hand-keypoints/test_examples/webm/hands5.webm"]
PIPELINE = ROOT / "pipelines" / "hands_face.yaml"
SETTINGS = ["face.max_num_faces=2"]
THREADS_PIPELINE = ROOT / "benchmarks" / "hands_face_threads.yaml"
THREADS_SETTINGS = ["face_detector.max_num_faces=2"]

MEDIAPIPE_SCRIPT = """
import sys, time, json, resource, cv2, numpy as np, mediapipe as mp
hands = mp.solutions.hands.Hands(max_num_hands=2, model_complexity=1)
face = mp.solutions.face_mesh.FaceMesh(max_num_faces=2, refine_landmarks=False)
cap = cv2.VideoCapture(sys.argv[1]); times = []; ends = []; start = time.perf_counter()
while True:
    t0 = time.perf_counter(); ok, frame = cap.read()
    if not ok: break
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB); hands.process(rgb); face.process(rgb)
    ends.append(time.perf_counter()); times.append(ends[-1] - t0)
    if len(ends) == 1: cpu0 = resource.getrusage(resource.RUSAGE_SELF)
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
print(json.dumps({"fps": (len(ends) - 1) / (ends[-1] - ends[0]), "startup_ms": (ends[0] - start) * 1e3,
                  "cpu_ms": cpu / (len(ends) - 1) * 1e3, "p50": float(np.median(times[1:])) * 1e3,
                  "p95": float(np.percentile(times[1:], 95)) * 1e3}))
"""

def sequential(clip: Path) -> dict:
    def model(name: str):
        return ModelSession(name, provider="cpu", intra_op_threads=1).run

    hands = HandTracker(model("mediapipe/palm_detection_full"), model("mediapipe/hand_landmark_full"),
                        max_num_hands=2, max_batch=1)
    faces = FaceTracker(model("mediapipe/face_detection_short_range"), model("mediapipe/face_landmark"),
                        max_num_faces=2, max_batch=1)
    capture = cv2.VideoCapture(str(clip))
    times: list[float] = []
    ends: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        ok, frame = capture.read()
        if not ok:
            break
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        hands.process(rgb)
        faces.process(rgb)
        ends.append(time.perf_counter())
        times.append(ends[-1] - t0)
        if len(ends) == 1:
            cpu_start = _cpu_seconds()
    return _steady(ends, start, _cpu_seconds() - cpu_start, times[1:])


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _steady(ends: list[float], start: float, cpu_seconds: float, latencies: list[float]) -> dict:
    """Throughput from the first result to the last (model loading and warm-up excluded, as for
    MediaPipe, whose first frame takes ~0.25 s), CPU per frame over the same span, and latency."""
    frames = len(ends) - 1
    return {"fps": frames / (ends[-1] - ends[0]), "startup_ms": (ends[0] - start) * 1e3,
            "cpu_ms": cpu_seconds / frames * 1e3, "p50": float(np.median(latencies)) * 1e3,
            "p95": float(np.percentile(latencies, 95)) * 1e3}


def graph(clip: Path, mode: str, pipeline: Path = PIPELINE, settings: list[str] = SETTINGS) -> dict:
    spec = load_pipeline(pipeline, Overrides(mode=mode, source=str(clip), settings=settings))
    for node in spec.nodes:
        if node.name == "draw":
            node.enabled = False
    runner = Runner(spec, headless=True, install_signal_handlers=False)
    workers = [node for node in runner.nodes.values() if isinstance(node, WorkerProcessNode)]

    def cpu_seconds_now() -> float:
        return _cpu_seconds() + sum(worker.worker_cpu_seconds for worker in workers)

    # CPU is sampled when the first result leaves the sink, so that it covers the same span as the
    # throughput (everything after start-up).
    sink = runner.metrics.nodes["window"]
    first_result_cpu: list[float] = []
    finished = runner.metrics.sink_finished

    def sink_finished(metrics, capture_time, now):  # type: ignore[no-untyped-def]
        if metrics is sink and not first_result_cpu:
            first_result_cpu.append(cpu_seconds_now())
        finished(metrics, capture_time, now)

    runner.metrics.sink_finished = sink_finished  # type: ignore[method-assign]
    start = time.perf_counter()
    result = runner.run()
    cpu_seconds = cpu_seconds_now() - first_result_cpu[0]
    data = result.metrics.to_dict()
    frames = sink.frames_processed
    # first_time/last_time are perf_counter readings: when the sink started its first and ended its last frame.
    fps = (frames - 1) / (sink.last_time - sink.first_time)
    per_node = {name: n["process_ms"]["p50"] for name, n in data["nodes"].items()}
    return {"fps": fps, "startup_ms": (sink.first_time - start) * 1e3, "cpu_ms": cpu_seconds / (frames - 1) * 1e3,
            "p50": data["nodes"]["window"]["latency_ms"]["p50"], "p95": data["nodes"]["window"]["latency_ms"]["p95"],
            "drops": data["total_drops"], "nodes": per_node}


def mediapipe(python: str, clip: Path) -> dict | None:
    out = subprocess.run([python, "-c", MEDIAPIPE_SCRIPT, str(clip)], capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediapipe-python", help="a Python interpreter that has mediapipe==0.10.21")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds per clip (each runs every variant once); medians are reported")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, {args.rounds} interleaved rounds")
    print("| clip | variant | frames/s (median) | all rounds | CPU ms/frame | start-up ms | latency p50 ms | "
          "latency p95 ms | x MediaPipe |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios: list[float] = []
    worker_gain: list[float] = []
    for relative in CLIPS:
        clip = MEDIA / relative
        name = clip.stem
        rounds: dict[str, list[dict]] = {}
        graph_vs_mediapipe: list[float] = []
        for _ in range(args.rounds):
            # Variants alternate within a round so that the machine's slow and quick spells hit them alike.
            found = {"sequential (same models, one thread)": sequential(clip)}
            if args.mediapipe_python:
                reference = mediapipe(args.mediapipe_python, clip)
                if reference:
                    found["mediapipe 0.10.21"] = reference
            found["livepose graph, offline"] = graph(clip, "offline")
            found["livepose graph, offline, face on threads"] = graph(clip, "offline", THREADS_PIPELINE,
                                                                      THREADS_SETTINGS)
            for variant, r in found.items():
                rounds.setdefault(variant, []).append(r)
            if "mediapipe 0.10.21" in found:
                graph_vs_mediapipe.append(found["livepose graph, offline"]["fps"] / found["mediapipe 0.10.21"]["fps"])
        rounds["livepose graph, realtime (native fps)"] = [graph(clip, "realtime")]
        mediapipe_runs = rounds.get("mediapipe 0.10.21")
        mediapipe_fps = median([r["fps"] for r in mediapipe_runs]) if mediapipe_runs else None
        for variant, runs in rounds.items():
            fps = median([r["fps"] for r in runs])
            if "realtime" in variant:
                versus = "(paced at the clip rate)"
            else:
                versus = f"{fps / mediapipe_fps:.2f}" if mediapipe_fps else ""
            if variant == "livepose graph, offline" and graph_vs_mediapipe:
                versus += f" (per round: {', '.join(f'{v:.2f}' for v in graph_vs_mediapipe)})"
            every = ", ".join(f"{r['fps']:.1f}" for r in runs)
            p50, p95 = median([r["p50"] for r in runs]), median([r["p95"] for r in runs])
            cpu, startup = median([r["cpu_ms"] for r in runs]), median([r["startup_ms"] for r in runs])
            print(f"| {name} | {variant} | {fps:.1f} | {every} | {cpu:.1f} | {startup:.0f} | {p50:.1f} | {p95:.1f} "
                  f"| {versus} |")
        offline = rounds["livepose graph, offline"][-1]
        print(f"| {name} | per-node p50 ms (offline, last round) | "
              + ", ".join(f"{k} {v:.1f}" for k, v in offline["nodes"].items() if v is not None) + " | | | | | | |")
        ratios.extend(graph_vs_mediapipe)
        worker_gain.extend(a["fps"] / b["fps"] for a, b in zip(rounds["livepose graph, offline"],
                                                               rounds["livepose graph, offline, face on threads"]))
        sys.stdout.flush()
    if ratios:
        print(f"\ngraph offline / MediaPipe, every round of every clip: median {median(ratios):.2f}, "
              f"range {min(ratios):.2f} to {max(ratios):.2f}")
    print(f"graph offline / graph with the face on threads, every round of every clip: median "
          f"{median(worker_gain):.2f}, range {min(worker_gain):.2f} to {max(worker_gain):.2f}")


if __name__ == "__main__":
    main()
