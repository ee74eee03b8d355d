"""Person masks: MediaPipe Pose's segmentation post-processing, as pure functions on float32 arrays.

Public API
----------
- ``roi_mask_to_image(probabilities, rect, image_size, spec)`` → ``(H, W)`` float32: a mask the model
  produced for the crop of ``rect`` (sampled with ``spec``) laid over the whole frame, zero outside the
  ROI: MediaPipe's ``WarpAffineCalculator`` (bilinear, ``BORDER_ZERO``) with the inverse of the crop's
  projection.
- ``empty_mask(shape)``: the all-background mask of a frame with no person, read-only and shared.
- ``smooth_segmentation(current, previous, combine_with_previous_ratio=0.7)`` → float32 mask:
  MediaPipe's ``SegmentationSmoothingCalculator``: each pixel mixes in the previous frame's value in
  proportion to how *uncertain* the new one is (near 0.5), so confident pixels follow at once and
  the undecided edge stops flickering. ``previous=None`` returns ``current``.

Both follow MediaPipe 0.10.21's ``pose_landmark_cpu`` graph as compiled into the wheel (ratio 0.7).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from livepose.vision._float32 import F32
from livepose.vision.image_to_tensor import TensorSpec, tensor_to_image_affine
from livepose.vision.rects import NormalizedRect

__all__ = ["empty_mask", "roi_mask_to_image", "smooth_segmentation"]

# The polynomial MediaPipe's SegmentationSmoothingCalculator uses for the uncertainty of a probability p,
# in x = (p - 0.5)^2 (``segmentation_smoothing_calculator.cc``).
_UNCERTAINTY_COEFFICIENTS = (F32(5.68842), F32(-0.748699), F32(-57.8051), F32(291.309), F32(-624.717))


def roi_mask_to_image(
    probabilities: np.ndarray, rect: NormalizedRect, image_size: tuple[int, int], spec: TensorSpec
) -> np.ndarray:
    """``probabilities`` ``(spec.height, spec.width)`` in [0, 1] as an image-sized mask (see module docstring)."""
    affine = tensor_to_image_affine(rect, image_size, spec)
    mask = cv2.warpAffine(
        np.ascontiguousarray(probabilities, dtype=np.float32), affine, image_size,
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    )
    np.clip(mask, 0.0, 1.0, out=mask)
    return mask


@lru_cache(maxsize=4)
def empty_mask(shape: tuple[int, int]) -> np.ndarray:
    """A ``(H, W)`` float32 mask of zeros, read-only: one per frame size, not one per frame."""
    mask = np.zeros(shape, np.float32)
    mask.flags.writeable = False
    return mask


def smooth_segmentation(
    current: np.ndarray, previous: np.ndarray | None, combine_with_previous_ratio: float = 0.7
) -> np.ndarray:
    """``current`` blended with ``previous`` where ``current`` is uncertain (see module docstring)."""
    current = np.asarray(current, dtype=F32)
    if previous is None or combine_with_previous_ratio <= 0 or previous.shape != current.shape:
        return current
    c1, c2, c3, c4, c5 = _UNCERTAINTY_COEFFICIENTS
    # Horner's scheme in place, in MediaPipe's float32 order: a 720p mask is a million pixels a frame.
    x = np.subtract(current, F32(0.5))
    np.multiply(x, x, out=x)
    polynomial = np.multiply(x, c5)
    for coefficient in (c4, c3, c2, c1):
        polynomial += coefficient
        polynomial *= x
    np.minimum(polynomial, F32(1), out=polynomial)
    # weight = (1 - min(1, poly)) * ratio; out = current + (previous - current) * weight
    np.subtract(F32(1), polynomial, out=polynomial)
    polynomial *= F32(combine_with_previous_ratio)
    difference = np.subtract(np.asarray(previous, dtype=F32), current, out=x)
    difference *= polynomial
    difference += current
    return difference
