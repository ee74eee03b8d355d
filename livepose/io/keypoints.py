"""Keypoints as JSON Lines: one object per frame, flushed as it is written.

The format, which the accuracy checks compare against, is exactly::

    {"frame": i, "t": seconds,
     "hands": [{"id", "handedness", "score", "landmarks": [[x, y, z], ...]}],
     "faces": [{"id", "score", "landmarks": [[x, y, z], ...]}]}

with x, y in pixels of the original frame and z in the same scale as x. A frame from one of several
cameras starts with ``"camera": name``. A run with a body pose node
adds ``"poses": [{"id", "score", "landmarks": 33 x [x, y, z], "visibility": [33], "presence": [33],
"world_landmarks": 33 x [x, y, z] in metres}]`` (omitted by runs without one). A run with a model you
bring adds ``"keypoints": [{"id", "layout", "model", "score", "points": K x [x, y] (or [x, y, z]),
"scores": [K]}]`` (omitted when the frame has none). Written with ``raw``, an
object that a tracker smoothed also has ``"raw_landmarks"``: the landmarks as the model found them.

:class:`KeypointReader`, :func:`replayed_results` and :func:`replayed_poses` read such a file back, a
frame at a time, as the ``replay`` node does.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, TextIO

import numpy as np

from livepose.errors import UserError
from livepose.results import Face, Hand, NormalizedRect, Pose


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


def _values(values: Any) -> list[float | None]:
    return [_score(value) for value in np.asarray(values, dtype=np.float64).reshape(-1)]


def pose_record(pose: Any, decimals: int = 3) -> dict[str, Any]:
    """The JSON object of one body (anything shaped like :class:`livepose.results.Pose`); world
    landmarks keep 4 more decimals than pixels (they are metres)."""
    return {"id": int(pose.track_id), "score": _score(pose.score),
            "landmarks": _landmark_list(pose.landmarks, decimals),
            "visibility": _values(pose.visibility), "presence": _values(pose.presence),
            "world_landmarks": _landmark_list(pose.world_landmarks, decimals + 4)}


def keypoints_record(found: Any, decimals: int = 3) -> dict[str, Any]:
    points = np.round(np.asarray(found.points, np.float64), decimals).tolist()
    return {"id": int(found.track_id), "layout": found.layout, "model": found.model, "score": _score(found.score),
            "points": [[v if math.isfinite(v) else None for v in row] for row in points],
            "scores": _values(found.scores)}


def frame_record(frame_index: int, t: float, hands: Iterable[Any] = (), faces: Iterable[Any] = (),
                 decimals: int = 3, raw: bool = False, poses: Iterable[Any] | None = None,
                 camera: str | None = None, keypoints: Iterable[Any] = ()) -> dict[str, Any]:
    """The JSON object of one frame; ``raw`` adds the raw landmarks of smoothed objects; ``poses``
    (``None``: the run has no pose node) adds the bodies; ``camera`` names the camera of a pipeline with
    several."""
    record: dict[str, Any] = {"camera": camera} if camera else {}
    record |= {"frame": int(frame_index), "t": round(float(t), 6),
              "hands": [hand_record(h, decimals, raw) for h in hands],
              "faces": [face_record(f, decimals, raw) for f in faces]}
    if poses is not None:
        record["poses"] = [pose_record(p, decimals) for p in poses]
    if keypoints:
        record["keypoints"] = [keypoints_record(k, decimals) for k in keypoints]
    return record


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
              faces: Iterable[Any] = (), poses: Iterable[Any] | None = None, camera: str | None = None,
              keypoints: Iterable[Any] = ()) -> None:
        if self._file is None:
            raise RuntimeError(f"{self.path} is already closed")
        record = frame_record(frame_index, t, hands, faces, self.decimals, self.raw, poses, camera, keypoints)
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


class KeypointFileError(UserError):
    """A keypoint file that cannot be read back, with the file and line it is at."""


class KeypointReader:
    """Reads a keypoint file one frame at a time, as ``--keypoints`` wrote it, checking as it goes.

    ``next_record()`` gives the next frame's object (with its 1-based ``line``), or ``None`` at the
    end; a line that is not such an object, or a frame index that does not increase, raises a
    :class:`KeypointFileError` naming the file and line. Lines are parsed only when reached, so a long
    recording is never held in memory.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        try:
            self._file: TextIO | None = open(self.path, encoding="utf-8")
        except OSError as exc:
            raise KeypointFileError(f"cannot read keypoints from {self.path}: {exc.strerror}") from None
        self.line = 0
        self._last_frame = -1

    def next_record(self) -> dict[str, Any] | None:
        while self._file is not None:
            try:
                text = self._file.readline()
            except UnicodeDecodeError:
                self.line += 1
                raise self._error("is not UTF-8 text: is this a keypoint file (.jsonl)?") from None
            if not text:
                return None
            self.line += 1
            if text.strip():
                return self._checked(text)
        return None

    def _checked(self, text: str) -> dict[str, Any]:
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._error(f"is not JSON ({exc.msg}): a keypoint file has one JSON object per line") from None
        if not isinstance(record, dict) or not isinstance(record.get("frame"), int):
            raise self._error("has no integer \"frame\": not a line that --keypoints writes")
        # Faces have 478 points when the run refined them (refine_landmarks: the irises added).
        for kind, counts in (("hands", (21,)), ("faces", (468, 478))):
            items = record.setdefault(kind, [])
            shapes = [(count, 3) for count in counts]
            if not isinstance(items, list) or any(
                    not isinstance(item, dict) or np.shape(item.get("landmarks")) not in shapes for item in items):
                expected = " or ".join(str(count) for count in counts)
                raise self._error(f"has \"{kind}\" that are not objects with {expected} landmarks of x, y, z")
        poses = record.get("poses", [])
        if not isinstance(poses, list) or any(
                not isinstance(item, dict) or np.shape(item.get("landmarks")) != (33, 3)
                or np.shape(item.get("visibility")) != (33,) for item in poses):
            raise self._error("has \"poses\" that are not objects with 33 landmarks of x, y, z and 33 visibilities")
        if record["frame"] <= self._last_frame:
            raise self._error(f"has frame {record['frame']} after frame {self._last_frame}: frames must increase")
        self._last_frame = record["frame"]
        return record

    def _error(self, what: str) -> KeypointFileError:
        return KeypointFileError(f"{self.path}:{self.line}: this line {what}")

    def last_frame(self) -> int | None:
        """The frame index of the file's last line (read from its end; the file's position is kept)."""
        with open(self.path, "rb") as data:
            data.seek(0, os.SEEK_END)
            end = data.tell()
            chunk = b""
            while end > 0 and chunk.count(b"\n") < 2:
                start = max(0, end - 65536)
                data.seek(start)
                chunk = data.read(end - start) + chunk
                end = start
        lines = [line for line in chunk.splitlines() if line.strip()]
        if not lines:
            return None
        try:
            return int(json.loads(lines[-1])["frame"])
        except (ValueError, KeyError, TypeError):
            return None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _landmarks(values: Any) -> np.ndarray:
    points = np.array(values, dtype=np.float64)  # JSON null (a point a model could not place): NaN
    points.flags.writeable = False
    return points


def _box(points: np.ndarray, image_size: tuple[int, int]) -> NormalizedRect:
    """The landmarks' bounding box, normalised: the rectangle a replayed object stands in."""
    height, width = image_size
    low, high = np.nanmin(points[:, :2], axis=0), np.nanmax(points[:, :2], axis=0)
    centre, extent = (low + high) / 2, high - low
    return NormalizedRect(float(centre[0] / width), float(centre[1] / height),
                          float(extent[0] / width), float(extent[1] / height))


_NO_WORLD = np.full((21, 3), np.nan)
_NO_WORLD.flags.writeable = False


def _read_values(values: Any, count: int) -> np.ndarray:
    array = np.full(count, np.nan) if values is None else np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


def replayed_poses(record: dict[str, Any], image_size: tuple[int, int]) -> tuple[Pose, ...] | None:
    """The bodies of one checked record as ``pose_landmarks`` writes them, or ``None`` when the run that
    wrote the file had no pose node. World landmarks and presence come back when the file has them
    (NaN otherwise); the ROI is the landmarks' bounding box."""
    if "poses" not in record:
        return None
    poses = []
    for item in record["poses"]:
        points = _landmarks(item["landmarks"])
        world = item.get("world_landmarks")
        poses.append(Pose(points, _read_values(item["visibility"], 33), _read_values(item.get("presence"), 33),
                          _landmarks(world) if world is not None else _read_values(None, 99).reshape(33, 3),
                          float(item.get("score") or 0.0), _box(points, image_size), int(item.get("id", -1))))
    return tuple(poses)


def replayed_results(record: dict[str, Any], image_size: tuple[int, int]) -> tuple[tuple[Hand, ...], tuple[Face, ...]]:
    """The hands and faces of one checked record (see :class:`KeypointReader`) as the landmark nodes
    write them, on a frame of ``image_size`` (height, width).

    The file keeps landmarks, handedness, score and id; what it does not keep is filled so that no
    one mistakes it for a measurement: world landmarks are NaN, presence is the score, and the ROI
    is the landmarks' bounding box. Raw landmarks, when the file has them, stay raw."""
    hands = []
    for item in record["hands"]:
        points = _landmarks(item["landmarks"])
        raw = _landmarks(item["raw_landmarks"]) if "raw_landmarks" in item else None
        score = float(item.get("score") or 0.0)
        hands.append(Hand(points, _NO_WORLD, str(item.get("handedness", "Right")), score, score,
                          _box(points, image_size), int(item.get("id", -1)), raw_landmarks=raw))
    faces = []
    for item in record["faces"]:
        points = _landmarks(item["landmarks"])
        raw = _landmarks(item["raw_landmarks"]) if "raw_landmarks" in item else None
        faces.append(Face(points, float(item.get("score") or 0.0), _box(points, image_size), int(item.get("id", -1)),
                          raw_landmarks=raw))
    return tuple(hands), tuple(faces)
