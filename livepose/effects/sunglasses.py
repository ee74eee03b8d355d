"""Sunglasses: livepose's own RGBA pair, and an RGBA image placed over the eyes of each face mesh.

The image is placed by a similarity transform (scale, rotation, translation) that takes its two
anchor points, the lens centres, to the two eye centres of the mesh, so it turns and grows with the
face. Only the box the transformed image covers is warped and blended, which keeps a face at 720p
well under a millisecond.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from livepose.errors import UserError
from livepose.render.topology import LEFT_EYE, RIGHT_EYE

Point = tuple[float, float]

ASSET_SIZE = (512, 176)
"""(width, height) of the built-in pair, in pixels."""
ASSET_ANCHORS: tuple[float, float, float, float] = (143.0 / 512, 92.0 / 176, 369.0 / 512, 92.0 / 176)
"""Where the eye centres go on the built-in pair: (x, y) of the image's left and right anchor, as
fractions of its width and height. The lens centres are 0.44 of the frame's width apart, as a
person's pupils (about 63 mm) are of a 145 mm frame."""

_SUPERSAMPLE = 4
"""The pair is drawn this many times larger and averaged down: anti-aliased edges and alpha."""


def make_sunglasses(width: int = ASSET_SIZE[0]) -> np.ndarray:
    """livepose's own sunglasses as a BGRA uint8 image ``width`` wide (height ``width * 176/512``).

    Two dark lenses, darker at the top, with a thin glint, in a black frame with a top bar and a
    bridge, and the stubs of the arms at both sides. Left-right symmetric, so a mirrored source gets
    the same picture. Anchors: :data:`ASSET_ANCHORS`.
    """
    if width < 32:
        raise ValueError(f"the sunglasses need at least 32 pixels of width, got {width}")
    k = _SUPERSAMPLE * width / ASSET_SIZE[0]  # drawing units (the 512-wide design) to big pixels
    big_w, big_h = _SUPERSAMPLE * width, round(_SUPERSAMPLE * width * ASSET_SIZE[1] / ASSET_SIZE[0])

    def pts(points: Iterable[Point]) -> np.ndarray:
        return np.round(np.array(list(points)) * k).astype(np.int32)

    def mirror(points: Iterable[Point]) -> list[Point]:
        return [(ASSET_SIZE[0] - x, y) for x, y in points]

    # One lens in design units: a flat top and a rounded bottom, wider towards the temple.
    t = np.linspace(0.0, np.pi, 48)
    lens_left: list[Point] = ([(52.0, 34.0), (234.0, 34.0)]
                              + [(143.0 + 91.0 * np.cos(a), 58.0 + 100.0 * np.sin(a) ** 1.2) for a in t])
    lenses = [pts(lens_left), pts(mirror(lens_left))]

    frame_mask = np.zeros((big_h, big_w), np.uint8)
    for lens in lenses:
        cv2.fillPoly(frame_mask, [lens], 255)
        cv2.polylines(frame_mask, [lens], True, 255, thickness=max(1, round(14 * k)))
    cv2.rectangle(frame_mask, tuple(pts([(40.0, 24.0)])[0]), tuple(pts([(472.0, 46.0)])[0]), 255, -1)
    bridge = [(226.0, 40.0), (286.0, 40.0), (276.0, 62.0), (236.0, 62.0)]
    cv2.fillPoly(frame_mask, [pts(bridge)], 255)
    arm = [(0.0, 22.0), (46.0, 24.0), (46.0, 44.0), (0.0, 40.0)]
    cv2.fillPoly(frame_mask, [pts(arm), pts(mirror(arm))], 255)

    lens_mask = np.zeros_like(frame_mask)
    inner = max(1, round(7 * k))
    for lens in lenses:
        cv2.fillPoly(lens_mask, [lens], 255)
        # The frame's rim stays on the lens edge: shrink the glass by the rim's half width.
        cv2.polylines(lens_mask, [lens], True, 0, thickness=2 * inner)
    lens_alpha = lens_mask.astype(np.float32) / 255.0

    # Colour and alpha at the large size, premultiplied so that averaging down keeps edges clean.
    rows = np.linspace(0.0, 1.0, big_h, dtype=np.float32)[:, None]
    glass_bgr = np.stack([40 + 40 * rows, 30 + 30 * rows, 25 + 25 * rows], axis=-1) * np.ones((1, big_w, 1))
    glass_a = (0.92 - 0.22 * rows) * np.ones((1, big_w), np.float32)
    glint = np.zeros_like(frame_mask)
    streak = [(86.0, 70.0), (104.0, 58.0), (150.0, 128.0), (132.0, 140.0)]
    cv2.fillPoly(glint, [pts(streak), pts(mirror(streak)[::-1])], 255)

    frame_a = frame_mask.astype(np.float32) / 255.0
    frame_bgr = np.full((big_h, big_w, 3), 18.0, np.float32)
    # Glass over the frame's black where it is glass.
    alpha = lens_alpha * glass_a + (1 - lens_alpha) * frame_a
    premult = (lens_alpha * glass_a)[..., None] * glass_bgr + ((1 - lens_alpha) * frame_a)[..., None] * frame_bgr

    size = (width, round(width * ASSET_SIZE[1] / ASSET_SIZE[0]))
    premult = cv2.resize(premult, size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    # The glint is soft anyway: blurred at the final size, where it costs little, and kept on the glass.
    on_glass = cv2.resize(lens_alpha, size, interpolation=cv2.INTER_AREA)
    glint_a = cv2.resize(glint, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    glint_a = cv2.GaussianBlur(glint_a, (0, 0), 3 * k / _SUPERSAMPLE) * 0.35 * on_glass
    premult = premult * (1 - glint_a[..., None]) + glint_a[..., None] * 255.0
    alpha = alpha * (1 - glint_a) + glint_a
    bgr = premult / np.maximum(alpha, 1e-6)[..., None]
    out = np.dstack([bgr, alpha * 255.0])
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def load_rgba(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file with an alpha channel, as BGRA uint8; a :class:`UserError` naming the file otherwise."""
    name = os.fspath(path)
    image = cv2.imread(name, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"cannot read the image {name!r}: no such file, or not an image OpenCV reads")
    return as_rgba(image, name)


def as_rgba(image: np.ndarray, name: str = "the image") -> np.ndarray:
    """``image`` as BGRA uint8 (16-bit images scaled down); refuses anything without an alpha channel."""
    if image.ndim != 3 or image.shape[2] != 4:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise UserError(f"{name!r} has {channels} channel(s), not 4: the sunglasses image must be RGBA "
                        "(a PNG with an alpha channel), so that what is not glasses stays transparent")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        raise UserError(f"{name!r} has {image.dtype} pixels: give an 8- or 16-bit RGBA image")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise UserError(f"{name!r} is {image.shape[1]}x{image.shape[0]} pixels: too small to draw")
    return image


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centres of the two eyes of a 468-point mesh, the one on the face's image-left side first.

    Which eye that is depends on mirroring (the person's right eye is on the image's left only in an
    unmirrored frame), so it is told from the face itself: the side to the left of its chin-to-
    forehead line. That keeps the glasses upright on mirrored frames and on faces rolled past 90°.
    """
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    right, left = points[list(RIGHT_EYE)].mean(axis=0), points[list(LEFT_EYE)].mean(axis=0)
    up = points[10] - points[152]  # chin to forehead
    image_left = np.array([up[1], -up[0]])  # ``up`` turned a quarter to the face's image-left
    return (right, left) if (right - left) @ image_left >= 0 else (left, right)


def placement(anchors: Sequence[Point], eyes: Sequence[np.ndarray], scale: float = 1.0) -> np.ndarray:
    """The 2x3 similarity transform taking ``anchors`` (the image's left then right anchor, pixels of the
    image) onto ``eyes`` (image-left then image-right eye centre, pixels of the frame), grown
    ``scale`` times about the eyes' midpoint."""
    a0, a1 = complex(*anchors[0]), complex(*anchors[1])
    e0, e1 = complex(*eyes[0]), complex(*eyes[1])
    if a0 == a1:
        raise ValueError("the two anchors coincide")
    # As complex numbers a similarity is z -> m + s (z - c): s holds the scale and rotation.
    s = (e1 - e0) / (a1 - a0) * scale
    m, c = (e0 + e1) / 2, (a0 + a1) / 2
    t = m - s * c
    return np.array([[s.real, -s.imag, t.real], [s.imag, s.real, t.imag]])


@dataclass(frozen=True)
class SunglassesImage:
    """An RGBA image ready to place: premultiplied float levels, each half the size of the one before,
    so that a small face samples an image near its own size (bilinear warping of a much larger one
    would alias), and the anchors in pixels of the full image."""

    levels: tuple[np.ndarray, ...]
    anchors: tuple[Point, Point]

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, anchors: Sequence[float] = ASSET_ANCHORS) -> SunglassesImage:
        """``rgba``: BGRA uint8; ``anchors``: (x0, y0, x1, y1), the image-left and image-right eye's
        place as fractions of the image's width and height."""
        rgba = as_rgba(rgba)
        height, width = rgba.shape[:2]
        if len(anchors) != 4:
            raise UserError(f"anchors are x0, y0, x1, y1 (fractions of the image), got {list(anchors)}")
        x0, y0, x1, y1 = (float(v) for v in anchors)
        if not x0 < x1:
            raise UserError(f"the left anchor (x0 = {x0}) must be left of the right one (x1 = {x1})")
        premult = rgba.astype(np.float32)
        premult[..., :3] *= premult[..., 3:] / 255.0
        levels = [premult]
        while min(levels[-1].shape[:2]) >= 16:
            h, w = levels[-1].shape[:2]
            levels.append(cv2.resize(levels[-1], ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA))
        # Pixel centres: x in the image's pixels is x * width - 0.5 in fractions.
        return cls(tuple(levels), ((x0 * width - 0.5, y0 * height - 0.5), (x1 * width - 0.5, y1 * height - 0.5)))

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the full image."""
        return int(self.levels[0].shape[1]), int(self.levels[0].shape[0])

    def transform(self, landmarks: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The 2x3 transform from this image's pixels to the frame's, for one face mesh."""
        return placement(self.anchors, eye_centres(landmarks), scale)

    def corners(self, landmarks: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Where the image's four corners (top-left, top-right, bottom-right, bottom-left) land, 4 x 2 pixels."""
        w, h = self.size
        box = np.array([[-0.5, -0.5, 1], [w - 0.5, -0.5, 1], [w - 0.5, h - 0.5, 1], [-0.5, h - 0.5, 1]])
        return box @ self.transform(landmarks, scale).T


def draw_sunglasses(image: np.ndarray, faces: Iterable[np.ndarray], glasses: SunglassesImage,
                    scale: float = 1.0, opacity: float = 1.0) -> None:
    """Draw ``glasses`` over the eyes of each face (468 x 2 or x 3 pixel landmarks) into the BGR ``image``, in place."""
    height, width = image.shape[:2]
    full_w = glasses.size[0]
    for landmarks in faces:
        matrix = glasses.transform(landmarks, scale)
        corners = glasses.corners(landmarks, scale)
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x0 >= x1 or y0 >= y1:
            continue
        # The smallest level still at least as large as the glasses will be: downscaling by under 2 is
        # what bilinear sampling does without aliasing.
        drawn_scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        level = 0
        while level + 1 < len(glasses.levels) and glasses.levels[level + 1].shape[1] >= full_w * drawn_scale:
            level += 1
        source = glasses.levels[level]
        f = full_w / source.shape[1]
        # Pixels of the level to pixels of the full image (INTER_AREA's centres), then to the box.
        to_full = np.array([[f, 0, (f - 1) / 2], [0, f, (f - 1) / 2], [0, 0, 1]])
        local = matrix @ to_full
        local[:, 2] -= (x0, y0)
        warped = cv2.warpAffine(source, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        alpha = warped[..., 3:] * (opacity / 255.0)
        box = image[y0:y1, x0:x1]
        box[:] = np.clip(box * (1.0 - alpha) + warped[..., :3] * opacity + 0.5, 0, 255).astype(np.uint8)
