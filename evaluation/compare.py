"""Comparison of our landmarks with a reference (MediaPipe's), frame by frame. Pure functions.

Public API
----------
- ``flip_handedness(label) -> str``: "Left" <-> "Right".
- ``match_objects(ours, reference) -> list[tuple[int, int]]``: optimal one-to-one matching of two lists
  of ``(N, 2+)`` landmark arrays by mean 2D landmark distance (Hungarian assignment).
- ``FrameObjects(landmarks, labels=None)``: one frame's objects of one kind (labels: handedness).
- ``compare_sequences(ours, reference) -> ComparisonStats``: counts agreement, per-landmark 2D distance
  statistics over matched objects, label agreement over matched labelled objects.
- ``ComparisonStats``: the figures; ``passes(...)`` checks them against thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["flip_handedness", "match_objects", "FrameObjects", "ComparisonStats", "compare_sequences"]


def flip_handedness(label: str) -> str:
    return {"Left": "Right", "Right": "Left"}[label]


def match_objects(ours: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """Pairs ``(our_index, reference_index)`` minimising the total mean landmark distance."""
    if not ours or not reference:
        return []
    cost = np.array(
        [[np.linalg.norm(a[:, :2] - b[:, :2], axis=1).mean() for b in reference] for a in ours], dtype=np.float64
    )
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols)]


@dataclass(frozen=True)
class FrameObjects:
    """One frame's objects of one kind: landmark arrays in pixels and optional labels (same order)."""

    landmarks: tuple[np.ndarray, ...]
    labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ComparisonStats:
    frames: int
    count_agreement: float  # fraction of frames with the same number of objects
    matched_objects: int
    median_px: float  # over all landmarks of all matched objects, 2D distance; NaN without matches
    p95_px: float
    max_px: float
    label_agreement: float  # fraction of matched labelled objects with equal labels; NaN without labels

    def passes(
        self, min_count_agreement: float, max_median_px: float, max_p95_px: float, min_label_agreement: float
    ) -> bool:
        labels_ok = np.isnan(self.label_agreement) or self.label_agreement >= min_label_agreement
        distances_ok = self.matched_objects == 0 or (self.median_px <= max_median_px and self.p95_px <= max_p95_px)
        return bool(self.count_agreement >= min_count_agreement and distances_ok and labels_ok)


def compare_sequences(ours: Sequence[FrameObjects], reference: Sequence[FrameObjects]) -> ComparisonStats:
    """Compare two equally long sequences of frames (see module docstring)."""
    if len(ours) != len(reference):
        raise ValueError(f"sequence lengths differ: {len(ours)} vs {len(reference)}")
    same_count = 0
    distances: list[np.ndarray] = []
    label_total = label_equal = 0
    for our_frame, ref_frame in zip(ours, reference):
        same_count += len(our_frame.landmarks) == len(ref_frame.landmarks)
        for our_index, ref_index in match_objects(our_frame.landmarks, ref_frame.landmarks):
            a, b = our_frame.landmarks[our_index], ref_frame.landmarks[ref_index]
            distances.append(np.linalg.norm(a[:, :2] - b[:, :2], axis=1))
            if our_frame.labels is not None and ref_frame.labels is not None:
                label_total += 1
                label_equal += our_frame.labels[our_index] == ref_frame.labels[ref_index]
    frames = len(ours)
    all_distances = np.concatenate(distances) if distances else np.zeros(0)
    nan = float("nan")
    return ComparisonStats(
        frames=frames,
        count_agreement=same_count / frames if frames else nan,
        matched_objects=len(distances),
        median_px=float(np.median(all_distances)) if all_distances.size else nan,
        p95_px=float(np.percentile(all_distances, 95)) if all_distances.size else nan,
        max_px=float(all_distances.max()) if all_distances.size else nan,
        label_agreement=label_equal / label_total if label_total else nan,
    )
