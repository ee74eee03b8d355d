"""Drawing hands, faces, their labels, rotated boxes and a metrics overlay onto BGR images, in place.

Every ``draw_*`` function draws into the image it is given (which must be writable) and returns
nothing; a node that must keep its input intact copies first. Landmarks are pixel coordinates; results
are read by attribute name only (``landmarks``, ``handedness``, ``score``, ``track_id``,
``roi``), so any object with those attributes can be drawn.

Drawing is vectorised: all lines of one colour go to OpenCV in a single ``cv2.polylines``
call with fixed-point (sub-pixel) coordinates, which is what keeps a full face mesh (1,314
edges) and two hands under a millisecond or two on a 1280x720 frame.

Labels of everything in a frame must be laid out together to keep clear of one another (see
:mod:`livepose.render.labels`): :func:`draw_hands_and_faces` does that for hands and faces, and
:func:`draw_labels` for any list of :class:`Label`. ``draw_hands`` and ``draw_faces`` on their
own keep only their own labels apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Iterable, Literal, Sequence

import cv2
import numpy as np

from livepose.errors import UserError
from livepose.render.face_tessellation import FACE_TRIANGLES
from livepose.render.labels import Rect, label_text, place_labels
from livepose.render.topology import (FACE_CONTOURS, FACE_POINTS, FACE_SPARSE_POINTS, HAND_CHAINS, HAND_POINTS,
                                      REFINED_FACE_POINTS, unique_edges)

BGR = tuple[int, int, int]
FaceMode = Literal["mesh", "contours", "points"]

SHIFT = 4
"""Fractional bits of the fixed-point coordinates handed to OpenCV (1/16 pixel)."""
_SCALE = 1 << SHIFT
SMALL_FACE_PIXELS = 160

FACE_MESH_EDGES: np.ndarray = unique_edges(np.asarray(FACE_TRIANGLES, dtype=np.int32))
"""Every edge of the face mesh triangles once, as an (E, 2) array of landmark indices."""
FACE_MESH_EDGES.flags.writeable = False

_COLOR_NAMES: dict[str, BGR] = {
    "black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128), "red": (0, 0, 255),
    "green": (0, 200, 0), "blue": (255, 0, 0), "yellow": (0, 255, 255), "cyan": (255, 255, 0),
    "magenta": (255, 0, 255), "orange": (0, 165, 255),
}


def parse_color(text: str) -> BGR:
    """A colour from ``#RRGGBB`` (as in CSS) or a name (red, green, ...), as OpenCV's BGR."""
    value = text.strip().lower()
    if value in _COLOR_NAMES:
        return _COLOR_NAMES[value]
    if len(value) == 7 and value.startswith("#"):
        try:
            r, g, b = (int(value[i:i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            pass
        else:
            return (b, g, r)
    raise UserError(f"colour {text!r} is neither #RRGGBB nor one of {', '.join(sorted(_COLOR_NAMES))}")


@dataclass(frozen=True)
class HandStyle:
    left_color: BGR = (60, 200, 60)
    right_color: BGR = (230, 140, 40)
    joint_color: BGR = (255, 255, 255)
    thickness: int = 2
    joint_radius: int = 3
    labels: bool = True
    """Write handedness, track ID and score beside each hand."""
    antialias: bool = True


@dataclass(frozen=True)
class FaceStyle:
    mode: FaceMode = "mesh"
    mesh_color: BGR = (200, 200, 200)
    contour_color: BGR = (80, 220, 255)
    iris_color: BGR = (255, 160, 40)
    """The irises of a refined (478-point) face, drawn as circles."""
    thickness: int = 1
    """Line width of the mesh; contours are drawn one pixel thicker on faces of 160 pixels or more."""
    point_radius: int = 2
    labels: bool = True
    antialias: bool = True
    mesh_antialias: bool = False
    """One-pixel mesh lines look clean without antialiasing, which would double their cost."""


@dataclass(frozen=True)
class LabelStyle:
    scale: float = 0.5
    thickness: int = 1
    padding: int = 3
    """Space between the text and the edge of its box, in pixels."""
    gap: int = 2
    """Least space between a label and its item's box, or another label."""


@dataclass(frozen=True)
class Label:
    """Text to write on a box of ``color`` beside the item whose box (in pixels) is ``item``."""

    text: str
    item: Rect
    color: BGR


@dataclass(frozen=True)
class BoxStyle:
    color: BGR = (0, 200, 255)
    thickness: int = 2
    antialias: bool = True


@dataclass(frozen=True)
class OverlayStyle:
    text_color: BGR = (255, 255, 255)
    background: BGR = (0, 0, 0)
    opacity: float = 0.55
    scale: float = 0.6


def _line_type(antialias: bool) -> int:
    return cv2.LINE_AA if antialias else cv2.LINE_8


def _fixed(points: np.ndarray) -> np.ndarray:
    """Pixel coordinates as OpenCV's fixed-point int32 (see ``SHIFT``)."""
    return np.rint(np.asarray(points, dtype=np.float32)[..., :2] * _SCALE).astype(np.int32)


def _points_2d(landmarks: Any, expected: int) -> np.ndarray | None:
    points = np.asarray(landmarks, dtype=np.float32)
    if points.ndim != 2 or points.shape[0] != expected or points.shape[1] < 2:
        return None
    points = points[:, :2]
    # A hand with a point a model could not place is not drawn rather than drawn wrongly.
    return points if np.isfinite(points).all() else None


def _face_points(landmarks: Any) -> np.ndarray | None:
    """A face's points: the 468 of the mesh, or 478 when ``refine_landmarks`` added the irises."""
    count = len(landmarks)
    return _points_2d(landmarks, REFINED_FACE_POINTS if count == REFINED_FACE_POINTS else FACE_POINTS)


def _extent(points: np.ndarray) -> float:
    """The larger side of the points' bounding box, in pixels."""
    return float((points.max(axis=0) - points.min(axis=0)).max())


def _dots(image: np.ndarray, fixed_points: np.ndarray, color: BGR, radius: int, line_type: int) -> None:
    # A zero-length polyline with round caps is a filled disc: every dot in one call.
    segments = np.repeat(fixed_points[:, None, :], 2, axis=1)
    cv2.polylines(image, segments, False, color, max(1, 2 * radius), line_type, SHIFT)


def _box_around(points: np.ndarray, margin: float) -> Rect:
    # OpenCV's bounding box of the pixels the points fall in takes a microsecond; numpy's
    # min and max along the short axis of a face's points take thirty.
    x, y, width, height = cv2.boundingRect(np.ascontiguousarray(points))
    pad = math.ceil(margin)
    return Rect(x - pad, y - pad, x + width + pad, y + height + pad)


def ink_on(color: BGR) -> BGR:
    """Black or white, whichever has the higher contrast ratio with ``color`` (as WCAG defines it)."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    blue, green, red = color
    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    # (L + 0.05) / 0.05 against black equals 1.05 / (L + 0.05) against white at L = 0.179.
    return (0, 0, 0) if luminance > 0.179 else (255, 255, 255)


def _text_size(text: str, style: LabelStyle) -> tuple[tuple[int, int], int]:
    return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, style.scale, style.thickness)


def layout_labels(labels: Sequence[Label], image_size: tuple[int, int],
                  style: LabelStyle = LabelStyle(), avoid: Sequence[Rect] = ()) -> list[Rect]:
    """The boxes :func:`draw_labels` fills for ``labels`` on an image of (width, height), kept off
    ``avoid`` (the overlay panel) where there is room."""
    sizes = []
    for label in labels:
        (text_w, text_h), baseline = _text_size(label.text, style)
        sizes.append((text_w + 2 * style.padding, text_h + baseline + 2 * style.padding))
    return place_labels(sizes, [label.item for label in labels], image_size, avoid=avoid, gap=style.gap)


def draw_labels(image: np.ndarray, labels: Sequence[Label], style: LabelStyle = LabelStyle(),
                avoid: Sequence[Rect] = ()) -> None:
    """Write each label on a solid box of its colour, the boxes laid out by :func:`layout_labels`.

    A solid box keeps the text legible over any picture without an outline stroke, which made
    the text look doubled; the text is black or white, whichever stands out on the box.
    """
    rects = layout_labels(labels, (image.shape[1], image.shape[0]), style, avoid)
    for label, rect in zip(labels, rects):
        cv2.rectangle(image, (rect.left, rect.top), (rect.right - 1, rect.bottom - 1), label.color,
                      cv2.FILLED)
        baseline = _text_size(label.text, style)[1]
        cv2.putText(image, label.text, (rect.left + style.padding, rect.bottom - style.padding - baseline),
                    cv2.FONT_HERSHEY_SIMPLEX, style.scale, ink_on(label.color), style.thickness, cv2.LINE_AA)


def _hand_color(hand: Any, style: HandStyle) -> BGR:
    return style.left_color if str(getattr(hand, "handedness", "")) == "Left" else style.right_color


def hand_labels(hands: Iterable[Any], style: HandStyle = HandStyle()) -> list[Label]:
    """The label of each hand :func:`draw_hands` draws: handedness, track ID and score."""
    # Bones and joint dots reach past the landmarks; a label right against them looks attached.
    margin = style.joint_radius + 1 + style.thickness / 2
    labels = []
    for hand in hands:
        points = _points_2d(hand.landmarks, HAND_POINTS)
        if points is not None:
            name = str(getattr(hand, "handedness", "") or "hand")
            labels.append(Label(label_text(name, hand.track_id, hand.score), _box_around(points, margin),
                                _hand_color(hand, style)))
    return labels


def face_labels(faces: Iterable[Any], style: FaceStyle = FaceStyle()) -> list[Label]:
    """The label of each face :func:`draw_faces` draws: track ID and score."""
    margin = max(style.thickness + 1, style.point_radius)
    labels = []
    for face in faces:
        points = _face_points(face.landmarks)
        if points is not None:
            labels.append(Label(label_text("face", face.track_id, face.score), _box_around(points, margin),
                                style.contour_color))
    return labels


def draw_hands(image: np.ndarray, hands: Iterable[Any], style: HandStyle = HandStyle()) -> None:
    """Draw each hand's 21-point skeleton, joints and (optionally) labels that keep clear of each other."""
    hands = list(hands)
    line_type = _line_type(style.antialias)
    for hand in hands:
        points = _points_2d(hand.landmarks, HAND_POINTS)
        if points is None:
            continue
        color = _hand_color(hand, style)
        fixed = _fixed(points)
        cv2.polylines(image, [fixed[list(chain)] for chain in HAND_CHAINS], False, color,
                      style.thickness, line_type, SHIFT)
        if style.joint_radius > 0:
            # Joints shrink on small hands, where full-size dots would cover the fingers.
            radius = max(1, min(style.joint_radius, round(_extent(points) / 40)))
            _dots(image, fixed, color, radius + 1, line_type)
            _dots(image, fixed, style.joint_color, radius, line_type)
    if style.labels:
        draw_labels(image, hand_labels(hands, style))


def _contour_polylines(fixed: np.ndarray) -> list[np.ndarray]:
    return [fixed[list(loop)] for loop in FACE_CONTOURS]


def draw_faces(image: np.ndarray, faces: Iterable[Any], style: FaceStyle = FaceStyle()) -> None:
    """Draw each face as the full mesh (with contours over it), contours only, or sparse points."""
    faces = list(faces)
    line_type = _line_type(style.antialias)
    for face in faces:
        points = _face_points(face.landmarks)
        if points is None:
            continue
        fixed = _fixed(points)
        if style.mode == "mesh":
            cv2.polylines(image, fixed[FACE_MESH_EDGES], False, style.mesh_color, style.thickness,
                          _line_type(style.mesh_antialias), SHIFT)
        if style.mode in ("mesh", "contours"):
            # Thicker contours would fill the eyes and lips of a small face.
            thickness = style.thickness + 1 if _extent(points) >= SMALL_FACE_PIXELS else style.thickness
            cv2.polylines(image, _contour_polylines(fixed), True, style.contour_color,
                          thickness, line_type, SHIFT)
        else:
            _dots(image, fixed[list(FACE_SPARSE_POINTS)], style.contour_color, style.point_radius, line_type)
        if len(points) == REFINED_FACE_POINTS:
            _irises(image, points[FACE_POINTS:], style.iris_color, line_type)
    if style.labels:
        draw_labels(image, face_labels(faces, style))


def iris_circle(iris: np.ndarray) -> tuple[np.ndarray, float]:
    """An iris's centre and radius in pixels from its five points (centre, then four on the rim): the
    radius is the mean distance of the rim points from the centre."""
    centre = iris[0]
    return centre, float(np.linalg.norm(iris[1:] - centre, axis=1).mean())


def _irises(image: np.ndarray, irises: np.ndarray, color: BGR, line_type: int) -> None:
    for iris in (irises[:5], irises[5:]):
        centre, radius = iris_circle(iris)
        cv2.circle(image, tuple(int(v) for v in np.round(centre * (1 << SHIFT))), int(round(radius * (1 << SHIFT))),
                   color, 1, line_type, SHIFT)


def draw_hands_and_faces(image: np.ndarray, hands: Iterable[Any], faces: Iterable[Any],
                         hand_style: HandStyle = HandStyle(), face_style: FaceStyle = FaceStyle(),
                         label_style: LabelStyle = LabelStyle(), avoid: Sequence[Rect] = ()) -> None:
    """Draw faces, then hands over them, then the labels of both laid out together (each kind
    only if its style asks for labels), so that a hand's label never lands on a face's, nor on
    ``avoid`` (the overlay panel) while there is room."""
    hands, faces = list(hands), list(faces)
    draw_faces(image, faces, replace(face_style, labels=False))
    draw_hands(image, hands, replace(hand_style, labels=False))
    labels = [*(face_labels(faces, face_style) if face_style.labels else ()),
              *(hand_labels(hands, hand_style) if hand_style.labels else ())]
    draw_labels(image, labels, label_style, avoid)


def roi_corners(roi: Any, width: int, height: int) -> np.ndarray:
    """The four corners, in pixels, of a rotated rectangle given in normalised coordinates.

    ``roi`` has ``x_center``, ``y_center``, ``width``, ``height`` (fractions of the image's
    width and height) and ``rotation`` (radians; positive turns the rectangle clockwise on
    screen, as image y grows downwards). Corners run top-left, top-right, bottom-right,
    bottom-left of the unrotated rectangle.
    """
    cx, cy = float(roi.x_center) * width, float(roi.y_center) * height
    half_w, half_h = float(roi.width) * width / 2, float(roi.height) * height / 2
    angle = float(getattr(roi, "rotation", 0.0) or 0.0)
    c, s = math.cos(angle), math.sin(angle)
    offsets = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
    rotation = np.array([[c, -s], [s, c]])
    return offsets @ rotation.T + (cx, cy)


def draw_rois(image: np.ndarray, rois: Iterable[Any], style: BoxStyle = BoxStyle()) -> None:
    """Draw rotated rectangles (see :func:`roi_corners`); the top edge is marked by a dot."""
    height, width = image.shape[:2]
    boxes = [roi_corners(roi, width, height) for roi in rois]
    if not boxes:
        return
    line_type = _line_type(style.antialias)
    fixed = _fixed(np.stack(boxes))
    cv2.polylines(image, fixed, True, style.color, style.thickness, line_type, SHIFT)
    # The middle of each box's top edge shows which way the box is turned.
    _dots(image, (fixed[:, 0] + fixed[:, 1]) // 2, style.color, style.thickness + 1, line_type)


def overlay_lines(fps: float, latency_ms: float, extra: Sequence[str] = ()) -> list[str]:
    """The overlay's text: frame rate and end-to-end latency (``-`` while unknown)."""
    fps_text = f"{fps:5.1f} fps" if math.isfinite(fps) and fps > 0 else "  -   fps"
    latency_text = f"{latency_ms:4.0f} ms latency" if math.isfinite(latency_ms) else "   - ms latency"
    return [f"{fps_text}  {latency_text}", *extra]


def _overlay_layout(lines: Sequence[str], image_size: tuple[int, int],
                    style: OverlayStyle) -> tuple[list[tuple[tuple[int, int], int]], int, Rect]:
    sizes = [cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, style.scale, 1) for line in lines]
    line_height = max(h + baseline for (_, h), baseline in sizes) + 4
    panel_w = min(image_size[0], max(w for (w, _), _ in sizes) + 16)
    panel_h = min(image_size[1], line_height * len(lines) + 8)
    return sizes, line_height, Rect(0, 0, panel_w, panel_h)


def overlay_rect(lines: Sequence[str], image_size: tuple[int, int], style: OverlayStyle = OverlayStyle()) -> Rect:
    """The panel :func:`draw_overlay` covers on an image of (width, height)."""
    return _overlay_layout(lines, image_size, style)[2] if lines else Rect(0, 0, 0, 0)


def draw_overlay(image: np.ndarray, lines: Sequence[str], style: OverlayStyle = OverlayStyle()) -> None:
    """Write lines of text in the top-left corner on a translucent panel."""
    if not lines:
        return
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    sizes, line_height, rect = _overlay_layout(lines, (image.shape[1], image.shape[0]), style)
    panel = image[:rect.bottom, :rect.right]
    background = np.empty_like(panel)
    background[:] = style.background
    cv2.addWeighted(panel, 1 - style.opacity, background, style.opacity, 0, dst=panel)
    for i, line in enumerate(lines):
        baseline_y = 4 + line_height * (i + 1) - sizes[i][1] - 2
        cv2.putText(image, line, (8, baseline_y), font, style.scale, style.text_color, thickness, cv2.LINE_AA)
