"""Face nodes: MediaPipe FaceMesh's face detection and 468-point (478 with ``refine_landmarks``) face landmark steps."""

from __future__ import annotations

from livepose import results
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.models.runtime import PROVIDERS
from livepose.nodes.tracking import (MAX_BATCH_DOC, PREPROCESS_CHOICES, PREPROCESS_DOC, STATIC_IMAGE_MODE_DOC,
                                     DetectorNode, LandmarkNode, is_static, node_params, open_model, rgb_of)
from livepose.vision.face import FaceDetector, FaceLandmarker, FaceTracker

FACE_DETECTOR_PARAMS = ("min_detection_confidence", "max_num_faces")
FACE_LANDMARKER_PARAMS = ("min_tracking_confidence", "refine_landmarks")
FACE_LANDMARK_MODEL = "mediapipe/face_landmark"
# What FaceMesh(refine_landmarks=True) runs: the mesh plus lips, eyes and irises (478 points).
FACE_ATTENTION_MODEL = "mediapipe/face_landmark_with_attention"
REFINE_LANDMARKS_DOC = "478 points: the irises added, eyes and lips refined (face_landmark_with_attention)"


def landmark_model_name(model: str, refine_landmarks: bool) -> str:
    """The default model follows ``refine_landmarks``; an explicitly chosen one is kept."""
    return FACE_ATTENTION_MODEL if refine_landmarks and model == FACE_LANDMARK_MODEL else model


class FaceDetectorNode(DetectorNode):
    """Find faces while fewer than max_num_faces faces are tracked; emit this frame's face ROIs."""

    reads = (results.STILL_IMAGE, results.RGB, results.FACE_TRACKS)
    writes = (results.RGB, results.FACE_ROIS, results.FACE_DETECTIONS)
    rois_result = results.FACE_ROIS
    detections_result = results.FACE_DETECTIONS
    tracks_result = results.FACE_TRACKS
    detector_class = FaceDetector
    detector_params = FACE_DETECTOR_PARAMS

    max_num_faces: int = param(1, "most faces to track", ge=1)
    min_detection_confidence: float = param(0.5, "face score threshold", ge=0, le=1)
    model: str = param("mediapipe/face_detection_short_range", "zoo name or .onnx path")


class FaceLandmarksNode(LandmarkNode):
    """The 468-point face mesh (478 with refine_landmarks; pixels, z in the scale of x) per face ROI."""

    requires = (results.FACE_ROIS,)
    reads = (results.RGB,)
    writes = {"frame": (results.FACES,), "tracked": (results.FACE_TRACKS,)}
    rois_result = results.FACE_ROIS
    objects_result = results.FACES
    tracks_result = results.FACE_TRACKS
    landmarker_class = FaceLandmarker
    landmarker_params = FACE_LANDMARKER_PARAMS
    parallel_param = "parallel_faces"
    batch_param = "max_batch"

    min_tracking_confidence: float = param(0.5, "face presence threshold", ge=0, le=1)
    refine_landmarks: bool = param(False, REFINE_LANDMARKS_DOC)
    model: str = param(FACE_LANDMARK_MODEL, "zoo name or .onnx path")
    parallel_faces: int = param(1, "faces of one frame run concurrently (1: one after the other)", ge=1)
    max_batch: int = param(1, MAX_BATCH_DOC, ge=1)

    def model_name(self) -> str:
        return landmark_model_name(self.model, self.refine_landmarks)


class FaceTrackerNode(Node):
    """Face detection and the face mesh in one node, tracked from frame to frame on one thread.

    The same algorithm and results as ``face_detector`` + ``face_landmarks`` joined by a feedback
    stream, without the hand-offs between two threads: the cheaper choice for a branch that is
    not the pipeline's bottleneck, and the one to run in a worker process (``process: {nice: 10}``).
    """

    inputs = ("frame",)
    outputs = ("frame",)
    reads = (results.STILL_IMAGE, results.RGB)
    writes = (results.FACES, results.FACE_ROIS, results.FACE_DETECTIONS)

    max_num_faces: int = param(1, "most faces to track", ge=1)
    min_detection_confidence: float = param(0.5, "face score threshold", ge=0, le=1)
    min_tracking_confidence: float = param(0.5, "face presence threshold", ge=0, le=1)
    static_image_mode: bool | None = param(None, STATIC_IMAGE_MODE_DOC)
    refine_landmarks: bool = param(False, REFINE_LANDMARKS_DOC)
    detector_model: str = param("mediapipe/face_detection_short_range", "zoo name or .onnx path")
    landmark_model: str = param(FACE_LANDMARK_MODEL, "zoo name or .onnx path")
    provider: str = param("auto", "ONNX Runtime execution provider", choices=PROVIDERS)
    threads: int = param(1, "ONNX Runtime intra-op threads per model (0: one per core)", ge=0)
    max_batch: int = param(1, MAX_BATCH_DOC, ge=1)
    preprocess: str = param("opencv", PREPROCESS_DOC, choices=PREPROCESS_CHOICES)

    def setup(self) -> None:
        landmark_model = landmark_model_name(self.landmark_model, self.refine_landmarks)
        batching = {"max_batch": self.max_batch} if self.max_batch > 1 else {}
        shared = self.ctx.camera_batching
        detector, cropper = open_model(self.detector_model, self.provider, self.threads, preprocess=self.preprocess,
                                       camera_batching=shared)
        landmarks, _ = open_model(landmark_model, self.provider, self.threads, max_batch=self.max_batch,
                                  preprocess=self.preprocess, camera_batching=shared)
        self.tracker = FaceTracker(detector, landmarks, cropper=cropper,
                                   **node_params(self, FACE_DETECTOR_PARAMS + FACE_LANDMARKER_PARAMS), **batching)

    def process(self, frame: Frame) -> Frame:
        # Decided per frame: whether a frame is a still travels with the frame.
        self.tracker.static_image_mode = is_static(self.static_image_mode, frame)
        rois, faces = self.tracker.step(rgb_of(frame))
        detected = tuple(roi for roi in rois if roi.from_detection)
        return frame.with_results(**{results.FACES: faces, results.FACE_ROIS: rois, results.FACE_DETECTIONS: detected})
