"""vision.object_tracker: persistent ids and per-id smoothing of one kind of object, without files or threads."""

from __future__ import annotations

import numpy as np

from livepose.testing import face, hand
from livepose.vision.object_tracker import ObjectTracker
from livepose.vision.smoothing import IMAGE_LANDMARKS, WORLD_LANDMARKS, LandmarkSmoother


def hands_tracker(smoothing: bool = True, max_lost: float = 0.5) -> ObjectTracker:
    return ObjectTracker(max_lost=max_lost, label_of=lambda h: h.handedness,
                         image=IMAGE_LANDMARKS if smoothing else None, world=WORLD_LANDMARKS if smoothing else None)


def noisy_hand(rng: np.random.Generator, loop_id: int, shift: float = 0.0, handedness: str = "Right"):
    still = hand(handedness=handedness).landmarks + [shift, 0.0, 0.0]
    return hand(still + rng.normal(0, 1.0, still.shape), handedness=handedness, track_id=loop_id)


def test_ids_replace_the_loops_and_each_id_has_its_own_filter():
    rng = np.random.default_rng(0)
    tracker = hands_tracker()
    reference = {"Right": LandmarkSmoother(IMAGE_LANDMARKS, WORLD_LANDMARKS),
                 "Left": LandmarkSmoother(IMAGE_LANDMARKS, WORLD_LANDMARKS)}
    for index in range(20):
        t = index / 30
        found = (noisy_hand(rng, 7, 150.0), noisy_hand(rng, 3, -150.0, "Left"))
        tracked = tracker.update(found, t)
        assert [h.track_id for h in tracked] == [0, 1]
        for raw, out in zip(found, tracked):
            landmarks, world = reference[raw.handedness](raw.landmarks, t, raw.world_landmarks)
            assert np.array_equal(out.landmarks, landmarks) and np.array_equal(out.world_landmarks, world)
            assert out.raw_landmarks is raw.landmarks and out.raw_world_landmarks is raw.world_landmarks
            assert (out.handedness, out.score, out.roi) == (raw.handedness, raw.score, raw.roi)


def test_without_smoothing_only_the_id_changes():
    original = hand(track_id=9)
    [tracked] = hands_tracker(smoothing=False).update([original], 0.0)
    assert tracked.track_id == 0 and tracked.landmarks is original.landmarks and tracked.raw_landmarks is None


def test_faces_have_no_world_landmarks_to_smooth():
    tracker = ObjectTracker(max_lost=0.5, label_of=lambda f: None, image=IMAGE_LANDMARKS)
    first, second = (tracker.update([face(track_id=4)], t)[0] for t in (0.0, 1 / 30))
    assert first.track_id == second.track_id == 0 and second.raw_landmarks is not None


def test_a_filter_is_dropped_with_its_id_and_reset_forgets_everything():
    rng = np.random.default_rng(1)
    tracker = hands_tracker(max_lost=0.2)
    tracker.update([noisy_hand(rng, 0)], 0.0)
    tracker.update([], 0.1)
    [back] = tracker.update([noisy_hand(rng, 1)], 0.15)
    assert back.track_id == 0, "back within max_lost: the same id"
    tracker.update([], 0.5)
    [later] = tracker.update([noisy_hand(rng, 2)], 0.6)
    assert later.track_id == 1 and np.array_equal(later.landmarks, later.raw_landmarks), "a new id, a fresh filter"
    tracker.reset()
    [fresh] = tracker.update([noisy_hand(rng, 2)], 0.7)
    assert fresh.track_id == 2 and np.array_equal(fresh.landmarks, fresh.raw_landmarks)
