"""Body pose: MediaPipe's legacy ``Pose`` solution around its detector and landmark models.

Driven as MediaPipe 0.10.21's ``pose_landmark_cpu`` graph does (its subgraphs as compiled into the
wheel's ``_framework_bindings``; numbers there):

- detection (only while no pose is tracked): the frame letterboxed to 224x224 in [-1, 1], 2254 SSD
  anchors, sigmoid scores above ``min_detection_confidence``, weighted NMS at IoU 0.3, the best one
  kept; its ROI is centred on keypoint 0 (hip centre), square with a side of twice the distance to
  keypoint 1 (full-body scale point), turned so that 0 → 1 points up, scaled by 1.25;
- landmarks: the ROI sampled to 256x256 in [0, 1]; the pose flag above ``min_tracking_confidence``;
  39 points (33 + 6 auxiliary), x and y refined on the 64x64 heatmaps (kernel 7), visibility and
  presence the sigmoids of their logits; world landmarks rotated by the ROI's rotation;
- filtering: visibility low-passed (alpha 0.1) and landmarks One-Euro filtered (min_cutoff 0.05,
  beta 80) with the object scale of the auxiliary points' ROI, when ``smooth_landmarks``; world
  landmarks likewise (0.1, 40, no scaling); the two auxiliary points always, harder (0.01, 10), and
  next frame's ROI is theirs (same rule as the detection's);
- segmentation (``enable_segmentation``): the 256x256 logits' sigmoid warped back over the frame and,
  when ``smooth_segmentation``, blended with the previous frame's mask (``vision.segmentation``).

Public API
----------
- ``PoseDetector(model, *, min_detection_confidence=0.5)``: a ``tracking.Detector`` of one pose;
  ``detect(image) -> Detections`` (4 keypoints), ``rois(image)``.
- ``pose_roi(keypoints, image_size)``: the ROI of a pose from its two alignment points (normalised).
- ``PoseLandmarker(model, *, min_tracking_confidence=0.5, smooth_landmarks=True,
  enable_segmentation=False, smooth_segmentation=True, mirrored=False)``: the landmark step;
  ``__call__(image, rois, timestamp=None, smooth=True) -> PoseStepOutput`` (``timestamp`` in seconds;
  ``None`` advances by 1/30 s, as MediaPipe's Python solution does whatever the video's rate;
  ``smooth=False`` for an unrelated still: no filter, no memory); ``reset()``. ``mirrored``: the image is a
  selfie view, so left and right landmarks swap to stay the person's own (as ``Hand.handedness``).
- ``PoseStepOutput``: ``LandmarkStepOutput[Pose]`` plus ``segmentation_mask`` (``(H, W)`` float32 or
  ``None``).
- ``PoseTracker(detector_model, landmark_model, *, static_image_mode=False, smooth_landmarks=True,
  enable_segmentation=False, smooth_segmentation=True, min_detection_confidence=0.5,
  min_tracking_confidence=0.5)``: both steps on one thread; ``process(image)``, ``last_mask``.

The detector and landmarker take ``cropper`` (an ``image_to_tensor.Cropper``, default ``OPENCV_CROPPER``):
what turns the image and ROIs into the model's batch, in the model callable's type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from livepose.results import Pose
from livepose.vision._float32 import F32
from livepose.vision.anchors import POSE_ANCHORS, generate_anchor_centres
from livepose.vision.detection import POSE_DECODE, DecodeOptions, Detections, decode_detections, remove_letterbox
from livepose.vision.image_to_tensor import (
    POSE_DETECTOR_INPUT,
    POSE_LANDMARK_INPUT,
    OPENCV_CROPPER,
    Cropper,
)
from livepose.vision.landmarks import project_landmarks, refine_from_heatmap, rotate_world_landmarks, to_pixels
from livepose.vision.nms import weighted_nms
from livepose.vision.rects import POSE_TO_ROI, NormalizedRect, TrackedRoi, alignment_points_rect, transform_rect
from livepose.vision.segmentation import roi_mask_to_image, smooth_segmentation
from livepose.vision.smoothing import (
    IMAGE_LANDMARKS,
    MIN_OBJECT_SCALE,
    POSE_AUX_LANDMARKS,
    WORLD_LANDMARKS,
    LowPassFilter,
    OneEuroFilter,
)
from livepose.vision.tracking import DetectionStep, LandmarkStepOutput, ModelFn

__all__ = [
    "PoseDetectorOutputNames",
    "PoseLandmarkOutputNames",
    "NUM_POSE_LANDMARKS",
    "PoseDetector",
    "PoseLandmarker",
    "PoseStepOutput",
    "PoseTracker",
    "pose_roi",
]

NUM_POSE_LANDMARKS = 33
# The model's 39 points: the 33 landmarks, then the hip centre and full-body scale point that place
# the ROI, then four more auxiliary points MediaPipe does not use.
NUM_MODEL_LANDMARKS = 39
AUX_LANDMARKS = slice(33, 35)
POSE_ROI_TARGET_ANGLE = math.pi / 2
# Each landmark's counterpart on the other side of the body (PoseLandmark's order: the nose, then
# left/right pairs): the person's left in a mirrored image is what the model reads as the right.
MIRRORED_ORDER = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, *[i - 1 + 2 * (i % 2) for i in range(11, 33)]])
VISIBILITY_ALPHA = 0.1
SIMULATED_FRAME_SECONDS = 1.0 / 30.0


@dataclass(frozen=True)
class PoseDetectorOutputNames:
    regressors: str = "Identity"
    scores: str = "Identity_1"


@dataclass(frozen=True)
class PoseLandmarkOutputNames:
    landmarks: str = "Identity"
    pose_flag: str = "Identity_1"
    segmentation: str = "Identity_2"
    heatmap: str = "Identity_3"
    world_landmarks: str = "Identity_4"


POSE_DETECTOR_OUTPUTS = PoseDetectorOutputNames()
POSE_LANDMARK_OUTPUTS = PoseLandmarkOutputNames()


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=F32)
    # A very negative logit overflows exp to inf, which gives the right 0.
    with np.errstate(over="ignore"):
        return F32(1) / (F32(1) + np.exp(-logits))


def pose_roi(keypoints: np.ndarray, image_size: tuple[int, int]) -> NormalizedRect:
    """The landmark model's ROI from a pose's hip centre and full-body scale point (normalised ``(2+, 2)``)."""
    rect = alignment_points_rect(keypoints, image_size, 0, 1, POSE_ROI_TARGET_ANGLE)
    return transform_rect(rect, image_size, POSE_TO_ROI)


class PoseDetector:
    """Pose detection around ``pose_detection.tflite`` (see module docstring); tracks one pose."""

    max_num_objects = 1

    def __init__(
        self,
        model: ModelFn,
        *,
        cropper: Cropper = OPENCV_CROPPER,
        min_detection_confidence: float = 0.5,
        output_names: PoseDetectorOutputNames = POSE_DETECTOR_OUTPUTS,
    ) -> None:
        self.model = model
        self.cropper = cropper
        self.output_names = output_names
        self.decode_options = DecodeOptions(**{**POSE_DECODE.__dict__, "min_score": min_detection_confidence})
        self.anchors = generate_anchor_centres(POSE_ANCHORS)

    def detect(self, image: np.ndarray) -> Detections:
        batch, padding = self.cropper.letterbox(image, POSE_DETECTOR_INPUT)
        outputs = self.model(batch)
        detections = decode_detections(
            outputs[self.output_names.regressors][0], outputs[self.output_names.scores][0], self.anchors,
            self.decode_options,
        )
        detections = weighted_nms(detections, iou_threshold=0.3)
        return remove_letterbox(detections.take(slice(0, self.max_num_objects)), padding)

    def rois(self, image: np.ndarray) -> list[NormalizedRect]:
        image_size = (image.shape[1], image.shape[0])
        detections = self.detect(image)
        return [pose_roi(detections.keypoints[i], image_size) for i in range(len(detections))]


@dataclass(frozen=True)
class PoseStepOutput(LandmarkStepOutput[Pose]):
    """The landmark step's output plus the frame's person mask (``None`` without a pose or segmentation)."""

    segmentation_mask: np.ndarray | None = None


class _PoseFilters:
    """MediaPipe's PoseLandmarkFiltering state for the one tracked pose."""

    def __init__(self) -> None:
        self.visibility = LowPassFilter(VISIBILITY_ALPHA)
        self.landmarks = OneEuroFilter(IMAGE_LANDMARKS)
        self.world = OneEuroFilter(WORLD_LANDMARKS)
        self.aux = OneEuroFilter(POSE_AUX_LANDMARKS)

    def reset(self) -> None:
        self.visibility.reset()
        self.landmarks.reset()
        self.world.reset()
        self.aux.reset()


class PoseLandmarker:
    """The landmark step for one body (see module docstring)."""

    def __init__(
        self,
        model: ModelFn,
        *,
        cropper: Cropper = OPENCV_CROPPER,
        min_tracking_confidence: float = 0.5,
        smooth_landmarks: bool = True,
        enable_segmentation: bool = False,
        smooth_segmentation: bool = True,
        mirrored: bool = False,
        output_names: PoseLandmarkOutputNames = POSE_LANDMARK_OUTPUTS,
    ) -> None:
        self.model = model
        self.cropper = cropper
        self.mirrored = mirrored
        self.min_tracking_confidence = min_tracking_confidence
        self.smooth_landmarks = smooth_landmarks
        self.enable_segmentation = enable_segmentation
        self.smooth_segmentation = smooth_segmentation
        self.output_names = output_names
        self._filters = _PoseFilters()
        self._previous_mask: np.ndarray | None = None
        self._simulated_time = -SIMULATED_FRAME_SECONDS

    def reset(self) -> None:
        """Forget the filters' and the mask's history (the pose was lost or the scene changed)."""
        self._filters.reset()
        self._previous_mask = None

    def __call__(
        self,
        image: np.ndarray,
        rois: Sequence[TrackedRoi],
        timestamp: float | None = None,
        smooth: bool = True,
    ) -> PoseStepOutput:
        if timestamp is None:
            self._simulated_time += SIMULATED_FRAME_SECONDS
            timestamp = self._simulated_time
        if not smooth:
            self.reset()
        if not rois:
            self.reset()
            return PoseStepOutput((), ())
        roi = rois[0]
        batch, paddings = self.cropper.crops(image, [roi.rect], POSE_LANDMARK_INPUT)
        outputs = {name: np.asarray(value) for name, value in self.model(batch).items()}
        names = self.output_names
        score = float(outputs[names.pose_flag].reshape(-1)[0])
        # Strictly greater, as MediaPipe's ThresholdingCalculator.
        if not score > self.min_tracking_confidence:
            self.reset()
            return PoseStepOutput((), ())

        image_size = (image.shape[1], image.shape[0])
        raw = outputs[names.landmarks].reshape(NUM_MODEL_LANDMARKS, 5).astype(F32)
        crop_size = F32(POSE_LANDMARK_INPUT.width)
        in_crop = raw[:, :3] / crop_size
        in_crop[:, :2] = refine_from_heatmap(in_crop, outputs[names.heatmap][0], kernel_size=9)
        # project_landmarks takes crop pixels; scaling by the power-of-two crop size is exact.
        normalised = project_landmarks(
            (in_crop * crop_size)[None], [roi.rect], POSE_LANDMARK_INPUT.width, z_scale=1.0, paddings=paddings
        )[0]
        world = rotate_world_landmarks(
            outputs[names.world_landmarks].reshape(1, NUM_MODEL_LANDMARKS, 3)[:, :NUM_POSE_LANDMARKS], [roi.rect]
        )[0]
        visibility = _sigmoid(raw[:NUM_POSE_LANDMARKS, 3]).astype(np.float64)
        presence = _sigmoid(raw[:NUM_POSE_LANDMARKS, 4]).astype(np.float64)

        landmarks = to_pixels(normalised[:NUM_POSE_LANDMARKS], image_size)
        aux = to_pixels(normalised[AUX_LANDMARKS], image_size)
        world = world.astype(np.float64)
        if smooth:
            # The filters' object scale: the side (pixels) of the unfiltered auxiliary points' box.
            scale_rect = alignment_points_rect(normalised[AUX_LANDMARKS], image_size, 0, 1, POSE_ROI_TARGET_ANGLE)
            object_scale = (scale_rect.width * image_size[0] + scale_rect.height * image_size[1]) / 2.0
            value_scale = 1.0 / object_scale if object_scale >= MIN_OBJECT_SCALE else None
            filters = self._filters
            if self.smooth_landmarks:
                visibility = filters.visibility(visibility)
                if value_scale is not None:
                    landmarks = filters.landmarks(landmarks, timestamp, value_scale)
                world = filters.world(world, timestamp, 1.0)
            if value_scale is not None:
                aux = filters.aux(aux, timestamp, value_scale)
        aux_normalised = aux[:, :2] / np.array(image_size, dtype=np.float64)
        next_rect = pose_roi(aux_normalised, image_size)

        order = MIRRORED_ORDER if self.mirrored else slice(None)
        pose = Pose(
            landmarks=_frozen(np.array(landmarks[order], dtype=np.float64)),
            visibility=_frozen(np.array(visibility[order], dtype=np.float64)),
            presence=_frozen(np.array(presence[order])),
            world_landmarks=_frozen(np.array(world[order], dtype=np.float64)),
            score=score,
            roi=roi.rect,
            track_id=roi.track_id,
        )
        mask = None
        if self.enable_segmentation:
            mask = self._mask(outputs[names.segmentation], roi.rect, image_size, smooth)
        return PoseStepOutput((pose,), (TrackedRoi(next_rect, roi.track_id, False),), mask)

    def _mask(self, logits: np.ndarray, rect: NormalizedRect, image_size: tuple[int, int], smooth: bool) -> np.ndarray:
        mask = roi_mask_to_image(_sigmoid(logits[0, :, :, 0]), rect, image_size, POSE_LANDMARK_INPUT)
        if smooth and self.smooth_segmentation:
            mask = smooth_segmentation(mask, self._previous_mask)
            self._previous_mask = mask
        return _frozen(mask)


class PoseTracker:
    """MediaPipe ``Pose`` on one thread: ``process(image) -> tuple[Pose, ...]`` (at most one)."""

    def __init__(
        self,
        detector_model: ModelFn,
        landmark_model: ModelFn,
        *,
        static_image_mode: bool = False,
        smooth_landmarks: bool = True,
        enable_segmentation: bool = False,
        smooth_segmentation: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        detector = PoseDetector(detector_model, min_detection_confidence=min_detection_confidence)
        self.detection_step = DetectionStep(detector)
        self.landmarker = PoseLandmarker(
            landmark_model,
            min_tracking_confidence=min_tracking_confidence,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=enable_segmentation,
            smooth_segmentation=smooth_segmentation,
        )
        self.static_image_mode = static_image_mode
        self._previous_rois: tuple[TrackedRoi, ...] = ()
        self.last_mask: np.ndarray | None = None

    def process(self, image: np.ndarray, timestamp: float | None = None) -> tuple[Pose, ...]:
        """The pose in one RGB uint8 frame (``timestamp`` in seconds, as ``PoseLandmarker``);
        ``last_mask`` then holds its person mask."""
        previous = () if self.static_image_mode else self._previous_rois
        rois = tuple(self.detection_step(image, previous))
        output = self.landmarker(image, rois, timestamp, smooth=not self.static_image_mode)
        self._previous_rois = output.next_rois
        self.last_mask = output.segmentation_mask
        return output.objects
