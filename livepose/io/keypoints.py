"""Keypoints as JSON Lines: one object per frame, flushed as it is written.

The format, which the accuracy checks compare against, is exactly::

    {"frame": i, "t": seconds,
     "hands": [{"id", "handedness", "score", "landmarks": [[x, y, z], ...]}],
     "faces": [{"id", "score", "landmarks": [[x, y, z], ...]}]}

with x, y in pixels of the original frame and z in the same scale as x. Written with ``raw``, an
object that a tracker smoothed also has ``"raw_landmarks"``: the landmarks as the model found them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, TextIO

import numpy as np

from livepose.errors import UserError


def _landmark_list(landmarks: Any, decimals: int) -> list[list[float | None]]:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"landmarks must be an N x 3 array, got shape {points.shape}")
    rounded = np.round(points, decimals).tolist()
    if not np.isfinite(points).all():
        # JSON has no NaN: a point a model could not place becomes null.
        rounded = [[v if math.isfinite(v) else None for v in row] for row in rounded]
    return rounded


def _score(value: Any) -> float | None:
    score = float(value)
    return round(score, 4) if math.isfinite(score) else None


def _with_raw(record: dict[str, Any], item: Any, decimals: int, raw: bool) -> dict[str, Any]:
    raw_landmarks = getattr(item, "raw_landmarks", None) if raw else None
    if raw_landmarks is not None:
        record["raw_landmarks"] = _landmark_list(raw_landmarks, decimals)
    return record


def hand_record(hand: Any, decimals: int = 3, raw: bool = False) -> dict[str, Any]:
    """The JSON object of one hand (anything with landmarks, handedness, score, track_id)."""
    return _with_raw({"id": int(hand.track_id), "handedness": str(hand.handedness),
                      "score": _score(hand.score), "landmarks": _landmark_list(hand.landmarks, decimals)},
                     hand, decimals, raw)


def face_record(face: Any, decimals: int = 3, raw: bool = False) -> dict[str, Any]:
    """The JSON object of one face (anything with landmarks, score, track_id)."""
    return _with_raw({"id": int(face.track_id), "score": _score(face.score),
                      "landmarks": _landmark_list(face.landmarks, decimals)}, face, decimals, raw)


def frame_record(frame_index: int, t: float, hands: Iterable[Any] = (), faces: Iterable[Any] = (),
                 decimals: int = 3, raw: bool = False) -> dict[str, Any]:
    """The JSON object of one frame; ``raw`` adds the raw landmarks of smoothed objects."""
    return {"frame": int(frame_index), "t": round(float(t), 6),
            "hands": [hand_record(h, decimals, raw) for h in hands],
            "faces": [face_record(f, decimals, raw) for f in faces]}


class KeypointWriter:
    """Append one JSON line per frame to a file, flushing each so a crash loses nothing."""

    def __init__(self, path: str | os.PathLike[str], *, decimals: int = 3, raw: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.decimals = decimals
        self.raw = raw
        self.frames_written = 0
        try:
            self._file: TextIO | None = open(self.path, "w", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write keypoints to {self.path}: {exc.strerror}") from exc

    def write(self, frame_index: int, t: float, hands: Iterable[Any] = (),
              faces: Iterable[Any] = ()) -> None:
        if self._file is None:
            raise RuntimeError(f"{self.path} is already closed")
        record = frame_record(frame_index, t, hands, faces, self.decimals, self.raw)
        self._file.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
        self._file.flush()
        self.frames_written += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "KeypointWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_keypoints(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a keypoint file back (one dict per frame)."""
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
