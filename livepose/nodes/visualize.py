"""The visualizer node: draws what the other nodes found, and the FPS/latency overlay."""

from __future__ import annotations

from typing import Any

from livepose import results
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.render.draw import (BoxStyle, FaceStyle, HandStyle, OverlayStyle, draw_overlay, draw_rois,
                                  overlay_lines, overlay_rect, parse_color)
from livepose.render.gestures import GestureStyle, draw_hands_faces_and_gestures
from livepose.render.keypoints import KeypointStyle, draw_keypoints
from livepose.render.mask import tint_mask
from livepose.render.pose import PoseStyle, draw_poses

DETECTION_RESULTS = (results.PALMS, results.FACE_DETECTIONS, results.POSE_DETECTIONS)
"""Results whose items are detections with a rotated rectangle (drawn as boxes)."""
TRACKED_RESULTS = (results.HANDS, results.FACES, results.POSES)


def rect_of(item: Any) -> Any | None:
    """The rotated rectangle of a result item: the item itself (``x_center``...), or its
    ``roi`` or ``rect`` attribute; ``None`` if it has none."""
    if hasattr(item, "x_center"):
        return item
    return getattr(item, "roi", None) or getattr(item, "rect", None)


class Visualize(Node):
    """Draw hands, faces, body poses, your models' keypoints, detection boxes and an FPS/latency overlay."""

    inputs = ("frame",)
    outputs = ("frame",)
    reads = (*TRACKED_RESULTS, *DETECTION_RESULTS, results.KEYPOINTS, results.GESTURES, results.SEGMENTATION_MASK)
    writes = ()

    hands: bool = param(True, "draw the hand skeletons")
    pose: bool = param(True, "draw the body skeleton (its visible points)")
    keypoints: bool = param(True, "draw the keypoints of models you bring, with their layout's skeleton")
    keypoint_min_score: float = param(0.3, "keypoints scored below this are not drawn", ge=0)
    keypoint_color: str = param("#ffdc50", "colour of the bones of keypoints")
    mask: bool = param(False, "tint the person mask (segmentation_mask, from selfie_segmentation or a pose node)")
    face: str = param("mesh", "face drawing: full mesh tessellation, contours, sparse points or off",
                      choices=("mesh", "contours", "points", "off"))
    boxes: bool = param(True, "draw rotated boxes of detections and of the tracked regions")
    labels: bool = param(True, "write handedness, track ID and score beside hands and faces")
    gestures: bool = param(True, "write each hand's gesture above it (from a gestures node upstream)")
    overlay: bool = param(True, "show frame rate and end-to-end latency in the corner")
    thickness: int = param(2, "line width of hand bones and boxes, in pixels", ge=1, le=20)
    antialias: bool = param(True, "smooth lines (about twice the drawing cost)")
    left_color: str = param("#3cc83c", "colour of left hands and the body's left side (#RRGGBB or a name)")
    right_color: str = param("#288ce6", "colour of right hands and the body's right side")
    face_color: str = param("#ffdc50", "colour of face contours and points")
    mesh_color: str = param("#c8c8c8", "colour of the face mesh lines")
    box_color: str = param("#ffc800", "colour of the rotated boxes")
    mask_color: str = param("#3c78ff", "colour of the person mask's tint")

    def __init__(self, name: str | None = None, **params: Any) -> None:
        super().__init__(name, **params)
        # Colours are checked here, when the pipeline is built, not on the first frame.
        self._hand_style = HandStyle(left_color=parse_color(self.left_color),
                                     right_color=parse_color(self.right_color),
                                     thickness=self.thickness, labels=self.labels, antialias=self.antialias)
        self._face_style = FaceStyle(mode="mesh" if self.face == "off" else self.face,  # type: ignore[arg-type]
                                     mesh_color=parse_color(self.mesh_color),
                                     contour_color=parse_color(self.face_color),
                                     labels=self.labels, antialias=self.antialias)
        self._box_style = BoxStyle(color=parse_color(self.box_color), thickness=max(1, self.thickness - 1),
                                   antialias=self.antialias)
        self._pose_style = PoseStyle(left_color=self._hand_style.left_color, right_color=self._hand_style.right_color,
                                     thickness=self.thickness, antialias=self.antialias)
        self._mask_color = parse_color(self.mask_color)
        self._keypoint_style = KeypointStyle(bone_color=parse_color(self.keypoint_color), thickness=self.thickness,
                                             min_score=self.keypoint_min_score, antialias=self.antialias)
        self._overlay_style = OverlayStyle()
        self._gesture_style = GestureStyle()

    def process(self, frame: Frame) -> Frame:
        image = frame.image.copy()
        found = frame.results
        mask = found.get(results.SEGMENTATION_MASK) if self.mask else None
        if mask is not None:
            tint_mask(image, mask, self._mask_color)
        if self.boxes:
            rois = [rect for key in (*DETECTION_RESULTS, *TRACKED_RESULTS)
                    for item in found.get(key, ()) if (rect := rect_of(item)) is not None]
            draw_rois(image, rois, self._box_style)
        if self.pose:
            # Under hands and faces, which are drawn finer over the same places.
            draw_poses(image, found.get(results.POSES, ()), self._pose_style)
        if self.keypoints:
            draw_keypoints(image, found.get(results.KEYPOINTS, ()), self._keypoint_style)
        hands = found.get(results.HANDS, ()) if self.hands else ()
        faces = found.get(results.FACES, ()) if self.face != "off" else ()
        lines = overlay_lines(*self._live_figures()) if self.overlay else []
        panel = overlay_rect(lines, (frame.width, frame.height), self._overlay_style)
        gestures = found.get(results.GESTURES, ()) if self.gestures else ()
        draw_hands_faces_and_gestures(image, hands, faces, gestures, self._hand_style, self._face_style,
                                      self._gesture_style, avoid=[panel])
        draw_overlay(image, lines, self._overlay_style)
        return frame.with_image(image)

    def _live_figures(self) -> tuple[float, float, list[str]]:
        """What reaches the sinks (rate, latency), and what the source captured when it is more."""
        live = self.ctx.metrics.live()
        extra = []
        if live.drops and live.source_fps == live.source_fps:
            extra.append(f"source {live.source_fps:.0f} fps, {live.drops} frames not taken")
        return live.fps, live.latency_ms, extra

