"""Made-up frames, hands and faces for node tests, and frames read from a clip or a keypoint file.

The shapes are plausible, not measured: an open hand drawn from fixed joint angles and lengths, and
the mean frontal face of ``render.face_tessellation``. They carry every field the real results
carry, with the types ``livepose.results`` documents, so a node sees what a pipeline would give it.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from livepose.graph.frame import Frame
from livepose.results import FACES, HANDS, Face, Hand, NormalizedRect

DEFAULT_SIZE = (480, 640)
"""(height, width) of a made-up frame."""

# Per finger, from the thumb: the direction it points (degrees from straight up, negative towards
# the thumb's side) and the lengths of its four segments (wrist to MCP, then the phalanges), as
# fractions of the hand's size.
_FINGERS = ((-55.0, (0.20, 0.14, 0.11, 0.09)), (-15.0, (0.42, 0.16, 0.10, 0.08)),
            (0.0, (0.42, 0.18, 0.11, 0.09)), (13.0, (0.40, 0.16, 0.10, 0.08)),
            (27.0, (0.36, 0.12, 0.08, 0.07)))


def frame(image: np.ndarray | None = None, *, size: tuple[int, int] = DEFAULT_SIZE, index: int = 0,
          timestamp: float | None = None, mirrored: bool = False, **results: Any) -> Frame:
    """A frame: the given BGR image or a black one of ``size`` (height, width), with ``results``.

    ``frame(hands=[hand()])`` gives what a hand node's output looks like; lists of hands or faces
    are made tuples, as the nodes write them."""
    if image is None:
        image = np.zeros((*size, 3), np.uint8)
    for key in (HANDS, FACES):
        if key in results:
            results[key] = tuple(results[key])
    made = Frame.capture(image, index, mirrored=mirrored, timestamp=timestamp)
    return made.with_results(**results) if results else made


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array


def _bounding_rect(points: np.ndarray, image_size: tuple[int, int]) -> NormalizedRect:
    height, width = image_size
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    centre, extent = (low + high) / 2, high - low
    return NormalizedRect(float(centre[0] / width), float(centre[1] / height),
                          float(extent[0] / width), float(extent[1] / height))


def open_hand_landmarks(centre: tuple[float, float] = (320.0, 260.0), size: float = 200.0,
                        handedness: str = "Right") -> np.ndarray:
    """21 x 3 pixel landmarks of an upright open hand whose wrist-to-fingertip height is about ``size``.

    It is seen palm to the camera in an unmirrored image: a right hand has its thumb on the image's
    right, a left hand on its left."""
    side = 1.0 if handedness == "Right" else -1.0
    wrist = np.array([centre[0], centre[1] + size / 2])
    points = [wrist]
    for angle, lengths in _FINGERS:
        direction = math.radians(angle) * -side
        step = np.array([math.sin(direction), -math.cos(direction)])
        joint = wrist
        for length in lengths:
            joint = joint + step * length * size
            points.append(joint)
    landmarks = np.zeros((21, 3))
    landmarks[:, :2] = np.array(points)
    return landmarks


def hand(landmarks: Sequence[Sequence[float]] | np.ndarray | None = None, *, handedness: str = "Right",
         score: float = 0.95, track_id: int = 0, image_size: tuple[int, int] = DEFAULT_SIZE,
         world_landmarks: np.ndarray | None = None) -> Hand:
    """A :class:`~livepose.results.Hand`: the given 21 landmarks (x, y or x, y, z pixels) or an open
    hand in the middle of a ``image_size`` frame. World landmarks default to the pixel landmarks
    about their centre at 1 mm a pixel."""
    if handedness not in ("Left", "Right"):
        raise ValueError(f"handedness must be 'Left' or 'Right', got {handedness!r}")
    height, width = image_size
    if landmarks is None:
        points = open_hand_landmarks((width / 2, height / 2), 0.6 * height, handedness)
    else:
        points = _points(landmarks, (21,), "a hand")
    if world_landmarks is None:
        world_landmarks = (points - points.mean(axis=0)) / 1000.0
    return Hand(_read_only(points), _read_only(world_landmarks), handedness, float(score), 1.0,
                _bounding_rect(points, image_size), int(track_id))


def face(landmarks: Sequence[Sequence[float]] | np.ndarray | None = None, *, centre: tuple[float, float] | None = None,
         size: float | None = None, score: float = 0.99, track_id: int = 0,
         image_size: tuple[int, int] = DEFAULT_SIZE) -> Face:
    """A :class:`~livepose.results.Face`: the given 468 landmarks, or the mean frontal face with its
    centre at ``centre`` (default: the frame's middle) and ``size`` pixels from forehead to chin."""
    height, width = image_size
    if landmarks is None:
        from livepose.render.face_tessellation import REFERENCE_FACE

        mean_face = np.array(REFERENCE_FACE)
        span = mean_face[152, 1] - mean_face[10, 1]  # chin below forehead: image y points down
        scale = (size or 0.5 * height) / span
        middle = np.array(centre or (width / 2, height / 2))
        points = mean_face * scale
        points[:, :2] += middle - points[:, :2].mean(axis=0)
    else:
        points = _points(landmarks, (468, 478), "a face")  # 478: with refine_landmarks' irises
    return Face(_read_only(points), float(score), _bounding_rect(points, image_size), int(track_id))


def _points(landmarks: Any, counts: tuple[int, ...], what: str) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] not in counts or points.shape[1] not in (2, 3):
        expected = " or ".join(str(count) for count in counts)
        raise ValueError(f"{what} has {expected} landmarks of x, y (or x, y, z), got shape {points.shape}")
    if points.shape[1] == 2:
        points = np.column_stack([points, np.zeros(len(points))])
    return points


def frames_from(path: str | os.PathLike[str], *, max_frames: int | None = None, video: str | None = None,
                size: tuple[int, int] = DEFAULT_SIZE) -> list[Frame]:
    """The frames of a clip, image folder or glob (as the ``capture`` node delivers them offline), or
    of a keypoint file (``.jsonl``, as ``--keypoints`` writes it): its hands and faces as results,
    on the frames of ``video`` when given, else on black frames of ``size``."""
    text = os.fspath(path)
    if text.endswith(".jsonl"):
        return _keypoint_frames(text, max_frames, video, size)
    from livepose.nodes.capture import Capture
    from livepose.testing.harness import run_node

    made = run_node(Capture, params={"source": text, "frames": max_frames or 0, "mirror": False})
    return [item for item in made if item is not None]


def _keypoint_frames(path: str, max_frames: int | None, video: str | None,
                     size: tuple[int, int]) -> list[Frame]:
    """What the ``replay`` node gives for the file (its hands and faces, paired by frame index)."""
    from livepose.io.keypoints import KeypointReader, replayed_results

    reader = KeypointReader(path)
    records = []
    try:
        while (max_frames is None or len(records) < max_frames) and (record := reader.next_record()) is not None:
            records.append(record)
    finally:
        reader.close()
    images: dict[int, np.ndarray] = {}
    if video is not None and records:
        clip = frames_from(video, max_frames=records[-1]["frame"] + 1)
        images = {f.index: f.image for f in clip}
        size = (clip[0].height, clip[0].width) if clip else size
    made = []
    for record in records:
        hands, faces = replayed_results(record, size)
        made.append(frame(images.get(record["frame"]), size=size, index=record["frame"], hands=hands, faces=faces,
                          media_time=record.get("t")))
    return made
