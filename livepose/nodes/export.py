"""The keypoint export node: every frame's hands, faces and body poses as one JSON line, and with
``masks`` the frame's person mask as a PNG beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.io.keypoints import KeypointWriter
from livepose.results import CAMERA, FACES, HANDS, KEYPOINTS, MEDIA_TIME, POSES, SEGMENTATION_MASK


class _Unmirrored:
    """A hand or face seen through an undone selfie mirror: x becomes width - x."""

    def __init__(self, item: Any, width: int) -> None:
        self._item = item
        if hasattr(item, "landmarks"):
            self.landmarks = _flipped(item.landmarks, width)
        else:  # the points of a model you bring
            self.points = _flipped(item.points, width)
        raw = getattr(item, "raw_landmarks", None)
        self.raw_landmarks = None if raw is None else _flipped(raw, width)
        world = getattr(item, "world_landmarks", None)
        if world is not None:
            # Metres about the hips: mirroring negates x.
            self.world_landmarks = _flipped(world, 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._item, name)


def _flipped(landmarks: Any, width: int) -> np.ndarray:
    flipped = np.array(landmarks, dtype=np.float64)
    flipped[:, 0] = width - flipped[:, 0]
    return flipped


class ExportKeypoints(Node):
    """Write each frame's hands, faces, body poses and keypoints to a JSON Lines file (one object per frame)."""

    inputs = ("frame",)
    reads = (HANDS, FACES, POSES, KEYPOINTS, SEGMENTATION_MASK, MEDIA_TIME, CAMERA)
    # Every frame's keypoints matter more than low latency: absorb a slow disk for about a second.
    input_queue: ClassVar[dict[str, Any]] = {"size": 30, "policy": "drop_oldest"}

    path: str = param(..., "JSON Lines file to write")
    decimals: int = param(3, "decimals kept of landmark coordinates", ge=0, le=6)
    unmirror: bool = param(True, "for mirrored (selfie) frames, give x in the camera's original image")
    raw: bool = param(False, "also write raw_landmarks, the landmarks before a tracker smoothed them")
    masks: str = param("", "folder for each frame's person mask as <frame>.png, 8-bit lossless (empty: none)")

    def setup(self) -> None:
        self._mask_folder = Path(self.masks).expanduser() if self.masks else None
        if self._mask_folder is not None:
            try:
                self._mask_folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise UserError(f"cannot write masks to {self._mask_folder}: {error.strerror}") from None
        self._writer = KeypointWriter(self.path, decimals=self.decimals, raw=self.raw)
        self._first_time: float | None = None

    def process(self, frame: Frame) -> None:
        hands = frame.results.get(HANDS, ())
        faces = frame.results.get(FACES, ())
        poses = frame.results.get(POSES)
        keypoints = frame.results.get(KEYPOINTS, ())
        if frame.mirrored and self.unmirror:
            # Mirroring is x -> width - x in continuous pixel coordinates; z keeps its sign.
            hands = [_Unmirrored(h, frame.width) for h in hands]
            faces = [_Unmirrored(f, frame.width) for f in faces]
            poses = None if poses is None else [_Unmirrored(p, frame.width) for p in poses]
            keypoints = [_Unmirrored(k, frame.width) for k in keypoints]
        self._writer.write(frame.index, self._seconds(frame), hands, faces, poses, frame.results.get(CAMERA),
                           keypoints)
        mask = frame.results.get(SEGMENTATION_MASK)
        if self._mask_folder is not None and mask is not None:
            self._write_mask(frame, mask)
        return None

    def _write_mask(self, frame: Frame, mask: np.ndarray) -> None:
        levels = np.rint(np.asarray(mask, dtype=np.float32) * 255.0).astype(np.uint8)
        if frame.mirrored and self.unmirror:
            levels = cv2.flip(levels, 1)
        path = self._mask_folder / f"{frame.index:06d}.png"  # type: ignore[operator]
        if not cv2.imwrite(str(path), levels):
            raise UserError(f"cannot write the mask {path}")

    def _seconds(self, frame: Frame) -> float:
        """The source's own time of the frame (a file's timestamps), else seconds since the first
        exported frame was captured."""
        media_time = frame.results.get(MEDIA_TIME)
        if media_time is not None:
            return float(media_time)
        if self._first_time is None:
            self._first_time = frame.timestamp
        return frame.timestamp - self._first_time

    def close(self) -> None:
        self._writer.close()
