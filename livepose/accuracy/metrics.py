"""Keypoint accuracy metrics, as pure functions over arrays.

- :func:`pck`: the fraction of visible points within ``threshold`` times a per-sample size of the truth
  (PCK@0.2 with the box's longer side is what MMPose reports for OneHand10K, FreiHAND and Panoptic's
  ``PCKAccuracy(norm_item='bbox')``).
- :func:`nme`: the mean over samples of the mean point error divided by a per-sample distance (300W and
  WFLW normalise by the outer eye corners' distance, MMPose's ``NME(norm_mode='keypoint_distance')``).

A sample a model found nothing in counts with its points infinitely far: a miss fails every PCK point,
and NME is reported over the found samples, beside how many were found.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pck", "nme", "point_errors"]


def point_errors(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(N, K)`` Euclidean distances of ``(N, K, 2)`` points (``inf`` where a prediction is not finite)."""
    distances = np.linalg.norm(np.asarray(predicted, np.float64)[..., :2] - np.asarray(truth, np.float64)[..., :2],
                               axis=-1)
    return np.where(np.isfinite(distances), distances, np.inf)


def pck(predicted: np.ndarray, truth: np.ndarray, visible: np.ndarray, sizes: np.ndarray,
        threshold: float = 0.2) -> float:
    """Fraction of ``visible`` points (``(N, K)`` booleans) within ``threshold * sizes[n]`` of the truth."""
    errors = point_errors(predicted, truth) / np.asarray(sizes, np.float64)[:, None]
    mask = np.asarray(visible, bool)
    return float((errors[mask] <= threshold).mean()) if mask.any() else float("nan")


def nme(predicted: np.ndarray, truth: np.ndarray, visible: np.ndarray, norms: np.ndarray) -> float:
    """Mean over samples of (mean error of the sample's visible points) / ``norms[n]``; samples with no
    visible point are left out."""
    errors = point_errors(predicted, truth)
    mask = np.asarray(visible, bool)
    per_sample = [errors[n][mask[n]].mean() / norms[n] for n in range(len(errors)) if mask[n].any()]
    return float(np.mean(per_sample)) if per_sample else float("nan")
