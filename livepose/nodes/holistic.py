"""The holistic node: MediaPipe Holistic's body pose, hands and face on one thread (``vision.holistic``),
with MediaPipe's parameter names and defaults. Like ``face_tracker``, one node with no feedback stream:
the hands and face follow the pose of the same frame, so the loop cannot be split over threads."""

from __future__ import annotations

from livepose import results
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.models.runtime import PROVIDERS
from livepose.nodes.face import FACE_ATTENTION_MODEL, FACE_LANDMARK_MODEL
from livepose.nodes.pose import POSE_DETECTION_MODEL, POSE_LANDMARK_MODELS
from livepose.nodes.tracking import STATIC_IMAGE_MODE_DOC, is_static, open_model, rgb_of
from livepose.vision.holistic import HolisticTracker
from livepose.vision.segmentation import empty_mask

HAND_RECROP_MODEL = "mediapipe/hand_recrop"
HAND_LANDMARK_MODEL = "mediapipe/hand_landmark_full"
FACE_DETECTION_MODEL = "mediapipe/face_detection_short_range"


class HolisticNode(Node):
    """Body pose, then both hands and the face from it: MediaPipe Holistic in one node."""

    inputs = ("frame",)
    outputs = ("frame",)
    reads = (results.STILL_IMAGE, results.RGB, results.MEDIA_TIME)
    writes = (results.RGB, results.POSES, results.HANDS, results.FACES, results.SEGMENTATION_MASK)

    model_complexity: int = param(1, "pose model: 0 lite, 1 full, 2 heavy", choices=(0, 1, 2))
    smooth_landmarks: bool = param(True, "filter the pose landmarks over time (MediaPipe's One Euro settings)")
    enable_segmentation: bool = param(False, "also write the person mask to results['segmentation_mask']")
    smooth_segmentation: bool = param(True, "steady the mask's uncertain edge with the previous frame's")
    refine_face_landmarks: bool = param(False, "478 face points: the irises added, eyes and lips refined")
    min_detection_confidence: float = param(0.5, "pose detection score threshold", ge=0, le=1)
    min_tracking_confidence: float = param(0.5, "pose presence threshold", ge=0, le=1)
    static_image_mode: bool | None = param(None, STATIC_IMAGE_MODE_DOC)
    provider: str = param("auto", "ONNX Runtime execution provider", choices=PROVIDERS)
    threads: int = param(1, "ONNX Runtime intra-op threads per model (0: one per core)", ge=0)
    parallel_parts: int = param(3, "how many of the two hands and the face run at once (1: one after the other)",
                                ge=1, le=3)

    def setup(self) -> None:
        face_model = FACE_ATTENTION_MODEL if self.refine_face_landmarks else FACE_LANDMARK_MODEL
        names = (POSE_DETECTION_MODEL, POSE_LANDMARK_MODELS[self.model_complexity], HAND_RECROP_MODEL,
                 HAND_LANDMARK_MODEL, FACE_DETECTION_MODEL, face_model)
        self.tracker = HolisticTracker(
            *(open_model(name, self.provider, self.threads).run for name in names),
            smooth_landmarks=self.smooth_landmarks, enable_segmentation=self.enable_segmentation,
            smooth_segmentation=self.smooth_segmentation, refine_face_landmarks=self.refine_face_landmarks,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence, parallel_parts=self.parallel_parts,
        )

    def process(self, frame: Frame) -> Frame:
        rgb = rgb_of(frame)
        self.tracker.static_image_mode = is_static(self.static_image_mode, frame)
        self.tracker.mirrored = frame.mirrored
        found = self.tracker.process(rgb, results.frame_time(frame))
        hands = tuple(hand for hand in (found.left_hand, found.right_hand) if hand is not None)
        added = {results.RGB: rgb, results.POSES: () if found.pose is None else (found.pose,),
                 results.HANDS: hands, results.FACES: () if found.face is None else (found.face,)}
        if self.enable_segmentation:
            # No body, no person: an all-background mask, so an effect reading it still gets one.
            mask = self.tracker.last_mask
            added[results.SEGMENTATION_MASK] = mask if mask is not None else empty_mask(frame.image.shape[:2])
        return frame.with_results(**added)

    def close(self) -> None:
        tracker = getattr(self, "tracker", None)  # absent when setup failed
        if tracker is not None:
            tracker.close()
