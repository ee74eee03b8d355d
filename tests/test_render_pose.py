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
