"""Pre-processing time per frame: the OpenCV path (livepose.vision.image_to_tensor) vs torch
(livepose.gpu.preprocess, methods "exact" and "float"), on the CPU and, when torch sees one, on CUDA.

One frame's work for hands+face: the palm and face detector letterboxes plus N hand crops (224) and
M face crops (192), all from one uploaded frame. The torch rows include the frame's upload; CUDA times
are taken after ``torch.cuda.synchronize()`` so they cover the kernels, not just their launch.

    python benchmarks/gpu/bench_preprocess.py                  # 720p frame of the HD clip, 2 hands, 1 face
    python benchmarks/gpu/bench_preprocess.py --hands 4 --faces 2 --repeats 200
"""

from __future__ import annotations

import argparse
import math
import os
import platform
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from timing import time_calls
from livepose.gpu import preprocess as gpu
from livepose.vision import image_to_tensor as cpu
from livepose.vision.rects import NormalizedRect

REPO = Path(__file__).resolve().parents[2]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", REPO.parent / "shared" / "media"))
CLIP = "pose-pipelines/example_2.mp4"  # 1280x720


def _frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(MEDIA / CLIP))
    ok, frame = capture.read()
    capture.release()
    if not ok:  # no media: a random 720p frame times the same
        return np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _rois(count: int, size: float, seed: int) -> list[NormalizedRect]:
    rng = np.random.default_rng(seed)
    return [NormalizedRect(float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8)), size, size * 16 / 9,
                           float(rng.uniform(-math.pi, math.pi))) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hands", type=int, default=2)
    parser.add_argument("--faces", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()

    image = _frame()
    hands, faces = _rois(args.hands, 0.25, 1), _rois(args.faces, 0.3, 2)

    def opencv() -> None:
        cpu.image_to_letterboxed_tensor(image, cpu.PALM_DETECTOR_INPUT)
        cpu.image_to_letterboxed_tensor(image, cpu.FACE_DETECTOR_INPUT)
        cpu.crops_to_batch(image, hands, cpu.HAND_LANDMARK_INPUT)
        cpu.crops_to_batch(image, faces, cpu.FACE_LANDMARK_INPUT)

    def on_torch(device: str, method: gpu.Method) -> Callable[[], None]:
        def work() -> None:
            frame = gpu.upload_frame(image, device)
            gpu.image_to_letterboxed_tensor(frame, cpu.PALM_DETECTOR_INPUT, method=method)
            gpu.image_to_letterboxed_tensor(frame, cpu.FACE_DETECTOR_INPUT, method=method)
            gpu.crops_to_batch(frame, hands, cpu.HAND_LANDMARK_INPUT, method=method)
            gpu.crops_to_batch(frame, faces, cpu.FACE_LANDMARK_INPUT, method=method)
        return work

    rows: list[tuple[str, str, tuple[float, float]]] = [
        ("opencv", "cpu", time_calls(opencv, args.repeats, lambda: None, min_warmup=3))]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        for method in ("exact", "float"):
            timed = time_calls(on_torch(device, method), args.repeats, sync, min_warmup=3)
            rows.append((f"torch {method}", device, timed))

    gpu_name = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    print(f"# {image.shape[1]}x{image.shape[0]} frame, 2 letterboxes + {args.hands} hand + {args.faces} face crops; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {platform.processor() or platform.machine()}, "
          f"GPU: {gpu_name}")
    print(f"{'path':<14} {'device':<6} {'median ms':>10} {'p95 ms':>8}")
    for name, device, (median, p95) in rows:
        print(f"{name:<14} {device:<6} {median:>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
