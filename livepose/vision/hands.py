"""Hand detection and hand landmarks: MediaPipe's legacy ``Hands`` solution around its two models.

Public API
----------
- ``PalmDetector(model, *, min_detection_confidence=0.5, max_num_hands=2, output_names=PALM_OUTPUTS)``
  - ``max_num_objects``: ``max_num_hands``, which makes it a ``tracking.Detector``.
  - ``detect(image) -> Detections``: letterbox → model → decode → weighted NMS → first ``max_num_hands``;
    boxes and 7 keypoints normalised to the image.
  - ``rois(image) -> list[NormalizedRect]``: those detections as hand ROIs (wrist→middle MCP at 90°,
    shift_y -0.5, square, scale 2.6).
- ``HandLandmarker(model, *, min_tracking_confidence=0.5, mirrored=False, max_batch=None,
  output_names=HAND_LANDMARK_OUTPUTS)``: the landmark step; ``__call__(image, rois)`` →
  ``LandmarkStepOutput[Hand]``: all ROIs go through the model in batches of ``max_batch`` (``1`` for a
  fixed-batch model, ``None`` = all at once); hands whose presence is not > the threshold are dropped.
- ``Hand``: the frozen result (defined in ``livepose.results``).
- ``hand_landmarks_to_rect(landmarks, image_size) -> NormalizedRect``: next-frame ROI from 21 landmarks.
- ``hand_from_points(points, score, roi, track_id)`` and ``next_hand_roi(landmarks, image_size)``: the points
  of a hand model you bring (MediaPipe's order) as a ``Hand``, and the ROI tracking it to the next frame.
- ``HandTracker(palm_model, landmark_model, *, static_image_mode=False, max_num_hands=2,
  min_detection_confidence=0.5, min_tracking_confidence=0.5, mirrored=False, max_batch=None)``:
  the ``tracking.Tracker[Hand]`` of a ``PalmDetector`` and a ``HandLandmarker`` with those settings;
  ``process(image) -> tuple[Hand, ...]``.

Models follow ``tracking.ModelFn``: NHWC float32 in, outputs by name (defaults are the TFLite names).
The detector and landmark classes take ``cropper`` (an ``image_to_tensor.Cropper``, default
``OPENCV_CROPPER``): what turns the image and ROIs into the model's batch, in the model callable's type.
Images are RGB uint8 ``(H, W, 3)``.

Handedness: the model assumes a mirrored (selfie) image. ``mirrored=False`` (a normal camera or a video)
swaps the label so that ``Hand.handedness`` is the person's physical hand; the score is unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from livepose.vision._float32 import F32, atan2f, cosf, running_bounds, sinf
from livepose.vision._float32 import normalize_radians as normalize_radians_f32
from livepose.vision.anchors import PALM_ANCHORS, generate_anchor_centres
from livepose.vision.detection import PALM_DECODE, DecodeOptions, Detections, decode_detections, remove_letterbox
from livepose.vision.image_to_tensor import (
    HAND_LANDMARK_INPUT,
    PALM_DETECTOR_INPUT,
    OPENCV_CROPPER,
    Cropper,
)
from livepose.vision.landmarks import project_landmarks, rotate_world_landmarks, to_pixels
from livepose.vision.nms import weighted_nms
from livepose.vision.rects import (
    HAND_LANDMARKS_TO_ROI,
    PALM_TO_HAND_ROI,
    NormalizedRect,
    TrackedRoi,
    detection_to_rect,
    transform_rect,
)
from livepose.results import Hand
from livepose.vision.tracking import LandmarkStepOutput, ModelFn, Tracker, run_batched

__all__ = [
    "PalmOutputNames",
    "HandLandmarkOutputNames",
    "PALM_OUTPUTS",
    "HAND_LANDMARK_OUTPUTS",
    "NUM_HAND_LANDMARKS",
    "Hand",
    "PalmDetector",
    "HandLandmarker",
    "HandTracker",
    "hand_landmarks_to_rect",
]

NUM_HAND_LANDMARKS = 21
PALM_WRIST_KEYPOINT = 0
PALM_MIDDLE_MCP_KEYPOINT = 2
HAND_ROI_TARGET_ANGLE = math.pi / 2
# Wrist, thumb CMC/MCP/IP, and MCP + PIP of the four fingers: the joints that move little with the pose.
ROI_LANDMARKS = np.array([0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18])


@dataclass(frozen=True)
class PalmOutputNames:
    regressors: str = "Identity"
    scores: str = "Identity_1"


@dataclass(frozen=True)
class HandLandmarkOutputNames:
    landmarks: str = "Identity"
    presence: str = "Identity_1"
    handedness: str = "Identity_2"
    world_landmarks: str = "Identity_3"


PALM_OUTPUTS = PalmOutputNames()
HAND_LANDMARK_OUTPUTS = HandLandmarkOutputNames()


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class PalmDetector:
    """Palm detection post-processing around ``palm_detection_full``/``_lite`` (see module docstring)."""

    def __init__(
        self,
        model: ModelFn,
        *,
        cropper: Cropper = OPENCV_CROPPER,
        min_detection_confidence: float = 0.5,
        max_num_hands: int = 2,
        output_names: PalmOutputNames = PALM_OUTPUTS,
    ) -> None:
        self.model = model
        self.cropper = cropper
        self.max_num_objects = max_num_hands
        self.output_names = output_names
        self.decode_options = DecodeOptions(**{**PALM_DECODE.__dict__, "min_score": min_detection_confidence})
        self.anchors = generate_anchor_centres(PALM_ANCHORS)

    def detect(self, image: np.ndarray) -> Detections:
        batch, padding = self.cropper.letterbox(image, PALM_DETECTOR_INPUT)
        outputs = self.model(batch)
        detections = decode_detections(
            outputs[self.output_names.regressors][0], outputs[self.output_names.scores][0], self.anchors, self.decode_options
        )
        detections = weighted_nms(detections, iou_threshold=0.3)
        return remove_letterbox(detections.take(slice(0, self.max_num_objects)), padding)

    def rois(self, image: np.ndarray) -> list[NormalizedRect]:
        image_size = (image.shape[1], image.shape[0])
        detections = self.detect(image)
        return [
            transform_rect(
                detection_to_rect(
                    detections.boxes[i],
                    detections.keypoints[i],
                    image_size,
                    PALM_WRIST_KEYPOINT,
                    PALM_MIDDLE_MCP_KEYPOINT,
                    HAND_ROI_TARGET_ANGLE,
                ),
                image_size,
                PALM_TO_HAND_ROI,
            )
            for i in range(len(detections))
        ]


def hand_landmarks_to_rect(landmarks: np.ndarray, image_size: tuple[int, int]) -> NormalizedRect:
    """Next-frame hand ROI from ``(21, 2+)`` normalised landmarks, before ``HAND_LANDMARKS_TO_ROI``:
    a box around 12 stable joints, aligned with the wrist → mid-palm direction (computed in pixels)."""
    width_px, height_px = F32(image_size[0]), F32(image_size[1])
    points = np.asarray(landmarks, dtype=F32)[ROI_LANDMARKS, :2]
    two = F32(2)
    wrist_x, wrist_y = points[0, 0] * width_px, points[0, 1] * height_px
    # ROI_LANDMARKS positions 4, 6, 8 are the index, middle and ring MCPs.
    palm_x = ((points[4, 0] + points[8, 0]) / two + points[6, 0]) / two * width_px
    palm_y = ((points[4, 1] + points[8, 1]) / two + points[6, 1]) / two * height_px
    rotation = normalize_radians_f32(F32(HAND_ROI_TARGET_ANGLE) - atan2f(-(palm_y - wrist_y), palm_x - wrist_x))
    reverse = normalize_radians_f32(-rotation)

    min_x, max_x = running_bounds(points[:, 0])
    min_y, max_y = running_bounds(points[:, 1])
    center_x = (max_x + min_x) / two
    center_y = (max_y + min_y) / two
    # Express the points in the ROI's frame (rotate by -rotation, in pixels) to get the tight rotated box.
    offset_x = (points[:, 0] - center_x) * width_px
    offset_y = (points[:, 1] - center_y) * height_px
    cos_rev, sin_rev = cosf(reverse), sinf(reverse)
    min_px, max_px = running_bounds(offset_x * cos_rev - offset_y * sin_rev)
    min_py, max_py = running_bounds(offset_x * sin_rev + offset_y * cos_rev)
    box_center_x = (max_px + min_px) / two
    box_center_y = (max_py + min_py) / two
    cos_r, sin_r = cosf(rotation), sinf(rotation)
    rect_center_x = box_center_x * cos_r - box_center_y * sin_r + width_px * center_x
    rect_center_y = box_center_x * sin_r + box_center_y * cos_r + height_px * center_y
    return NormalizedRect(
        x_center=float(rect_center_x / width_px),
        y_center=float(rect_center_y / height_px),
        width=float((max_px - min_px) / width_px),
        height=float((max_py - min_py) / height_px),
        rotation=float(rotation),
    )


def hand_from_points(points: np.ndarray, score: float, roi: NormalizedRect, track_id: int) -> Hand:
    """A ``Hand`` from ``(21, 2)`` or ``(21, 3)`` pixel points in MediaPipe's order, from a model that gives no
    handedness, depth or world landmarks: ``"Unknown"``, score 0, z 0 (or the model's), zero world landmarks."""
    landmarks = np.zeros((21, 3))
    landmarks[:, :points.shape[1]] = points
    return Hand(_frozen(landmarks), _frozen(np.zeros((21, 3))), "Unknown", 0.0, score, roi, track_id)


def next_hand_roi(landmarks: np.ndarray, image_size: tuple[int, int]) -> NormalizedRect | None:
    """The next frame's ROI from a hand's ``(21, 2+)`` pixel landmarks, by MediaPipe's rule
    (``hand_landmarks_to_rect``, then ``HAND_LANDMARKS_TO_ROI``); ``None`` when it would be wider than twice
    the frame: points spread that far are a model that lost the hand (each frame's ROI doubles the last
    one's spread), which the palm detector should find again."""
    normalised = np.asarray(landmarks, np.float64)[:, :2] / np.array(image_size, np.float64)
    rect = transform_rect(hand_landmarks_to_rect(normalised, image_size), image_size, HAND_LANDMARKS_TO_ROI)
    return rect if max(rect.width * image_size[0], rect.height * image_size[1]) <= 2 * max(image_size) else None


class HandLandmarker:
    """The landmark step for hands (see module docstring)."""

    def __init__(
        self,
        model: ModelFn,
        *,
        cropper: Cropper = OPENCV_CROPPER,
        min_tracking_confidence: float = 0.5,
        mirrored: bool = False,
        max_batch: int | None = None,
        output_names: HandLandmarkOutputNames = HAND_LANDMARK_OUTPUTS,
    ) -> None:
        self.model = model
        self.cropper = cropper
        self.min_tracking_confidence = min_tracking_confidence
        self.mirrored = mirrored
        self.max_batch = max_batch
        self.output_names = output_names

    def __call__(self, image: np.ndarray, rois: Sequence[TrackedRoi]) -> LandmarkStepOutput[Hand]:
        if not rois:
            return LandmarkStepOutput((), ())
        rects = [roi.rect for roi in rois]
        batch, paddings = self.cropper.crops(image, rects, HAND_LANDMARK_INPUT)
        outputs = run_batched(self.model, batch, self.max_batch)
        names = self.output_names
        count = len(rois)
        presence = outputs[names.presence].reshape(count)
        # Strictly greater, as MediaPipe's ThresholdingCalculator.
        accepted = np.flatnonzero(presence > self.min_tracking_confidence)
        if accepted.size == 0:
            return LandmarkStepOutput((), ())

        accepted_rects = [rects[i] for i in accepted]
        raw = outputs[names.landmarks].reshape(count, NUM_HAND_LANDMARKS, 3)[accepted]
        normalised = project_landmarks(
            raw, accepted_rects, HAND_LANDMARK_INPUT.width, z_scale=0.4, paddings=paddings[accepted]
        )
        world = rotate_world_landmarks(
            outputs[names.world_landmarks].reshape(count, NUM_HAND_LANDMARKS, 3)[accepted], accepted_rects
        )
        # The model's score is for "Left" in a mirrored image; "Right" gets 1 - s.
        left_scores = outputs[names.handedness].reshape(count)[accepted]

        image_size = (image.shape[1], image.shape[0])
        hands: list[Hand] = []
        next_rois: list[TrackedRoi] = []
        for slot, index in enumerate(accepted):
            roi = rois[index]
            left_score = float(left_scores[slot])
            label_if_mirrored = "Left" if left_score > 0.5 else "Right"
            score = left_score if label_if_mirrored == "Left" else 1.0 - left_score
            label = label_if_mirrored if self.mirrored else {"Left": "Right", "Right": "Left"}[label_if_mirrored]
            hands.append(
                Hand(
                    landmarks=_frozen(to_pixels(normalised[slot], image_size)),
                    world_landmarks=_frozen(world[slot]),
                    handedness=label,
                    handedness_score=score,
                    presence=float(presence[index]),
                    roi=roi.rect,
                    track_id=roi.track_id,
                )
            )
            next_rect = transform_rect(hand_landmarks_to_rect(normalised[slot], image_size), image_size, HAND_LANDMARKS_TO_ROI)
            next_rois.append(TrackedRoi(next_rect, roi.track_id, False))
        return LandmarkStepOutput(tuple(hands), tuple(next_rois))


class HandTracker(Tracker[Hand]):
    """MediaPipe ``Hands`` on one thread: ``process(image) -> tuple[Hand, ...]``."""

    def __init__(
        self,
        palm_model: ModelFn,
        landmark_model: ModelFn,
        *,
        static_image_mode: bool = False,
        max_num_hands: int = 2,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        mirrored: bool = False,
        max_batch: int | None = None,
    ) -> None:
        super().__init__(
            PalmDetector(palm_model, min_detection_confidence=min_detection_confidence, max_num_hands=max_num_hands),
            HandLandmarker(
                landmark_model, min_tracking_confidence=min_tracking_confidence, mirrored=mirrored, max_batch=max_batch
            ),
            static_image_mode,
        )
