"""Regions of interest: MediaPipe's ``NormalizedRect`` geometry, detection→ROI, ROI transformation and
ROI association.

Public API
----------
- ``NormalizedRect(x_center, y_center, width, height, rotation)``: frozen; centre and size in [0, 1]
  image units, rotation in radians (positive = clockwise on screen, image y points down). The functions
  here compute in float32 in MediaPipe's order and store float32-representable values (see ``_float32``).
  ``to_pixels(width, height)`` gives the ``(cx, cy, w, h, angle_degrees)`` tuple ``cv2.boxPoints`` takes.
- ``TrackedRoi(rect, track_id, from_detection)``: an ROI plus the identity of the object it follows.
- ``normalize_radians(angle)``: map into [-pi, pi).
- ``rotation_from_points(x0, y0, x1, y1, target_angle)``: ROI rotation from two *pixel* points.
- ``detection_to_rect(box, keypoints, image_size, start_keypoint, end_keypoint, target_angle)``:
  MediaPipe's ``DetectionsToRectsCalculator`` (centre/size from the relative (xmin, ymin, width, height)
  box, rotation from 2 keypoints).
- ``transform_rect(rect, image_size, transform)``: ``RectTransformationCalculator``: shift in the
  rotated frame, then square the long side (in pixels), then scale.
- ``RectTransform``: those parameters as a value; ``PALM_TO_HAND_ROI``, ``HAND_LANDMARKS_TO_ROI``,
  ``FACE_DETECTION_TO_ROI``, ``FACE_LANDMARKS_TO_ROI``, ``POSE_TO_ROI`` hold MediaPipe's numbers.
- ``rect_iou(a, b)``: IoU of the axis-aligned, *unrotated* rects (``x_center ± width/2``).
- ``associate_rois(detected, tracked, iou_threshold=0.5)``: ``AssociationNormRectCalculator``: walk
  ``detected + tracked`` in order; each ROI removes every ROI already kept whose IoU with it is above the
  threshold, then is appended. Later inputs therefore win, and the output is
  ``[surviving detected ROIs..., tracked ROIs...]``.

Track IDs (not part of MediaPipe's legacy graph): an ROI keeps the ``track_id`` it arrives with; the
detector step gives each detected ROI a fresh ID only if it survives association (see ``tracking``), so a
hand or face tracked from frame to frame keeps one ID until its landmarks are rejected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from livepose.vision._float32 import F32, atan2f, cosf, sinf
from livepose.vision._float32 import normalize_radians as _normalize_radians_f32
from livepose.vision.nms import box_iou

__all__ = [
    "NormalizedRect",
    "TrackedRoi",
    "RectTransform",
    "PALM_TO_HAND_ROI",
    "HAND_LANDMARKS_TO_ROI",
    "FACE_DETECTION_TO_ROI",
    "FACE_LANDMARKS_TO_ROI",
    "POSE_TO_ROI",
    "normalize_radians",
    "rotation_from_points",
    "detection_to_rect",
    "alignment_points_rect",
    "transform_rect",
    "rect_iou",
    "associate_rois",
]


@dataclass(frozen=True)
class NormalizedRect:
    """A rotated rectangle in normalised image coordinates (MediaPipe's ``NormalizedRect``)."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0

    def to_pixels(self, image_width: int, image_height: int) -> tuple[float, float, float, float, float]:
        """``(cx, cy, w, h, angle_degrees)`` in pixels, the layout of an OpenCV ``RotatedRect``, computed
        in float32 like MediaPipe's ``GetRoi`` and its degree conversion."""
        width_px, height_px = F32(image_width), F32(image_height)
        degrees = F32(float(F32(self.rotation) * F32(180.0)) / math.pi)
        return (
            float(F32(self.x_center) * width_px),
            float(F32(self.y_center) * height_px),
            float(F32(self.width) * width_px),
            float(F32(self.height) * height_px),
            float(degrees),
        )


@dataclass(frozen=True)
class TrackedRoi:
    """An ROI and the ID of the object it tracks. ``from_detection`` tells whether the detector (rather
    than the previous frame's landmarks) produced it."""

    rect: NormalizedRect
    track_id: int
    from_detection: bool


@dataclass(frozen=True)
class RectTransform:
    """Parameters of MediaPipe's ``RectTransformationCalculator``."""

    scale_x: float = 1.0
    scale_y: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    square_long: bool = False


PALM_TO_HAND_ROI = RectTransform(scale_x=2.6, scale_y=2.6, shift_x=0.0, shift_y=-0.5, square_long=True)
HAND_LANDMARKS_TO_ROI = RectTransform(scale_x=2.0, scale_y=2.0, shift_x=0.0, shift_y=-0.1, square_long=True)
FACE_DETECTION_TO_ROI = RectTransform(scale_x=1.5, scale_y=1.5, square_long=True)
FACE_LANDMARKS_TO_ROI = RectTransform(scale_x=1.5, scale_y=1.5, square_long=True)
# Both of the pose's ROIs (from the detection and from the auxiliary landmarks): MediaPipe 0.10.21's
# PoseDetectionToRoi and PoseLandmarksToRoi subgraphs, read from the wheel's _framework_bindings.
POSE_TO_ROI = RectTransform(scale_x=1.25, scale_y=1.25, square_long=True)


def normalize_radians(angle: float) -> float:
    """Map an angle into [-pi, pi) (result rounded to float32, as MediaPipe stores it)."""
    return float(_normalize_radians_f32(angle))


def rotation_from_points(x0: float, y0: float, x1: float, y1: float, target_angle: float) -> float:
    """Rotation that turns the pixel vector (x0, y0)→(x1, y1) to ``target_angle`` (radians,
    counter-clockwise from +x with y up); the minus on dy converts image y-down to y-up."""
    dy = -(F32(y1) - F32(y0))
    dx = F32(x1) - F32(x0)
    return float(_normalize_radians_f32(F32(target_angle) - atan2f(dy, dx)))


def detection_to_rect(
    box: np.ndarray,
    keypoints: np.ndarray,
    image_size: tuple[int, int],
    start_keypoint: int,
    end_keypoint: int,
    target_angle: float,
) -> NormalizedRect:
    """ROI of one detection: centre and size from its normalised (xmin, ymin, width, height) box,
    rotation from keypoints ``start_keypoint``→``end_keypoint`` measured in pixels. ``image_size`` is (W, H)."""
    width_px, height_px = F32(image_size[0]), F32(image_size[1])
    xmin, ymin, width, height = (F32(v) for v in box)
    start = np.asarray(keypoints[start_keypoint], dtype=F32)
    end = np.asarray(keypoints[end_keypoint], dtype=F32)
    return NormalizedRect(
        x_center=float(xmin + width / F32(2)),
        y_center=float(ymin + height / F32(2)),
        width=float(width),
        height=float(height),
        rotation=rotation_from_points(
            start[0] * width_px, start[1] * height_px, end[0] * width_px, end[1] * height_px, target_angle
        ),
    )


def alignment_points_rect(
    keypoints: np.ndarray,
    image_size: tuple[int, int],
    start_keypoint: int,
    end_keypoint: int,
    target_angle: float,
) -> NormalizedRect:
    """ROI centred on normalised keypoint ``start_keypoint``, square in pixels with a side of twice its
    pixel distance to ``end_keypoint``, rotated so that start→end points at ``target_angle``."""
    width_px, height_px = F32(image_size[0]), F32(image_size[1])
    start = np.asarray(keypoints[start_keypoint], dtype=F32)
    end = np.asarray(keypoints[end_keypoint], dtype=F32)
    x_center, y_center = start[0] * width_px, start[1] * height_px
    x_scale, y_scale = end[0] * width_px, end[1] * height_px
    dx, dy = x_scale - x_center, y_scale - y_center
    box_size = np.sqrt(dx * dx + dy * dy) * F32(2)
    return NormalizedRect(
        x_center=float(x_center / width_px),
        y_center=float(y_center / height_px),
        width=float(box_size / width_px),
        height=float(box_size / height_px),
        rotation=rotation_from_points(x_center, y_center, x_scale, y_scale, target_angle),
    )


def transform_rect(rect: NormalizedRect, image_size: tuple[int, int], transform: RectTransform) -> NormalizedRect:
    """Shift (in the ROI's rotated frame, in pixels, by fractions of the original size), then make the
    long pixel side square, then scale. Rotation is unchanged. Float32 throughout, in MediaPipe's order."""
    width_px, height_px = F32(image_size[0]), F32(image_size[1])
    width, height, rotation = F32(rect.width), F32(rect.height), F32(rect.rotation)
    x_center, y_center = F32(rect.x_center), F32(rect.y_center)
    shift_x, shift_y = F32(transform.shift_x), F32(transform.shift_y)
    if rotation == 0:
        x_center = x_center + width * shift_x
        y_center = y_center + height * shift_y
    else:
        # The shift is expressed in the ROI's own axes, so it is rotated in pixel space.
        cos_r, sin_r = cosf(rotation), sinf(rotation)
        x_center = x_center + (width_px * width * shift_x * cos_r - height_px * height * shift_y * sin_r) / width_px
        y_center = y_center + (width_px * width * shift_x * sin_r + height_px * height * shift_y * cos_r) / height_px
    if transform.square_long:
        long_side = max(width * width_px, height * height_px)
        width, height = long_side / width_px, long_side / height_px
    return NormalizedRect(
        x_center=float(x_center),
        y_center=float(y_center),
        width=float(width * F32(transform.scale_x)),
        height=float(height * F32(transform.scale_y)),
        rotation=float(rotation),
    )


def rect_iou(a: NormalizedRect, b: NormalizedRect) -> float:
    """IoU of the two rects taken axis-aligned (rotation ignored), as MediaPipe's association does."""

    def corner_box(rect: NormalizedRect) -> list[np.float32]:
        width, height = F32(rect.width), F32(rect.height)
        half = F32(2)
        return [F32(rect.x_center) - width / half, F32(rect.y_center) - height / half, width, height]

    return float(box_iou(np.array(corner_box(a), F32), np.array([corner_box(b)], F32))[0])


def associate_rois(
    detected: Sequence[TrackedRoi], tracked: Sequence[TrackedRoi], iou_threshold: float = 0.5
) -> list[TrackedRoi]:
    """Merge this frame's detected ROIs with the ROIs tracked from the previous frame.

    Every ROI, detected ones first, removes the already-kept ROIs it overlaps with IoU > ``iou_threshold``
    and is appended; so a tracked ROI replaces the detections of the same object.
    """
    kept: list[TrackedRoi] = []
    for candidate in (*detected, *tracked):
        kept = [roi for roi in kept if rect_iou(candidate.rect, roi.rect) <= iou_threshold]
        kept.append(candidate)
    return kept
