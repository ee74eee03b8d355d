"""``max_batch`` and ``preprocess`` on this machine's CPU: does one model call for a frame's hands pay?

1. Model: ``hand_landmark_full`` on B real-sized crops, B calls of the fixed-batch model (what
   ``max_batch: 1`` does, one after the other) against one call of its dynamic-batch conversion.
2. Pipeline: ``livepose run hands_face --offline --headless`` on a 720p clip with two hands, per variant
   (``max_batch`` 1 and 2, ``preprocess`` opencv, torch, torch-float), in interleaved rounds; frames/s
   and the ratio to ``max_batch: 1, opencv`` measured in the same round.

    python benchmarks/bench_batching.py [--rounds 3] [--clip PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np

from livepose.models.runtime import ModelSession

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "pose-pipelines/example_2.mp4"
VARIANTS = {
    "max_batch 1, opencv (baseline)": ["hands.max_batch=1"],
    "max_batch 2, opencv": ["hands.max_batch=2"],
    "max_batch 1, torch": ["hands.max_batch=1", *(f"{n}.preprocess=torch" for n in ("palms", "hands", "face"))],
    "max_batch 2, torch-float": ["hands.max_batch=2", *(f"{n}.preprocess=torch-float" for n in ("palms", "hands", "face"))],
}


def model_rows(repeats: int) -> list[dict[str, object]]:
    fixed = ModelSession("mediapipe/hand_landmark_full", provider="cpu", intra_op_threads=1)
    dynamic = ModelSession("mediapipe/hand_landmark_full", provider="cpu", intra_op_threads=1, dynamic_batch=True)
    rows = []
    for batch in (1, 2, 4):
        crops = np.random.default_rng(batch).random((batch, 224, 224, 3), dtype=np.float32)
        items = [crops[i : i + 1] for i in range(batch)]
        timings: dict[str, list[float]] = {"one call per crop": [], "one call": []}
        for _ in range(repeats):  # interleaved, so drift hits both alike
            for label, work in (("one call per crop", lambda: [fixed.run(item) for item in items]),  # noqa: B023
                                ("one call", lambda: dynamic.run(crops))):  # noqa: B023
                start = time.perf_counter()
                work()
                timings[label].append((time.perf_counter() - start) * 1e3)
        per_crop, together = median(timings["one call per crop"]), median(timings["one call"])
        rows.append({"batch": batch, "per_crop_ms": round(per_crop, 2), "batched_ms": round(together, 2),
                     "speedup": round(per_crop / together, 2)})
        print(f"hand_landmark_full, {batch} crops: {per_crop:.2f} ms in {batch} calls, {together:.2f} ms in one "
              f"({per_crop / together:.2f}x)", flush=True)
    return rows


def pipeline_fps(clip: Path, settings: list[str], work: Path) -> float:
    metrics = work / "metrics.json"
    command = [sys.executable, "-m", "livepose", "run", "hands_face", "--source", str(clip), "--offline", "--headless",
               "--metrics", str(metrics), *(item for s in settings for item in ("--set", s))]
    subprocess.run(command, check=True, capture_output=True, cwd=work)
    return float(json.loads(metrics.read_text())["nodes"]["window"]["fps"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, object] = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": platform.node(),
                                  "cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "clip": str(args.clip)}
    results["model"] = model_rows(args.repeats)
    rounds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    ratios: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as temporary:
        for round_index in range(args.rounds):
            figures = {name: pipeline_fps(args.clip, settings, Path(temporary)) for name, settings in VARIANTS.items()}
            baseline = figures["max_batch 1, opencv (baseline)"]
            for name, fps in figures.items():
                rounds[name].append(fps)
                ratios[name].append(fps / baseline)
            print(f"round {round_index + 1}: " + ", ".join(f"{n} {f:.1f}" for n, f in figures.items()), flush=True)
    results["pipeline"] = [{"variant": name, "fps_median": round(median(rounds[name]), 1),
                            "ratio_median": round(median(ratios[name]), 2), "fps_rounds": rounds[name]}
                           for name in VARIANTS]
    results["load_after"] = os.getloadavg()[0]
    for row in results["pipeline"]:  # type: ignore[union-attr]
        print(f"{row['variant']:34} {row['fps_median']:6.1f} fps  {row['ratio_median']:.2f}x", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
