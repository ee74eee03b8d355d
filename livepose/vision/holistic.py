"""Holistic: MediaPipe's legacy ``Holistic`` solution: the body pose, then each hand and the face found
from the pose's landmarks, as its ``holistic_landmark_cpu`` graph does (MediaPipe 0.10.21, subgraphs as
compiled into the wheel's ``_framework_bindings``; numbers there).

Per frame, after the pose (``vision.pose.PoseTracker``, whose filtered landmarks drive the rest):

- each hand, while the pose's wrist is visible (visibility > 0.1): a ROI from the pose's wrist, pinky
  and index points (centre the estimated middle finger, (2 index + pinky) / 3, side twice its
  distance to the wrist, turned so wrist → middle points up), scaled 2.7 and shifted up 0.1; the
  ``hand_recrop`` model on that crop gives two points whose alignment ROI (-90°, shift up 0.1) is the
  *re-crop* ROI; the previous frame's hand ROI is kept instead while the hand stays close to it
  (``keep_tracking``: rotation 40°, translation 0.2, scale 0.4 of the re-crop ROI, previous landmarks
  inside it shrunk by 10 %); the hand landmark model runs on the chosen ROI;
- the face: the box of the pose's 11 face points, turned so its eyes (points 5 → 2) are level, scaled
  3; the short-range face detector on that crop; the first face's ROI from the box of its keypoints
  (eyes level, scaled 2, shifted up 0.1) is the re-crop ROI; tracking as for hands (15°, 0.1, 0.3, 20 %);
  the face mesh on the chosen ROI. No face detection, no face that frame.

"Left" and "right" hands are the person's, from the pose's left and right wrists: ``Hand.handedness``
says which (``handedness_score`` is the hand model's confidence in that label). With ``mirrored`` set
(a selfie view) the pose's sides are swapped to stay the person's, and the hands follow.

Public API
----------
- ``hand_rect_from_pose(wrist, pinky, index, image_size)``, ``face_rect_from_pose(points, image_size)``,
  ``keypoints_rect(keypoints, image_size, start, end, target_angle)``: ROIs as MediaPipe's calculators
  make them (normalised points in, ``NormalizedRect`` out, before their ``RectTransform``).
- ``TrackingLimits``, ``HAND_TRACKING``, ``FACE_TRACKING``, ``keep_tracking(...)``: ``RoiTrackingCalculator``.
- ``HandRecropper(model)``: ``__call__(image, rect) -> NormalizedRect`` the re-crop ROI.
- ``HolisticTracker(pose_detector, pose_landmark, hand_recrop, hand_landmark, face_detector,
  face_landmark, *, smooth_landmarks=True, enable_segmentation=False, smooth_segmentation=True,
  refine_face_landmarks=False, min_detection_confidence=0.5, min_tracking_confidence=0.5,
  static_image_mode=False, parallel_parts=1)``: ``process(image, timestamp=None) -> HolisticResult``;
  ``last_mask``; ``mirrored`` and ``static_image_mode`` (settable per frame); ``close()``.
  ``parallel_parts`` (1 to 3): how many of the two hands and the face run at once.
- ``HolisticResult``: ``pose``, ``left_hand``, ``right_hand``, ``face`` (each ``None`` when absent).
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from livepose.results import Face, Hand, Pose, PoseLandmark
from livepose.vision._float32 import F32, running_bounds
from livepose.vision.face import FaceDetector, FaceLandmarker
from livepose.vision.hands import HandLandmarker
from livepose.vision.image_to_tensor import OPENCV_CROPPER, Cropper, TensorSpec
from livepose.vision.landmarks import project_landmarks
from livepose.vision.pose import PoseTracker
from livepose.vision.rects import (
    NormalizedRect,
    RectTransform,
    TrackedRoi,
    alignment_points_rect,
    detection_to_rect,
    rotation_from_points,
    transform_rect,
)
from livepose.vision.tracking import ModelFn

__all__ = [
    "FACE_TRACKING",
    "HAND_TRACKING",
    "HandRecropper",
    "HolisticResult",
    "HolisticTracker",
    "TrackingLimits",
    "face_rect_from_pose",
    "hand_rect_from_pose",
    "keep_tracking",
    "keypoints_rect",
]

HAND_FROM_POSE_TO_ROI = RectTransform(scale_x=2.7, scale_y=2.7, shift_y=-0.1, square_long=True)
HAND_RECROP_TO_ROI = RectTransform(scale_x=1.0, scale_y=1.0, shift_y=-0.1, square_long=True)
FACE_FROM_POSE_TO_ROI = RectTransform(scale_x=3.0, scale_y=3.0, square_long=True)
FACE_DETECTION_TO_RECROP_ROI = RectTransform(scale_x=2.0, scale_y=2.0, shift_y=-0.1, square_long=True)
HAND_RECROP_INPUT = TensorSpec(256, 256, 0.0, 1.0, keep_aspect_ratio=True, border="replicate")
MIN_WRIST_VISIBILITY = 0.1
FACE_FROM_POSE_POINTS = slice(0, 11)
# In the pose's face points: 5 is the right eye's outer corner, 2 the left eye's (PoseLandmark).
FACE_FROM_POSE_START, FACE_FROM_POSE_END = 5, 2


@dataclass(frozen=True)
class TrackingLimits:
    """How far the re-crop ROI may stray from the previous ROI for the previous one to be kept: degrees,
    and translation and scale as fractions of the re-crop ROI; ``margin`` grows (or shrinks, negative)
    the re-crop ROI that the previous landmarks must lie in."""

    rotation_degrees: float
    translation: float
    scale: float
    margin: float


HAND_TRACKING = TrackingLimits(40.0, 0.2, 0.4, -0.1)
FACE_TRACKING = TrackingLimits(15.0, 0.1, 0.3, -0.2)


def hand_rect_from_pose(wrist: np.ndarray, pinky: np.ndarray, index: np.ndarray,
                        image_size: tuple[int, int]) -> NormalizedRect:
    """``HandDetectionsFromPoseToRectsCalculator`` (0.10.21): the hand's ROI from three normalised pose points."""
    width, height = F32(image_size[0]), F32(image_size[1])
    x_wrist, y_wrist = F32(wrist[0]) * width, F32(wrist[1]) * height
    x_index, y_index = F32(index[0]) * width, F32(index[1]) * height
    x_pinky, y_pinky = F32(pinky[0]) * width, F32(pinky[1]) * height
    x_middle = (F32(2) * x_index + x_pinky) / F32(3)
    y_middle = (F32(2) * y_index + y_pinky) / F32(3)
    dx, dy = x_middle - x_wrist, y_middle - y_wrist
    box_size = np.sqrt(dx * dx + dy * dy) * F32(2)
    return NormalizedRect(
        x_center=float(x_middle / width),
        y_center=float(y_middle / height),
        width=float(box_size / width),
        height=float(box_size / height),
        rotation=rotation_from_points(x_wrist, y_wrist, x_middle, y_middle, math.pi / 2),
    )


def _box_of(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=F32)
    min_x, max_x = running_bounds(points[:, 0])
    min_y, max_y = running_bounds(points[:, 1])
    return np.array([min_x, min_y, max_x - min_x, max_y - min_y], dtype=F32)


def keypoints_rect(keypoints: np.ndarray, image_size: tuple[int, int], start: int, end: int,
                   target_angle: float) -> NormalizedRect:
    """``DetectionsToRectsCalculator`` on a detection whose box is its keypoints' box (``LandmarksToDetection``,
    or ``conversion_mode: USE_KEYPOINTS``), turned so ``start`` → ``end`` points at ``target_angle``."""
    points = np.asarray(keypoints, dtype=F32)[:, :2]
    return detection_to_rect(_box_of(points), points, image_size, start, end, target_angle)


def face_rect_from_pose(points: np.ndarray, image_size: tuple[int, int]) -> NormalizedRect:
    """``FaceLandmarksFromPoseToRecropRoi``: the box of the pose's 11 face points, eyes level, scaled 3."""
    rect = keypoints_rect(points, image_size, FACE_FROM_POSE_START, FACE_FROM_POSE_END, 0.0)
    return transform_rect(rect, image_size, FACE_FROM_POSE_TO_ROI)


def _rotated(x: float, y: float, cos_a: float, sin_a: float) -> tuple[float, float]:
    return x * cos_a - y * sin_a, x * sin_a + y * cos_a


def keep_tracking(previous_landmarks: np.ndarray, previous_rect: NormalizedRect, recrop_rect: NormalizedRect,
                  image_size: tuple[int, int], limits: TrackingLimits) -> bool:
    """``RoiTrackingCalculator``: whether the previous frame's ROI may be used again instead of ``recrop_rect``
    (normalised ``previous_landmarks``; translations measured along the re-crop ROI's axes)."""
    width, height = image_size
    angle = -recrop_rect.rotation
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    prev_x, prev_y = _rotated(previous_rect.x_center * width, previous_rect.y_center * height, cos_a, sin_a)
    rect_x, rect_y = _rotated(recrop_rect.x_center * width, recrop_rect.y_center * height, cos_a, sin_a)
    rect_w, rect_h = recrop_rect.width * width, recrop_rect.height * height
    rotation_diff = math.degrees(previous_rect.rotation) - math.degrees(recrop_rect.rotation)
    if rotation_diff > 180.0:
        rotation_diff -= 360.0
    if rotation_diff < -180.0:
        rotation_diff += 360.0
    if (abs(rotation_diff) > limits.rotation_degrees
            or abs(prev_x - rect_x) > rect_w * limits.translation
            or abs(prev_y - rect_y) > rect_h * limits.translation
            or abs(previous_rect.width * width - rect_w) > rect_w * limits.scale
            or abs(previous_rect.height * height - rect_h) > rect_h * limits.scale):
        return False
    half_w, half_h = rect_w * (1.0 + limits.margin) / 2, rect_h * (1.0 + limits.margin) / 2
    points = np.asarray(previous_landmarks, dtype=np.float64)[:, :2] * (width, height)
    x = points[:, 0] * cos_a - points[:, 1] * sin_a
    y = points[:, 0] * sin_a + points[:, 1] * cos_a
    return bool(np.all((rect_x - half_w < x) & (x < rect_x + half_w) & (rect_y - half_h < y) & (y < rect_y + half_h)))


class HandRecropper:
    """``HandRecropByRoiCpu``: the ``hand_recrop`` model's two points on a hand crop, as the re-crop ROI."""

    def __init__(self, model: ModelFn, output_name: str = "output_crop", cropper: Cropper = OPENCV_CROPPER) -> None:
        self.model = model
        self.cropper = cropper
        self.output_name = output_name

    def __call__(self, image: np.ndarray, rect: NormalizedRect) -> NormalizedRect:
        batch, paddings = self.cropper.crops(image, [rect], HAND_RECROP_INPUT)
        raw = np.asarray(self.model(batch)[self.output_name], dtype=F32).reshape(1, 2, 2)
        crop_pixels = np.concatenate([raw, np.zeros((1, 2, 1), F32)], axis=2)
        image_size = (image.shape[1], image.shape[0])
        points = project_landmarks(crop_pixels, [rect], HAND_RECROP_INPUT.width, 1.0, paddings)[0]
        aligned = alignment_points_rect(points, image_size, 0, 1, -math.pi / 2)
        return transform_rect(aligned, image_size, HAND_RECROP_TO_ROI)


@dataclass(frozen=True)
class HolisticResult:
    pose: Pose | None
    left_hand: Hand | None
    right_hand: Hand | None
    face: Face | None


class _TrackedPart:
    """One hand or the face: the previous frame's landmarks (normalised) and the ROI made from them."""

    def __init__(self, limits: TrackingLimits) -> None:
        self.limits = limits
        self.landmarks: np.ndarray | None = None
        self.rect: NormalizedRect | None = None

    def choose(self, recrop: NormalizedRect, image_size: tuple[int, int]) -> NormalizedRect:
        if self.landmarks is None or self.rect is None:
            return recrop
        return self.rect if keep_tracking(self.landmarks, self.rect, recrop, image_size, self.limits) else recrop

    def remember(self, landmarks_px: np.ndarray | None, next_rect: NormalizedRect | None,
                 image_size: tuple[int, int]) -> None:
        self.rect = next_rect
        self.landmarks = None if landmarks_px is None else np.asarray(landmarks_px)[:, :2] / np.array(image_size)


class HolisticTracker:
    """MediaPipe ``Holistic`` on one thread (see module docstring)."""

    def __init__(
        self,
        pose_detector_model: ModelFn,
        pose_landmark_model: ModelFn,
        hand_recrop_model: ModelFn,
        hand_landmark_model: ModelFn,
        face_detector_model: ModelFn,
        face_landmark_model: ModelFn,
        *,
        smooth_landmarks: bool = True,
        enable_segmentation: bool = False,
        smooth_segmentation: bool = True,
        refine_face_landmarks: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        static_image_mode: bool = False,
        parallel_parts: int = 1,
    ) -> None:
        self.pose = PoseTracker(
            pose_detector_model, pose_landmark_model, static_image_mode=static_image_mode,
            smooth_landmarks=smooth_landmarks, enable_segmentation=enable_segmentation,
            smooth_segmentation=smooth_segmentation, min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self.recropper = HandRecropper(hand_recrop_model)
        self.hand_landmarker = HandLandmarker(hand_landmark_model)
        self.face_detector = FaceDetector(face_detector_model)
        self.face_landmarker = FaceLandmarker(face_landmark_model, refine_landmarks=refine_face_landmarks)
        self._hands = {"left": _TrackedPart(HAND_TRACKING), "right": _TrackedPart(HAND_TRACKING)}
        self._face = _TrackedPart(FACE_TRACKING)
        # The hands and the face depend on the pose only, not on each other: with parallel_parts > 1 they
        # run concurrently (onnxruntime releases the GIL), the calling thread taking one of them.
        helpers = min(max(parallel_parts, 1), 3) - 1
        self._pool = ThreadPoolExecutor(helpers, thread_name_prefix="livepose-holistic") if helpers else None

    def close(self) -> None:
        """Stop the helper threads (``parallel_parts`` > 1)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    @property
    def last_mask(self) -> np.ndarray | None:
        return self.pose.last_mask

    @property
    def static_image_mode(self) -> bool:
        """Detect afresh on every frame: no tracking of pose, hands or face, no smoothing (settable per frame)."""
        return self.pose.static_image_mode

    @static_image_mode.setter
    def static_image_mode(self, value: bool) -> None:
        self.pose.static_image_mode = value

    @property
    def mirrored(self) -> bool:
        return self.pose.landmarker.mirrored

    @mirrored.setter
    def mirrored(self, value: bool) -> None:
        self.pose.landmarker.mirrored = value

    def process(self, image: np.ndarray, timestamp: float | None = None) -> HolisticResult:
        """The body, hands and face in one RGB uint8 frame (``timestamp`` as ``PoseTracker.process``)."""
        image_size = (image.shape[1], image.shape[0])
        poses = self.pose.process(image, timestamp)
        parts = [*self._hands.values(), self._face]
        if self.static_image_mode or not poses:
            for part in parts:
                part.remember(None, None, image_size)
        if not poses:
            return HolisticResult(None, None, None, None)
        pose = poses[0]
        normalised = pose.landmarks[:, :2] / np.array(image_size)
        jobs = [lambda: self._face_of(image, normalised, image_size),
                lambda: self._hand(image, pose, normalised, "left", image_size),
                lambda: self._hand(image, pose, normalised, "right", image_size)]
        if self._pool is None:
            face, left, right = (job() for job in jobs)
        else:
            pending = [self._pool.submit(job) for job in jobs[1:]]
            face = jobs[0]()
            left, right = (future.result() for future in pending)
        return HolisticResult(pose, left, right, face)

    def _hand(self, image: np.ndarray, pose: Pose, normalised: np.ndarray, side: str,
              image_size: tuple[int, int]) -> Hand | None:
        part = self._hands[side]
        wrist, pinky, index = (PoseLandmark[f"{side.upper()}_{name}"] for name in ("WRIST", "PINKY", "INDEX"))
        if not pose.visibility[wrist] > MIN_WRIST_VISIBILITY:
            part.remember(None, None, image_size)
            return None
        from_pose = transform_rect(hand_rect_from_pose(normalised[wrist], normalised[pinky], normalised[index],
                                                       image_size), image_size, HAND_FROM_POSE_TO_ROI)
        rect = part.choose(self.recropper(image, from_pose), image_size)
        found = self.hand_landmarker(image, [TrackedRoi(rect, 0 if side == "left" else 1, False)])
        hand = found.objects[0] if found.objects else None
        part.remember(None if hand is None else hand.landmarks, found.next_rois[0].rect if hand else None, image_size)
        if hand is None:
            return None
        label = side.title()
        score = hand.handedness_score if hand.handedness == label else 1.0 - hand.handedness_score
        return dataclasses.replace(hand, handedness=label, handedness_score=score)

    def _face_of(self, image: np.ndarray, normalised: np.ndarray, image_size: tuple[int, int]) -> Face | None:
        from_pose = face_rect_from_pose(normalised[FACE_FROM_POSE_POINTS], image_size)
        detections = self.face_detector.detect_in(image, from_pose)
        if len(detections) == 0:
            self._face.remember(None, None, image_size)
            return None
        recrop = transform_rect(keypoints_rect(detections.keypoints[0], image_size, 0, 1, 0.0), image_size,
                                FACE_DETECTION_TO_RECROP_ROI)
        rect = self._face.choose(recrop, image_size)
        found = self.face_landmarker(image, [TrackedRoi(rect, 0, False)])
        face = found.objects[0] if found.objects else None
        self._face.remember(None if face is None else face.landmarks, found.next_rois[0].rect if face else None,
                            image_size)
        return face
