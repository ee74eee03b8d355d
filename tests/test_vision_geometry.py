"""Letterbox, crops, ROI geometry, association, projection and landmarks → next ROI."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from livepose.vision.image_to_tensor import (
    FACE_DETECTOR_INPUT,
    HAND_LANDMARK_INPUT,
    PALM_DETECTOR_INPUT,
    TensorSpec,
    _box_corners,
    _fixed_point_maps,
    crop_to_tensor,
    crops_to_batch,
    image_to_letterboxed_tensor,
    letterbox_padding,
    letterboxed_image_roi,
)
from livepose.vision.face import face_landmarks_to_rect
from livepose.vision.hands import hand_landmarks_to_rect
from livepose.vision.landmarks import project_landmarks, rotate_world_landmarks, to_pixels
from livepose.vision.rects import (
    HAND_LANDMARKS_TO_ROI,
    PALM_TO_HAND_ROI,
    NormalizedRect,
    RectTransform,
    TrackedRoi,
    associate_rois,
    detection_to_rect,
    normalize_radians,
    rect_iou,
    rotation_from_points,
    transform_rect,
)


# --- letterbox and crops -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (512, 384, (0.0, 0.125, 0.0, 0.125)),
        (683, 384, (0.0, 0.21889, 0.0, 0.21889)),
        (384, 683, (0.21889, 0.0, 0.21889, 0.0)),
        (300, 300, (0.0, 0.0, 0.0, 0.0)),
    ],
)
def test_letterbox_padding_examples(width, height, expected):
    new_width, new_height, padding = letterbox_padding(width, height, 192, 192)
    np.testing.assert_allclose(padding, expected, atol=1e-5)
    assert new_width == new_height == max(width, height)


def test_letterbox_padding_for_a_non_square_tensor():
    # A square ROI into a 2:1 (wide) tensor gets horizontal padding of a quarter on each side.
    new_width, new_height, padding = letterbox_padding(100, 100, 200, 100)
    assert (new_width, new_height) == (200, 100)
    np.testing.assert_allclose(padding, (0.25, 0.0, 0.25, 0.0))


def _gradient_image(width: int, height: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs % 256, ys % 256, (xs * 7 + ys * 3) % 256], axis=-1).astype(np.uint8)


def test_crop_of_the_whole_image_at_its_size_is_the_image():
    image = _gradient_image(224, 224)
    tensor, padding = crop_to_tensor(image, NormalizedRect(0.5, 0.5, 1.0, 1.0), HAND_LANDMARK_INPUT)
    assert padding == (0.0, 0.0, 0.0, 0.0)
    assert tensor.dtype == np.float32 and tensor.shape == (224, 224, 3)
    np.testing.assert_array_equal(tensor, image.astype(np.float32) * np.float32(1 / 255))


def test_rotated_crop_turns_the_image():
    # Rotation +90 deg (clockwise on screen): the crop's x axis runs down the image. The mapping is
    # corner to corner and samples at integer output coordinates, so crop pixel (r, c) reads image
    # pixel (row c, column 224 - r): the first crop row falls on the border and repeats column 223.
    image = _gradient_image(224, 224)
    tensor, _ = crop_to_tensor(image, NormalizedRect(0.5, 0.5, 1.0, 1.0, math.pi / 2), HAND_LANDMARK_INPUT)
    turned = np.rot90(image, k=1)
    expected = np.concatenate([turned[:1], turned[:-1]])
    np.testing.assert_array_equal(np.rint(tensor * 255).astype(np.uint8), expected)


def test_crop_borders_and_value_ranges():
    image = np.full((100, 100, 3), 255, np.uint8)
    outside = NormalizedRect(1.0, 0.5, 1.0, 1.0)  # right half of the ROI is off the image
    spec = TensorSpec(64, 64, 0.0, 1.0, keep_aspect_ratio=False, border="zero")
    zero, _ = crop_to_tensor(image, outside, spec)
    replicate, _ = crop_to_tensor(image, outside, TensorSpec(64, 64, 0.0, 1.0, False, "replicate"))
    assert zero[:, :31].min() == 1.0 and zero[:, 33:].max() == 0.0
    assert replicate.min() == 1.0
    face_zero, _ = crop_to_tensor(image, outside, TensorSpec(64, 64, -1.0, 1.0, False, "zero"))
    # 255 * float32(2/255) - 1 with one rounding (OpenCV's fused multiply-add) is 1 + 1 ulp.
    np.testing.assert_array_equal(face_zero[:, :31], np.float32(1.0000001))
    assert face_zero[:, 33:].max() == -1.0


def test_letterboxed_detector_input_pads_with_the_range_minimum():
    image = np.full((384, 512, 3), 200, np.uint8)
    palm, padding = image_to_letterboxed_tensor(image, PALM_DETECTOR_INPUT)
    assert padding == (0.0, 0.125, 0.0, 0.125)
    rows = round(0.125 * 192)  # 24 padded rows at the top and at the bottom
    assert palm[: rows - 1].max() == 0.0 and palm[-rows + 1 :].max() == 0.0
    np.testing.assert_allclose(palm[rows + 1 : -rows - 1], 200 / 255, rtol=1e-6)
    face, _ = image_to_letterboxed_tensor(image, FACE_DETECTOR_INPUT)
    assert face[:10].max() == -1.0
    np.testing.assert_allclose(face[64, 64], 200 * 2 / 255 - 1, rtol=1e-6)
    assert letterboxed_image_roi(512, 384, PALM_DETECTOR_INPUT) == (256.0, 192.0, 512.0, 512.0, 0.0)


def test_box_corners_order_and_rotation():
    # Bottom-left, top-left, top-right, bottom-right: the order the tensor corners are matched to.
    corners = _box_corners(((10.0, 20.0), (4.0, 6.0), 0.0))
    np.testing.assert_array_equal(corners, [[8, 23], [8, 17], [12, 17], [12, 23]])
    turned = _box_corners(((10.0, 20.0), (4.0, 6.0), 90.0))  # clockwise on screen
    np.testing.assert_allclose(turned, [[7, 18], [13, 18], [13, 22], [7, 22]], atol=1e-5)


def test_fixed_point_maps_step_in_32ths_of_a_pixel():
    # A pure scale by 2: output pixel x reads the source at 2x (corner mapping), in 1/32 steps.
    matrix = np.array([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 1]], np.float64)
    coords, table = _fixed_point_maps(matrix, 8, 8)
    np.testing.assert_array_equal(coords[0, :, 0], np.arange(8) * 2)
    np.testing.assert_array_equal(table, 0)
    matrix = np.array([[1, 0, -0.25], [0, 1, 0], [0, 0, 1]], np.float64)  # reads x + 0.25
    coords, table = _fixed_point_maps(matrix, 4, 4)
    np.testing.assert_array_equal(coords[0, :, 0], np.arange(4))
    np.testing.assert_array_equal(table, 8)  # 0.25 px = 8/32 along x, 0 along y


def test_batch_of_crops_matches_single_crops():
    image = _gradient_image(320, 240)
    rects = [NormalizedRect(0.3, 0.4, 0.3, 0.4, 0.3), NormalizedRect(0.7, 0.6, 0.2, 0.25, -2.0)]
    batch, paddings = crops_to_batch(image, rects, HAND_LANDMARK_INPUT)
    assert batch.shape == (2, 224, 224, 3) and paddings.shape == (2, 4)
    for index, rect in enumerate(rects):
        single, padding = crop_to_tensor(image, rect, HAND_LANDMARK_INPUT)
        np.testing.assert_array_equal(batch[index], single)
        np.testing.assert_allclose(paddings[index], padding)
    with pytest.raises(ValueError):
        crops_to_batch(image.astype(np.float32), rects, HAND_LANDMARK_INPUT)


def test_crops_from_several_threads_match_crops_on_one():
    # The sampling maps live in per-thread buffers: concurrent crops must not share them.
    image = _gradient_image(320, 240)
    rects = [NormalizedRect(0.3 + 0.01 * i, 0.4, 0.3, 0.4, 0.1 * i) for i in range(8)]
    expected = [crop_to_tensor(image, rect, HAND_LANDMARK_INPUT)[0] for rect in rects]
    results: dict[int, list[np.ndarray]] = {}

    def crop_all(worker: int) -> None:
        results[worker] = [crop_to_tensor(image, rect, HAND_LANDMARK_INPUT)[0] for rect in rects * 5]

    workers = [threading.Thread(target=crop_all, args=(w,)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for crops in results.values():
        for index, crop in enumerate(crops):
            np.testing.assert_array_equal(crop, expected[index % len(rects)])


def test_kept_letterbox_maps_sample_like_fresh_ones():
    image = _gradient_image(320, 240)
    whole = NormalizedRect(0.5, 0.5, 1.0, 1.0, 0.0)
    for spec in (PALM_DETECTOR_INPUT, FACE_DETECTOR_INPUT):
        fresh, fresh_padding = crops_to_batch(image, [whole], spec)
        for _ in range(2):  # the second call reads the kept maps
            kept, padding = image_to_letterboxed_tensor(image, spec)
            np.testing.assert_array_equal(kept, fresh[0])
            np.testing.assert_allclose(padding, fresh_padding[0])


@pytest.mark.parametrize("spec", [HAND_LANDMARK_INPUT, FACE_DETECTOR_INPUT])
def test_pixel_values_scale_with_one_rounding(spec):
    # Every uint8 value, as OpenCV's convertTo (one fused multiply-add in float32) maps it.
    image = np.repeat(np.arange(256, dtype=np.uint8), 3).reshape(16, 16, 3)
    tensor, _ = crop_to_tensor(image, NormalizedRect(0.5, 0.5, 1.0, 1.0), TensorSpec(16, 16, spec.value_min,
                                                                                       spec.value_max, False, "zero"))
    scale = (np.float32(spec.value_max) - np.float32(spec.value_min)) / np.float32(255)
    fused = (image.astype(np.float64) * float(scale) + float(np.float32(spec.value_min))).astype(np.float32)
    np.testing.assert_array_equal(tensor, fused)
    assert tensor.dtype == np.float32 and tensor.min() == spec.value_min


# --- rects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "expected"),
    [(0.0, 0.0), (math.pi, -math.pi), (-math.pi, -math.pi), (1.5 * math.pi, -0.5 * math.pi), (7.0, 7.0 - 2 * math.pi)],
)
def test_normalize_radians(angle, expected):
    assert normalize_radians(angle) == pytest.approx(expected, abs=1e-6)


def test_rotation_from_points_uses_image_y_down():
    # Wrist below the middle finger (pointing up on screen): already at the 90 deg target.
    assert rotation_from_points(50, 80, 50, 20, math.pi / 2) == pytest.approx(0.0)
    # Pointing right: the ROI must turn +90 deg (clockwise on screen).
    assert rotation_from_points(20, 50, 80, 50, math.pi / 2) == pytest.approx(math.pi / 2)
    # Pointing down: half a turn.
    assert rotation_from_points(50, 20, 50, 80, math.pi / 2) == pytest.approx(-math.pi)


def test_detection_to_rect_uses_box_and_pixel_rotation():
    box = np.array([0.2, 0.4, 0.1, 0.2], np.float32)
    # Keypoints 45 deg in normalised units but not in pixels on a 640x360 image.
    keypoints = np.array([[0.25, 0.6], [0.35, 0.5]], np.float32)
    rect = detection_to_rect(box, keypoints, (640, 360), 0, 1, 0.0)
    assert (rect.x_center, rect.y_center) == pytest.approx((0.25, 0.5))
    assert (rect.width, rect.height) == pytest.approx((0.1, 0.2))
    assert rect.rotation == pytest.approx(-math.atan2(36, 64), abs=1e-6)


def test_transform_rect_shift_square_scale_without_rotation():
    rect = NormalizedRect(0.5, 0.5, 0.1, 0.2, 0.0)  # 64 x 72 px on 640x360
    result = transform_rect(rect, (640, 360), RectTransform(2.0, 3.0, 0.5, -0.5, square_long=True))
    assert result.x_center == pytest.approx(0.5 + 0.05)
    assert result.y_center == pytest.approx(0.5 - 0.1)
    assert result.width == pytest.approx(72 / 640 * 2.0, rel=1e-6)
    assert result.height == pytest.approx(0.2 * 3.0, rel=1e-6)
    assert result.rotation == 0.0


def test_transform_rect_shift_follows_rotation_in_pixels():
    rect = NormalizedRect(0.5, 0.5, 0.1, 0.2, math.pi / 2)
    result = transform_rect(rect, (640, 360), PALM_TO_HAND_ROI)
    # The ROI's "up" (shift_y < 0) points to the image's +x when turned 90 deg clockwise.
    assert result.x_center == pytest.approx(0.5 + 0.5 * 0.2 * 360 / 640, rel=1e-6)
    assert result.y_center == pytest.approx(0.5, abs=1e-7)
    assert result.width * 640 == pytest.approx(72 * 2.6, rel=1e-6)
    assert result.height * 360 == pytest.approx(72 * 2.6, rel=1e-6)
    assert result.rotation == pytest.approx(math.pi / 2)


def _roi(x, y, size, track_id, from_detection=False, rotation=0.0):
    return TrackedRoi(NormalizedRect(x, y, size, size, rotation), track_id, from_detection)


def test_rect_iou_ignores_rotation():
    a = NormalizedRect(0.5, 0.5, 0.2, 0.2, 0.0)
    b = NormalizedRect(0.6, 0.5, 0.2, 0.2, 1.0)
    assert rect_iou(a, b) == pytest.approx(1 / 3, rel=1e-6)
    assert rect_iou(a, NormalizedRect(0.9, 0.9, 0.1, 0.1)) == 0.0


def test_association_prefers_tracked_rois_and_keeps_order():
    detected = [_roi(0.2, 0.2, 0.2, -1, True), _roi(0.7, 0.7, 0.2, -1, True)]
    tracked = [_roi(0.21, 0.2, 0.2, 5)]
    merged = associate_rois(detected, tracked)
    assert [(r.track_id, r.from_detection) for r in merged] == [(-1, True), (5, False)]
    assert merged[0].rect.x_center == 0.7


def test_association_threshold_is_strict_and_dedups_within_a_list():
    # IoU exactly 1/3 < 0.5 keeps both; a near-copy (IoU > 0.5) replaces the earlier one.
    apart = associate_rois([_roi(0.5, 0.5, 0.2, -1, True)], [_roi(0.6, 0.5, 0.2, 1)], iou_threshold=0.5)
    assert len(apart) == 2
    tracked = [_roi(0.5, 0.5, 0.2, 1), _roi(0.51, 0.5, 0.2, 2), _roi(0.9, 0.9, 0.1, 3)]
    assert [r.track_id for r in associate_rois([], tracked)] == [2, 3]


# --- landmarks ----------------------------------------------------------------------------------


def test_projection_without_rotation():
    raw = np.array([[[112, 112, 0], [0, 0, 224 * 0.4], [224, 224, -224 * 0.4]]], np.float32)
    rect = NormalizedRect(0.4, 0.6, 0.2, 0.3, 0.0)
    projected = project_landmarks(raw, [rect], 224, z_scale=0.4)
    np.testing.assert_allclose(projected[0], [[0.4, 0.6, 0.0], [0.3, 0.45, 0.2], [0.5, 0.75, -0.2]], atol=1e-6)


def test_projection_with_rotation_and_padding():
    rect = NormalizedRect(0.5, 0.5, 0.4, 0.4, math.pi / 2)
    # The crop's right edge middle lies below the ROI centre when it is turned 90 deg clockwise.
    projected = project_landmarks(np.array([[[224, 112, 0]]], np.float32), [rect], 224, z_scale=1.0)
    np.testing.assert_allclose(projected[0, 0], [0.5, 0.7, 0.0], atol=1e-6)
    # Letterbox padding of a quarter on the left and right: x = 0.25 maps to the ROI's left edge.
    padded = project_landmarks(
        np.array([[[56, 112, 22.4]]], np.float32),
        [NormalizedRect(0.5, 0.5, 0.4, 0.4)],
        224,
        z_scale=1.0,
        paddings=np.array([[0.25, 0.0, 0.25, 0.0]]),
    )
    np.testing.assert_allclose(padded[0, 0], [0.3, 0.5, 0.1 / 0.5 * 0.4], atol=1e-6)


def test_to_pixels_scales_z_like_x():
    pixels = to_pixels(np.array([[0.5, 0.25, -0.1]]), (640, 360))
    np.testing.assert_allclose(pixels, [[320, 90, -64]])


def test_world_landmarks_are_only_rotated():
    world = np.array([[[0.01, 0.0, 0.02]]], np.float32)
    rotated = rotate_world_landmarks(world, [NormalizedRect(0.1, 0.9, 0.5, 0.5, math.pi / 2)])
    np.testing.assert_allclose(rotated[0, 0], [0.0, 0.01, 0.02], atol=1e-8)


def _upright_hand(width: float, height: float) -> np.ndarray:
    """21 normalised landmarks of a hand pointing up, in a 640x360 image, palm 40x60 px."""
    hand = np.zeros((21, 3), np.float32)
    hand[0] = [315, 200, 0]  # wrist
    hand[1:5] = [[300, 190, 0], [290, 180, 0], [285, 170, 0], [100, 10, 0]]  # thumb, far-away tip
    for finger, x in zip(range(5, 21, 4), (305, 315, 325, 335)):
        hand[finger] = [x, 150, 0]  # MCP
        hand[finger + 1] = [x, 140, 0]  # PIP
        hand[finger + 2] = [x, 60, 0]  # DIP: not part of the ROI subset
        hand[finger + 3] = [600, 20, 0]  # tip: not part of the ROI subset
    hand[:, 0] /= width
    hand[:, 1] /= height
    return hand


def test_hand_landmarks_to_rect_uses_stable_joints_and_palm_direction():
    rect = hand_landmarks_to_rect(_upright_hand(640, 360), (640, 360))
    # Wrist (315,200) to the mean of middle MCP and index/ring MCPs (315,150): straight up.
    assert rect.rotation == pytest.approx(0.0, abs=1e-6)
    # Subset bounds: x 285..335, y 140..200 (fingertips and DIPs ignored).
    assert rect.x_center * 640 == pytest.approx(310, abs=1e-3)
    assert rect.y_center * 360 == pytest.approx(170, abs=1e-3)
    assert rect.width * 640 == pytest.approx(50, abs=1e-3)
    assert rect.height * 360 == pytest.approx(60, abs=1e-3)
    roi = transform_rect(rect, (640, 360), HAND_LANDMARKS_TO_ROI)
    assert roi.width * 640 == pytest.approx(120, abs=1e-3) and roi.height * 360 == pytest.approx(120, abs=1e-3)
    assert roi.y_center * 360 == pytest.approx(170 - 6, abs=1e-3)


def test_hand_landmarks_to_rect_turned_hand():
    # The same hand turned 90 deg clockwise about the wrist (pointing right on screen).
    upright = _upright_hand(640, 360)
    pixels = upright[:, :2] * [640, 360] - [315, 200]
    turned = np.stack([-pixels[:, 1], pixels[:, 0]], axis=1) + [315, 200]
    landmarks = np.concatenate([turned / [640, 360], upright[:, 2:]], axis=1)
    rect = hand_landmarks_to_rect(landmarks, (640, 360))
    assert rect.rotation == pytest.approx(math.pi / 2, abs=1e-6)
    # Width and height stay in the hand's frame: 50 px across, 60 px along the palm.
    assert rect.width * 640 == pytest.approx(50, abs=1e-3)
    assert rect.height * 360 == pytest.approx(60, abs=1e-3)
    # The upright box centre (310,170) is (-5,-30) from the wrist; turned it is (+30,-5).
    assert rect.x_center * 640 == pytest.approx(315 + 30, abs=1e-3)
    assert rect.y_center * 360 == pytest.approx(200 - 5, abs=1e-3)


def test_face_landmarks_to_rect_boxes_all_points_and_levels_the_eyes():
    points = np.random.default_rng(0).uniform(0.3, 0.6, size=(468, 3)).astype(np.float32)
    points[33, :2] = [0.35, 0.4]
    points[263, :2] = [0.55, 0.4]
    rect = face_landmarks_to_rect(points, (640, 480))
    assert rect.rotation == pytest.approx(0.0, abs=1e-7)
    assert rect.x_center == pytest.approx((points[:, 0].min() + points[:, 0].max()) / 2, abs=1e-6)
    assert rect.height == pytest.approx(points[:, 1].max() - points[:, 1].min(), abs=1e-6)
    points[263, :2] = [0.55, 0.5]  # left eye corner lower on screen: the ROI turns clockwise
    assert face_landmarks_to_rect(points, (640, 480)).rotation == pytest.approx(math.atan2(48, 128), abs=1e-6)
