"""Cost of each built-in effect node a frame at 720p (issue 18's goal: under 2 ms with one face and two hands).

``python benchmarks/bench_effects.py [--frames N]``: real 1280x720 frames of the shared clip
``pose-pipelines/example_2.mp4`` with MediaPipe's own hands and faces for them (its reference
answers), cut to one face and at most two hands a frame, fed to each effect node through
``livepose.testing.NodeHarness`` (the node's ``process`` as a pipeline calls it, frame copy included).
The ``visualize`` node is measured the same way, as the yardstick of a node every pipeline has.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.reference import load_reference  # noqa: E402
from livepose.graph.registry import resolve_node_type  # noqa: E402
from livepose.nodes import BUILTIN_NODES  # noqa: E402
from livepose.testing import NodeHarness, face, frame, frames_from, hand  # noqa: E402
from machine import machine_line  # noqa: E402

CLIP = "pose-pipelines/example_2.mp4"
EFFECTS = [("visualize", {}), ("gestures", {}), ("sunglasses", {}), ("big_eyes", {}), ("privacy_blur", {}),
           ("privacy_blur", {"hands": True}), ("finger_paint", {}), ("face_paint", {}),
           ("face_paint", {"texture": str(ROOT / "assets" / "face_uv_template.png")})]
GOAL_MS = 2.0


def frames(media: Path, count: int) -> list:  # type: ignore[type-arg]
    reference = load_reference(media / "reference" / "example_2.mediapipe.json.gz")
    clip = frames_from(media / CLIP, max_frames=count)
    made = []
    for source, answer in zip(clip, reference.frames):
        size = (source.height, source.width)
        hands = [hand(h.landmarks, handedness=h.handedness, track_id=i, image_size=size)
                 for i, h in enumerate(answer.hands[:2])]
        faces = [face(f, track_id=0, image_size=size) for f in answer.faces[:1]]
        made.append(frame(source.image, index=source.index, hands=hands, faces=faces,
                          media_time=source.index / 25.0))
    return made


def cost(type_name: str, params: dict, inputs: list) -> tuple[float, float]:  # type: ignore[type-arg]
    times = []
    with NodeHarness(resolve_node_type(type_name), params, check=False) as harness:
        for item in inputs[:10]:
            harness.process(item)  # warm-up: caches, first allocations
        for item in inputs:
            started = time.perf_counter()
            harness.process(item)
            times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000, float(np.percentile(times, 95)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" /
                                                                          "media")))
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    print(machine_line())
    inputs = frames(args.media, args.frames)
    faces = sum(len(f.results["faces"]) for f in inputs)
    hands = sum(len(f.results["hands"]) for f in inputs)
    print(f"{len(inputs)} frames of {CLIP} at {inputs[0].width}x{inputs[0].height}: {faces / len(inputs):.2f} faces "
          f"and {hands / len(inputs):.2f} hands a frame (MediaPipe's reference answers)\n")
    print("| node | params | ms a frame p50 | p95 | goal | pass |\n|---|---|---|---|---|---|")
    for type_name, params in EFFECTS:
        if type_name not in BUILTIN_NODES:
            print(f"| {type_name} | | (not built in here) | | | |")
            continue
        p50, p95 = cost(type_name, params, inputs)
        goal = "(yardstick)" if type_name == "visualize" else f"< {GOAL_MS:g}"
        verdict = "" if type_name == "visualize" else ("pass" if p50 < GOAL_MS else "FAIL")  # p95: the load
        shown = {k: Path(v).name if k == "texture" else v for k, v in params.items()}
        print(f"| {type_name} | {shown or '-'} | {p50:.2f} | {p95:.2f} | {goal} | {verdict} |")
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
