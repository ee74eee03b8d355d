"""Landmark projection from model-crop coordinates to the image (MediaPipe's
``TensorsToLandmarks`` + ``LandmarkLetterboxRemoval`` + ``LandmarkProjection`` and
``WorldLandmarkProjection`` calculators), vectorised over a batch of ROIs, in float32 like MediaPipe.

Public API
----------
- ``project_landmarks(raw, rects, crop_size, z_scale, paddings=None)`` → ``(B, N, 3)`` float32 landmarks
  in normalised image units: x, y in [0, 1] of the image and z in units of image width.
  ``raw`` is ``(B, N, 3)`` in crop pixels (x, y, z), ``crop_size`` the model's input side,
  ``z_scale`` the extra z divisor (0.4 for hands, 1.0 for faces), ``paddings`` ``(B, 4)`` the crops'
  letterbox padding (left, top, right, bottom).
- ``to_pixels(landmarks, image_size)`` → ``(.., 3)`` float64 with x*W, y*H, z*W.
- ``rotate_world_landmarks(world, rects)`` → float32 world landmarks rotated by each ROI's rotation about z.
- ``refine_from_heatmap(landmarks, heatmap, kernel_size=7, min_confidence=0.5)`` → ``(N, 2)`` float32:
  MediaPipe's ``RefineLandmarksFromHeatmapCalculator``: each landmark's x, y (normalised to the model's
  crop) replaced by the confidence-weighted centre of a ``kernel_size`` window of its heatmap channel
  (``(H, W, N)`` logits) around it, where that window's highest confidence is at least ``min_confidence``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from livepose.vision._float32 import F32, cosf, sinf
from livepose.vision.rects import NormalizedRect

__all__ = ["project_landmarks", "to_pixels", "rotate_world_landmarks", "refine_from_heatmap"]


def _rect_columns(rects: Sequence[NormalizedRect]) -> dict[str, np.ndarray]:
    """Per-ROI float32 values as ``(B, 1)`` columns that broadcast over the landmarks."""
    rotation = [F32(r.rotation) for r in rects]
    columns = {
        "x_center": [r.x_center for r in rects],
        "y_center": [r.y_center for r in rects],
        "width": [r.width for r in rects],
        "height": [r.height for r in rects],
        "cos": [cosf(angle) for angle in rotation],
        "sin": [sinf(angle) for angle in rotation],
    }
    return {name: np.array(values, dtype=F32).reshape(-1, 1) for name, values in columns.items()}


def project_landmarks(
    raw: np.ndarray,
    rects: Sequence[NormalizedRect],
    crop_size: int,
    z_scale: float,
    paddings: np.ndarray | None = None,
) -> np.ndarray:
    """Map crop-pixel landmarks of each ROI into normalised image coordinates (see module docstring)."""
    raw = np.asarray(raw, dtype=F32)
    size = F32(crop_size)
    x = raw[..., 0] / size
    y = raw[..., 1] / size
    z = raw[..., 2] / size / F32(z_scale)
    if paddings is not None:
        paddings = np.asarray(paddings, dtype=F32).reshape(-1, 4)
        left, top = paddings[:, 0:1], paddings[:, 1:2]
        x_extent = F32(1) - (paddings[:, 0:1] + paddings[:, 2:3])
        y_extent = F32(1) - (paddings[:, 1:2] + paddings[:, 3:4])
        x = (x - left) / x_extent
        y = (y - top) / y_extent
        z = z / x_extent
    rect = _rect_columns(rects)
    # Rotating in normalised units is exact here because every ROI is square in pixels.
    u = x - F32(0.5)
    v = y - F32(0.5)
    image_x = (rect["cos"] * u - rect["sin"] * v) * rect["width"] + rect["x_center"]
    image_y = (rect["sin"] * u + rect["cos"] * v) * rect["height"] + rect["y_center"]
    image_z = z * rect["width"]
    return np.stack([image_x, image_y, image_z], axis=-1)


def to_pixels(landmarks: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Normalised (x, y, z) → pixels (x*W, y*H, z*W) in float64; ``image_size`` is (W, H)."""
    width, height = image_size
    return np.asarray(landmarks, dtype=np.float64) * np.array([width, height, width], dtype=np.float64)


def rotate_world_landmarks(world: np.ndarray, rects: Sequence[NormalizedRect]) -> np.ndarray:
    """Rotate ``(B, N, 3)`` metric landmarks about z by each ROI's rotation; no scaling or translation."""
    world = np.asarray(world, dtype=F32)
    rect = _rect_columns(rects)
    x, y = world[..., 0], world[..., 1]
    return np.stack([rect["cos"] * x - rect["sin"] * y, rect["sin"] * x + rect["cos"] * y, world[..., 2]], axis=-1)


def refine_from_heatmap(
    landmarks: np.ndarray, heatmap: np.ndarray, kernel_size: int = 7, min_confidence: float = 0.5
) -> np.ndarray:
    """Refined ``(N, 2)`` crop-normalised x, y of ``landmarks`` ``(N, 2+)`` (see module docstring)."""
    points = np.array(np.asarray(landmarks, dtype=F32)[:, :2])
    heatmap = np.asarray(heatmap, dtype=F32)
    height, width, channels = heatmap.shape
    if channels < len(points):
        raise ValueError(f"the heatmap has {channels} channels for {len(points)} landmarks")
    offset = (kernel_size - 1) // 2
    # C++'s float-to-int conversion truncates towards zero.
    columns = np.trunc(points[:, 0] * F32(width)).astype(np.int64)
    rows = np.trunc(points[:, 1] * F32(height)).astype(np.int64)
    for index, (column, row) in enumerate(zip(columns, rows)):
        # MediaPipe 0.10.21 compares the row with the width, not the height: kept for equal answers
        # (the window below is then clipped to the heatmap, or empty).
        if column < 0 or column >= width or row < 0 or row >= width:
            continue
        top, bottom = max(0, row - offset), min(height, row + offset + 1)
        left, right = max(0, column - offset), min(width, column + offset + 1)
        if top >= bottom:
            continue
        window = heatmap[top:bottom, left:right, index]
        with np.errstate(over="ignore"):  # exp(-logit) overflows to inf for a very negative logit: 0, as in C++
            confidence = F32(1) / (F32(1) + np.exp(-window))
        total = confidence.sum(dtype=F32)
        if confidence.max() >= F32(min_confidence) and total > 0:
            column_index = np.arange(left, right, dtype=F32)[None, :]
            row_index = np.arange(top, bottom, dtype=F32)[:, None]
            points[index, 0] = (confidence * column_index).sum(dtype=F32) / F32(width) / total
            points[index, 1] = (confidence * row_index).sum(dtype=F32) / F32(height) / total
    return points
