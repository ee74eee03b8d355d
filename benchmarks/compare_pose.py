"""Body pose and its person mask against MediaPipe's ``<clip>.pose.json.gz`` and ``<clip>.masks.npz``.

Per shared clip: frames decoded BT.601 as the reference's, through livepose's ``PoseTracker``
(pose_detection + pose_landmark_full, converted by livepose; ``smooth_landmarks`` and
``enable_segmentation`` on, as the reference run), with MediaPipe's Python-solution clock (+1/30 s a
frame). Compared: frames with the same number of poses, median / p95 / max 2D landmark distance in
pixels, median |visibility difference| and world-landmark distance (mm) on matched frames, and the
mask's mean IoU at 0.5 against the reference's quarter-size masks. Goals (issue 19): same count on
>= 97 % of frames, median <= 1.0 px, p95 <= 3 px, mean IoU >= 0.97.

``--no-graph-optimization`` runs both models with onnxruntime's graph optimizations off: the same
float32 network summed in another order (``numerics_sensitivity.py``'s method), to tell rounding
that tracking amplifies from a real difference.
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


def compare_clip(models: tuple[ModelFn, ModelFn], media: Path, name: str, max_frames: int = 0) -> PoseComparison:
    reference = load_pose_reference(media / "reference" / f"{name}.pose.json.gz")
    masks_file = media / "reference" / f"{name}.masks.npz"
    masks = np.load(masks_file)["pose"] if masks_file.exists() else None
    tracker = PoseTracker(*models, enable_segmentation=True)
    source = VideoFileSource(media / CLIPS[name], color_matrix="bt601")
    ours, theirs, visibility, world, ious, errors = [], [], [], [], [], []
    try:
        for index, frame in enumerate(reference[: max_frames or None]):
            decoded = source.read()
            if decoded is None:
                break
            poses = tracker.process(cv2.cvtColor(decoded.image, cv2.COLOR_BGR2RGB))
            expected = frame["pose"]
            ours.append(FrameObjects(tuple(p.landmarks for p in poses)))
            theirs.append(FrameObjects(() if expected is None else (np.array(expected["landmarks"]),)))
            if poses and expected is not None:
                pose = poses[0]
                visibility.append(np.abs(pose.visibility - np.array(expected["visibility"])))
                world.append(np.linalg.norm(pose.world_landmarks - np.array(expected["world"]), axis=1) * 1000)
                errors.append((float(np.linalg.norm(pose.landmarks[:, :2] - np.array(expected["landmarks"])[:, :2],
                                                    axis=1).max()), index))
            if masks is not None and index < len(masks):
                mask = tracker.last_mask
                if mask is None:
                    mask = np.zeros(decoded.image.shape[:2], np.float32)
                ious.append(compare_mask(mask, masks[index])[0])
    finally:
        source.close()
    nan = float("nan")
    return PoseComparison(
        landmarks=compare_sequences(ours, theirs),
        visibility_median=float(np.median(np.concatenate(visibility))) if visibility else nan,
        world_median_mm=float(np.median(np.concatenate(world))) if world else nan,
        mask_iou=float(np.mean(ious)) if ious else nan,
        frames_worst=[index for _, index in sorted(errors, reverse=True)[:3]],
    )


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
    parser.add_argument("--no-graph-optimization", action="store_true",
                        help="onnxruntime graph optimizations off (another summation order)")
    args = parser.parse_args()
    print(machine_line())
    optimize = not args.no_graph_optimization
    models = (session_fn("mediapipe/pose_detection", optimize),
              session_fn("mediapipe/pose_landmark_full", optimize))
    print("| clip | frames | same count | median px | p95 px | max px | visibility | world mm | mask IoU "
          "| worst frames | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.only or list(CLIPS):
        if not (args.media / "reference" / f"{name}.pose.json.gz").exists():
            print(f"| {name} | no reference |")
            continue
        result = compare_clip(models, args.media, name, args.frames)
        stats = result.landmarks
        print(f"| {name} | {stats.frames} | {stats.count_agreement:.3f} | {stats.median_px:.3f} | {stats.p95_px:.3f} "
              f"| {stats.max_px:.2f} | {result.visibility_median:.4f} | {result.world_median_mm:.2f} "
              f"| {result.mask_iou:.4f} | {result.frames_worst} | {'pass' if verdict(result) else 'FAIL'} |", flush=True)


if __name__ == "__main__":
    main()
