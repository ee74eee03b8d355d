"""Topology tables, the derived face tessellation, and what the drawing functions put on the image."""

from __future__ import annotations

import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from livepose.errors import UserError
from livepose.render import (FACE_CONTOURS, FACE_MESH_EDGES, HAND_CONNECTIONS, BoxStyle, FaceStyle,
                             HandStyle, Rect, draw_faces, draw_hands, draw_hands_and_faces, draw_overlay,
                             draw_rois, face_labels, hand_labels, label_text, layout_labels, overlay_lines,
                             parse_color, place_labels, roi_corners)
from livepose.render.face_tessellation import FACE_TRIANGLES, REFERENCE_FACE
from livepose.render.topology import FACE_OVAL, FACE_SPARSE_POINTS, LEFT_EYE, RIGHT_EYE

BLACK = np.zeros((400, 600, 3), np.uint8)


def straight_hand(x0=100.0, y0=350.0, handedness="Right", track_id=3) -> SimpleNamespace:
    """Wrist at (x0, y0), each finger a vertical line 30 px to the right of the previous one."""
    points = [(x0, y0, 0.0)]
    for finger in range(5):
        points += [(x0 + 30 * finger, y0 - 40 - 30 * joint, 0.0) for joint in range(4)]
    return SimpleNamespace(landmarks=np.array(points), handedness=handedness, score=0.9, track_id=track_id)


def mean_face(scale=120.0, centre=(300.0, 200.0)) -> SimpleNamespace:
    landmarks = np.asarray(REFERENCE_FACE) * scale
    landmarks[:, :2] += centre
    return SimpleNamespace(landmarks=landmarks, score=0.97, track_id=0)


def test_hand_skeleton_has_the_21_bones():
    assert len(HAND_CONNECTIONS) == 21 == len(set(HAND_CONNECTIONS))
    assert {i for bone in HAND_CONNECTIONS for i in bone} == set(range(21))
    for tip_chain in ((1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (17, 18), (18, 19), (19, 20)):
        assert tip_chain in HAND_CONNECTIONS
    assert (0, 5) in HAND_CONNECTIONS and (0, 17) in HAND_CONNECTIONS and (5, 9) in HAND_CONNECTIONS


def test_face_tessellation_covers_every_point_with_a_planar_mesh():
    triangles = np.asarray(FACE_TRIANGLES).reshape(-1, 3)
    assert set(np.unique(triangles)) == set(range(468))
    assert FACE_MESH_EDGES.shape[1] == 2 and FACE_MESH_EDGES.min() >= 0 and FACE_MESH_EDGES.max() < 468
    # A triangulated disc with holes: Euler's formula V - E + F = 1 - holes (eyes, mouth).
    holes = 1 - (468 - len(FACE_MESH_EDGES) + len(triangles))
    assert 0 <= holes <= 3
    # No triangle of the frontal mean face is folded over (all wind the same way).
    points = np.asarray(REFERENCE_FACE)[:, :2]
    a, b, c = (points[triangles[:, k]] for k in range(3))
    cross = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    assert np.all(np.abs(cross) > 0)


def test_face_contours_are_simple_loops_where_they_belong():
    points = np.asarray(REFERENCE_FACE)[:, :2].astype(np.float32)
    oval = points[list(FACE_OVAL)]
    for loop in FACE_CONTOURS:
        assert len(set(loop)) == len(loop)
        inner = points[list(loop)].mean(axis=0)
        assert cv2.pointPolygonTest(oval, (float(inner[0]), float(inner[1])), False) > 0
    # The subject's right eye is on the image's left.
    assert points[list(RIGHT_EYE)][:, 0].mean() < 0 < points[list(LEFT_EYE)][:, 0].mean()


def test_hand_is_drawn_along_its_bones_in_its_colour():
    image = BLACK.copy()
    style = HandStyle(right_color=(0, 0, 255), labels=False, antialias=False)
    draw_hands(image, [straight_hand()], style)
    # Halfway up the middle finger, between joints: pure bone colour.
    assert tuple(image[350 - 40 - 45, 160]) == (0, 0, 255)
    # Joints are white dots.
    assert tuple(image[350 - 40, 160]) == (255, 255, 255)
    # Nothing far from the hand.
    assert not image[:, 300:].any()


def test_hand_colour_follows_handedness_and_label_is_written():
    image = BLACK.copy()
    style = HandStyle(left_color=(0, 255, 0), right_color=(0, 0, 255), antialias=False)
    draw_hands(image, [straight_hand(handedness="Left")], style)
    assert tuple(image[350 - 40 - 45, 160]) == (0, 255, 0)
    without_label = BLACK.copy()
    draw_hands(without_label, [straight_hand(handedness="Left")],
               HandStyle(left_color=(0, 255, 0), labels=False, antialias=False))
    label_area = (slice(195, 214), slice(90, 260))  # above the fingertips (y = 220)
    assert image[label_area].any() and not without_label[label_area].any()


def test_hand_with_unplaced_points_or_wrong_shape_is_skipped():
    broken = straight_hand()
    broken.landmarks[4, 0] = np.nan
    short = SimpleNamespace(landmarks=np.zeros((5, 3)), handedness="Left", score=1.0, track_id=0)
    image = BLACK.copy()
    draw_hands(image, [broken, short])
    assert not image.any()


@pytest.mark.parametrize("mode", ["mesh", "contours", "points"])
def test_face_modes_draw_inside_the_face_only(mode):
    image = BLACK.copy()
    face = mean_face()
    draw_faces(image, [face], FaceStyle(mode=mode, labels=False))
    drawn = image.any(axis=2)
    x0, y0 = face.landmarks[:, :2].min(axis=0) - 6
    x1, y1 = face.landmarks[:, :2].max(axis=0) + 6
    outside = drawn.copy()
    outside[int(y0):int(y1), int(x0):int(x1)] = False
    assert drawn.sum() > 100 and not outside.any()


def test_mesh_draws_more_than_contours_which_draw_more_than_points():
    counts = {}
    for mode in ("mesh", "contours", "points"):
        image = BLACK.copy()
        draw_faces(image, [mean_face()], FaceStyle(mode=mode, labels=False, antialias=False))
        counts[mode] = int(image.any(axis=2).sum())
    assert counts["mesh"] > 2 * counts["contours"] > 0
    assert counts["contours"] > counts["points"] > 0
    centre = mean_face().landmarks[FACE_SPARSE_POINTS[0], :2].round().astype(int)
    image = BLACK.copy()
    draw_faces(image, [mean_face()], FaceStyle(mode="points", labels=False, contour_color=(1, 2, 3)))
    assert tuple(image[centre[1], centre[0]]) == (1, 2, 3)


def test_roi_corners_turn_clockwise_on_screen():
    roi = SimpleNamespace(x_center=0.5, y_center=0.5, width=0.2, height=0.1, rotation=0.0)
    np.testing.assert_allclose(roi_corners(roi, 600, 400),
                               [[240, 180], [360, 180], [360, 220], [240, 220]])
    roi.rotation = np.pi / 2
    # A quarter turn clockwise: the top-left corner goes to the top-right.
    np.testing.assert_allclose(roi_corners(roi, 600, 400),
                               [[320, 140], [320, 260], [280, 260], [280, 140]], atol=1e-9)


def test_rois_are_drawn_as_outlines():
    image = BLACK.copy()
    roi = SimpleNamespace(x_center=0.5, y_center=0.5, width=0.2, height=0.1, rotation=0.0)
    draw_rois(image, [roi], BoxStyle(color=(9, 99, 199), thickness=1, antialias=False))
    assert tuple(image[200, 240]) == (9, 99, 199) and tuple(image[180, 300]) == (9, 99, 199)
    assert not image[200, 300].any()
    draw_rois(image, [])


def test_overlay_darkens_a_panel_and_writes_the_figures():
    image = np.full((200, 400, 3), 200, np.uint8)
    lines = overlay_lines(29.94, 41.2, ["3 frames dropped"])
    assert lines[0].split() == ["29.9", "fps", "41", "ms", "latency"]
    assert overlay_lines(0.0, float("nan"))[0].split() == ["-", "fps", "-", "ms", "latency"]
    draw_overlay(image, lines)
    panel = image[:50, :150]
    assert (panel == 255).any() and (panel < 120).any()
    assert (image[150:, 300:] == 200).all()


def test_parse_color():
    assert parse_color("#FF8000") == (0, 128, 255)
    assert parse_color(" red ") == (0, 0, 255)
    for bad in ("#12345", "purple-ish", "#gg0000"):
        with pytest.raises(UserError, match="colour"):
            parse_color(bad)


def test_two_hands_and_a_full_mesh_draw_in_a_few_milliseconds():
    # The benchmark measures the real figure; this only catches a gross regression.
    background = np.zeros((720, 1280, 3), np.uint8)
    hands = [straight_hand(400, 650, "Left", 1), straight_hand(800, 650, "Right", 2)]
    faces = [mean_face(150, (640, 300))]
    samples = []
    for _ in range(20):
        image = background.copy()
        started = time.perf_counter()
        draw_hands_and_faces(image, hands, faces)
        samples.append(time.perf_counter() - started)
    assert np.median(samples) < 0.010


def assert_apart_and_inside(rects, image_size, gap=2):
    width, height = image_size
    for i, rect in enumerate(rects):
        assert 0 <= rect.left < rect.right <= width and 0 <= rect.top < rect.bottom <= height, rect
        for other in rects[i + 1:]:
            grown = Rect(other.left - gap, other.top - gap, other.right + gap, other.bottom + gap)
            assert not rect.intersects(grown), (rect, other)


def test_label_text_cannot_run_the_id_into_the_score():
    assert label_text("Left", 1, 0.99) == "Left  id 1  99%"
    assert label_text("face", 0, 1.0) == "face  id 0  100%"
    assert label_text("Right", None, np.float32(0.5)) == "Right  50%"
    hand = straight_hand(handedness="Left", track_id=1)
    hand.score = 0.99
    assert [label.text for label in hand_labels([hand])] == ["Left  id 1  99%"]
    face = mean_face()
    face.track_id = None
    assert [label.text for label in face_labels([face])] == ["face  97%"]


def test_labels_of_overlapping_hands_do_not_collide():
    anchors = [Rect(100, 200, 220, 330), Rect(130, 210, 250, 340)]
    rects = place_labels([(110, 20), (110, 20)], anchors, (640, 480))
    # The first has its preferred spot: just above its box, left-aligned to it.
    assert rects[0] == Rect(100, 178, 210, 198)
    assert_apart_and_inside(rects, (640, 480))
    assert not any(rect.intersects(anchor) for rect in rects for anchor in anchors)


def test_label_at_the_top_edge_goes_below_and_at_the_right_edge_moves_left():
    assert place_labels([(110, 20)], [Rect(50, 5, 150, 100)], (640, 480)) == [Rect(50, 102, 160, 122)]
    assert place_labels([(110, 20)], [Rect(600, 200, 640, 260)], (640, 480)) == [Rect(530, 178, 640, 198)]


def test_many_labels_in_a_small_image_still_find_room():
    anchors = [Rect(60, 40, 140, 80)] * 3 + [Rect(70, 50, 150, 90)] * 3
    sizes = [(70, 18)] * 6
    rects = place_labels(sizes, anchors, (200, 150))
    assert_apart_and_inside(rects, (200, 150))
    assert place_labels(sizes, anchors, (200, 150)) == rects


def test_labels_keep_off_other_boxes_while_there_is_room():
    small, tall = Rect(100, 200, 140, 260), Rect(150, 100, 260, 250)
    # Above the small box, a 100-pixel label would reach over the tall box beside it.
    [rect] = place_labels([(100, 20)], [small], (640, 480), avoid=[tall])
    assert not rect.intersects(tall) and not rect.intersects(small)
    assert rect == Rect(100, 262, 200, 282)
    rects = place_labels([(100, 20), (100, 20)], [small, tall], (640, 480))
    assert not any(rect.intersects(box) for rect in rects for box in (small, tall))
    assert_apart_and_inside(rects, (640, 480))
    # With no clear spot near it, a label covers a box rather than wander off from its item.
    [rect] = place_labels([(100, 20)], [Rect(0, 0, 640, 480)], (640, 480))
    assert rect == Rect(0, 0, 100, 20)


def test_close_hands_and_a_face_on_a_real_frame_get_separate_legible_labels():
    image = np.zeros((720, 1280, 3), np.uint8)
    hands = [straight_hand(400, 650, "Left", 1), straight_hand(420, 655, "Right", 2)]
    faces = [mean_face(150, (800, 250))]
    hand_style = HandStyle(left_color=(0, 255, 0), right_color=(128, 0, 0), antialias=False)
    face_style = FaceStyle(contour_color=(80, 220, 255))
    draw_hands_and_faces(image, hands, faces, hand_style, face_style)
    labels = face_labels(faces, face_style) + hand_labels(hands, hand_style)
    assert [label.text for label in labels] == ["face  id 0  97%", "Left  id 1  90%", "Right  id 2  90%"]
    rects = layout_labels(labels, (1280, 720))
    assert_apart_and_inside(rects, (1280, 720))
    # Above its box the right hand's label would sit on the left hand's, so it goes below.
    left_box, right_box = labels[1].item, labels[2].item
    assert rects[1].bottom == left_box.top - 2 and rects[2].top == right_box.bottom + 2
    # Black text on the light boxes, white on the dark blue one, and nothing else: every pixel
    # lies between the box colour and the text's (no shadow stroke, no other label over it).
    for label, rect, ink in zip(labels, rects, [(0, 0, 0), (0, 0, 0), (255, 255, 255)]):
        box = image[rect.top:rect.bottom, rect.left:rect.right].astype(int)
        low, high = np.minimum(label.color, ink), np.maximum(label.color, ink)
        assert ((box >= low) & (box <= high)).all()
        assert (box == ink).all(axis=2).sum() > 20
        edge = np.concatenate([box[0], box[-1], box[:, 0], box[:, -1]])
        assert (edge == label.color).all()


def test_joint_drawing_without_labels_is_faces_then_hands():
    hands = [straight_hand(100, 350, "Left", 1), straight_hand(130, 360, "Right", 2)]
    faces = [mean_face(100, (400, 200))]
    no_hand_labels, no_face_labels = HandStyle(labels=False), FaceStyle(labels=False)
    joint, apart = BLACK.copy(), BLACK.copy()
    draw_hands_and_faces(joint, iter(hands), iter(faces), no_hand_labels, no_face_labels)
    draw_faces(apart, faces, no_face_labels)
    draw_hands(apart, hands, no_hand_labels)
    np.testing.assert_array_equal(joint, apart)
    joint, apart = BLACK.copy(), BLACK.copy()
    draw_hands_and_faces(joint, hands, faces, HandStyle(), no_face_labels)
    draw_faces(apart, faces, no_face_labels)
    draw_hands(apart, hands)
    np.testing.assert_array_equal(joint, apart)


def test_a_label_near_the_corner_keeps_off_the_overlay_panel():
    from livepose.render import overlay_lines, overlay_rect

    lines = overlay_lines(29.8, 31.0, ["source 30 fps, 4 frames not taken"])
    panel = overlay_rect(lines, (640, 360))
    assert panel.left == 0 and panel.top == 0 and panel.right > 200 and panel.bottom > 30
    hand_box = Rect(40, 70, 160, 200)  # its preferred label spot, just above, is under the panel
    [rect] = place_labels([(110, 20)], [hand_box], (640, 360), avoid=[panel])
    assert not rect.intersects(panel) and not rect.intersects(hand_box)
