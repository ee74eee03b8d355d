"""Anchors, SSD decoding, score activation, weighted NMS and detection letterbox removal."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from livepose.vision.anchors import FACE_SHORT_RANGE_ANCHORS, PALM_ANCHORS, SsdAnchorOptions, generate_anchor_centres
from livepose.vision.detection import (
    PALM_DECODE,
    DecodeOptions,
    Detections,
    decode_detections,
    project_detections,
    remove_letterbox,
    sigmoid_clipped,
)
from livepose.vision.nms import box_iou, weighted_nms


def test_palm_anchor_count_order_and_centres():
    anchors = generate_anchor_centres(PALM_ANCHORS)
    assert anchors.shape == (2016, 2)
    # Stride 8: a 24x24 grid with 2 anchors per cell, x fastest, then y.
    np.testing.assert_allclose(anchors[0], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(anchors[1], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(anchors[2], [1.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(anchors[48], [0.5 / 24, 1.5 / 24])
    np.testing.assert_allclose(anchors[1151], [23.5 / 24, 23.5 / 24])
    # The three stride-16 layers merge into one 12x12 grid with 6 anchors per cell.
    np.testing.assert_allclose(anchors[1152:1158], np.tile([0.5 / 12, 0.5 / 12], (6, 1)))
    np.testing.assert_allclose(anchors[1158], [1.5 / 12, 0.5 / 12])
    np.testing.assert_allclose(anchors[-1], [11.5 / 12, 11.5 / 12])


def test_face_anchor_count_and_grids():
    anchors = generate_anchor_centres(FACE_SHORT_RANGE_ANCHORS)
    assert anchors.shape == (896, 2)
    np.testing.assert_allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[511], [15.5 / 16, 15.5 / 16])
    np.testing.assert_allclose(anchors[512], [0.5 / 8, 0.5 / 8])


def test_anchor_count_without_interpolated_anchor():
    options = SsdAnchorOptions(192, 192, (8, 16, 16, 16), interpolated_scale_aspect_ratio=0.0)
    assert generate_anchor_centres(options).shape[0] == 24 * 24 * 1 + 12 * 12 * 3


def test_sigmoid_clips_extreme_logits_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = sigmoid_clipped(np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0]), clip=100.0)
    assert scores[0] == scores[1] == 0.0
    assert scores[2] == np.float32(0.5)
    assert scores[3] == scores[4] == 1.0
    np.testing.assert_allclose(sigmoid_clipped(np.array([2.0]), clip=1.0), 1 / (1 + np.exp(-1.0)), rtol=1e-6)


def _raw(anchor_count: int, rows: dict[int, list[float]], num_coords: int) -> np.ndarray:
    raw = np.zeros((anchor_count, num_coords), np.float32)
    for index, values in rows.items():
        raw[index, : len(values)] = values
    return raw


def test_decode_boxes_keypoints_and_threshold():
    anchors = np.array([[0.25, 0.5], [0.75, 0.5], [0.5, 0.5], [0.5, 0.25]], np.float32)
    options = DecodeOptions(num_keypoints=2, x_scale=100.0, y_scale=100.0, w_scale=100.0, h_scale=100.0)
    raw_boxes = _raw(
        4,
        {
            0: [10, -20, 40, 20, 5, 5, -5, -10],  # centre (0.35, 0.3), 0.4 x 0.2
            1: [0, 0, 10, 10],
            2: [0, 0, -10, 10],  # negative width: dropped even with a high score
            3: [0, 0, 10, 10],
        },
        8,
    )
    logits = np.array([3.0, 0.0, 5.0, -0.1], np.float32)  # 0.0 is exactly the 0.5 threshold: kept
    decoded = decode_detections(raw_boxes, logits[:, None], anchors, options)
    assert len(decoded) == 2
    np.testing.assert_allclose(decoded.boxes[0], [0.15, 0.2, 0.4, 0.2], atol=1e-6)
    np.testing.assert_allclose(decoded.keypoints[0], [[0.3, 0.55], [0.2, 0.4]], atol=1e-6)
    np.testing.assert_allclose(decoded.boxes[1], [0.7, 0.45, 0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(decoded.scores, [1 / (1 + np.exp(-3.0)), 0.5], rtol=1e-6)


def test_decode_accepts_batched_model_outputs_and_rejects_short_rows():
    anchors = generate_anchor_centres(PALM_ANCHORS)
    raw_boxes = np.zeros((1, 2016, 18), np.float32)
    raw_boxes[0, 7, 2:4] = 19.2  # 0.1 x 0.1
    logits = np.full((1, 2016, 1), -10.0, np.float32)
    logits[0, 7] = 4.0
    decoded = decode_detections(raw_boxes, logits, anchors, PALM_DECODE)
    assert len(decoded) == 1
    np.testing.assert_allclose(decoded.keypoints[0], np.tile(anchors[7], (7, 1)))
    with pytest.raises(ValueError):
        decode_detections(np.zeros((2016, 10), np.float32), logits, anchors, PALM_DECODE)


def _detections(boxes, scores, keypoints=None) -> Detections:
    boxes = np.asarray(boxes, np.float32)
    if keypoints is None:
        keypoints = np.stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    return Detections(boxes, np.asarray(keypoints, np.float32), np.asarray(scores, np.float32))


def test_box_iou():
    boxes = np.array([[0, 0, 2, 2], [1, 0, 2, 2], [2, 0, 1, 1], [5, 5, 1, 1], [0, 0, 0, 0]], np.float32)
    iou = box_iou(boxes[0], boxes)
    np.testing.assert_allclose(iou, [1.0, 2 / 6, 0.0, 0.0, 0.0], rtol=1e-6)


def test_weighted_nms_averages_boxes_and_keypoints_and_keeps_top_score():
    detections = _detections(
        [[0.10, 0.10, 0.20, 0.20], [0.12, 0.11, 0.20, 0.20], [0.60, 0.60, 0.10, 0.10]],
        [0.6, 0.9, 0.7],
    )
    result = weighted_nms(detections, iou_threshold=0.3)
    assert len(result) == 2
    np.testing.assert_allclose(result.scores, [0.9, 0.7])  # descending, top score kept, not averaged
    weights = np.array([0.9, 0.6]) / 1.5
    corners = np.array([[0.12, 0.11, 0.32, 0.31], [0.10, 0.10, 0.30, 0.30]])
    mean = weights @ corners
    np.testing.assert_allclose(result.boxes[0], [mean[0], mean[1], mean[2] - mean[0], mean[3] - mean[1]], atol=1e-6)
    np.testing.assert_allclose(result.keypoints[0], mean.reshape(2, 2), atol=1e-6)
    np.testing.assert_allclose(result.boxes[1], [0.6, 0.6, 0.1, 0.1], atol=1e-7)


def test_weighted_nms_threshold_is_strict():
    # IoU of these two is exactly 1/3; with a threshold of 1/3 they stay apart.
    detections = _detections([[0, 0, 2, 2], [1, 0, 2, 2]], [0.9, 0.8])
    assert len(weighted_nms(detections, iou_threshold=float(np.float32(1 / 3)))) == 2
    assert len(weighted_nms(detections, iou_threshold=0.3)) == 1


def test_weighted_nms_stops_on_degenerate_box():
    detections = _detections([[0.5, 0.5, 0.0, 0.0], [0.1, 0.1, 0.2, 0.2]], [0.9, 0.8])
    result = weighted_nms(detections)
    assert len(result) == 1
    np.testing.assert_array_equal(result.boxes[0], [0.5, 0.5, 0.0, 0.0])


def test_weighted_nms_on_empty_input():
    empty = _detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 2, 2)))
    assert len(weighted_nms(empty)) == 0


def test_remove_letterbox_maps_tensor_to_image():
    # A 512x384 image in a square tensor: 12.5% padding at top and bottom.
    detections = _detections([[0.25, 0.125, 0.5, 0.375]], [0.9], [[[0.5, 0.5], [0.0, 0.125]]])
    result = remove_letterbox(detections, (0.0, 0.125, 0.0, 0.125))
    np.testing.assert_allclose(result.boxes[0], [0.25, 0.0, 0.5, 0.5], atol=1e-7)
    np.testing.assert_allclose(result.keypoints[0], [[0.5, 0.5], [0.0, 0.0]], atol=1e-7)


def test_projection_agrees_with_letterbox_removal():
    detections = _detections([[0.2, 0.3, 0.4, 0.25]], [0.9], [[[0.31, 0.52], [0.7, 0.44]]])
    # 640x360 image letterboxed into a square: the ROI is 640x640 around the image centre.
    padding = (1 - 360 / 640) / 2
    removed = remove_letterbox(detections, (0.0, padding, 0.0, padding))
    projected = project_detections(detections, (320.0, 180.0, 640.0, 640.0, 0.0), (640, 360))
    np.testing.assert_allclose(projected.boxes, removed.boxes, atol=1e-6)
    np.testing.assert_allclose(projected.keypoints, removed.keypoints, atol=1e-6)
