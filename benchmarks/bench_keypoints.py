"""Models you bring on this machine's CPU: what the top-down node costs, and what batching a frame's ROIs saves.

1. Per call: ``KeypointModel`` (crop, normalise, run, decode, project back) on B boxes of a real frame,
   with ``max_batch`` 1 (B model calls) against ``max_batch`` B (one call), interleaved; the share of the
   time outside the model (crop, decode) from the same runs.
2. Pipeline: ``livepose run hand_model`` (palm detector + your model, exported from the README's 20-line
   network) against ``livepose run hands`` (palm detector + MediaPipe's hand model) on the same clip,
   offline, in interleaved rounds: frames/s and the ratio.

    python benchmarks/bench_keypoints.py [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import cv2
import numpy as np

from benchmarks.machine import machine_line

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "sign-language-processing_pose/src/python/tests/data/test_video.mp4"
README = (ROOT / "README.md").read_text(encoding="utf-8")
LIVEPOSE = str(Path(sys.executable).parent / "livepose")


def _network(folder: Path) -> Path:
    code = re.search(r"<!-- example: hand_net.py -->\n```python\n(.*?)```", README, re.S).group(1)  # type: ignore[union-attr]
    (folder / "hand_net.py").write_text(code)
    subprocess.run([LIVEPOSE, "export", "hand_net:build", "hand.onnx", "--layout", "onehand10k", "--input-size",
                    "128x128", "--decoder", "simcc"], cwd=folder, check=True, capture_output=True)
    return folder / "hand.onnx"


def call_rows(model_path: Path, repeats: int) -> list[dict[str, object]]:
    from livepose.models.keypoint_model import KeypointModel
    from livepose.vision.topdown import CropBox

    capture = cv2.VideoCapture(str(CLIP))
    ok, image = capture.read()
    assert ok, CLIP
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    one = KeypointModel(model_path, max_batch=1, provider="cpu", intra_op_threads=1)
    many = KeypointModel(model_path, max_batch=8, provider="cpu", intra_op_threads=1)
    rows = []
    for count in (1, 2, 8):
        boxes = [CropBox((270 + 10 * i, 360), (200, 200), 0.1 * i) for i in range(count)]
        timings: dict[str, list[float]] = {"max_batch 1": [], f"max_batch {count}": [], "model only": []}
        tensor = np.zeros((count, 3, 128, 128), np.float32)
        for _ in range(repeats):
            for label, work in (("max_batch 1", lambda: one(rgb, boxes)),  # noqa: B023
                                (f"max_batch {count}", lambda: many(rgb, boxes)),  # noqa: B023
                                ("model only", lambda: many.session.run(tensor))):  # noqa: B023
                start = time.perf_counter()
                work()
                timings[label].append((time.perf_counter() - start) * 1e3)
        single, batched, model = (median(timings[k]) for k in ("max_batch 1", f"max_batch {count}", "model only"))
        rows.append({"boxes": count, "max_batch_1_ms": round(single, 3), "batched_ms": round(batched, 3),
                     "speedup": round(single / batched, 2), "outside_model_ms": round(batched - model, 3)})
        print(f"{count} boxes: {single:.3f} ms with max_batch 1, {batched:.3f} ms batched ({single / batched:.2f}x); "
              f"crop + decode {batched - model:.3f} ms of it", flush=True)
    return rows


def _fps(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    done = subprocess.run([LIVEPOSE, "run", *args, "--source", str(CLIP), "--offline", "--headless", "--no-progress"],
                          cwd=cwd, env=env, capture_output=True, text=True, check=True)
    delivered = re.search(r"delivered: (\d+) of \d+ frames .* at ([\d.]+) fps", done.stderr)
    assert delivered, done.stderr
    return float(delivered.group(2))


def pipeline_rows(folder: Path, rounds: int) -> dict[str, object]:
    env = dict(os.environ, HAND_MODEL=str(folder / "hand.onnx"))
    runs: dict[str, list[float]] = {"hands (MediaPipe's hand model)": [], "hand_model (yours)": []}
    for _ in range(rounds):
        runs["hands (MediaPipe's hand model)"].append(_fps(["hands"], folder, env))
        runs["hand_model (yours)"].append(_fps(["hand_model"], folder, env))
    medians = {k: median(v) for k, v in runs.items()}
    ratio = medians["hand_model (yours)"] / medians["hands (MediaPipe's hand model)"]
    print(f"pipeline fps, median of {rounds}: " + ", ".join(f"{k} {v:.1f}" for k, v in medians.items())
          + f"; ratio {ratio:.2f}", flush=True)
    return {"fps": medians, "ratio": round(ratio, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model = _network(folder)
        report = {"calls": call_rows(model, options.repeats), "pipeline": pipeline_rows(folder, options.rounds)}
    if options.json:
        options.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
