"""Top-down crops (MMPose's convention) and keypoint layouts: the round trip frame -> input -> frame is exact,
the crop matches MMPose's numbers, and layouts map onto each other by point name."""

import math

import numpy as np
import pytest

from livepose.vision.keypoint_decoders import decode_heatmap
from livepose.vision.layouts import HAND_LAYOUTS, LAYOUTS, get_layout, index_map
from livepose.vision.rects import NormalizedRect
from livepose.vision.topdown import (CropBox, box_from_rect, box_from_xywh, crop_images, crop_matrix, fixed_aspect,
                                     normalise, to_frame, to_input)
from tests.test_vision_keypoint_decoders import gaussian_maps

RNG = np.random.default_rng(3)


def test_crop_matches_mmpose_centre_scale_and_aspect() -> None:
    # bbox_xyxy2cs with padding 1.25: centre (60, 45), scale (100, 50) * 1.25; the 192x256 input
    # (aspect 0.75) makes it (125, 166.67).
    box = box_from_xywh(10, 20, 100, 50)
    assert box.center == (60, 45)
    assert fixed_aspect((125, 62.5), 0.75) == pytest.approx((125, 125 / 0.75))
    matrix = crop_matrix(box, (192, 256), padding=1.25)
    # The centre goes to the input's centre, the padded box's left edge to column 0.
    assert to_input(np.array([[60.0, 45.0], [60 - 62.5, 45.0]]), matrix) == pytest.approx(np.array([[96, 128], [0, 128]]))
    udp = crop_matrix(box, (192, 256), padding=1.25, udp=True)
    assert to_input(np.array([[60 - 62.5, 45.0], [60 + 62.5, 45.0]]), udp) == pytest.approx(np.array([[0, 127.5], [191, 127.5]]))


@pytest.mark.parametrize("udp", [False, True])
def test_round_trip_through_a_decoded_heatmap_is_exact(udp: bool) -> None:
    """Frame points into a rotated crop, encoded as Gaussian heatmaps, decoded, projected back: < 0.01 px."""
    image_size, input_size, heatmap_size = (1280, 720), (256, 256), (64, 64)
    rect = NormalizedRect(0.45, 0.55, 0.2, 0.35, rotation=0.6)
    box = box_from_rect(rect, image_size)
    matrix = crop_matrix(box, input_size, padding=1.0, udp=udp)
    frame_points = np.array(box.center) + RNG.uniform(-60, 60, size=(21, 2))
    in_input = to_input(frame_points, matrix)
    scale = (63 / 255) if udp else (64 / 256)
    maps = gaussian_maps(in_input[None] * scale, heatmap_size, sigma=2.0)
    decoded, _ = decode_heatmap(maps, input_size, refine="dark", udp=udp, dark_kernel=1)
    back = to_frame(decoded[0], matrix)
    assert np.abs(back - frame_points).max() < 0.01


def test_rotated_crop_turns_the_content_upright() -> None:
    # A bright dot to the box's right (along its rotated x axis) lands right of the crop's centre.
    image = np.zeros((400, 400, 3), np.uint8)
    angle = math.radians(90)  # clockwise on screen: the box's x axis points down the image
    box = CropBox((200, 200), (100, 100), angle)
    image[238:243, 198:203] = 255  # 40 px below the centre
    crop = crop_images(image, [crop_matrix(box, (64, 64), padding=1.0)], (64, 64))[0]
    ys, xs = np.nonzero(crop[..., 0] > 128)
    assert abs(xs.mean() - (32 + 40 * 64 / 100)) < 1.5 and abs(ys.mean() - 32) < 1.5


def test_normalise_orders_channels_and_scales() -> None:
    crops = np.zeros((2, 4, 4, 3), np.uint8)
    crops[..., 0] = 200  # red, in an RGB frame
    rgb = normalise(crops, (100.0, 0.0, 0.0), (50.0, 1.0, 1.0), rgb=True)
    bgr = normalise(crops, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), rgb=False)
    assert rgb.shape == (2, 3, 4, 4) and rgb.dtype == np.float32 and np.all(rgb[:, 0] == 2.0)
    assert np.all(bgr[:, 2] == 200) and np.all(bgr[:, 0] == 0)
    pixels = RNG.integers(0, 256, size=(3, 5, 7, 3), dtype=np.uint8)
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    plain = (pixels[..., ::-1].astype(np.float64) - np.array(mean)) / np.array(std)
    assert np.abs(normalise(pixels, mean, std, rgb=False, channels_first=False) - plain).max() < 1e-5
    assert np.abs(normalise(pixels, mean, std, rgb=False) - plain.transpose(0, 3, 1, 2)).max() < 1e-5


def test_layouts_have_consistent_skeletons_and_roles() -> None:
    for layout in LAYOUTS.values():
        assert len(set(layout.points)) == layout.size, layout.name
        assert all(0 <= a < layout.size and 0 <= b < layout.size for a, b in layout.skeleton), layout.name
        assert all(0 <= i < layout.size for indices in layout.roles.values() for i in indices), layout.name
    assert {get_layout(name).size for name in ("face68", "wflw98", "lapa106", "coco_wholebody")} == {68, 98, 106, 133}
    assert set(HAND_LAYOUTS) >= {"mediapipe_hand", "onehand10k", "freihand", "interhand"}


def test_interhand_maps_onto_mediapipe_order() -> None:
    # InterHand2.6M lists each finger tip first and the wrist last.
    mapping = index_map("interhand", "mediapipe_hand")
    assert mapping[0] == 20 and mapping[4] == 0 and mapping[1] == 3 and mapping[8] == 4 and mapping[20] == 16
    back = index_map("mediapipe_hand", "interhand")
    assert np.array_equal(mapping[back], np.arange(21))
    assert np.array_equal(index_map("onehand10k", "mediapipe_hand"), np.arange(21))
    # The interhand skeleton is MediaPipe's, re-indexed: the same bones by name.
    ih, mp = get_layout("interhand"), get_layout("mediapipe_hand")
    assert {frozenset((ih.points[a], ih.points[b])) for a, b in ih.skeleton} == \
        {frozenset((mp.points[a], mp.points[b])) for a, b in mp.skeleton}
    with pytest.raises(ValueError, match="has no"):
        index_map("face68", "mediapipe_hand")
    with pytest.raises(KeyError, match="known"):
        get_layout("nope")


def test_a_hand_and_its_next_roi_from_points_of_a_model_you_bring() -> None:
    from livepose.testing import open_hand_landmarks
    from livepose.vision.hands import hand_from_points, hand_landmarks_to_rect, next_hand_roi
    from livepose.vision.rects import HAND_LANDMARKS_TO_ROI, transform_rect

    size = (640, 480)
    points = np.asarray(open_hand_landmarks())[:, :2]
    roi = NormalizedRect(0.5, 0.5, 0.3, 0.4)
    hand = hand_from_points(points, 0.8, roi, 3)
    assert hand.landmarks.shape == (21, 3) and np.array_equal(hand.landmarks[:, :2], points)
    assert not hand.landmarks[:, 2].any() and hand.handedness == "Unknown" and hand.presence == 0.8
    assert not hand.landmarks.flags.writeable and hand.track_id == 3
    # MediaPipe's own rule on the same points, computed from normalised landmarks.
    expected = transform_rect(hand_landmarks_to_rect(points / np.array(size), size), size, HAND_LANDMARKS_TO_ROI)
    assert next_hand_roi(hand.landmarks, size) == expected
    # Points spread over four frames' width: a lost hand, not tracked.
    spread = (points - points.mean(axis=0)) * 12 + points.mean(axis=0)
    assert next_hand_roi(spread, size) is None
