"""SSD anchor generation for MediaPipe's palm and face detectors.

Public API
----------
- ``SsdAnchorOptions``: the anchor parameters of one detector.
- ``PALM_ANCHORS`` / ``FACE_SHORT_RANGE_ANCHORS``: the options of ``palm_detection_full``/``_lite``
  (192x192), ``face_detection_short_range`` (128x128) and ``pose_detection`` (224x224, 2254 anchors).
- ``generate_anchor_centres(options) -> np.ndarray``: ``(N, 2)`` float32 anchor centres (x, y) in the
  [0, 1] space of the detector's input tensor, in the order the model's outputs use.

Both detectors use ``fixed_anchor_size``, so every anchor has width = height = 1 and only the centres
matter for decoding; ``min_scale``/``max_scale`` have no effect and are therefore not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SsdAnchorOptions",
    "PALM_ANCHORS",
    "FACE_SHORT_RANGE_ANCHORS",
    "POSE_ANCHORS",
    "generate_anchor_centres",
]


@dataclass(frozen=True)
class SsdAnchorOptions:
    """Anchor layout of an SSD detector with fixed-size (w = h = 1) anchors."""

    input_width: int
    input_height: int
    strides: tuple[int, ...]
    aspect_ratios: tuple[float, ...] = (1.0,)
    # MediaPipe adds one extra anchor per layer when this is > 0 (its proto default is 1.0).
    interpolated_scale_aspect_ratio: float = 1.0
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5

    @property
    def anchors_per_layer(self) -> int:
        extra = 1 if self.interpolated_scale_aspect_ratio > 0.0 else 0
        return len(self.aspect_ratios) + extra


PALM_ANCHORS = SsdAnchorOptions(input_width=192, input_height=192, strides=(8, 16, 16, 16))
FACE_SHORT_RANGE_ANCHORS = SsdAnchorOptions(input_width=128, input_height=128, strides=(8, 16, 16, 16))
POSE_ANCHORS = SsdAnchorOptions(input_width=224, input_height=224, strides=(8, 16, 32, 32, 32))


def generate_anchor_centres(options: SsdAnchorOptions) -> np.ndarray:
    """Anchor centres ``(N, 2)`` in the order of the SSD outputs.

    Consecutive layers that share a stride form one feature map; each merged layer contributes
    ``anchors_per_layer`` anchors per cell. Cells are row-major over (y, x) with the anchors of a cell
    innermost; feature maps follow each other in stride order.
    """
    blocks: list[np.ndarray] = []
    strides = options.strides
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        merged = 0
        while layer < len(strides) and strides[layer] == stride:
            merged += 1
            layer += 1
        per_cell = merged * options.anchors_per_layer
        grid_w = math.ceil(options.input_width / stride)
        grid_h = math.ceil(options.input_height / stride)
        xs = (np.arange(grid_w, dtype=np.float64) + options.anchor_offset_x) / grid_w
        ys = (np.arange(grid_h, dtype=np.float64) + options.anchor_offset_y) / grid_h
        grid_x, grid_y = np.meshgrid(xs, ys)  # (grid_h, grid_w): row-major over y then x
        cells = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
        blocks.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(blocks, axis=0).astype(np.float32)
