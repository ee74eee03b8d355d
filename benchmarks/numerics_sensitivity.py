"""How much MediaPipe's hand tracking depends on floating-point rounding.

The hand tracking loop feeds each frame's landmarks back as the next frame's crop, so on fast motion a
difference in the last bits of a model's output can grow frame after frame until a hand is lost a frame
earlier or later than MediaPipe loses it. This script runs livepose's own tracker
(``livepose.vision.hands.HandTracker``, the code behind the hand nodes) on each shared clip with the
same models executed four ways, and compares each run with MediaPipe's answers as
``compare_mediapipe.py`` does:

- ``onnx``: livepose's converted models on onnxruntime's CPU provider (what the pipelines run);
- ``tflite xnnpack``: MediaPipe's .tflite files on the TFLite interpreter with its XNNPACK delegate,
  the kernels MediaPipe itself runs on a CPU;
- ``tflite builtin``: the same files on TFLite's own optimized CPU kernels, XNNPACK disabled;
- ``tflite reference``: the same files on TFLite's plain reference kernels.

All four compute the same float32 network; they differ only in the order of their sums. Frames are
decoded as the reference's were (BT.601). Needs ai-edge-litert (``pip install -e .[test]``).

    python benchmarks/numerics_sensitivity.py [--only example_2 hands1]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's evaluation/, not installed

from evaluation.compare import FrameObjects, compare_sequences, flip_handedness
from evaluation.reference import load_reference
from livepose.io.sources import VideoFileSource
from livepose.models.cache import ModelCache
from livepose.models.runtime import ModelSession
from livepose.models.zoo import ZOO
from livepose.vision.hands import HandTracker
from livepose.vision.tracking import ModelFn

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
PALM, LANDMARK = "mediapipe/palm_detection_full", "mediapipe/hand_landmark_full"
TFLITE_KERNELS = {
    "tflite xnnpack": OpResolverType.AUTO,
    "tflite builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    "tflite reference": OpResolverType.BUILTIN_REF,
}


def tflite_model(model_bytes: bytes, kernels: OpResolverType) -> ModelFn:
    interpreter = Interpreter(model_content=model_bytes, num_threads=1, experimental_op_resolver_type=kernels)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    outputs = interpreter.get_output_details()

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        return {output["name"]: interpreter.get_tensor(output["index"]).copy() for output in outputs}

    return run


def model_pairs(cache: ModelCache) -> dict[str, Callable[[], tuple[ModelFn, ModelFn]]]:
    def onnx() -> tuple[ModelFn, ModelFn]:
        return tuple(ModelSession(name, provider="cpu", intra_op_threads=1).run for name in (PALM, LANDMARK))  # type: ignore[return-value]

    pairs: dict[str, Callable[[], tuple[ModelFn, ModelFn]]] = {"onnx": onnx}
    for label, kernels in TFLITE_KERNELS.items():
        pairs[label] = lambda kernels=kernels: tuple(  # type: ignore[misc]
            tflite_model(cache.read_tflite(ZOO[name]), kernels) for name in (PALM, LANDMARK))
    return pairs


def decoded_frames(path: Path) -> list[np.ndarray]:
    source = VideoFileSource(path, color_matrix="bt601")
    frames = []
    try:
        while (frame := source.read()) is not None:
            frames.append(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
    finally:
        source.close()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="reference names to run (default: every clip)")
    args = parser.parse_args()

    pairs = model_pairs(ModelCache())
    print("| clip | runtime | hands: same count | frames that differ | median px | p95 px | handedness |")
    print("|---|---|---|---|---|---|---|")
    for path in sorted((MEDIA / "reference").glob("*.mediapipe.json.gz")):
        name = path.name.removesuffix(".mediapipe.json.gz")
        recording = load_reference(path)
        if recording.static_image_mode or (args.only and name not in args.only):
            continue
        frames = decoded_frames(MEDIA / recording.source)
        reference = [FrameObjects(tuple(h.landmarks for h in f.hands), tuple(flip_handedness(h.handedness) for h in f.hands))
                     for f in recording.frames]
        for label, open_models in pairs.items():
            palm, landmark = open_models()
            tracker = HandTracker(palm, landmark, max_num_hands=2, max_batch=1)
            ours = []
            for image in frames:
                hands = tracker.process(image)
                ours.append(FrameObjects(tuple(h.landmarks for h in hands), tuple(h.handedness for h in hands)))
            stats = compare_sequences(ours, reference)
            differing = round((1 - stats.count_agreement) * stats.frames)
            print(f"| {name} | {label} | {stats.count_agreement:.1%} | {differing} | {stats.median_px:.3f} | "
                  f"{stats.p95_px:.3f} | {stats.label_agreement:.1%} |", flush=True)


if __name__ == "__main__":
    main()
