"""The detect-or-track loop of MediaPipe's legacy Hands / FaceMesh graphs, split in two steps that can
run on different threads, plus the model-call convention.

Model interface
---------------
``ModelFn = Callable[[np.ndarray], Mapping[str, np.ndarray]]``: takes a batched NHWC float32 tensor
``(B, H, W, 3)`` and returns the outputs by name, each with the batch as first axis. Any runner (ONNX
Runtime, the TFLite interpreter, a test fake) can be wrapped into one. ``run_batched(model, batch,
max_batch)`` calls it in chunks of at most ``max_batch`` items (``1`` for models with a fixed batch of 1,
``None`` for a dynamic batch axis) and concatenates the outputs.

The loop (per frame t)
----------------------
1. ``DetectionStep(detector)(image, previous_rois)``: ``previous_rois`` are the ROIs computed from frame
   t-1's *accepted* landmarks (the feedback stream; empty on the first frame and always in static mode).
   If fewer than the detector's ``max_num_objects`` are tracked, the detector runs (a ``Detector``:
   ``hands.PalmDetector``, ``face.FaceDetector``). Its ROIs and the tracked ones are then
   associated (``rects.associate_rois``: IoU > 0.5 axis-aligned, tracked ROIs win; without detections
   this still drops tracked duplicates). Returns the ROIs of this frame, each a ``TrackedRoi``.
2. The landmark step (``hands.HandLandmarker`` / ``face.FaceLandmarker``) runs the landmark model on
   those ROIs and returns a ``LandmarkStepOutput``: the accepted objects and ``next_rois``, the ROIs
   derived from their landmarks, which are the ``previous_rois`` of frame t+1.

So a graph puts the detection step and the landmark step in two nodes: frame → detection node (+ the
feedback ``next_rois`` of the previous frame) → ROIs → landmark node → objects, and ``next_rois`` back to
the detection node. ``Tracker(detector, landmark_step, static_image_mode=False)`` chains both on one
thread and keeps the feedback itself; ``hands.HandTracker`` and ``face.FaceTracker`` are trackers built
from MediaPipe's parameters.

Track IDs: MediaPipe's legacy graph has none. Here each ROI carries a ``track_id``: a tracked ROI keeps
the ID of the object it came from; a detected ROI that survives association gets the next fresh ID
(``DetectionStep`` counts them, starting at 0). An object keeps its ID for as long as its landmarks are
accepted on consecutive frames; once lost and re-detected it gets a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Mapping, Protocol, Sequence, TypeVar

import numpy as np

from livepose.vision.rects import NormalizedRect, TrackedRoi, associate_rois

__all__ = [
    "ModelFn",
    "run_batched",
    "LandmarkStepOutput",
    "Detector",
    "DetectionStep",
    "LandmarkStep",
    "Tracker",
]

ModelFn = Callable[[np.ndarray], Mapping[str, np.ndarray]]

ObjectT = TypeVar("ObjectT")


def run_batched(model: ModelFn, batch: np.ndarray, max_batch: int | None) -> dict[str, np.ndarray]:
    """Run ``model`` on ``batch`` in chunks of at most ``max_batch`` items; outputs concatenated on axis 0."""
    if max_batch is None or batch.shape[0] <= max_batch:
        return {name: np.asarray(value) for name, value in model(batch).items()}
    chunks = [model(batch[start : start + max_batch]) for start in range(0, batch.shape[0], max_batch)]
    return {name: np.concatenate([np.asarray(chunk[name]) for chunk in chunks], axis=0) for name in chunks[0]}


@dataclass(frozen=True)
class LandmarkStepOutput(Generic[ObjectT]):
    """What a landmark step returns for one frame: accepted objects and the ROIs to track next frame
    (same order, one ROI per object, same ``track_id``)."""

    objects: tuple[ObjectT, ...]
    next_rois: tuple[TrackedRoi, ...]


class LandmarkStep(Protocol[ObjectT]):
    def __call__(self, image: np.ndarray, rois: Sequence[TrackedRoi]) -> LandmarkStepOutput[ObjectT]: ...


class Detector(Protocol):
    """What the detection step runs: ``rois(image)`` returns the detected ROIs, best first, at most
    ``max_num_objects`` of them."""

    max_num_objects: int

    def rois(self, image: np.ndarray) -> list[NormalizedRect]: ...


class DetectionStep:
    """Step 1 of the loop: decide whether to detect, detect, associate, assign track IDs.

    The detector's ``max_num_objects`` is also how many objects the step tracks. Not thread-safe:
    one instance per stream.
    """

    def __init__(self, detector: Detector, association_iou: float = 0.5) -> None:
        self.detector = detector
        self.association_iou = association_iou
        self._next_track_id = 0

    @property
    def max_num_objects(self) -> int:
        return self.detector.max_num_objects

    def needs_detection(self, previous_rois: Sequence[TrackedRoi]) -> bool:
        """The detector runs whenever fewer objects than wanted are tracked (even with one missing)."""
        return len(previous_rois) < self.max_num_objects

    def detect(self, image: np.ndarray) -> list[NormalizedRect]:
        """The detector's ROIs for ``image``, whatever is tracked: lets a caller run the detector
        ahead of knowing ``previous_rois`` and hand the result to ``__call__``."""
        return self.detector.rois(image)

    def __call__(self, image: np.ndarray, previous_rois: Sequence[TrackedRoi],
                 detections: Sequence[NormalizedRect] | None = None) -> list[TrackedRoi]:
        """This frame's ROIs; ``detections``, if given, are ``detect(image)`` computed beforehand."""
        if not self.needs_detection(previous_rois):
            # MediaPipe still runs association on the tracked ROIs alone, which drops duplicates
            # (two ROIs that converged on one object).
            return associate_rois((), previous_rois, self.association_iou)
        if detections is None:
            detections = self.detector.rois(image)
        detected = [TrackedRoi(rect, -1, True) for rect in detections]
        merged = associate_rois(detected, previous_rois, self.association_iou)
        result = []
        for roi in merged:
            if roi.from_detection:
                roi = TrackedRoi(roi.rect, self._next_track_id, True)
                self._next_track_id += 1
            result.append(roi)
        return result


class Tracker(Generic[ObjectT]):
    """Both steps on one thread, with the feedback kept internally.

    ``static_image_mode=True`` forgets the feedback so every call detects afresh (MediaPipe's static mode).
    """

    def __init__(
        self, detector: Detector, landmark_step: LandmarkStep[ObjectT], static_image_mode: bool = False
    ) -> None:
        self.detection_step = DetectionStep(detector)
        self.landmark_step = landmark_step
        self.static_image_mode = static_image_mode
        self._previous_rois: tuple[TrackedRoi, ...] = ()

    def reset(self) -> None:
        """Forget the tracked ROIs (e.g. at a scene cut); track IDs keep counting up."""
        self._previous_rois = ()

    def process(self, image: np.ndarray) -> tuple[ObjectT, ...]:
        """Objects found in one RGB uint8 frame."""
        return self.step(image)[1]

    def step(self, image: np.ndarray) -> tuple[tuple[TrackedRoi, ...], tuple[ObjectT, ...]]:
        """One frame: the ROIs the landmark model ran on (tracked or detected) and the objects found."""
        previous = () if self.static_image_mode else self._previous_rois
        rois = tuple(self.detection_step(image, previous))
        output = self.landmark_step(image, rois)
        self._previous_rois = output.next_rois
        return rois, output.objects
