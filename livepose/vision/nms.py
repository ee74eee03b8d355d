"""Weighted non-maximum suppression as in MediaPipe's ``NonMaxSuppressionCalculator`` (WEIGHTED, IoU).

Public API
----------
- ``box_iou(box, boxes) -> np.ndarray``: IoU of one (xmin, ymin, width, height) box with ``(N, 4)`` boxes;
  0 where the boxes do not overlap or the union is empty.
- ``weighted_nms(detections, iou_threshold=0.3) -> Detections``: clusters by descending score; each
  cluster is every remaining detection with IoU strictly above the threshold with the cluster's top
  detection; its output box corners and keypoints are the score-weighted means of the cluster and its
  score is the top detection's score. Output is in descending score order; no count limit.
"""

from __future__ import annotations

import numpy as np

from livepose.vision._float32 import F32
from livepose.vision.detection import Detections

__all__ = ["box_iou", "weighted_nms"]


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union (float32) of ``box`` (4,) with each row of ``boxes`` (N, 4)."""
    box = box.astype(F32)
    boxes = boxes.astype(F32)
    x0, y0 = box[0], box[1]
    x1, y1 = box[0] + box[2], box[1] + box[3]
    bx0, by0 = boxes[:, 0], boxes[:, 1]
    bx1, by1 = bx0 + boxes[:, 2], by0 + boxes[:, 3]
    inter_w = np.minimum(x1, bx1) - np.maximum(x0, bx0)
    inter_h = np.minimum(y1, by1) - np.maximum(y0, by0)
    overlapping = (inter_w >= 0) & (inter_h >= 0)
    intersection = np.where(overlapping, inter_w * inter_h, F32(0))
    union = (x1 - x0) * (y1 - y0) + (bx1 - bx0) * (by1 - by0) - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlapping & (union > 0), intersection / union, F32(0)).astype(F32)


def weighted_nms(detections: Detections, iou_threshold: float = 0.3) -> Detections:
    """Score-weighted NMS; see the module docstring for the exact rule."""
    if len(detections) == 0:
        return detections
    # A stable sort keeps equal-score detections in decoding order, which makes results reproducible.
    remaining = np.argsort(-detections.scores, kind="stable")
    corners = np.concatenate(
        [detections.boxes[:, :2], detections.boxes[:, :2] + detections.boxes[:, 2:]], axis=1
    ).astype(F32)
    num_keypoints = detections.keypoints.shape[1]
    flat_keypoints = detections.keypoints.reshape(len(detections), -1).astype(F32)
    out_boxes: list[np.ndarray] = []
    out_keypoints: list[np.ndarray] = []
    out_scores: list[np.float32] = []
    while remaining.size:
        top = remaining[0]
        in_cluster = box_iou(detections.boxes[top], detections.boxes[remaining]) > F32(iou_threshold)
        cluster = remaining[in_cluster]
        box = detections.boxes[top].astype(F32)
        keypoints = flat_keypoints[top]
        if cluster.size:
            # MediaPipe sums in float32 one detection at a time, in score order; a cumulative sum
            # (unlike np.sum's pairwise summation) adds in exactly that order.
            scores = detections.scores[cluster].astype(F32)
            total = np.cumsum(scores, dtype=F32)[-1]
            weighted_corners = np.cumsum(corners[cluster] * scores[:, None], axis=0, dtype=F32)[-1]
            weighted_keypoints = np.cumsum(flat_keypoints[cluster] * scores[:, None], axis=0, dtype=F32)[-1]
            xmin, ymin = weighted_corners[0] / total, weighted_corners[1] / total
            box = np.array(
                [xmin, ymin, weighted_corners[2] / total - xmin, weighted_corners[3] / total - ymin], F32
            )
            keypoints = weighted_keypoints / total
        out_boxes.append(box)
        out_keypoints.append(keypoints.reshape(num_keypoints, 2))
        out_scores.append(detections.scores[top])
        if not cluster.size:
            # A zero-area top box overlaps nothing, not even itself; MediaPipe keeps it and stops here.
            break
        remaining = remaining[~in_cluster]
    return Detections(
        np.asarray(out_boxes, dtype=F32), np.asarray(out_keypoints, dtype=F32), np.asarray(out_scores, dtype=F32)
    )
