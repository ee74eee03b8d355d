"""Drawing of the points of models you bring (:class:`livepose.results.Keypoints`), in place: each set's
skeleton from its layout (``livepose.vision.layouts``) and its points, leaving out points whose score is
below a threshold (as MMPose's visualizer leaves out points under ``kpt_thr``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from livepose.render.draw import BGR, SHIFT, _dots, _fixed, _line_type
from livepose.vision.layouts import LAYOUTS

__all__ = ["KeypointStyle", "draw_keypoints"]


@dataclass(frozen=True)
class KeypointStyle:
    bone_color: BGR = (80, 220, 255)
    point_color: BGR = (255, 255, 255)
    thickness: int = 2
    point_radius: int = 2
    min_score: float = 0.3
    """Points scored below this are not drawn, nor their bones."""
    antialias: bool = True


def draw_keypoints(image: np.ndarray, sets: Iterable[Any], style: KeypointStyle = KeypointStyle()) -> None:
    """Draw each set's bones (its layout's skeleton) and points onto the BGR ``image``."""
    line_type = _line_type(style.antialias)
    for found in sets:
        points = np.asarray(found.points, np.float64)[:, :2]
        shown = (np.asarray(found.scores) >= style.min_score) & np.isfinite(points).all(axis=1)
        if not shown.any():
            continue
        fixed = _fixed(points)
        layout = LAYOUTS.get(found.layout)
        skeleton = layout.skeleton if layout is not None and layout.size == len(points) else ()
        bones = [fixed[[a, b]] for a, b in skeleton if shown[a] and shown[b]]
        if bones:
            cv2.polylines(image, bones, False, style.bone_color, style.thickness, line_type, SHIFT)
        if style.point_radius > 0:
            _dots(image, fixed[shown], style.point_color, style.point_radius, line_type)
