"""Drawing cost of 2 hands and 1 face on a 1280x720 frame; recording cost per x264 preset.

The goal (issue 3) is under 2 ms a frame for 2 hands and 1 full face mesh. Landmarks come from
a real frame of MediaPipe's reference answers when the shared media is present (a small face,
the usual case), and a large face (the mean frontal face scaled to 360 pixels high, the costly
case for antialiased lines) is measured too. The recorder's cost is the H.264 encoding of
1280x720 frames of the synthetic pattern (moving shapes on a gradient, an easy picture) and, when
the media is present, of a real broadcast clip. Run: ``python benchmarks/bench_render.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from livepose.io import Mp4Writer, SyntheticSource, VideoFileSource
from livepose.render import (BoxStyle, FaceStyle, HandStyle, OverlayStyle, draw_faces, draw_hands,
                             draw_overlay, draw_rois, overlay_lines)
from livepose.render.face_tessellation import REFERENCE_FACE

WIDTH, HEIGHT = 1280, 720
MEDIA = Path(os.environ.get("LIVEPOSE_MEDIA", Path(__file__).resolve().parents[2] / "shared" / "media"))


def spread_hand(wrist: tuple[float, float], size: float, handedness: str) -> np.ndarray:
    """An open hand, fingers up, about ``size`` pixels tall."""
    points = [(0.0, 0.0)]
    side = -1.0 if handedness == "Left" else 1.0
    for finger, (base_x, angle) in enumerate([(0.35, 0.9), (0.25, 0.25), (0.05, 0.0),
                                              (-0.15, -0.2), (-0.3, -0.45)]):
        base = np.array([side * base_x, -0.35 if finger else -0.15])
        direction = np.array([side * np.sin(angle), -np.cos(angle)])
        for joint in range(4):
            points.append(tuple(base + direction * 0.16 * (joint + (1 if finger else 0))))
    landmarks = np.zeros((21, 3))
    landmarks[:, :2] = np.asarray(points) * size + wrist
    return landmarks


def large_scene() -> tuple[list[Any], list[Any]]:
    face = np.asarray(REFERENCE_FACE) * 150
    face[:, :2] += (WIDTH / 2, HEIGHT / 2)
    hands = [SimpleNamespace(landmarks=spread_hand((WIDTH / 2 + dx, 650), 300, side), handedness=side,
                             score=0.98, track_id=i)
             for i, (dx, side) in enumerate([(-380, "Right"), (380, "Left")])]
    return hands, [SimpleNamespace(landmarks=face, score=0.99, track_id=0)]


def reference_scene() -> tuple[list[Any], list[Any]] | None:
    path = MEDIA / "reference" / "example_2.mediapipe.json.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        frames = json.load(f)["frames"]
    frame = next(f for f in frames if len(f["hands"]) == 2 and f["faces"])
    hands = [SimpleNamespace(landmarks=np.asarray(h["landmarks"]), handedness=h["handedness"],
                             score=h["score"], track_id=i) for i, h in enumerate(frame["hands"])]
    faces = [SimpleNamespace(landmarks=np.asarray(frame["faces"][0]["landmarks"]), score=0.99, track_id=0)]
    return hands, faces


def time_draw(hands: list[Any], faces: list[Any], mode: str, antialias: bool, repeats: int,
              default_style: bool = False) -> tuple[float, float]:
    """Median and p95 milliseconds; ``default_style``: the visualizer's defaults (antialiased
    except the one-pixel mesh lines) instead of ``antialias`` everywhere."""
    background = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    hand_style = HandStyle(antialias=antialias)
    face_style = (FaceStyle(mode=mode) if default_style else
                  FaceStyle(mode=mode, antialias=antialias, mesh_antialias=antialias))
    boxes = [SimpleNamespace(x_center=0.3, y_center=0.7, width=0.2, height=0.3, rotation=0.4),
             SimpleNamespace(x_center=0.7, y_center=0.7, width=0.2, height=0.3, rotation=-0.4)]
    box_style, overlay_style = BoxStyle(antialias=antialias), OverlayStyle()
    samples = []
    for _ in range(repeats):
        image = background.copy()
        started = time.perf_counter()
        draw_rois(image, boxes, box_style)
        draw_hands(image, hands, hand_style)
        draw_faces(image, faces, face_style)
        draw_overlay(image, overlay_lines(29.97, 38.0), overlay_style)
        samples.append(time.perf_counter() - started)
    return float(np.median(samples) * 1000), float(np.percentile(samples, 95) * 1000)


def encoding_frames(count: int) -> dict[str, list[np.ndarray]]:
    frames = {"synthetic": [f.image for f in iter(SyntheticSource(width=WIDTH, height=HEIGHT,
                                                                      frames=count).read, None)]}
    clip = MEDIA / "pose-pipelines" / "example_2.mp4"
    if clip.exists():
        source = VideoFileSource(clip)
        frames["example_2.mp4"] = [f.image for f, _ in zip(iter(source.read, None), range(count))]
        source.close()
    return frames


def time_encoding(images: list[np.ndarray], preset: str) -> tuple[str, float, float]:
    """Encoder name, milliseconds a frame (encode and mux, finishing included) and kB a second."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mp4"
        writer = Mp4Writer(path, preset=preset, nominal_fps=25)
        started = time.perf_counter()
        for i, image in enumerate(images):
            writer.write(image, i / 25)
        writer.close()
        elapsed = time.perf_counter() - started
        return writer.encoder, elapsed / len(images) * 1000, path.stat().st_size / 1000 / (len(images) / 25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--encode-frames", type=int, default=100)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    scenes = {"large face": large_scene()}
    reference = reference_scene()
    if reference is not None:
        scenes["reference frame"] = reference
    print(f"{platform.processor() or platform.machine()}, OpenCV {cv2.__version__}, "
          f"{WIDTH}x{HEIGHT}, 2 hands + 1 face + 2 boxes + overlay, {args.repeats} frames")
    print(f"{'scene':<16} {'face':<9} {'antialias':<9} {'p50 ms':>7} {'p95 ms':>7}")
    for scene, (hands, faces) in scenes.items():
        for mode in ("mesh", "contours", "points"):
            for antialias in (True, False):
                p50, p95 = time_draw(hands, faces, mode, antialias, args.repeats)
                print(f"{scene:<16} {mode:<9} {str(antialias):<9} {p50:7.2f} {p95:7.2f}")
        p50, p95 = time_draw(hands, faces, "mesh", True, args.repeats, default_style=True)
        print(f"{scene:<16} {'mesh':<9} {'default':<9} {p50:7.2f} {p95:7.2f}")
    print(f"\nrecording {WIDTH}x{HEIGHT}, {args.encode_frames} frames, crf 23")
    print(f"{'picture':<16} {'encoder':<8} {'preset':<10} {'ms/frame':>8} {'kB/s':>7}")
    for picture, images in encoding_frames(args.encode_frames).items():
        for preset in ("ultrafast", "superfast", "veryfast"):
            encoder, ms, rate = time_encoding(images, preset)
            print(f"{picture:<16} {encoder:<8} {preset:<10} {ms:8.2f} {rate:7.0f}")


if __name__ == "__main__":
    main()
