"""Accuracy against MediaPipe: run hands_face.yaml offline on every shared clip and image, compare.

For each reference in ``../shared/media/reference`` the pipeline runs with ``--keypoints`` (video
mode on clips, ``static_image_mode`` on the image set) and the table gives, for hands and faces:
frames with the same count as MediaPipe, median / p95 landmark distance in pixels at native
resolution over matched objects, and handedness agreement.

    python benchmarks/compare_mediapipe.py [--media ../shared/media] [--only hands1 ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's evaluation/, not installed

from evaluation.mediapipe_check import (REFERENCE_SETTINGS, THRESHOLDS, compare_keypoints, image_set_folder,
                                        run_keypoints)
from evaluation.reference import load_reference

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "pipelines" / "hands_face.yaml"
SETTINGS = list(REFERENCE_SETTINGS)
STATIC = ["palms.static_image_mode=true", "face.static_image_mode=true"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path,
                        default=Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media")))
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all)")
    args = parser.parse_args()

    print("| reference | frames | hands: same count | median px | p95 px | handedness | "
          "faces: same count | median px | p95 px | pass |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted((args.media / "reference").glob("*.mediapipe.json.gz")):
            name = path.name.removesuffix(".mediapipe.json.gz")
            if args.only and name not in args.only:
                continue
            recording = load_reference(path)
            out = Path(tmp) / f"{name}.jsonl"
            if recording.static_image_mode:
                source = image_set_folder(recording, args.media, Path(tmp) / "images")
                result = run_keypoints(PIPELINE, source, out, SETTINGS + STATIC)
            else:
                result = run_keypoints(PIPELINE, args.media / recording.source, out, SETTINGS)
            if result.exit_code:
                print(f"| {name} | run failed: {result.reason} |")
                continue
            c = compare_keypoints(out, recording)
            h, f = c.hands, c.faces
            print(f"| {name} | {h.frames} | {h.count_agreement:.1%} | {h.median_px:.3f} | {h.p95_px:.3f} | "
                  f"{h.label_agreement:.1%} | {f.count_agreement:.1%} | {f.median_px:.3f} | {f.p95_px:.3f} | "
                  f"{'yes' if c.passes() else 'no'} |")
    print(f"\nthresholds: {THRESHOLDS}")


if __name__ == "__main__":
    main()
