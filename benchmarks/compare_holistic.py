"""Holistic against MediaPipe's ``<clip>.holistic.json.gz``: the body, both hands and the face.

Per shared clip: frames decoded BT.601 as the reference's, through livepose's ``HolisticTracker``
(pose_detection, pose_landmark_full, hand_recrop, hand_landmark_full, face_detection_short_range,
face_landmark, all converted by livepose), with MediaPipe's Python-solution clock (+1/30 s a frame),
against ``Holistic(model_complexity=1, smooth_landmarks=True, refine_face_landmarks=False)``. Per part:
frames where both have it or both lack it, median / p95 2D landmark distance in pixels over frames
where both have it. Goals (issue 19): same presence on >= 97 % of frames, median <= 1 px, p95 <= 3 px.

``--runtime`` as ``compare_pose.py`` (numerics_sensitivity's method), for the pose models.

    python benchmarks/compare_holistic.py [--only SOUP] [--frames 40]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from compare_pose import RUNTIMES, pose_models, session_fn  # noqa: E402
from compare_segmentation import CLIPS  # noqa: E402
from machine import machine_line  # noqa: E402

from evaluation.compare import ComparisonStats, FrameObjects, compare_sequences  # noqa: E402
from livepose.io.sources import VideoFileSource  # noqa: E402
from livepose.vision.holistic import HolisticTracker  # noqa: E402

PARTS = ("pose", "left_hand", "right_hand", "face")
GOALS = {"count": 0.97, "median": 1.0, "p95": 3.0}


def holistic_tracker(runtime: str = "onnx") -> HolisticTracker:
    pose_detector, pose_landmark = pose_models(runtime)
    others = [session_fn(f"mediapipe/{name}") for name in
              ("hand_recrop", "hand_landmark_full", "face_detection_short_range", "face_landmark")]
    return HolisticTracker(pose_detector, pose_landmark, *others)


def compare_clip(tracker: HolisticTracker, media: Path, name: str, max_frames: int = 0) -> dict[str, ComparisonStats]:
    with gzip.open(media / "reference" / f"{name}.holistic.json.gz", "rt", encoding="utf-8") as handle:
        frames = json.load(handle)["frames"]
    source = VideoFileSource(media / CLIPS[name], color_matrix="bt601")
    ours: dict[str, list[FrameObjects]] = {part: [] for part in PARTS}
    theirs: dict[str, list[FrameObjects]] = {part: [] for part in PARTS}
    try:
        for frame in frames[: max_frames or None]:
            decoded = source.read()
            if decoded is None:
                break
            result = tracker.process(cv2.cvtColor(decoded.image, cv2.COLOR_BGR2RGB))
            for part in PARTS:
                found = getattr(result, part)
                expected = frame[f"{part}_landmarks"]
                ours[part].append(FrameObjects(() if found is None else (found.landmarks,)))
                theirs[part].append(FrameObjects(() if expected is None else (np.array(expected),)))
    finally:
        source.close()
    return {part: compare_sequences(ours[part], theirs[part]) for part in PARTS}


def passes(stats: ComparisonStats) -> bool:
    distances_ok = not stats.matched_objects or (stats.median_px <= GOALS["median"] and stats.p95_px <= GOALS["p95"])
    return bool(stats.count_agreement >= GOALS["count"] and distances_ok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path,
                        default=Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media")))
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all)")
    parser.add_argument("--frames", type=int, default=0, help="at most this many frames a clip (0: all)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="onnx", help="how the pose models run")
    args = parser.parse_args()
    print(machine_line(), f"runtime {args.runtime}")
    print("| clip | part | frames | same presence | matched | median px | p95 px | max px | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.only or list(CLIPS):
        if not (args.media / "reference" / f"{name}.holistic.json.gz").exists():
            print(f"| {name} | no reference |")
            continue
        results = compare_clip(holistic_tracker(args.runtime), args.media, name, args.frames)
        for part, stats in results.items():
            print(f"| {name} | {part} | {stats.frames} | {stats.count_agreement:.3f} | {stats.matched_objects} "
                  f"| {stats.median_px:.3f} | {stats.p95_px:.3f} | {stats.max_px:.2f} "
                  f"| {'pass' if passes(stats) else 'FAIL'} |", flush=True)


if __name__ == "__main__":
    main()
