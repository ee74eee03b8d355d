"""Face detection and face mesh: MediaPipe's legacy ``FaceMesh`` solution around ``face_detection_short_range``
and ``face_landmark`` (468 landmarks), or ``face_landmark_with_attention`` with ``refine_landmarks`` (478).

Public API
----------
- ``FaceDetector(model, *, min_detection_confidence=0.5, max_num_faces=1, output_names=FACE_DETECTOR_OUTPUTS)``
  - ``max_num_objects``: ``max_num_faces``, which makes it a ``tracking.Detector``.
  - ``detect(image) -> Detections``: letterbox ([-1, 1] input, padding -1) → decode → weighted NMS →
    first ``max_num_faces``; 6 keypoints (right eye, left eye, nose tip, mouth, right ear, left ear).
  - ``rois(image) -> list[NormalizedRect]``: eye→eye rotation (target 0), square, scale 1.5.
- ``FaceLandmarker(model, *, min_tracking_confidence=0.5, max_batch=None, refine_landmarks=False, output_names=None)``:
  the landmark step; ``__call__(image, rois) -> LandmarkStepOutput[Face]``; faces whose
  ``sigmoid(face flag)`` is not > the threshold are dropped. With ``refine_landmarks`` the model is the
  attention one and its six heads are merged by ``face_refinement.refine_face_landmarks`` (same ROI).
- ``Face``: the frozen result (defined in ``livepose.results``).
- ``face_landmarks_to_rect(landmarks, image_size) -> NormalizedRect``: next-frame ROI from the 468 (or 478)
  landmarks (their bounding box, rotation from landmark 33 → 263), before ``FACE_LANDMARKS_TO_ROI``.
- ``FaceTracker(detector_model, landmark_model, *, static_image_mode=False, max_num_faces=1,
  min_detection_confidence=0.5, min_tracking_confidence=0.5, max_batch=None, refine_landmarks=False, cropper=OPENCV_CROPPER)``: the
  ``tracking.Tracker[Face]`` of a ``FaceDetector`` and a ``FaceLandmarker`` with those settings;
  ``process(image) -> tuple[Face, ...]``.

Models follow ``tracking.ModelFn``; images are RGB uint8 ``(H, W, 3)``.
The detector and landmark classes take ``cropper`` (an ``image_to_tensor.Cropper``, default
``OPENCV_CROPPER``): what turns the image and ROIs into the model's batch, in the model callable's type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from livepose.vision._float32 import F32, running_bounds
from livepose.vision.anchors import FACE_SHORT_RANGE_ANCHORS, generate_anchor_centres
from livepose.vision.detection import (
    FACE_SHORT_RANGE_DECODE,
    DecodeOptions,
    Detections,
    decode_detections,
    project_detections,
)
from livepose.vision.face_refinement import refine_face_landmarks
from livepose.vision.image_to_tensor import (
    FACE_DETECTOR_INPUT,
    FACE_LANDMARK_INPUT,
    OPENCV_CROPPER,
    Cropper,
    letterboxed_image_roi,
    sampled_roi,
)
from livepose.vision.landmarks import project_landmarks, to_pixels
from livepose.vision.nms import weighted_nms
from livepose.vision.rects import (
    FACE_DETECTION_TO_ROI,
    FACE_LANDMARKS_TO_ROI,
    NormalizedRect,
    TrackedRoi,
    detection_to_rect,
    transform_rect,
)
from livepose.results import Face
from livepose.vision.tracking import LandmarkStepOutput, ModelFn, Tracker, run_batched

__all__ = [
    "FaceDetectorOutputNames",
    "FaceLandmarkOutputNames",
    "FACE_DETECTOR_OUTPUTS",
    "FACE_LANDMARK_OUTPUTS",
    "FACE_ATTENTION_OUTPUTS",
    "FaceAttentionOutputNames",
    "NUM_FACE_LANDMARKS",
    "Face",
    "FaceDetector",
    "FaceLandmarker",
    "FaceTracker",
    "face_landmarks_to_rect",
]

NUM_FACE_LANDMARKS = 468
RIGHT_EYE_KEYPOINT, LEFT_EYE_KEYPOINT = 0, 1
RIGHT_EYE_OUTER_CORNER, LEFT_EYE_OUTER_CORNER = 33, 263
FACE_ROI_TARGET_ANGLE = 0.0


@dataclass(frozen=True)
class FaceDetectorOutputNames:
    regressors: str = "regressors"
    scores: str = "classificators"


@dataclass(frozen=True)
class FaceLandmarkOutputNames:
    landmarks: str = "conv2d_21"
    face_flag: str = "conv2d_31"


@dataclass(frozen=True)
class FaceAttentionOutputNames:
    """Outputs of ``face_landmark_with_attention`` (the model behind ``refine_landmarks``)."""

    landmarks: str = "output_mesh_identity"
    lips: str = "output_lips"
    left_eye: str = "output_left_eye"
    right_eye: str = "output_right_eye"
    left_iris: str = "output_left_iris"
    right_iris: str = "output_right_iris"
    face_flag: str = "conv_faceflag"


FACE_DETECTOR_OUTPUTS = FaceDetectorOutputNames()
FACE_LANDMARK_OUTPUTS = FaceLandmarkOutputNames()
FACE_ATTENTION_OUTPUTS = FaceAttentionOutputNames()


class FaceDetector:
    """Face detection post-processing around ``face_detection_short_range`` (see module docstring)."""

    def __init__(
        self,
        model: ModelFn,
        *,
        cropper: Cropper = OPENCV_CROPPER,
        min_detection_confidence: float = 0.5,
        max_num_faces: int = 1,
        output_names: FaceDetectorOutputNames = FACE_DETECTOR_OUTPUTS,
    ) -> None:
        self.model = model
        self.cropper = cropper
        self.max_num_objects = max_num_faces
        self.output_names = output_names
        self.decode_options = DecodeOptions(
            **{**FACE_SHORT_RANGE_DECODE.__dict__, "min_score": min_detection_confidence}
        )
        self.anchors = generate_anchor_centres(FACE_SHORT_RANGE_ANCHORS)

    def detect(self, image: np.ndarray) -> Detections:
        batch, _ = self.cropper.letterbox(image, FACE_DETECTOR_INPUT)
        outputs = self.model(batch)
        detections = decode_detections(
            outputs[self.output_names.regressors][0], outputs[self.output_names.scores][0], self.anchors, self.decode_options
        )
        detections = weighted_nms(detections, iou_threshold=0.3)
        # The face graph maps detections back with the crop's projection matrix (not letterbox removal).
        roi = letterboxed_image_roi(image.shape[1], image.shape[0], FACE_DETECTOR_INPUT)
        return project_detections(detections.take(slice(0, self.max_num_objects)), roi, (image.shape[1], image.shape[0]))

    def detect_in(self, image: np.ndarray, rect: NormalizedRect) -> Detections:
        """The faces in the crop of ``rect`` (Holistic's ``FaceDetectionShortRangeByRoi``), best first,
        mapped back to the image; all of them, not ``max_num_faces``."""
        batch, _ = self.cropper.crops(image, [rect], FACE_DETECTOR_INPUT)
        outputs = self.model(batch)
        detections = decode_detections(
            outputs[self.output_names.regressors][0], outputs[self.output_names.scores][0], self.anchors, self.decode_options
        )
        detections = weighted_nms(detections, iou_threshold=0.3)
        image_size = (image.shape[1], image.shape[0])
        return project_detections(detections, sampled_roi(rect, image_size, FACE_DETECTOR_INPUT), image_size)

    def rois(self, image: np.ndarray) -> list[NormalizedRect]:
        image_size = (image.shape[1], image.shape[0])
        detections = self.detect(image)
        return [
            transform_rect(
                detection_to_rect(
                    detections.boxes[i],
                    detections.keypoints[i],
                    image_size,
                    RIGHT_EYE_KEYPOINT,
                    LEFT_EYE_KEYPOINT,
                    FACE_ROI_TARGET_ANGLE,
                ),
                image_size,
                FACE_DETECTION_TO_ROI,
            )
            for i in range(len(detections))
        ]


def face_landmarks_to_rect(landmarks: np.ndarray, image_size: tuple[int, int]) -> NormalizedRect:
    """ROI around all face landmarks (normalised ``(N, 2+)``), rotated so the eye corners are level."""
    points = np.asarray(landmarks, dtype=F32)[:, :2]
    min_x, max_x = running_bounds(points[:, 0])
    min_y, max_y = running_bounds(points[:, 1])
    box = np.array([min_x, min_y, max_x - min_x, max_y - min_y], dtype=F32)
    return detection_to_rect(
        box, points, image_size, RIGHT_EYE_OUTER_CORNER, LEFT_EYE_OUTER_CORNER, FACE_ROI_TARGET_ANGLE
    )


class FaceLandmarker:
    """The landmark step for faces (see module docstring)."""

    def __init__(
        self,
        model: ModelFn,
        *,
        cropper: Cropper = OPENCV_CROPPER,
        min_tracking_confidence: float = 0.5,
        max_batch: int | None = None,
        refine_landmarks: bool = False,
        output_names: FaceLandmarkOutputNames | FaceAttentionOutputNames | None = None,
    ) -> None:
        self.model = model
        self.cropper = cropper
        self.min_tracking_confidence = min_tracking_confidence
        self.max_batch = max_batch
        self.refine_landmarks = refine_landmarks
        if output_names is None:
            output_names = FACE_ATTENTION_OUTPUTS if refine_landmarks else FACE_LANDMARK_OUTPUTS
        self.output_names = output_names

    def _raw_landmarks(self, outputs: dict[str, np.ndarray], count: int, accepted: np.ndarray) -> np.ndarray:
        """Landmarks in the model's input pixels, ``(len(accepted), 468 or 478, 3)``."""
        names = self.output_names
        mesh = outputs[names.landmarks].reshape(count, NUM_FACE_LANDMARKS, 3)[accepted]
        if not self.refine_landmarks:
            return mesh
        assert isinstance(names, FaceAttentionOutputNames)
        heads = [
            outputs[name].reshape(count, -1, 2)[accepted]
            for name in (names.lips, names.left_eye, names.right_eye, names.left_iris, names.right_iris)
        ]
        return np.stack([refine_face_landmarks(mesh[i], *(head[i] for head in heads)) for i in range(len(mesh))])

    def __call__(self, image: np.ndarray, rois: Sequence[TrackedRoi]) -> LandmarkStepOutput[Face]:
        if not rois:
            return LandmarkStepOutput((), ())
        rects = [roi.rect for roi in rois]
        batch, paddings = self.cropper.crops(image, rects, FACE_LANDMARK_INPUT)
        outputs = run_batched(self.model, batch, self.max_batch)
        count = len(rois)
        # The face flag is a logit (unlike the hand model's presence); no clipping in MediaPipe's graph.
        flag = outputs[self.output_names.face_flag].reshape(count).astype(F32)
        with np.errstate(over="ignore"):
            presence = F32(1) / (F32(1) + np.exp(-flag))
        accepted = np.flatnonzero(presence > self.min_tracking_confidence)
        if accepted.size == 0:
            return LandmarkStepOutput((), ())
        accepted_rects = [rects[i] for i in accepted]
        raw = self._raw_landmarks(outputs, count, accepted)
        normalised = project_landmarks(
            raw, accepted_rects, FACE_LANDMARK_INPUT.width, z_scale=1.0, paddings=paddings[accepted]
        )
        image_size = (image.shape[1], image.shape[0])
        faces: list[Face] = []
        next_rois: list[TrackedRoi] = []
        for slot, index in enumerate(accepted):
            roi = rois[index]
            landmarks = to_pixels(normalised[slot], image_size)
            landmarks.flags.writeable = False
            faces.append(Face(landmarks=landmarks, score=float(presence[index]), roi=roi.rect, track_id=roi.track_id))
            next_rect = transform_rect(face_landmarks_to_rect(normalised[slot], image_size), image_size, FACE_LANDMARKS_TO_ROI)
            next_rois.append(TrackedRoi(next_rect, roi.track_id, False))
        return LandmarkStepOutput(tuple(faces), tuple(next_rois))


class FaceTracker(Tracker[Face]):
    """MediaPipe ``FaceMesh`` (with its ``refine_landmarks``) on one thread: ``process(image) -> tuple[Face, ...]``."""

    def __init__(
        self,
        detector_model: ModelFn,
        landmark_model: ModelFn,
        *,
        static_image_mode: bool = False,
        max_num_faces: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        max_batch: int | None = None,
        refine_landmarks: bool = False,
        cropper: Cropper = OPENCV_CROPPER,
    ) -> None:
        super().__init__(
            FaceDetector(detector_model, cropper=cropper, min_detection_confidence=min_detection_confidence,
                         max_num_faces=max_num_faces),
            FaceLandmarker(
                landmark_model, cropper=cropper, min_tracking_confidence=min_tracking_confidence,
                max_batch=max_batch, refine_landmarks=refine_landmarks,
            ),
            static_image_mode,
        )
