"""Decoding of SSD detector outputs into scored boxes with keypoints.

Public API
----------
- ``Detections``: struct-of-arrays of N detections (float32): ``boxes`` ``(N, 4)`` as
  (xmin, ymin, width, height) - MediaPipe's relative bounding box -, ``keypoints`` ``(N, K, 2)`` as (x, y),
  ``scores`` ``(N,)``; coordinates normalised to [0, 1] of the letterboxed tensor right after decoding,
  of the image after ``remove_letterbox`` / ``project_detections``.
- ``DecodeOptions``: per-detector decoding parameters; ``PALM_DECODE``, ``FACE_SHORT_RANGE_DECODE``, ``POSE_DECODE``.
- ``sigmoid_clipped(logits, clip) -> np.ndarray``: MediaPipe's score activation.
- ``decode_detections(raw_boxes, raw_scores, anchors, options) -> Detections``: box/keypoint decoding,
  score activation and thresholding (a score equal to the threshold is kept).
- ``remove_letterbox(detections, padding) -> Detections``: tensor → image coordinates by undoing the
  letterbox padding (the palm graph's ``DetectionLetterboxRemovalCalculator``).
- ``project_detections(detections, roi, image_size) -> Detections``: the same mapping done with the
  crop's projection matrix and the box re-fitted around its projected corners (the face graph's
  ``DetectionProjectionCalculator``); equal to ``remove_letterbox`` up to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livepose.vision._float32 import F32, cosf, sinf

__all__ = [
    "Detections",
    "DecodeOptions",
    "PALM_DECODE",
    "FACE_SHORT_RANGE_DECODE",
    "POSE_DECODE",
    "sigmoid_clipped",
    "decode_detections",
    "remove_letterbox",
    "project_detections",
]


@dataclass(frozen=True)
class Detections:
    """N detections as parallel float32 arrays, ordered as produced (decoding order, or NMS order)."""

    boxes: np.ndarray  # (N, 4) xmin, ymin, width, height
    keypoints: np.ndarray  # (N, K, 2) x, y
    scores: np.ndarray  # (N,)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def take(self, index: np.ndarray | slice) -> Detections:
        """Subset (or reorder) the detections."""
        return Detections(self.boxes[index], self.keypoints[index], self.scores[index])


@dataclass(frozen=True)
class DecodeOptions:
    """Parameters of MediaPipe's ``TensorsToDetectionsCalculator`` for a detector with unit anchors.

    The raw box layout is (x_center, y_center, w, h) followed by keypoints as (x, y), all in input
    pixels relative to the anchor centre; sizes are linear (no exponential).
    """

    num_keypoints: int
    x_scale: float
    y_scale: float
    w_scale: float
    h_scale: float
    min_score: float = 0.5
    score_clipping: float = 100.0


PALM_DECODE = DecodeOptions(num_keypoints=7, x_scale=192.0, y_scale=192.0, w_scale=192.0, h_scale=192.0)
FACE_SHORT_RANGE_DECODE = DecodeOptions(
    num_keypoints=6, x_scale=128.0, y_scale=128.0, w_scale=128.0, h_scale=128.0
)
POSE_DECODE = DecodeOptions(num_keypoints=4, x_scale=224.0, y_scale=224.0, w_scale=224.0, h_scale=224.0)


def sigmoid_clipped(logits: np.ndarray, clip: float) -> np.ndarray:
    """``sigmoid(clamp(logits, -clip, clip))`` in float32; the clamp keeps extreme logits finite."""
    clipped = np.clip(np.asarray(logits, dtype=F32), F32(-clip), F32(clip))
    # exp(100) overflows float32 to inf, which yields a score of exactly 0, as in MediaPipe's float code.
    with np.errstate(over="ignore"):
        return F32(1.0) / (F32(1.0) + np.exp(-clipped))


def decode_detections(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, options: DecodeOptions
) -> Detections:
    """Decode one image's SSD outputs.

    ``raw_boxes`` is ``(A, 4 + 2K)`` (a leading batch axis of 1 is accepted), ``raw_scores`` is ``(A,)``
    or ``(A, 1)`` logits, ``anchors`` the ``(A, 2)`` centres from ``generate_anchor_centres``. Only the
    detections that pass the score threshold are decoded; boxes with negative or NaN size are dropped.
    """
    num_anchors = anchors.shape[0]
    raw_boxes = np.asarray(raw_boxes, dtype=F32).reshape(num_anchors, -1)
    raw_scores = np.asarray(raw_scores, dtype=F32).reshape(num_anchors)
    expected_coords = 4 + 2 * options.num_keypoints
    if raw_boxes.shape[1] < expected_coords:
        raise ValueError(f"raw boxes have {raw_boxes.shape[1]} coordinates, expected {expected_coords}")

    scores = sigmoid_clipped(raw_scores, options.score_clipping)
    # `score < min_score` is rejected, so equality is kept (MediaPipe's comparison).
    keep = np.flatnonzero(scores >= F32(options.min_score))
    regressors = raw_boxes[keep]
    centres = anchors[keep].astype(F32)

    x_center = regressors[:, 0] / F32(options.x_scale) + centres[:, 0]
    y_center = regressors[:, 1] / F32(options.y_scale) + centres[:, 1]
    half_w = regressors[:, 2] / F32(options.w_scale) / F32(2)
    half_h = regressors[:, 3] / F32(options.h_scale) / F32(2)
    xmin, xmax = x_center - half_w, x_center + half_w
    ymin, ymax = y_center - half_h, y_center + half_h
    boxes = np.stack([xmin, ymin, xmax - xmin, ymax - ymin], axis=1)
    valid = (boxes[:, 2] >= 0) & (boxes[:, 3] >= 0)  # NaN compares False, so NaN sizes are dropped too

    keypoint_offsets = regressors[:, 4:expected_coords].reshape(-1, options.num_keypoints, 2)
    scale = np.array([options.x_scale, options.y_scale], dtype=F32)
    keypoints = keypoint_offsets / scale + centres[:, None, :]
    return Detections(boxes[valid], keypoints[valid], scores[keep][valid])


def remove_letterbox(detections: Detections, padding: tuple[float, float, float, float]) -> Detections:
    """Undo letterbox padding ``(left, top, right, bottom)`` (fractions of the tensor)."""
    left, top, right, bottom = (F32(v) for v in padding)
    x_scale = F32(1.0) - (left + right)
    y_scale = F32(1.0) - (top + bottom)
    boxes = detections.boxes.astype(F32, copy=True)
    boxes[:, 0] = (boxes[:, 0] - left) / x_scale
    boxes[:, 1] = (boxes[:, 1] - top) / y_scale
    boxes[:, 2] = boxes[:, 2] / x_scale
    boxes[:, 3] = boxes[:, 3] / y_scale
    keypoints = detections.keypoints.astype(F32, copy=True)
    keypoints[..., 0] = (keypoints[..., 0] - left) / x_scale
    keypoints[..., 1] = (keypoints[..., 1] - top) / y_scale
    return Detections(boxes, keypoints, detections.scores)


def project_detections(
    detections: Detections,
    roi: tuple[float, float, float, float, float],
    image_size: tuple[int, int],
) -> Detections:
    """Map tensor coordinates to the image through the crop of ``roi`` = (cx, cy, w, h, rotation) in
    pixels (already enlarged by the letterbox); boxes become the axis-aligned hull of their projected
    corners."""
    cx, cy, w, h, rotation = (F32(v) for v in roi)
    c, d = cosf(rotation), sinf(rotation)
    g = F32(1.0) / F32(image_size[0])
    k = F32(1.0) / F32(image_size[1])
    half = F32(0.5)
    m0, m1 = w * c * F32(1.0) * g, -h * d * g
    m3 = (-half * w * c * F32(1.0) + half * h * d + cx) * g
    m4, m5 = w * d * F32(1.0) * k, h * c * k
    m7 = (-half * h * c - half * w * d * F32(1.0) + cy) * k

    def project(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x * m0 + y * m1 + m3, x * m4 + y * m5 + m7

    keypoints = np.stack(project(detections.keypoints[..., 0], detections.keypoints[..., 1]), axis=-1)
    xmin, ymin, width, height = (detections.boxes[:, i] for i in range(4))
    corners_x = np.stack([xmin, xmin + width, xmin + width, xmin], axis=1)
    corners_y = np.stack([ymin, ymin, ymin + height, ymin + height], axis=1)
    px, py = project(corners_x, corners_y)
    left, top = px.min(axis=1), py.min(axis=1)
    boxes = np.stack([left, top, px.max(axis=1) - left, py.max(axis=1) - top], axis=1)
    return Detections(boxes.astype(F32), keypoints.astype(F32), detections.scores)
