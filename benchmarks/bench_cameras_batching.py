"""``batch_cameras``: does one model call for every camera's crops pay, on this machine?

1. Model: N threads (the cameras' copies of a node) each ask for one crop per round, as each camera's
   landmark node does per hand or face. Baseline: each thread calls the shared session itself, all at
   once (``batch_cameras: false``: onnxruntime runs the calls concurrently). Against it: the same
   threads through one ``SharedModelCalls`` (``batch_cameras: true``), which puts the crops waiting
   together into one call of the dynamic-batch conversion. Median ms per round and the ratio.
2. Pipeline: ``livepose run cameras --offline --headless`` with two clips as two cameras, with
   ``batch_cameras`` false and true (and ``batch_wait_ms`` 5, the default, and 30), in interleaved rounds
   after one warm-up run: frames/s of the mosaic (first to last frame), the ratio to false in the same
   round, and how many model calls served both cameras.

    python benchmarks/bench_cameras_batching.py [--provider cpu|cuda] [--rounds 3] [--skip-pipeline] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

from livepose.models.runtime import ModelSession  # noqa: E402
from livepose.models.shared_calls import SharedModelCalls  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
VIDEOS = MEDIA / "sign-language-processing_pose/videos"
MODELS = {"mediapipe/hand_landmark_full": 224, "mediapipe/face_landmark": 192}
VARIANTS = {
    "batch_cameras false (baseline)": ["batch_cameras=false"],
    "batch_cameras true, wait 5 ms": ["batch_cameras=true", "batch_wait_ms=5"],
    "batch_cameras true, wait 30 ms": ["batch_cameras=true", "batch_wait_ms=30"],
}


def _rounds(calls: list, crops: list[np.ndarray], repeats: int) -> list[float]:
    """Milliseconds per round: every thread makes one call, the round ends when all are back."""
    start_line = threading.Barrier(len(calls) + 1)
    end_line = threading.Barrier(len(calls) + 1)

    def camera(call, crop: np.ndarray) -> None:
        for _ in range(repeats):
            start_line.wait()
            call(crop)
            end_line.wait()

    threads = [threading.Thread(target=camera, args=pair, daemon=True) for pair in zip(calls, crops)]
    for thread in threads:
        thread.start()
    times = []
    for _ in range(repeats):
        start_line.wait()
        begun = time.perf_counter()
        end_line.wait()
        times.append((time.perf_counter() - begun) * 1e3)
    for thread in threads:
        thread.join()
    return times


def model_rows(provider: str, repeats: int) -> list[dict[str, object]]:
    rows = []
    for model, size in MODELS.items():
        session = ModelSession(model, provider=provider, intra_op_threads=1, dynamic_batch=True)  # type: ignore[arg-type]
        for cameras in (2, 4):
            crops = [np.random.default_rng(i).random((1, size, size, 3), dtype=np.float32) for i in range(cameras)]
            for crop in crops:
                session.run(crop)
            # A wait long enough that every round's crops meet: the most batching can give.
            shared = SharedModelCalls(session.run, wait_s=0.05)
            participants = [shared.participant() for _ in range(cameras)]
            apart_ms, together_ms = [], []
            for _ in range(3):  # interleaved, so drift hits both alike
                apart_ms += _rounds([session.run] * cameras, crops, repeats)
                together_ms += _rounds(participants, crops, repeats)
            apart, together = median(apart_ms), median(together_ms)
            stats = shared.stats
            rows.append({"model": model, "provider": session.provider, "cameras": cameras,
                         "apart_ms": round(apart, 2), "shared_ms": round(together, 2),
                         "ratio": round(apart / together, 2), "crops_per_call": round(stats.requests_per_call, 2)})
            print(f"{model} on {session.provider}, {cameras} cameras: {apart:.2f} ms with concurrent calls, "
                  f"{together:.2f} ms shared ({stats.requests_per_call:.2f} crops per call): "
                  f"{apart / together:.2f}x", flush=True)
    return rows


def pipeline_figures(settings: list[str], work: Path) -> dict[str, object]:
    metrics = work / "metrics.json"
    env = {**os.environ, "LEFT": str(VIDEOS / "SOUP.mp4"), "RIGHT": str(VIDEOS / "FOOTBALL.mp4")}
    command = [sys.executable, "-m", "livepose", "run", "cameras", "--offline", "--headless", "--metrics", str(metrics),
               *(item for s in settings for item in ("--set", s))]
    subprocess.run(command, check=True, capture_output=True, cwd=work, env=env)
    data = json.loads(metrics.read_text())
    shared = data.get("batched_across_cameras", {})
    calls = sum(s["calls"] for s in shared.values())
    # The mosaic's rate from its first frame to its last: start-up (loading models) is not in it.
    return {"fps": data["nodes"]["tiles"]["fps"],
            "shared_calls": sum(s["shared"] for s in shared.values()), "calls": calls,
            "requests": sum(s["requests"] for s in shared.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    line = machine_line()
    print(line, flush=True)
    results: dict[str, object] = {"machine": line, "model": model_rows(args.provider, args.repeats)}
    if not args.skip_pipeline:
        fps: dict[str, list[float]] = {name: [] for name in VARIANTS}
        ratios: dict[str, list[float]] = {name: [] for name in VARIANTS}
        shares: dict[str, list[str]] = {name: [] for name in VARIANTS}
        with tempfile.TemporaryDirectory() as temporary:
            pipeline_figures(VARIANTS["batch_cameras true, wait 5 ms"], Path(temporary))  # warm-up: file caches
            for round_index in range(args.rounds):
                figures = {name: pipeline_figures(settings, Path(temporary)) for name, settings in VARIANTS.items()}
                baseline = figures["batch_cameras false (baseline)"]["fps"]
                for name, figure in figures.items():
                    fps[name].append(round(float(figure["fps"]), 1))  # type: ignore[arg-type]
                    ratios[name].append(float(figure["fps"]) / float(baseline))  # type: ignore[arg-type]
                    shares[name].append(f"{figure['shared_calls']} of {figure['calls']} calls for {figure['requests']}")
                print(f"round {round_index + 1}: " + ", ".join(f"{n} {f['fps']:.1f} fps" for n, f in figures.items()),
                      flush=True)
        results["pipeline"] = [{"variant": name, "fps_median": median(fps[name]),
                                "ratio_median": round(median(ratios[name]), 2), "fps_rounds": fps[name],
                                "shared_calls": shares[name]} for name in VARIANTS]
        for row in results["pipeline"]:  # type: ignore[union-attr]
            print(f"{row['variant']:32} {row['fps_median']:6.1f} fps  {row['ratio_median']:.2f}x  "
                  f"shared: {row['shared_calls'][-1]}", flush=True)
    results["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
