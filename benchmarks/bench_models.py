"""Per-model latency, batch 1: livepose's converted ONNX on onnxruntime's CPU provider vs the TFLite
interpreter (ai-edge-litert, XNNPACK), same inputs, same process, same thread count.

Timings are interleaved (a block of ONNX runs, then a block of TFLite runs, repeated) so that load
from other processes on a shared machine hits both sides alike. Also prints the largest output
difference on the same real images, as a fraction of the output's range.

    python benchmarks/bench_models.py                 # all zoo models, 1 and 2 threads
    python benchmarks/bench_models.py --threads 1 --models mediapipe/face_landmark
    python benchmarks/bench_models.py --models mediapipe/pose_detection mediapipe/pose_landmark_full
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

from livepose.models.cache import ModelCache
from livepose.models.runtime import ModelSession
from livepose.models.zoo import ZOO, ZooModel, get_model

REPO = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", REPO.parent / "shared" / "media"))
IMAGES = (
    "mmpose/tests/data/freihand/00000355.jpg",
    "mmpose/tests/data/onehand10k/9.jpg",
    "mmpose/tests/data/300w/indoor_020.png",
    "mmpose/tests/data/coco/000000197388.jpg",
)


def model_inputs(model: ZooModel) -> list[np.ndarray]:
    """The shared images resized and normalized for the model; noise when the media are absent."""
    width, height = model.input_size
    low, high = model.input_range
    paths = [MEDIA / relative for relative in IMAGES if (MEDIA / relative).exists()]
    if not paths:
        rng = np.random.default_rng(0)
        return [rng.uniform(low, high, size=model.input_shape).astype(np.float32) for _ in IMAGES]
    inputs = []
    for path in paths:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        inputs.append((resized * ((high - low) / 255.0) + low)[None])
    return inputs


def interleaved_latencies(
    runners: dict[str, Callable[[np.ndarray], object]], inputs: list[np.ndarray], rounds: int, block: int
) -> dict[str, list[float]]:
    for run in runners.values():  # warm-up: allocations, XNNPACK packing, onnxruntime arenas
        for tensor in inputs:
            run(tensor)
    latencies: dict[str, list[float]] = {name: [] for name in runners}
    for round_index in range(rounds):
        for name, run in runners.items():
            for call in range(block):
                tensor = inputs[(round_index + call) % len(inputs)]
                start = time.perf_counter()
                run(tensor)
                latencies[name].append((time.perf_counter() - start) * 1000)
    return latencies


def largest_relative_difference(onnx_session: ModelSession, tflite: Interpreter, inputs: list[np.ndarray]) -> float:
    ours: dict[str, list[np.ndarray]] = {}
    reference: dict[str, list[np.ndarray]] = {}
    for tensor in inputs:
        for name, value in onnx_session.run(tensor).items():
            ours.setdefault(name, []).append(value)
        tflite.set_tensor(tflite.get_input_details()[0]["index"], tensor)
        tflite.invoke()
        for detail in tflite.get_output_details():
            reference.setdefault(detail["name"], []).append(tflite.get_tensor(detail["index"]).copy())
    worst = 0.0
    for name, values in reference.items():
        expected, actual = np.stack(values), np.stack(ours[name])
        worst = max(worst, float(np.abs(actual - expected).max()) / max(float(np.ptp(expected)), 1.0))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=list(ZOO),
                        help="zoo names, any of `livepose models list` (default: the default zoo)")
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2], help="thread counts to measure")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds per model")
    parser.add_argument("--block", type=int, default=10, help="consecutive runs per side per round")
    args = parser.parse_args()

    cache = ModelCache()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, onnxruntime {ort.__version__}")
    print(f"# inputs: {'shared media images' if (MEDIA / IMAGES[0]).exists() else 'random noise (media absent)'}")
    print(
        "| model | threads | ours p50 ms | TFLite p50 ms | ours/TFLite p50 | ours min ms | TFLite min ms "
        "| ours/TFLite min | max diff / range |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        model = get_model(name)
        onnx_path = cache.path(name)
        tflite_bytes = cache.read_tflite(model)
        inputs = model_inputs(model)
        for threads in args.threads:
            session = ModelSession(onnx_path, provider="cpu", intra_op_threads=threads, inter_op_threads=1)
            interpreter = Interpreter(model_content=tflite_bytes, num_threads=threads)
            interpreter.allocate_tensors()
            input_index = interpreter.get_input_details()[0]["index"]
            output_indices = [detail["index"] for detail in interpreter.get_output_details()]

            def run_tflite(tensor: np.ndarray) -> list[np.ndarray]:
                interpreter.set_tensor(input_index, tensor)
                interpreter.invoke()
                return [interpreter.get_tensor(index) for index in output_indices]

            latencies = interleaved_latencies(
                {"onnx": session.run, "tflite": run_tflite}, inputs, args.rounds, args.block
            )
            ours, theirs = statistics.median(latencies["onnx"]), statistics.median(latencies["tflite"])
            # The minimum is the least disturbed by other processes on a shared machine.
            ours_min, theirs_min = min(latencies["onnx"]), min(latencies["tflite"])
            difference = largest_relative_difference(session, interpreter, inputs)
            print(
                f"| {name} | {threads} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} "
                f"| {ours_min:.2f} | {theirs_min:.2f} | {ours_min / theirs_min:.2f} | {difference:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
