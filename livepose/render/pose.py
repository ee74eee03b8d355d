"""Drawing of body poses, in place, as :mod:`livepose.render.draw` draws hands and faces: results are
read by attribute name (``landmarks``, ``visibility``), so any object shaped like
:class:`livepose.results.Pose` draws.

- :class:`PoseStyle`: colours per side of the body, line width, and the visibility below which a point
  (and its bones) is left out, as MediaPipe's ``drawing_utils`` leaves out points under 0.5.
- :func:`draw_poses(image, poses, style)`: the 35-bone skeleton and the joints of each pose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from livepose.render.draw import BGR, SHIFT, _dots, _fixed, _line_type, _points_2d
from livepose.render.topology import POSE_CONNECTIONS, POSE_LEFT_POINTS, POSE_POINTS, POSE_RIGHT_POINTS

__all__ = ["PoseStyle", "draw_poses"]


@dataclass(frozen=True)
class PoseStyle:
    left_color: BGR = (60, 200, 60)
    """The person's own left side (as hands: left green, right blue)."""
    right_color: BGR = (230, 140, 40)
    center_color: BGR = (220, 220, 220)
    """The nose, and the bones across the body (shoulders, hips, mouth)."""
    joint_color: BGR = (255, 255, 255)
    thickness: int = 2
    joint_radius: int = 3
    min_visibility: float = 0.5
    """Points less visible than this (occluded or out of frame) are not drawn, nor their bones."""
    antialias: bool = True


def _side_color(indices: set[int], style: PoseStyle) -> BGR:
    if indices <= POSE_LEFT_POINTS:
        return style.left_color
    if indices <= POSE_RIGHT_POINTS:
        return style.right_color
    return style.center_color


def draw_poses(image: np.ndarray, poses: Iterable[Any], style: PoseStyle = PoseStyle()) -> None:
    """Draw each pose's skeleton and joints onto the BGR ``image``, leaving out points that are not
    visible enough."""
    line_type = _line_type(style.antialias)
    for pose in poses:
        points = _points_2d(pose.landmarks, POSE_POINTS)
        if points is None:
            continue
        visibility = getattr(pose, "visibility", None)
        shown = np.ones(POSE_POINTS, bool) if visibility is None else np.asarray(visibility) >= style.min_visibility
        fixed = _fixed(points)
        bones: dict[BGR, list[np.ndarray]] = {}
        for a, b in POSE_CONNECTIONS:
            if shown[a] and shown[b]:
                bones.setdefault(_side_color({a, b}, style), []).append(fixed[[a, b]])
        for color, segments in bones.items():
            cv2.polylines(image, segments, False, color, style.thickness, line_type, SHIFT)
        if style.joint_radius > 0 and shown.any():
            _dots(image, fixed[shown], style.joint_color, style.joint_radius, line_type)
