"""Reader of MediaPipe's reference outputs (``<clip>.mediapipe.json.gz``, ``images.mediapipe.json.gz``).

Public API
----------
- ``load_reference(path) -> ReferenceRecording``: ``frames`` (one per video frame, or per image in static
  mode), ``width``/``height`` (0 for image sets: each ``ReferenceFrame`` has its own), ``source``.
- ``ReferenceFrame(hands, faces, name, width, height)``; ``ReferenceHand(landmarks (21, 3) px,
  handedness, score)``; faces are ``(468, 3)`` pixel arrays.

Reference handedness is MediaPipe's raw label, which assumes a mirrored image; compare it with
``compare.flip_handedness`` applied when the input was not mirrored.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ReferenceHand", "ReferenceFrame", "ReferenceRecording", "load_reference"]


@dataclass(frozen=True)
class ReferenceHand:
    landmarks: np.ndarray  # (21, 3) pixels: x*W, y*H, z*W
    handedness: str  # raw MediaPipe label (mirrored-image convention)
    score: float


@dataclass(frozen=True)
class ReferenceFrame:
    hands: tuple[ReferenceHand, ...]
    faces: tuple[np.ndarray, ...]
    name: str = ""  # image path for image sets
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class ReferenceRecording:
    source: str  # video path relative to the media root, or "" for image sets
    static_image_mode: bool
    width: int
    height: int
    frames: tuple[ReferenceFrame, ...]


def _frame(entry: dict, width: int, height: int) -> ReferenceFrame:
    hands = tuple(
        ReferenceHand(np.asarray(hand["landmarks"], dtype=np.float64), hand["handedness"], float(hand["score"]))
        for hand in entry.get("hands", [])
    )
    faces = tuple(np.asarray(face["landmarks"], dtype=np.float64) for face in entry.get("faces", []))
    return ReferenceFrame(hands, faces, entry.get("image", ""), int(entry.get("width", width)), int(entry.get("height", height)))


def load_reference(path: str | Path) -> ReferenceRecording:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    width, height = int(data.get("width", 0)), int(data.get("height", 0))
    if "images" in data:
        frames = tuple(_frame(entry, width, height) for entry in data["images"])
        return ReferenceRecording("", True, width, height, frames)
    frames = tuple(_frame(entry, width, height) for entry in data["frames"])
    return ReferenceRecording(data.get("video", ""), False, width, height, frames)
