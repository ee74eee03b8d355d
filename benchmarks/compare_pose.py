"""Body pose and its person mask against MediaPipe's ``<clip>.pose.json.gz`` and ``<clip>.masks.npz``.

Per shared clip: frames decoded BT.601 as the reference's, through livepose's ``PoseTracker``
(pose_detection + pose_landmark_full, converted by livepose; ``smooth_landmarks`` and
``enable_segmentation`` on, as the reference run), with MediaPipe's Python-solution clock (+1/30 s a
frame). Compared: frames with the same number of poses, median / p95 / max 2D landmark distance in
pixels, median |visibility difference| and world-landmark distance (mm) on matched frames, and the
mask's mean IoU at 0.5 against the reference's quarter-size masks. Goals (issue 19): same count on
>= 97 % of frames, median <= 1.0 px, p95 <= 3 px, mean IoU >= 0.97.

``--runtime`` runs the same float32 networks another way, ``numerics_sensitivity.py``'s method for
telling rounding that tracking amplifies from a real difference: ``onnx`` (livepose's conversion,
what the nodes run; the default), ``onnx-unoptimized`` (graph optimizations off: other summation
orders), or MediaPipe's own .tflite files on ``tflite-xnnpack`` (the kernels MediaPipe runs on a
CPU), ``tflite-builtin`` or ``tflite-reference`` kernels (needs ai-edge-litert).

    python benchmarks/compare_pose.py [--only demo_input] [--runtime tflite-xnnpack]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # machine.py, compare_segmentation.py beside this script
sys.path.insert(0, str(ROOT))

from compare_segmentation import CLIPS  # noqa: E402
from compare_segmentation import compare as compare_mask  # noqa: E402
from machine import machine_line  # noqa: E402

from evaluation.compare import ComparisonStats, FrameObjects, compare_sequences  # noqa: E402
from livepose.io.sources import VideoFileSource  # noqa: E402
from livepose.models.cache import ModelCache  # noqa: E402
from livepose.vision.pose import PoseTracker  # noqa: E402
from livepose.vision.tracking import ModelFn  # noqa: E402

GOALS = {"count": 0.97, "median": 1.0, "p95": 3.0, "iou": 0.97}


RUNTIMES = ("onnx", "onnx-unoptimized", "tflite-xnnpack", "tflite-builtin", "tflite-reference")
MODELS = ("mediapipe/pose_detection", "mediapipe/pose_landmark_full")


def session_fn(model: str, optimize: bool = True) -> ModelFn:
    """A prepared zoo model as a ``ModelFn`` on the CPU, graph optimizations on or off."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(ModelCache().path(model)), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(None, {input_name: batch})))

    return run


def pose_models(runtime: str = "onnx") -> tuple[ModelFn, ModelFn]:
    """The detector and landmark model run by ``runtime`` (one of ``RUNTIMES``)."""
    if runtime.startswith("onnx"):
        return session_fn(MODELS[0], runtime == "onnx"), session_fn(MODELS[1], runtime == "onnx")
    from numerics_sensitivity import TFLITE_KERNELS, tflite_model

    from livepose.models.zoo import get_model

    cache = ModelCache()
    kernels = TFLITE_KERNELS[runtime.replace("-", " ")]
    return tuple(tflite_model(cache.read_tflite(get_model(name)), kernels) for name in MODELS)  # type: ignore[return-value]


@dataclass(frozen=True)
class PoseComparison:
    landmarks: ComparisonStats
    visibility_median: float
    world_median_mm: float
    mask_iou: float
    frames_worst: list[int]


def load_pose_reference(path: Path) -> list[dict | None]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)["frames"]


def run_clip(models: tuple[ModelFn, ModelFn], media: Path, name: str, max_frames: int = 0,
             smooth_segmentation: bool = True) -> tuple[list[dict | None], list[np.ndarray]]:
    """Our answers on a clip in the reference's form: per frame ``None`` or the pose's landmarks,
    visibility and world landmarks, and the person mask at a quarter of the frame (uint8, as the
    reference's masks)."""
    count = len(load_pose_reference(media / "reference" / f"{name}.pose.json.gz"))
    tracker = PoseTracker(*models, enable_segmentation=True, smooth_segmentation=smooth_segmentation)
    source = VideoFileSource(media / CLIPS[name], color_matrix="bt601")
    poses_by_frame: list[dict | None] = []
    masks: list[np.ndarray] = []
    try:
        for _ in range(min(count, max_frames) if max_frames else count):
            decoded = source.read()
            if decoded is None:
                break
            poses = tracker.process(cv2.cvtColor(decoded.image, cv2.COLOR_BGR2RGB))
            poses_by_frame.append({"landmarks": poses[0].landmarks, "visibility": poses[0].visibility,
                                   "world": poses[0].world_landmarks} if poses else None)
            height, width = decoded.image.shape[:2]
            mask = tracker.last_mask if tracker.last_mask is not None else np.zeros((height, width), np.float32)
            small = cv2.resize(mask, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
            masks.append(np.round(small * 255).astype(np.uint8))
    finally:
        source.close()
    return poses_by_frame, masks


def compare_answers(ours: list[dict | None], our_masks: list[np.ndarray], theirs: list[dict | None],
                    their_masks: list[np.ndarray] | None) -> PoseComparison:
    """Our answers against another set (MediaPipe's, or ours on another runtime), frame by frame."""
    mine, other, visibility, world, ious, errors = [], [], [], [], [], []
    for index, (pose, expected) in enumerate(zip(ours, theirs)):
        mine.append(FrameObjects(() if pose is None else (np.asarray(pose["landmarks"]),)))
        other.append(FrameObjects(() if expected is None else (np.asarray(expected["landmarks"]),)))
        if pose is not None and expected is not None:
            visibility.append(np.abs(np.asarray(pose["visibility"]) - np.asarray(expected["visibility"])))
            world.append(np.linalg.norm(np.asarray(pose["world"]) - np.asarray(expected["world"]), axis=1) * 1000)
            distance = np.linalg.norm(np.asarray(pose["landmarks"])[:, :2] - np.asarray(expected["landmarks"])[:, :2],
                                      axis=1)
            errors.append((float(distance.max()), index))
        if their_masks is not None and index < len(their_masks):
            ious.append(compare_mask(our_masks[index].astype(np.float32) / 255.0, their_masks[index])[0])
    nan = float("nan")
    return PoseComparison(
        landmarks=compare_sequences(mine, other),
        visibility_median=float(np.median(np.concatenate(visibility))) if visibility else nan,
        world_median_mm=float(np.median(np.concatenate(world))) if world else nan,
        mask_iou=float(np.mean(ious)) if ious else nan,
        frames_worst=[index for _, index in sorted(errors, reverse=True)[:3]],
    )


def compare_clip(models: tuple[ModelFn, ModelFn], media: Path, name: str, max_frames: int = 0,
                 smooth_segmentation: bool = True) -> PoseComparison:
    """Our answers on a clip against MediaPipe's."""
    reference = [frame["pose"] for frame in load_pose_reference(media / "reference" / f"{name}.pose.json.gz")]
    masks_file = media / "reference" / f"{name}.masks.npz"
    reference_masks = list(np.load(masks_file)["pose"]) if masks_file.exists() else None
    ours, our_masks = run_clip(models, media, name, max_frames, smooth_segmentation)
    return compare_answers(ours, our_masks, reference, reference_masks)


def verdict(result: PoseComparison) -> bool:
    stats = result.landmarks
    distances_ok = not stats.matched_objects or (stats.median_px <= GOALS["median"] and stats.p95_px <= GOALS["p95"])
    mask_ok = np.isnan(result.mask_iou) or result.mask_iou >= GOALS["iou"]
    return bool(stats.count_agreement >= GOALS["count"] and distances_ok and mask_ok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path,
                        default=Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media")))
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all)")
    parser.add_argument("--frames", type=int, default=0, help="at most this many frames a clip (0: all)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="onnx", help="how the models run (see above)")
    parser.add_argument("--against", choices=RUNTIMES,
                        help="compare with our own answers on this runtime instead of MediaPipe's: the spread "
                             "that rounding alone makes")
    parser.add_argument("--no-smooth-segmentation", action="store_true",
                        help="masks without MediaPipe's SegmentationSmoothingCalculator (smooth_segmentation off)")
    args = parser.parse_args()
    smooth = not args.no_smooth_segmentation
    print(machine_line(), f"runtime {args.runtime}", f"smooth_segmentation {smooth}", f"against {args.against or 'MediaPipe 0.10.21'}")
    models = pose_models(args.runtime)
    other_models = pose_models(args.against) if args.against else None
    print("| clip | frames | same count | median px | p95 px | max px | visibility | world mm | mask IoU "
          "| worst frames | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.only or list(CLIPS):
        if not (args.media / "reference" / f"{name}.pose.json.gz").exists():
            print(f"| {name} | no reference |")
            continue
        if other_models is None:
            result = compare_clip(models, args.media, name, args.frames, smooth)
        else:
            ours, our_masks = run_clip(models, args.media, name, args.frames, smooth)
            result = compare_answers(ours, our_masks, *run_clip(other_models, args.media, name, args.frames, smooth))
        stats = result.landmarks
        print(f"| {name} | {stats.frames} | {stats.count_agreement:.3f} | {stats.median_px:.3f} | {stats.p95_px:.3f} "
              f"| {stats.max_px:.2f} | {result.visibility_median:.4f} | {result.world_median_mm:.2f} "
              f"| {result.mask_iou:.4f} | {result.frames_worst} | {'pass' if verdict(result) else 'FAIL'} |", flush=True)


if __name__ == "__main__":
    main()
