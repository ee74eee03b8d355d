"""Face nodes: MediaPipe FaceMesh's face detection and 468-point face landmark steps."""

from __future__ import annotations

from typing import Any

import numpy as np

from livepose.graph.frame import Frame
from livepose.graph.node import param
from livepose.nodes.tracking import DetectorNode, LandmarkNode, open_model
from livepose.vision.face import FaceDetector, FaceLandmarker
from livepose.vision.rects import TrackedRoi
from livepose.vision.tracking import DetectionStep, LandmarkStepOutput


class FaceDetectorNode(DetectorNode):
    """Find faces while fewer than max_num_faces faces are tracked; emit this frame's face ROIs."""

    rois_result = "face_rois"
    detections_result = "face_detections"
    tracks_result = "face_tracks"

    max_num_faces: int = param(1, "most faces to track", ge=1)
    min_detection_confidence: float = param(0.5, "face score threshold", ge=0, le=1)
    model: str = param("mediapipe/face_detection_short_range", "zoo name or .onnx path")

    def build_step(self) -> DetectionStep:
        model = open_model(self.model, self.provider, self.threads)
        detector = FaceDetector(model, min_detection_confidence=self.min_detection_confidence,
                                max_num_faces=self.max_num_faces)
        return DetectionStep(detector.rois, self.max_num_faces)


class FaceLandmarksNode(LandmarkNode):
    """The 468-point face mesh (pixels, z in the scale of x) per face ROI."""

    rois_result = "face_rois"
    objects_result = "faces"
    tracks_result = "face_tracks"

    min_tracking_confidence: float = param(0.5, "face presence threshold", ge=0, le=1)
    model: str = param("mediapipe/face_landmark", "zoo name or .onnx path")
    parallel_faces: int = param(1, "faces of one frame run concurrently (1: one after the other)", ge=1)

    def setup(self) -> None:
        model = open_model(self.model, self.provider, self.threads, self.parallel_faces)
        self.landmarker = FaceLandmarker(model, min_tracking_confidence=self.min_tracking_confidence)

    def run_step(self, rgb: np.ndarray, rois: tuple[TrackedRoi, ...], frame: Frame) -> LandmarkStepOutput[Any]:
        return self.landmarker(rgb, rois)
