"""The pose's pure pieces (ROI geometry, heatmap refinement, mask smoothing and warp, the landmark step
with a fake model) without threads, files or real models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from livepose.vision.image_to_tensor import POSE_LANDMARK_INPUT
from livepose.vision.landmarks import refine_from_heatmap
from livepose.vision.pose import NUM_MODEL_LANDMARKS, PoseLandmarker, pose_roi
from livepose.vision.rects import NormalizedRect, TrackedRoi, alignment_points_rect
from livepose.vision.segmentation import roi_mask_to_image, smooth_segmentation
from livepose.vision.smoothing import LowPassFilter


def test_alignment_rect_is_centred_on_the_start_point_with_twice_the_distance() -> None:
    # 200x100 image: start at pixel (100, 60), end 30 px straight above it.
    rect = alignment_points_rect(np.array([[0.5, 0.6], [0.5, 0.3]]), (200, 100), 0, 1, math.pi / 2)
    assert (rect.x_center, rect.y_center) == pytest.approx((0.5, 0.6))
    assert (rect.width * 200, rect.height * 100) == pytest.approx((60.0, 60.0), rel=1e-6)
    assert rect.rotation == pytest.approx(0.0, abs=1e-7)  # start -> end already points up


def test_alignment_rect_turns_so_that_the_points_point_up() -> None:
    # End to the right of the start: the body lies on its side, the ROI turns a quarter.
    rect = alignment_points_rect(np.array([[0.5, 0.5], [0.6, 0.5]]), (100, 100), 0, 1, math.pi / 2)
    assert rect.rotation == pytest.approx(math.pi / 2, abs=1e-6)


def test_pose_roi_scales_the_alignment_square_by_1_25() -> None:
    points = np.array([[0.5, 0.6], [0.5, 0.3]])
    plain = alignment_points_rect(points, (200, 100), 0, 1, math.pi / 2)
    roi = pose_roi(points, (200, 100))
    assert roi.width == pytest.approx(plain.width * 1.25, rel=1e-6)
    assert roi.height == pytest.approx(plain.height * 1.25, rel=1e-6)
    assert (roi.x_center, roi.y_center) == pytest.approx((plain.x_center, plain.y_center))


def _peak_heatmap(column: float, row: float, size: int = 64, channels: int = 2, sharpness: float = 0.5) -> np.ndarray:
    rows, columns = np.mgrid[0:size, 0:size]
    logits = 4.0 - sharpness * ((columns - column) ** 2 + (rows - row) ** 2)
    heatmap = np.full((size, size, channels), -20.0, np.float32)
    heatmap[..., 0] = logits
    return heatmap


def test_refinement_moves_a_landmark_to_its_confident_heatmap_peak() -> None:
    heatmap = _peak_heatmap(30.0, 20.0)
    # Landmark 0 starts 1.5 cells off the peak; landmark 1's channel is never confident.
    landmarks = np.array([[31.5 / 64, 21.2 / 64, 0.3], [0.2, 0.7, 0.1]], np.float32)
    refined = refine_from_heatmap(landmarks, heatmap, kernel_size=9)
    assert refined[0] * 64 == pytest.approx((30.0, 20.0), abs=0.05)
    np.testing.assert_array_equal(refined[1], landmarks[1, :2])


def test_refinement_leaves_landmarks_outside_the_crop_and_weak_peaks() -> None:
    heatmap = _peak_heatmap(1.0, 1.0)
    # -0.02 of the crop is cell -1.28, which C++ truncates to -1 (-0.01 would truncate to cell 0).
    outside = np.array([[-0.02, 0.02], [1.0, 0.5]], np.float32)
    np.testing.assert_array_equal(refine_from_heatmap(outside, heatmap), outside)
    weak = heatmap - 10.0  # the best confidence is far below 0.5
    point = np.array([[1.2 / 64, 1.3 / 64], [0.5, 0.5]], np.float32)
    np.testing.assert_array_equal(refine_from_heatmap(point, weak), point)


def test_refinement_needs_a_channel_per_landmark() -> None:
    with pytest.raises(ValueError, match="channels"):
        refine_from_heatmap(np.zeros((3, 2), np.float32), np.zeros((64, 64, 2), np.float32))


def test_segmentation_smoothing_keeps_confident_pixels_and_steadies_uncertain_ones() -> None:
    current = np.array([[0.0, 1.0, 0.5, 0.6]], np.float32)
    previous = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)
    smoothed = smooth_segmentation(current, previous)
    # MediaPipe's polynomial leaves a certain pixel a hair (4e-5) uncertain.
    assert smoothed[0, 0] == pytest.approx(0.0, abs=1e-4) and smoothed[0, 1] == pytest.approx(1.0, abs=1e-4)
    # p = 0.5 is wholly uncertain: 70 % of the way to the previous value.
    assert smoothed[0, 2] == pytest.approx(0.5 + 0.5 * 0.7, abs=1e-6)
    assert 0.0 < smoothed[0, 3] < 0.6  # partly uncertain: pulled part of the way
    np.testing.assert_array_equal(smooth_segmentation(current, None), current)


def test_an_roi_mask_lands_on_its_roi_and_nowhere_else() -> None:
    # A 40x40 px ROI centred at (50, 30) of a 100x60 image, unrotated.
    rect = NormalizedRect(0.5, 0.5, 0.4, 40 / 60, 0.0)
    ones = np.ones((POSE_LANDMARK_INPUT.height, POSE_LANDMARK_INPUT.width), np.float32)
    mask = roi_mask_to_image(ones, rect, (100, 60), POSE_LANDMARK_INPUT)
    assert mask.shape == (60, 100) and mask.dtype == np.float32
    assert mask[12:48, 32:68].min() == pytest.approx(1.0)
    assert mask[:, :29].max() == 0.0 and mask[:, 71:].max() == 0.0 and mask[:9].max() == 0.0


def test_low_pass_filter_blends_with_alpha_after_the_first_value() -> None:
    smoothing = LowPassFilter(0.1)
    np.testing.assert_allclose(smoothing(np.array([1.0, 0.0])), [1.0, 0.0])
    np.testing.assert_allclose(smoothing(np.array([0.0, 1.0])), [0.9, 0.1])
    smoothing.reset()
    np.testing.assert_allclose(smoothing(np.array([0.5, 0.5])), [0.5, 0.5])
    with pytest.raises(ValueError):
        LowPassFilter(1.5)


class _FakeLandmarkModel:
    """The pose landmark model's outputs for a body standing in the crop: hip centre at the crop's
    centre, scale point 0.2 above it, every landmark on a vertical line."""

    def __init__(self, flag: float) -> None:
        self.flag = flag

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        raw = np.zeros((NUM_MODEL_LANDMARKS, 5), np.float32)
        raw[:, 0] = 128.0
        raw[:, 1] = np.linspace(40.0, 220.0, NUM_MODEL_LANDMARKS)
        raw[33, :2] = (128.0, 128.0)
        raw[34, :2] = (128.0, 128.0 - 0.2 * 256)
        raw[:, 3] = 2.0  # visibility logit
        raw[:, 4] = -2.0  # presence logit
        return {
            "Identity": raw.reshape(1, -1),
            "Identity_1": np.array([[self.flag]], np.float32),
            "Identity_2": np.full((1, 256, 256, 1), 5.0, np.float32),
            "Identity_3": np.full((1, 64, 64, NUM_MODEL_LANDMARKS), -10.0, np.float32),
            "Identity_4": np.zeros((1, NUM_MODEL_LANDMARKS * 3), np.float32),
        }


def _image() -> np.ndarray:
    return np.zeros((120, 160, 3), np.uint8)


def test_landmark_step_reads_a_pose_and_its_next_roi() -> None:
    rect = NormalizedRect(0.5, 0.5, 0.75, 1.0, 0.0)  # 120x120 px, square
    step = PoseLandmarker(_FakeLandmarkModel(0.9), enable_segmentation=True)
    output = step(_image(), [TrackedRoi(rect, 7, True)])
    (pose,) = output.objects
    assert pose.landmarks.shape == (33, 3) and pose.world_landmarks.shape == (33, 3)
    assert pose.track_id == 7 and pose.score == pytest.approx(0.9)
    np.testing.assert_allclose(pose.visibility, 1 / (1 + math.exp(-2.0)), rtol=1e-6)
    np.testing.assert_allclose(pose.presence, 1 / (1 + math.exp(2.0)), rtol=1e-6)
    np.testing.assert_allclose(pose.landmarks[:, 0], 80.0, atol=1e-3)  # the crop's centre column
    (next_roi,) = output.next_rois
    # Hip centre at the crop centre, 0.2 crop (24 px) to the scale point: a 2 * 24 * 1.25 = 60 px square.
    assert next_roi.track_id == 7 and not next_roi.from_detection
    assert (next_roi.rect.x_center * 160, next_roi.rect.y_center * 120) == pytest.approx((80.0, 60.0), abs=1e-3)
    assert next_roi.rect.width * 160 == pytest.approx(60.0, rel=1e-4)
    assert output.segmentation_mask is not None and output.segmentation_mask.shape == (120, 160)
    assert output.segmentation_mask[60, 80] > 0.99 and output.segmentation_mask[60, 5] == 0.0


def test_landmark_step_drops_a_pose_at_or_below_the_tracking_threshold() -> None:
    rect = NormalizedRect(0.5, 0.5, 0.75, 1.0, 0.0)
    step = PoseLandmarker(_FakeLandmarkModel(0.5), min_tracking_confidence=0.5, enable_segmentation=True)
    output = step(_image(), [TrackedRoi(rect, 0, True)])
    assert output.objects == () and output.next_rois == () and output.segmentation_mask is None
    assert step(_image(), []).objects == ()


def test_landmark_step_smooths_over_time_and_not_for_stills() -> None:
    rect = NormalizedRect(0.5, 0.5, 0.75, 1.0, 0.0)
    moved = NormalizedRect(0.55, 0.5, 0.75, 1.0, 0.0)  # the body 8 px to the right
    smoothed = PoseLandmarker(_FakeLandmarkModel(0.9))
    smoothed(_image(), [TrackedRoi(rect, 0, True)], timestamp=0.0)
    followed = smoothed(_image(), [TrackedRoi(moved, 0, False)], timestamp=1 / 30).objects[0]
    still = PoseLandmarker(_FakeLandmarkModel(0.9))
    still(_image(), [TrackedRoi(rect, 0, True)], timestamp=0.0, smooth=False)
    jumped = still(_image(), [TrackedRoi(moved, 0, False)], timestamp=1 / 30, smooth=False).objects[0]
    np.testing.assert_allclose(jumped.landmarks[:, 0], 88.0, atol=1e-3)
    assert np.all(followed.landmarks[:, 0] < 88.0 - 1e-3) and np.all(followed.landmarks[:, 0] > 80.0)
