"""Nodes for keypoint models you bring: a top-down ONNX model and its card, run on another node's ROIs.

``keypoints`` reads the ROIs (or tracked objects) a node upstream wrote, crops each as the model card
says (MMPose's convention), runs the crops in batches and writes one :class:`livepose.results.Keypoints`
per ROI. ``hand_keypoints`` does the same for a 21-point hand model and also writes the points as
``hands`` in MediaPipe's order, so the tracker, the gestures, the effects and the visualizer take a
hand model trained on OneHand10K, FreiHAND or InterHand2.6M as they take MediaPipe's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from livepose import results
from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.models.keypoint_model import KeypointModel
from livepose.models.runtime import PROVIDERS
from livepose.nodes.tracking import rgb_of
from livepose.vision.layouts import HAND_LAYOUTS, index_map
from livepose.vision.hands import hand_from_points, next_hand_roi
from livepose.vision.rects import NormalizedRect, TrackedRoi
from livepose.vision.topdown import box_from_rect

ROI_RESULTS = (results.HAND_ROIS, results.PALMS, results.FACE_ROIS, results.FACE_DETECTIONS, results.POSE_ROIS,
               results.POSE_DETECTIONS, results.HANDS, results.FACES, results.POSES)


def _roi_and_id(item: Any) -> tuple[NormalizedRect, int]:
    """A TrackedRoi's rect and id, or a tracked object's (a Hand, Face or Pose: its roi and track_id)."""
    return (item.rect if hasattr(item, "rect") else item.roi), int(item.track_id)


class KeypointsNode(Node):
    """Run a top-down keypoint model you bring (an .onnx file and its .card.yaml) on each ROI of a frame."""

    inputs = ("frame",)
    outputs = ("frame",)
    reads = (results.RGB, *ROI_RESULTS)
    writes = (results.KEYPOINTS,)

    model: str = param(..., "the .onnx file; its card is beside it (x.onnx -> x.card.yaml)")
    card: str = param("", "the model card, when it is not beside the model")
    rois: str = param(results.HAND_ROIS, "the result whose regions the model runs on", choices=ROI_RESULTS)
    padding: float | None = param(None, "box enlargement before the crop (default: the card's; 1 for ROIs that "
                                        "MediaPipe's detectors have enlarged already)", gt=0, le=10)
    rotate: bool = param(True, "crop a rotated ROI upright (false: the ROI's axis-aligned box)")
    max_batch: int = param(8, "ROIs per model call (the model needs a dynamic batch axis for more than 1)", ge=1)
    provider: str = param("auto", "ONNX Runtime execution provider", choices=PROVIDERS)
    threads: int = param(1, "ONNX Runtime intra-op threads (0: one per core)", ge=0)

    def setup(self) -> None:
        self.keypoint_model = KeypointModel(self.model, self.card or None, max_batch=self.max_batch,
                                            padding=self.padding, provider=self.provider,
                                            intra_op_threads=self.threads, inter_op_threads=1)
        if self.ctx.camera_batching is not None:
            self.keypoint_model.share_calls(self.ctx.camera_batching)

    def process(self, frame: Frame) -> Frame:
        size = (frame.width, frame.height)
        # A region under a pixel (a tracked hand whose points collapsed) has nothing to crop.
        rois = [(rect, track_id) for rect, track_id in map(_roi_and_id, frame.results.get(self.rois, ()))
                if min(rect.width * size[0], rect.height * size[1]) >= 1]
        boxes = [box_from_rect(rect, size) for rect, _ in rois]
        if not self.rotate:
            boxes = [dataclasses.replace(box, rotation=0.0) for box in boxes]
        found = self.keypoint_model(rgb_of(frame), boxes)
        model = self.keypoint_model
        sets = tuple(results.Keypoints(model.card.layout, p.points, p.scores, float(np.mean(p.scores)), rect,
                                       track_id, model.name) for p, (rect, track_id) in zip(found, rois))
        return frame.with_results(**{results.KEYPOINTS: sets})


class HandKeypointsNode(KeypointsNode):
    """A 21-point hand model you bring: keypoints, and hands in MediaPipe's order, tracked frame to frame.

    Tracked as MediaPipe tracks its own: the ``tracked`` output carries the next frame's ROIs, from the points."""

    outputs = ("frame", "tracked")
    writes = {"frame": (results.KEYPOINTS, results.HANDS), "tracked": (results.HAND_TRACKS,)}

    min_score: float = param(0.3, "hands whose mean point score is below this are lost: left out of hands and "
                                  "not tracked, so the palm detector looks again", ge=0)

    def setup(self) -> None:
        super().setup()
        layout = self.keypoint_model.card.layout
        if layout not in HAND_LAYOUTS:
            raise UserError(f"{self.name}: hand_keypoints needs a 21-point hand layout ({', '.join(HAND_LAYOUTS)}), "
                            f"but the model's card says {layout}: use a keypoints node for it")
        self._to_mediapipe = index_map(layout, "mediapipe_hand")

    def process(self, frame: Frame) -> dict[str, Frame]:  # type: ignore[override]
        found = super().process(frame)
        size = (frame.width, frame.height)
        hands, tracks = [], []
        for item in found.results[results.KEYPOINTS]:
            if item.score < self.min_score or not np.isfinite(item.points).all():
                continue
            hand = hand_from_points(item.points[self._to_mediapipe], item.score, item.roi, item.track_id)
            hands.append(hand)
            if (rect := next_hand_roi(hand.landmarks, size)) is not None:
                tracks.append(TrackedRoi(rect, item.track_id, False))
        return {"frame": found.with_results(**{results.HANDS: tuple(hands)}),
                "tracked": frame.with_results(**{results.HAND_TRACKS: tuple(tracks)})}
