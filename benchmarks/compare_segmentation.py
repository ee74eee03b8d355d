"""Accuracy against MediaPipe's selfie segmentation: IoU at 0.5 with its masks on every shared clip.

``../shared/media/reference/<clip>.masks.npz`` hold MediaPipe 0.10.21's ``SelfieSegmentation`` masks
(``selfie0``, ``selfie1``: uint8 0..255, resized to a quarter of the frame with INTER_AREA). Each clip's
frames (decoded with BT.601, as the reference's were) go through livepose's ``SelfieSegmenter`` (the ``selfie_segmentation`` node's work); its mask is
resized the same way, both are thresholded at 0.5, and the table gives per clip and model the mean,
5th-percentile and worst IoU and the mean absolute difference in levels of 255. Goal: mean IoU >= 0.97.

    python benchmarks/compare_segmentation.py [--media ../shared/media] [--only hands1 ...] [--frames N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # machine.py beside this script

from machine import machine_line  # noqa: E402

from livepose.io.sources import VideoFileSource  # noqa: E402
from livepose.nodes.segmentation import SelfieSegmenter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.97
# Reference name -> clip, as the media README lists them.
CLIPS = {
    "hands1": "Hand-keypoints/test_examples/webm/hands1.webm",
    "hands3": "Hand-keypoints/test_examples/webm/hands3.webm",
    "hands5": "Hand-keypoints/test_examples/webm/hands5.webm",
    "example_2": "pose-pipelines/example_2.mp4",
    "demo_input": "Real-Time-AI-Powered-Interactive-Art/test_data/demo_input.mp4",
    "short_hamilton_clip": "face_recognition/examples/short_hamilton_clip.mp4",
    "test_video": "sign-language-processing_pose/src/python/tests/data/test_video.mp4",
    "video": "sign-language-processing_pose/sample-data/video/video.mp4",
    "FOOTBALL": "sign-language-processing_pose/videos/FOOTBALL.mp4",
    "SOUP": "sign-language-processing_pose/videos/SOUP.mp4",
}


def compare(mask: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(IoU at 0.5, mean |difference| in levels) of a float mask and a reference mask, at the reference's size."""
    small = cv2.resize(mask, (reference.shape[1], reference.shape[0]), interpolation=cv2.INTER_AREA)
    ours, theirs = small >= 0.5, reference >= 128
    union = int((ours | theirs).sum())
    iou = float((ours & theirs).sum()) / union if union else 1.0
    return iou, float(np.abs(small * 255.0 - reference).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path,
                        default=Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media")))
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all)")
    parser.add_argument("--frames", type=int, default=0, help="at most this many frames a clip (0: all)")
    args = parser.parse_args()

    print(machine_line())
    segmenters = {selection: SelfieSegmenter("", selection) for selection in (0, 1)}
    print("| clip | frames | model_selection | mean IoU | p5 IoU | worst IoU | mean abs diff (of 255) | ms a frame |")
    print("|---|---|---|---|---|---|---|---|")
    means: dict[int, list[float]] = {0: [], 1: []}
    for name in args.only or list(CLIPS):
        reference_file = args.media / "reference" / f"{name}.masks.npz"
        clip = args.media / CLIPS[name]
        if not reference_file.exists() or not clip.exists():
            print(f"| {name} | missing ({reference_file if not reference_file.exists() else clip}) |")
            continue
        references = np.load(reference_file)
        rows: dict[int, list[tuple[float, float]]] = {0: [], 1: []}
        seconds = {0: 0.0, 1: 0.0}
        # The reference's frames came from OpenCV 4, which converts YUV with BT.601 whatever the tag
        # (short_hamilton_clip is tagged BT.709); decoded as tagged, this model's masks differ a lot there.
        source = VideoFileSource(clip, color_matrix="bt601")
        count = len(references["selfie0"]) if not args.frames else min(args.frames, len(references["selfie0"]))
        for index in range(count):
            decoded = source.read()
            if decoded is None:
                break
            rgb = cv2.cvtColor(decoded.image, cv2.COLOR_BGR2RGB)  # as MediaPipe's reference run: BGR -> RGB
            for selection, segmenter in segmenters.items():
                start = time.perf_counter()
                mask = segmenter(rgb)
                seconds[selection] += time.perf_counter() - start
                rows[selection].append(compare(mask, references[f"selfie{selection}"][index]))
        source.close()
        for selection, values in rows.items():
            ious = np.array([iou for iou, _ in values])
            differences = np.array([difference for _, difference in values])
            means[selection].append(float(ious.mean()))
            print(f"| {name} | {len(values)} | {selection} | {ious.mean():.4f} | {np.percentile(ious, 5):.4f} | "
                  f"{ious.min():.4f} | {differences.mean():.2f} | {1000 * seconds[selection] / len(values):.1f} |")
    for selection, values in means.items():
        if values:
            verdict = "pass" if min(values) >= GOAL else "FAIL"
            print(f"model_selection {selection}: mean IoU over clips {np.mean(values):.4f}, lowest clip "
                  f"{min(values):.4f} (goal >= {GOAL}): {verdict}")


if __name__ == "__main__":
    main()
