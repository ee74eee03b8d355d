"""Landmark steps, detection step and tracker loop with fake models; comparison statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.compare import FrameObjects, compare_sequences, flip_handedness, match_objects
from livepose.vision.face import Face, FaceDetector, FaceLandmarker, FaceTracker
from livepose.vision.hands import Hand, HandLandmarker, HandTracker, PalmDetector
from livepose.vision.rects import NormalizedRect, TrackedRoi
from livepose.vision.tracking import DetectionStep, LandmarkStepOutput, Tracker, run_batched

IMAGE = np.zeros((360, 640, 3), np.uint8)


class FakeHandModel:
    """Landmarks at fixed crop positions; presence and 'Left' score per batch item in call order."""

    def __init__(self, presence: list[float], left_scores: list[float]):
        self.presence = presence
        self.left_scores = left_scores
        self.batch_sizes: list[int] = []
        self._next = 0

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        count = batch.shape[0]
        self.batch_sizes.append(count)
        items = range(self._next, self._next + count)
        self._next += count
        grid = np.stack(np.meshgrid(np.linspace(40, 184, 7), np.linspace(40, 184, 3)), -1).reshape(21, 2)
        landmarks = np.concatenate([grid, np.full((21, 1), 22.4)], axis=1).astype(np.float32)
        return {
            "Identity": np.tile(landmarks.reshape(1, 63), (count, 1)),
            "Identity_1": np.array([[self.presence[i]] for i in items], np.float32),
            "Identity_2": np.array([[self.left_scores[i]] for i in items], np.float32),
            "Identity_3": np.tile(np.arange(63, dtype=np.float32).reshape(1, 63) / 1000, (count, 1)),
        }


class FakeDetector:
    """Finds the same ROIs in every image and counts its calls."""

    def __init__(self, found: list[NormalizedRect], max_num_objects: int):
        self.found = found
        self.max_num_objects = max_num_objects
        self.calls = 0

    def rois(self, image: np.ndarray) -> list[NormalizedRect]:
        self.calls += 1
        return self.found


def _rois(*rects: NormalizedRect) -> list[TrackedRoi]:
    return [TrackedRoi(rect, index + 10, False) for index, rect in enumerate(rects)]


def test_hand_landmarker_presence_handedness_and_results():
    model = FakeHandModel(presence=[0.9, 0.5, 0.7], left_scores=[0.8, 0.9, 0.3])
    rois = _rois(
        NormalizedRect(0.3, 0.5, 0.2, 0.2 * 640 / 360),
        NormalizedRect(0.5, 0.5, 0.2, 0.2 * 640 / 360),
        NormalizedRect(0.7, 0.5, 0.2, 0.2 * 640 / 360, math.pi / 2),
    )
    output = HandLandmarker(model, mirrored=False)(IMAGE, rois)
    # Presence must be strictly above 0.5: the second ROI is dropped with its feedback ROI.
    assert [hand.track_id for hand in output.objects] == [10, 12]
    assert [roi.track_id for roi in output.next_rois] == [10, 12]
    assert all(not roi.from_detection for roi in output.next_rois)
    first, third = output.objects
    assert isinstance(first, Hand)
    # Model score 0.8 is "Left" for a mirrored image, so "Right" for this unmirrored one.
    assert (first.handedness, first.handedness_score) == ("Right", pytest.approx(0.8))
    assert (third.handedness, third.handedness_score) == ("Left", pytest.approx(0.7))
    assert first.presence == pytest.approx(0.9)
    # The crop centre (112, 112) is landmark 10 of the grid: it lands on the ROI centre, in pixels.
    np.testing.assert_allclose(first.landmarks[10, :2], [0.3 * 640, 0.5 * 360], atol=1e-3)
    assert first.landmarks[10, 2] == pytest.approx(22.4 / 224 / 0.4 * 0.2 * 640, rel=1e-5)
    assert first.landmarks.shape == (21, 3) and first.world_landmarks.shape == (21, 3)
    # World landmarks turn with the ROI: the third hand's x becomes its y.
    np.testing.assert_allclose(third.world_landmarks[1, :2], [-0.004, 0.003], atol=1e-6)
    assert first.roi == rois[0].rect
    with pytest.raises(ValueError):
        first.landmarks[0, 0] = 1.0
    mirrored = HandLandmarker(FakeHandModel([0.9], [0.8]), mirrored=True)(IMAGE, rois[:1])
    assert mirrored.objects[0].handedness == "Left"


def test_hand_landmarker_batches_and_falls_back_to_single_items():
    rects = [NormalizedRect(0.2 + 0.2 * i, 0.5, 0.15, 0.15 * 640 / 360) for i in range(3)]
    batched_model = FakeHandModel([0.9] * 3, [0.6] * 3)
    single_model = FakeHandModel([0.9] * 3, [0.6] * 3)
    batched = HandLandmarker(batched_model, max_batch=None)(IMAGE, _rois(*rects))
    single = HandLandmarker(single_model, max_batch=1)(IMAGE, _rois(*rects))
    assert batched_model.batch_sizes == [3] and single_model.batch_sizes == [1, 1, 1]
    for a, b in zip(batched.objects, single.objects):
        np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert HandLandmarker(batched_model)(IMAGE, []).objects == ()


def test_run_batched_concatenates_chunks():
    calls: list[int] = []

    def model(batch):
        calls.append(batch.shape[0])
        return {"out": batch[:, 0, 0, 0] * 2}

    batch = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1)
    outputs = run_batched(model, batch, max_batch=2)
    assert calls == [2, 2, 1]
    np.testing.assert_array_equal(outputs["out"], [0, 2, 4, 6, 8])


def test_face_landmarker_applies_sigmoid_to_the_face_flag():
    def model(batch):
        count = batch.shape[0]
        grid = np.random.default_rng(1).uniform(50, 150, size=(468, 3)).astype(np.float32)
        return {
            "conv2d_21": np.tile(grid.reshape(1, 1, 1, 1404), (count, 1, 1, 1)),
            "conv2d_31": np.array([1.0, 0.0][:count], np.float32).reshape(count, 1, 1, 1),
        }

    rois = _rois(NormalizedRect(0.3, 0.5, 0.3, 0.3 * 640 / 360), NormalizedRect(0.7, 0.5, 0.3, 0.3 * 640 / 360))
    output = FaceLandmarker(model)(IMAGE, rois)
    # Logit 0 gives exactly 0.5, which is not above the threshold.
    assert len(output.objects) == 1 and isinstance(output.objects[0], Face)
    assert output.objects[0].score == pytest.approx(1 / (1 + math.exp(-1)))
    assert output.objects[0].landmarks.shape == (468, 3)
    assert output.next_rois[0].track_id == 10


def test_detection_step_runs_the_detector_only_when_objects_are_missing():
    detector = FakeDetector([NormalizedRect(0.2, 0.2, 0.2, 0.2), NormalizedRect(0.7, 0.7, 0.2, 0.2)], max_num_objects=2)
    step = DetectionStep(detector)
    assert step.max_num_objects == 2
    first = step(IMAGE, [])
    assert [(roi.track_id, roi.from_detection) for roi in first] == [(0, True), (1, True)]
    tracked = [TrackedRoi(NormalizedRect(0.21, 0.2, 0.2, 0.2), 0, False)]
    second = step(IMAGE, tracked)  # one object lost: detect again, the tracked ROI wins its overlap
    assert [(roi.track_id, roi.from_detection) for roi in second] == [(2, True), (0, False)]
    assert detector.calls == 2
    both = [tracked[0], TrackedRoi(NormalizedRect(0.7, 0.7, 0.2, 0.2), 2, False)]
    assert step(IMAGE, both) == both and detector.calls == 2
    # Without detection the tracked ROIs are still associated: a duplicate is dropped.
    duplicates = [tracked[0], TrackedRoi(NormalizedRect(0.2, 0.2, 0.2, 0.2), 3, False)]
    assert [roi.track_id for roi in step(IMAGE, duplicates)] == [3]


def test_tracker_feeds_landmark_rois_back_and_static_mode_forgets_them():
    detector = FakeDetector([NormalizedRect(0.5, 0.5, 0.2, 0.2)], max_num_objects=1)

    def landmark_step(image, rois):
        moved = tuple(TrackedRoi(NormalizedRect(r.rect.x_center + 0.01, 0.5, 0.2, 0.2), r.track_id, False) for r in rois)
        return LandmarkStepOutput(tuple(r.track_id for r in rois), moved)

    tracker = Tracker(detector, landmark_step)
    assert tracker.process(IMAGE) == (0,)
    assert tracker.process(IMAGE) == (0,) and detector.calls == 1  # tracked: no second detection
    tracker.reset()
    assert tracker.process(IMAGE) == (1,) and detector.calls == 2
    static = Tracker(detector, landmark_step, static_image_mode=True)
    static.process(IMAGE)
    static.process(IMAGE)
    assert detector.calls == 4


def test_trackers_are_a_detector_and_a_landmark_step_given_the_maximum_once():
    def unused_model(batch):
        raise AssertionError("no frame is processed")

    hands = HandTracker(unused_model, unused_model, max_num_hands=3, mirrored=True, max_batch=1)
    assert isinstance(hands.detection_step.detector, PalmDetector) and hands.detection_step.max_num_objects == 3
    assert isinstance(hands.landmark_step, HandLandmarker) and hands.landmark_step.mirrored
    faces = FaceTracker(unused_model, unused_model, max_num_faces=4, min_tracking_confidence=0.7)
    assert isinstance(faces.detection_step.detector, FaceDetector) and faces.detection_step.max_num_objects == 4
    assert isinstance(faces.landmark_step, FaceLandmarker) and faces.landmark_step.min_tracking_confidence == 0.7


def test_palm_detector_end_to_end_with_a_fake_model():
    anchors_per_image = 2016
    raw = np.zeros((1, anchors_per_image, 18), np.float32)
    logits = np.full((1, anchors_per_image, 1), -20.0, np.float32)
    # Anchor 1152 is the first stride-16 anchor, centre (1/24, 1/24); a 19.2 px box around it,
    # keypoint 2 (middle MCP) straight above keypoint 0 (wrist).
    raw[0, 1152, :4] = [0, 0, 19.2, 19.2]
    raw[0, 1152, 4:6] = [0, 5]
    raw[0, 1152, 8:10] = [0, -5]
    logits[0, 1152] = 3.0
    detector = PalmDetector(lambda batch: {"Identity": raw, "Identity_1": logits}, max_num_hands=2)
    assert detector.max_num_objects == 2
    image = np.zeros((192, 192, 3), np.uint8)
    detections = detector.detect(image)
    assert len(detections) == 1
    np.testing.assert_allclose(detections.boxes[0], [1 / 24 - 0.05, 1 / 24 - 0.05, 0.1, 0.1], atol=1e-6)
    (roi,) = detector.rois(image)
    assert roi.rotation == pytest.approx(0.0, abs=1e-6)
    assert roi.width == pytest.approx(0.26, rel=1e-5) and roi.y_center == pytest.approx(1 / 24 - 0.05, rel=1e-4)


def test_compare_matches_objects_and_counts():
    a = np.zeros((21, 3))
    b = a + [10, 0, 0]
    assert match_objects([b, a], [a, b]) == [(0, 1), (1, 0)]
    assert match_objects([], [a]) == []
    ours = [
        FrameObjects((a + [1, 0, 0],), ("Left",)),
        FrameObjects((a, b), ("Left", "Right")),
        FrameObjects(()),
    ]
    reference = [
        FrameObjects((a,), ("Left",)),
        FrameObjects((b,), ("Left",)),
        FrameObjects(()),
    ]
    stats = compare_sequences(ours, reference)
    assert stats.frames == 3 and stats.count_agreement == pytest.approx(2 / 3)
    assert stats.matched_objects == 2
    assert stats.median_px == pytest.approx(0.5) and stats.max_px == pytest.approx(1.0)
    assert stats.label_agreement == pytest.approx(0.5)
    assert not stats.passes(0.97, 1.0, 3.0, 0.99)
    assert stats.passes(0.6, 1.0, 3.0, 0.5)
    assert flip_handedness("Left") == "Right"
    with pytest.raises(ValueError):
        compare_sequences(ours, reference[:2])
