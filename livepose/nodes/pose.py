"""Body pose nodes: MediaPipe Pose's detection and landmark steps (see ``nodes.tracking``), with
MediaPipe's parameter names and defaults.

``pose_landmarks`` smooths on the frames' own clock (``results.frame_time``: a file's timestamps,
else capture time), where MediaPipe's Python solution assumes 30 fps whatever the video's rate;
``vision.pose.PoseLandmarker`` does that when given no timestamp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from livepose import results
from livepose.graph.frame import Frame
from livepose.graph.node import param
from livepose.nodes.tracking import DetectorNode, LandmarkNode, is_static
from livepose.vision.pose import PoseDetector, PoseLandmarker, PoseStepOutput
from livepose.vision.rects import TrackedRoi
from livepose.vision.segmentation import empty_mask

POSE_DETECTION_MODEL = "mediapipe/pose_detection"
# MediaPipe Pose's model_complexity: 1 is the wheel's model; 0 and 2 come from the npm package @mediapipe/pose.
POSE_LANDMARK_MODELS = {0: "mediapipe/pose_landmark_lite", 1: "mediapipe/pose_landmark_full",
                        2: "mediapipe/pose_landmark_heavy"}


class PoseDetectorNode(DetectorNode):
    """Find a body while none is tracked; emit this frame's body ROI (at most one, as MediaPipe Pose)."""

    reads = (results.STILL_IMAGE, results.RGB, results.POSE_TRACKS)
    writes = (results.RGB, results.POSE_ROIS, results.POSE_DETECTIONS)
    rois_result = results.POSE_ROIS
    detections_result = results.POSE_DETECTIONS
    tracks_result = results.POSE_TRACKS
    detector_class = PoseDetector
    detector_params = ("min_detection_confidence",)

    min_detection_confidence: float = param(0.5, "pose detection score threshold", ge=0, le=1)
    model: str = param(POSE_DETECTION_MODEL, "zoo name or .onnx path")


class PoseLandmarksNode(LandmarkNode):
    """33 body landmarks with visibility and presence, world landmarks in metres, optionally a person mask.

    Landmarks in pixels, z in the scale of x; the mask (enable_segmentation) frame-sized, zero without a body.
    """

    requires = (results.POSE_ROIS,)
    reads = (results.RGB, results.STILL_IMAGE, results.MEDIA_TIME)
    writes = {"frame": (results.POSES, results.SEGMENTATION_MASK), "tracked": (results.POSE_TRACKS,)}
    rois_result = results.POSE_ROIS
    objects_result = results.POSES
    tracks_result = results.POSE_TRACKS
    landmarker_class = PoseLandmarker
    landmarker_params = ("min_tracking_confidence", "smooth_landmarks", "enable_segmentation", "smooth_segmentation")
    models_by_complexity = POSE_LANDMARK_MODELS

    min_tracking_confidence: float = param(0.5, "pose presence threshold", ge=0, le=1)
    model_complexity: int = param(1, "0: lite model, 1: full model, 2: heavy model (most accurate, slowest)",
                                  choices=(0, 1, 2))
    smooth_landmarks: bool = param(True, "filter landmarks over time to reduce jitter (MediaPipe's One Euro settings)")
    enable_segmentation: bool = param(False, "also write the person mask to results['segmentation_mask']")
    smooth_segmentation: bool = param(True, "steady the mask's uncertain edge with the previous frame's")
    static_image_mode: bool | None = param(None, "no smoothing across frames (default: stills from an image folder)")
    model: str = param("", "zoo name or .onnx path; empty: chosen by model_complexity")

    def run_step(self, rgb: np.ndarray, rois: tuple[TrackedRoi, ...], frame: Frame) -> PoseStepOutput:
        still = is_static(self.static_image_mode, frame)
        # Left and right follow the person, whether or not this frame was mirrored.
        self.landmarker.mirrored = frame.mirrored
        return self.landmarker(rgb, rois, results.frame_time(frame), smooth=not still)

    def frame_results(self, found: Any, frame: Frame) -> dict[str, Any]:
        added: dict[str, Any] = {results.POSES: found.objects}
        if self.enable_segmentation:
            mask = found.segmentation_mask
            # No body, no person: an all-background mask, so an effect reading it still gets one.
            added[results.SEGMENTATION_MASK] = mask if mask is not None else empty_mask(frame.image.shape[:2])
        return added
