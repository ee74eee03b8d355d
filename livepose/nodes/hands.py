"""Hand nodes: MediaPipe Hands' palm detection and hand landmark steps (see ``nodes.tracking``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from livepose import results
from livepose.graph.frame import Frame
from livepose.graph.node import param
from livepose.nodes.tracking import MAX_BATCH_DOC, DetectorNode, LandmarkNode
from livepose.vision.hands import HandLandmarker, PalmDetector
from livepose.vision.rects import TrackedRoi
from livepose.vision.tracking import LandmarkStepOutput

PALM_MODELS = {0: "mediapipe/palm_detection_lite", 1: "mediapipe/palm_detection_full"}
HAND_LANDMARK_MODELS = {0: "mediapipe/hand_landmark_lite", 1: "mediapipe/hand_landmark_full"}


class PalmDetectorNode(DetectorNode):
    """Find palms while fewer than max_num_hands hands are tracked; emit this frame's hand ROIs."""

    reads = (results.STILL_IMAGE, results.RGB, results.HAND_TRACKS)
    writes = (results.RGB, results.HAND_ROIS, results.PALMS)
    rois_result = results.HAND_ROIS
    detections_result = results.PALMS
    tracks_result = results.HAND_TRACKS
    detector_class = PalmDetector
    detector_params = ("min_detection_confidence", "max_num_hands")
    models_by_complexity = PALM_MODELS

    max_num_hands: int = param(2, "most hands to track", ge=1)
    min_detection_confidence: float = param(0.5, "palm score threshold", ge=0, le=1)
    model_complexity: int = param(1, "0: lite model, 1: full model", choices=(0, 1))
    model: str = param("", "zoo name or .onnx path; empty: chosen by model_complexity")


class HandLandmarksNode(LandmarkNode):
    """21 hand landmarks (pixels, z in the scale of x), world landmarks and handedness per hand ROI."""

    requires = (results.HAND_ROIS,)
    reads = (results.RGB,)
    writes = {"frame": (results.HANDS,), "tracked": (results.HAND_TRACKS,)}
    rois_result = results.HAND_ROIS
    objects_result = results.HANDS
    tracks_result = results.HAND_TRACKS
    landmarker_class = HandLandmarker
    landmarker_params = ("min_tracking_confidence",)
    parallel_param = "parallel_hands"
    batch_param = "max_batch"
    models_by_complexity = HAND_LANDMARK_MODELS

    min_tracking_confidence: float = param(0.5, "hand presence threshold", ge=0, le=1)
    model_complexity: int = param(1, "0: lite model, 1: full model", choices=(0, 1))
    model: str = param("", "zoo name or .onnx path; empty: chosen by model_complexity")
    parallel_hands: int = param(2, "hands of one frame run concurrently (1: one after the other)", ge=1)
    max_batch: int = param(1, MAX_BATCH_DOC, ge=1)

    def run_step(self, rgb: np.ndarray, rois: tuple[TrackedRoi, ...], frame: Frame) -> LandmarkStepOutput[Any]:
        # Handedness depends on whether this frame was mirrored, which a source may change per frame.
        self.landmarker.mirrored = frame.mirrored
        return self.landmarker(rgb, rois)
