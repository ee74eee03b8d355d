"""Persistent ids (``livepose.vision.identity``): synthetic tracks, then real hands whose loop ids break."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from livepose.vision.identity import GATE, IdentityTracker, Observation, observe
from media_paths import WEBM_CLIP, media_file

SIZE = 60.0
FPS = 30.0


def hand(x: float, y: float, label: str | None = "Left", loop_id: int = -1, size: float = SIZE) -> Observation:
    return Observation((x, y), size, label, loop_id)


def face(x: float, y: float, loop_id: int = -1) -> Observation:
    return Observation((x, y), SIZE, None, loop_id)


# --- observations ---------------------------------------------------------------------------------------------

def test_observe_takes_the_centre_and_size_of_the_landmarks_bounding_box():
    landmarks = np.array([[10.0, 20.0, -3.0], [50.0, 20.0, 1.0], [30.0, 80.0, 9.0]])
    observation = observe(landmarks, "Right", 4)
    assert observation == Observation((30.0, 50.0), (40.0 + 60.0) / 2, "Right", 4)
    assert observe(landmarks[:, :2]).centre == (30.0, 50.0)
    assert observe(landmarks[:, :2]).label is None and observe(landmarks).loop_id == -1
    assert observe(np.array([[5.0, 5.0, 0.0]])).size == 1.0  # never zero


@pytest.mark.parametrize("landmarks", [np.zeros((0, 3)), np.zeros((3,)), np.zeros((4, 1)), np.full((2, 3), np.nan)])
def test_observe_rejects_what_is_not_landmarks(landmarks):
    with pytest.raises(ValueError):
        observe(landmarks)


@pytest.mark.parametrize(("centre", "size"), [((np.nan, 0.0), 10.0), ((0.0, 0.0), 0.0), ((0.0, 0.0), np.inf)])
def test_an_observation_must_be_finite_with_a_positive_size(centre, size):
    with pytest.raises(ValueError):
        Observation(centre, size)


def test_bad_settings_and_timestamps_are_refused():
    with pytest.raises(ValueError):
        IdentityTracker(max_lost=-1)
    with pytest.raises(ValueError):
        IdentityTracker(gate=0)
    with pytest.raises(ValueError):
        IdentityTracker().update([], float("nan"))


# --- steady objects and losses --------------------------------------------------------------------------------

def test_a_steady_object_keeps_id_0():
    tracker = IdentityTracker()
    noise = np.random.default_rng(1).normal(0, 2, (90, 2))
    ids = [tracker.update([hand(300 + dx, 200 + dy)], i / FPS) for i, (dx, dy) in enumerate(noise)]
    assert ids == [[0]] * 90


def _lose_and_find(gap: float, *, moving: bool) -> list[int]:
    """A hand seen at irregular intervals (15-60 ms, some frames dropped), then absent for ``gap`` seconds
    of frame time with a few empty frames in it, then seen again where it would be."""
    rng = random.Random(7)
    tracker = IdentityTracker(max_lost=0.5)
    speed = 200.0 if moving else 0.0  # px/s, in x
    t, ids = 0.0, []
    for _ in range(20):
        ids += tracker.update([hand(100 + speed * t, 200)], t)
        t += rng.uniform(0.015, 0.06)
    last_seen = t - 0.03
    for step in (0.07, 0.13, 0.05):  # empty frames during the loss, spaced unevenly
        if last_seen + step < last_seen + gap:
            assert tracker.update([], last_seen + step) == []
    t = last_seen + gap
    for _ in range(5):
        ids += tracker.update([hand(100 + speed * min(t, last_seen + 0.1), 200)], t)
        t += rng.uniform(0.015, 0.06)
    return ids


@pytest.mark.parametrize("moving", [False, True])
def test_a_loss_shorter_than_max_lost_keeps_the_id(moving):
    assert set(_lose_and_find(0.4, moving=moving)) == {0}


@pytest.mark.parametrize("moving", [False, True])
def test_a_loss_longer_than_max_lost_gives_a_new_id(moving):
    ids = _lose_and_find(0.6, moving=moving)
    assert ids == [0] * 20 + [1] * 5


def test_loss_is_measured_in_frame_time_not_in_frames():
    tracker = IdentityTracker(max_lost=0.5)
    tracker.update([face(100, 100)], 10.0)
    for k in range(1, 40):  # 39 empty frames within 0.39 s
        tracker.update([], 10.0 + k * 0.01)
    assert tracker.update([face(100, 100)], 10.45) == [0]
    assert tracker.update([face(100, 100)], 10.96) == [1]  # a single frame 0.51 s later: forgotten


def test_timestamps_that_do_not_increase_count_as_no_time():
    tracker = IdentityTracker(max_lost=0.5)
    assert tracker.update([hand(100, 100)], 5.0) == [0]
    assert tracker.update([], 5.0) == []
    assert tracker.update([hand(101, 100)], 5.0) == [0]
    assert tracker.update([hand(102, 100)], 4.0) == [0]  # backwards: still simultaneous, nothing dropped
    assert tracker.update([], 4.45) == []  # 0.45 s after the backward step
    assert tracker.update([hand(103, 100)], 4.45) == [0]
    assert tracker.update([hand(103, 100)], 5.2) == [1]  # then time runs on: 0.75 s of loss


def test_a_hand_that_leaves_and_a_new_one_far_away_get_different_ids():
    tracker = IdentityTracker()
    for i in range(10):
        assert tracker.update([hand(100 + 3 * i, 100, loop_id=0)], i / FPS) == [0]
    assert tracker.update([], 10 / FPS) == []
    assert tracker.update([hand(500, 300, loop_id=1)], 16 / FPS) == [1]
    assert tracker.update([hand(500, 300, loop_id=1)], 30 / FPS) == [1]
    # 0.7 s after it left, a hand where the first one was: forgotten, so a new id.
    assert tracker.update([hand(500, 300, loop_id=1), hand(127, 100, loop_id=2)], 31 / FPS) == [1, 2]


def test_ids_are_never_reused_even_after_a_reset():
    tracker = IdentityTracker(max_lost=0.2)
    seen: list[int] = []
    t = 0.0
    for round_ in range(6):
        for _ in range(3):
            ids = tracker.update([face(50 + 200 * (round_ % 2), 80), face(400, 80 + 150 * (round_ % 3))], t)
            t += 0.033
        seen += ids
        t += 0.3  # longer than max_lost: both forgotten
    assert seen == list(range(12))
    tracker.update([face(400, 80)], t)
    tracker.reset()
    assert tracker.tracks == ()
    assert tracker.update([face(400, 80)], t + 0.01) == [13]


# --- matching -------------------------------------------------------------------------------------------------

CROSSING_FRAMES = 40
CROSSING_AT = 20


def _crossing_frame(i: int, kind: str, *, labelled: bool = True, y_offset: float = 10.0) -> list[Observation]:
    """Frame ``i`` of two hands moving in straight lines at 300 px/s through each other at frame 20: Left
    from x=100 rightwards, Right from x=500 leftwards (Right first in the list from the crossing on).
    ``kind``: what the loop's ids do at the crossing: ``"swap"`` (they exchange), ``"lost"`` (both hands
    missed on frames 18-22, new loop ids after), ``"unknown"`` (always -1)."""
    left_x, right_x = 100 + 10.0 * i, 500 - 10.0 * i
    left_loop, right_loop = 0, 1
    if kind == "swap" and i >= CROSSING_AT:
        left_loop, right_loop = 1, 0
    elif kind == "lost":
        if CROSSING_AT - 2 <= i <= CROSSING_AT + 2:
            return []
        if i > CROSSING_AT:
            left_loop, right_loop = 3, 2
    elif kind == "unknown":
        left_loop = right_loop = -1
    left = hand(left_x, 200, "Left" if labelled else None, left_loop)
    right = hand(right_x, 200 + y_offset, "Right" if labelled else None, right_loop)
    return [right, left] if i >= CROSSING_AT else [left, right]


@pytest.mark.parametrize("kind", ["swap", "lost", "unknown"])
def test_two_hands_crossing_keep_their_ids(kind):
    tracker = IdentityTracker()
    for i in range(CROSSING_FRAMES):
        observations = _crossing_frame(i, kind)
        ids = tracker.update(observations, i / FPS)
        assert {o.label: pid for o, pid in zip(observations, ids)} == ({"Left": 0, "Right": 1} if ids else {}), i


@pytest.mark.parametrize("y_offset", [0.0, 20.0])
def test_two_hands_crossing_on_one_line_keep_their_ids_even_with_the_same_position(y_offset):
    # Only handedness tells them apart on the crossing frame: the wrong pairing pays the label penalty twice.
    tracker = IdentityTracker()
    for i in range(CROSSING_FRAMES):
        observations = _crossing_frame(i, "unknown", y_offset=y_offset)
        ids = tracker.update(observations, i / FPS)
        assert {o.label: pid for o, pid in zip(observations, ids)} == {"Left": 0, "Right": 1}, i


@pytest.mark.parametrize("kind", ["lost", "unknown"])
def test_two_faces_crossing_keep_their_ids_by_their_motion(kind):
    tracker = IdentityTracker()
    for i in range(CROSSING_FRAMES):
        observations = _crossing_frame(i, kind, labelled=False, y_offset=20.0)
        ids = tracker.update(observations, i / FPS)
        moving_right = [pid for o, pid in zip(observations, ids) if o.centre[1] == 200]
        assert moving_right in ([0], []), i


def test_loop_id_continuity_wins_over_a_position_jump():
    tracker = IdentityTracker()
    for i in range(5):
        assert tracker.update([hand(200, 200, loop_id=7)], i / FPS) == [0]
    # The loop says the hand jumped by 2 sizes (beyond the gate); another hand appeared where it was.
    jumped = hand(200 + 2 * SIZE, 200, loop_id=7)
    newcomer = hand(200, 200, loop_id=8)
    assert tracker.update([newcomer, jumped], 5 / FPS) == [1, 0]
    assert tracker.update([jumped, newcomer], 6 / FPS) == [0, 1]


def test_a_loop_id_on_a_hand_of_the_other_label_is_matched_by_position():
    tracker = IdentityTracker()
    for i in range(5):
        tracker.update([hand(100, 200, "Left", 0), hand(300, 200, "Right", 1)], i / FPS)
    # Loop id 0 slid onto the Right hand, which lost its own: position and label win.
    assert tracker.update([hand(300, 200, "Right", 0)], 5 / FPS) == [1]
    assert tracker.update([hand(300, 200, "Right", 0), hand(100, 200, "Left", 2)], 6 / FPS) == [1, 0]


def test_a_repeated_loop_id_never_gives_two_observations_one_id():
    tracker = IdentityTracker()
    tracker.update([hand(100, 100, loop_id=3)], 0.0)
    ids = tracker.update([hand(100, 100, loop_id=3), hand(102, 100, loop_id=3)], 1 / FPS)
    assert ids == [0, 1]


@pytest.mark.parametrize("loop_ids", [True, False])
def test_a_one_frame_handedness_flip_does_not_switch_ids(loop_ids):
    tracker = IdentityTracker()
    spacing = GATE * SIZE  # as close as two hands sit side by side

    def frame(i: int, left_label: str) -> list[int]:
        return tracker.update([hand(200, 200, left_label, 0 if loop_ids else -1),
                               hand(200 + spacing, 200, "Right", 1 if loop_ids else -1)], i / FPS)

    for i in range(10):
        assert frame(i, "Left") == [0, 1]
    assert frame(10, "Right") == [0, 1]
    assert [track.label for track in tracker.tracks] == ["Left", "Right"]
    for i in range(11, 15):
        assert frame(i, "Left") == [0, 1]


def test_a_label_seen_once_weighs_less_than_an_established_one():
    # short_hamilton_clip frames 117-120: a hand seen on one frame, lost for two, found 1.1 sizes off
    # with the other label is the same hand; a hand labelled so for a second is not.
    def back_after_a_gap(frames_seen: int) -> int:
        tracker = IdentityTracker()
        for i in range(frames_seen):
            assert tracker.update([hand(80, 200, "Left", 0)], i / FPS) == [0]
        return tracker.update([hand(80 + 1.1 * SIZE, 200, "Right", 1)], (frames_seen + 2) / FPS)[0]

    assert back_after_a_gap(1) == 0
    assert back_after_a_gap(30) == 1


def test_a_duplicate_with_the_other_label_does_not_take_the_hands_id():
    # hands1 with the other hand masked, frames 60-66: a second, smaller answer on the hand labelled as
    # the other hand, then on the next frame that answer alone.
    tracker = IdentityTracker()
    for i in range(10):
        assert tracker.update([hand(300 + 8 * i, 230, "Left", 0, size=50)], i / FPS) == [0]
    ids = tracker.update([hand(386, 216, "Left", 0, size=54), hand(376, 222, "Right", 1, size=41)], 10 / FPS)
    assert ids[0] == 0 and ids[1] != 0 and tracker.tracks[-1].tentative
    assert tracker.update([hand(392, 217, "Right", 1, size=44)], 11 / FPS) == [0]
    ids = tracker.update([hand(417, 202, "Left", 2, size=52), hand(404, 209, "Left", 1, size=42)], 12 / FPS)
    assert 0 in ids
    assert tracker.update([hand(420, 202, "Left", 2, size=54)], 13 / FPS) == [0]


def test_a_lasting_relabel_changes_the_track_label_not_its_id():
    tracker = IdentityTracker()
    for i in range(10):
        assert tracker.update([hand(200, 200, "Left", 4)], i / FPS) == [0]
    labels = []
    for i in range(10, 15):
        assert tracker.update([hand(200, 200, "Right", 4)], i / FPS) == [0]
        labels.append(tracker.tracks[0].label)
    assert labels == ["Left", "Left", "Right", "Right", "Right"]  # the majority of the last 5


def test_faces_without_labels_keep_their_ids_through_a_loss():
    tracker = IdentityTracker()
    for i in range(10):
        assert tracker.update([face(150 + i, 150, 0), face(450 - i, 160, 1)], i / FPS) == [0, 1]
    assert tracker.update([face(460 - 10, 160, 1)], 10 / FPS) == [1]  # the first face missed
    assert tracker.update([face(161, 150, 2), face(449, 160, 1), face(300, 300, 3)], 11 / FPS) == [0, 1, 2]


def test_no_observations():
    tracker = IdentityTracker()
    assert tracker.update([], 0.0) == []
    assert tracker.update([face(10, 10)], 0.1) == [0]
    assert tracker.update([], 0.2) == []
    assert len(tracker.tracks) == 1


def test_many_objects_in_any_order_keep_their_ids():
    rng = np.random.default_rng(3)
    grid = np.array([(100 + 90 * col, 100 + 90 * row) for row in range(6) for col in range(8)], float)
    tracker = IdentityTracker()
    first = tracker.update([face(x, y) for x, y in grid], 0.0)
    assert first == list(range(len(grid)))
    for i in range(1, 30):
        centres = grid + np.array([4.0 * i, -2.0 * i]) + rng.normal(0, 3, grid.shape)
        order = rng.permutation(len(grid))
        keep = order[: len(grid) - 3] if i % 7 == 0 else order  # a few missed now and then
        loop_ids = [int(k) if rng.random() < 0.5 else -1 for k in keep]
        ids = tracker.update([face(*centres[k], loop_id) for k, loop_id in zip(keep, loop_ids)], i / FPS)
        assert ids == [int(k) for k in keep], i


# --- duplicates and long losses ------------------------------------------------------------------------------

def test_a_duplicate_on_top_of_a_hand_for_two_frames_does_not_take_the_hands_id():
    # MediaPipe answers twice on one hand on frames 10 and 12: a second, larger hand a few pixels off,
    # with a new loop id; on frame 11 the loop kept the duplicate's ROI (its loop id, its place).
    tracker = IdentityTracker()
    x = lambda i: 100 + 4.0 * i  # noqa: E731
    for i in range(10):
        assert tracker.update([hand(x(i), 200, loop_id=0)], i / FPS) == [0]
    duplicate = tracker.update([hand(x(10), 200, loop_id=0), hand(x(10) + 10, 205, loop_id=1, size=1.3 * SIZE)],
                               10 / FPS)
    assert duplicate[0] == 0 and duplicate[1] != 0
    assert tracker.update([hand(x(11) + 10, 205, loop_id=1, size=1.3 * SIZE)], 11 / FPS) == [0]
    again = tracker.update([hand(x(12), 200, loop_id=1), hand(x(12) + 12, 206, loop_id=2, size=1.3 * SIZE)],
                           12 / FPS)
    assert again[0] == 0 and again[1] != 0
    for i in range(13, 40):
        assert tracker.update([hand(x(i), 200, loop_id=2 if i % 2 else 1)], i / FPS) == [0], i
    assert [track.id for track in tracker.tracks] == [0]  # the duplicate's track was forgotten at once


def test_a_face_answered_twice_again_and_again_keeps_its_id_through_a_loss():
    # A second, larger mesh on the face every few frames, then the face missed for 5 frames and found
    # again looking like the duplicate: it is still the face's track that takes it.
    tracker = IdentityTracker()
    for i in range(30):
        observations = [face(300, 150, loop_id=0)]
        if i >= 10 and i % 3 == 0:
            observations.insert(0, Observation((296, 146), 1.25 * SIZE, None, 10 + i))
        ids = tracker.update(observations, i / FPS)
        assert ids[-1] == 0 and len(set(ids)) == len(ids), i
    assert tracker.update([Observation((297, 147), 1.25 * SIZE, None, 50)], 36 / FPS) == [0]
    assert tracker.update([face(300, 150, loop_id=50)], 37 / FPS) == [0]


def test_a_duplicate_has_another_label_or_size_or_place_else_it_is_a_new_object():
    tracker = IdentityTracker()
    tracker.update([hand(200, 200, "Left", 0)], 0.0)
    ids = tracker.update([hand(200, 200, "Left", 0), hand(200 + 0.6 * SIZE, 200, "Left", 1)], 1 / FPS)
    assert ids == [0, 1] and not any(track.tentative for track in tracker.tracks)  # 0.6 sizes apart
    ids = tracker.update([hand(200, 200, "Left", 0), hand(205, 200, "Left", 1, size=2 * SIZE),
                          hand(195, 200, "Left", 2, size=1.2 * SIZE)], 2 / FPS)
    assert ids[:2] == [0, 1] and [t.tentative for t in tracker.tracks] == [False, False, True]


@pytest.mark.parametrize("gate_growth", [None, 0.0])
def test_a_hand_lost_for_0_3_s_that_moved_1_8_sizes_keeps_its_id(gate_growth):
    # It moved right, was lost for 0.3 s and came back 1.8 sizes to the left of where it was last seen
    # (2.1 sizes from its prediction): past the plain gate, within the gate grown with the time unseen.
    tracker = IdentityTracker() if gate_growth is None else IdentityTracker(gate_growth=gate_growth)
    for i in range(15):
        assert tracker.update([hand(100 + 200 * i / FPS, 200, loop_id=0)], i / FPS) == [0]
    last = 14 / FPS
    for k in range(1, 9):
        assert tracker.update([], last + k / FPS) == []
    back = tracker.update([hand(100 + 200 * last - 1.8 * SIZE, 200, loop_id=1)], last + 0.3)
    assert back == ([0] if gate_growth is None else [1])


def test_a_grown_gate_still_keeps_two_hands_that_come_back_together_apart():
    tracker = IdentityTracker()
    for i in range(10):
        assert tracker.update([hand(200, 200, "Left", 0), hand(200 + 1.2 * SIZE, 200, "Right", 1)], i / FPS) == [0, 1]
    t = 9 / FPS + 0.4
    assert tracker.update([hand(200 + 1.4 * SIZE, 210, "Right", 2), hand(220, 190, "Left", 3)], t) == [1, 0]


# --- real hands -----------------------------------------------------------------------------------------------

GAP = range(30, 35)


@pytest.fixture(scope="module")
def hand_tracker(models_ready):
    from livepose.vision.hands import HandTracker
    from vision_models import load_model

    return HandTracker(load_model("mediapipe/palm_detection_full"), load_model("mediapipe/hand_landmark_full"),
                       max_num_hands=2, mirrored=False)


def test_real_hands_get_their_ids_back_after_the_loop_loses_them(hand_tracker):
    """60 frames of a clip with two hands; frames 30-34 blanked: the loop loses both hands and re-detects
    them with new loop ids, the identity tracker gives each its id back."""
    capture = cv2.VideoCapture(str(media_file(WEBM_CLIP)))
    identity = IdentityTracker()
    loop_ids = {"before": set(), "after": set()}
    by_label = {"before": {}, "after": {}}
    try:
        for i in range(60):
            ok, bgr = capture.read()
            assert ok, f"{WEBM_CLIP} ended at frame {i}"
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if i in GAP:
                rgb = np.zeros_like(rgb)
            hands = hand_tracker.process(rgb)
            ids = identity.update([observe(h.landmarks, h.handedness, h.track_id) for h in hands], i / FPS)
            assert len(set(ids)) == len(ids)
            if i in GAP:
                assert not hands
                continue
            when = "before" if i < GAP.start else "after"
            for found, pid in zip(hands, ids):
                loop_ids[when].add(found.track_id)
                assert by_label[when].setdefault(found.handedness, pid) == pid, (i, found.handedness)
    finally:
        capture.release()
    assert set(by_label["before"]) == {"Left", "Right"}
    assert not loop_ids["before"] & loop_ids["after"], "the loop should have given new ids after the gap"
    assert by_label["after"] == by_label["before"]
    assert sorted(by_label["before"].values()) == [0, 1]
