"""The body skeleton's topology (MediaPipe's POSE_CONNECTIONS)."""

from livepose.render.topology import POSE_CONNECTIONS, POSE_LEFT_POINTS, POSE_POINTS, POSE_RIGHT_POINTS


def test_pose_skeleton_has_mediapipes_35_bones_over_all_33_points():
    assert len(POSE_CONNECTIONS) == 35 == len(set(POSE_CONNECTIONS))
    assert {i for bone in POSE_CONNECTIONS for i in bone} == set(range(POSE_POINTS))


def test_pose_sides_split_every_point_but_the_nose():
    assert not POSE_LEFT_POINTS & POSE_RIGHT_POINTS
    assert POSE_LEFT_POINTS | POSE_RIGHT_POINTS == set(range(1, POSE_POINTS))
    # Every bone stays on one side or crosses the body (shoulders, hips, mouth) as a mirrored pair.
    for a, b in POSE_CONNECTIONS:
        if 0 in (a, b):
            continue
        same = {a, b} <= POSE_LEFT_POINTS or {a, b} <= POSE_RIGHT_POINTS
        assert same or (a, b) in ((9, 10), (11, 12), (23, 24))


def _standing_pose(visibility: float = 0.9):
    import numpy as np

    from livepose.results import Pose
    from livepose.vision.rects import NormalizedRect

    # A stick figure in a 200x200 image: every point on a column at x = 100, nose at the top.
    landmarks = np.zeros((33, 3))
    landmarks[:, 0] = 100.0
    landmarks[:, 1] = np.linspace(20.0, 180.0, 33)
    landmarks[11::2, 0] = 80.0  # left side of the body to the image's left
    landmarks[12::2, 0] = 120.0
    ones = np.full(33, visibility)
    return Pose(landmarks, ones, ones, np.zeros((33, 3)), 0.9, NormalizedRect(0.5, 0.5, 1, 1, 0), 0)


def test_draw_poses_draws_the_skeleton_by_side_and_skips_hidden_points():
    import numpy as np

    from livepose.render.pose import PoseStyle, draw_poses

    style = PoseStyle(left_color=(0, 255, 0), right_color=(255, 0, 0), joint_radius=0, antialias=False)
    image = np.zeros((200, 200, 3), np.uint8)
    draw_poses(image, [_standing_pose()], style)
    assert (image[:, :95] == (0, 255, 0)).all(axis=2).any(), "left side in the left colour"
    assert (image[:, 105:] == (255, 0, 0)).all(axis=2).any(), "right side in the right colour"
    hidden = np.zeros_like(image)
    draw_poses(hidden, [_standing_pose(visibility=0.2)], style)
    assert not hidden.any(), "points under min_visibility are left out with their bones"


def test_tint_mask_tints_the_person_only_and_in_proportion():
    import numpy as np
    import pytest

    from livepose.render.mask import tint_mask

    image = np.full((4, 6, 3), 100, np.uint8)
    mask = np.zeros((4, 6), np.float32)
    mask[:, :2] = 1.0
    mask[:, 2] = 0.5
    tint_mask(image, mask, color=(200, 0, 100), opacity=0.5)
    assert (image[:, :2] == (150, 50, 100)).all(), "the person: half way to the colour"
    assert (image[:, 2] == (125, 75, 100)).all(), "an uncertain pixel: a quarter of the way"
    assert (image[:, 3:] == 100).all(), "the background untouched"
    small = np.ones((2, 3), np.float32)
    other = np.zeros((4, 6, 3), np.uint8)
    tint_mask(other, small, color=(10, 20, 30), opacity=1.0)
    assert (other == (10, 20, 30)).all(), "a smaller mask is resized to the frame"
    with pytest.raises(ValueError):
        tint_mask(other, small, opacity=2.0)
