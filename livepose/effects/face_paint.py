"""Face paint: the face-mesh triangles filled with a colour, or textured, with the lips and eyes left out.

**The painted region** is :data:`PAINT_TRIANGLES`: the triangles of ``render.face_tessellation`` (which
already leave out the eyes and the open mouth) less those whose centre lies inside the outer lip
contour, in the mean frontal face. Its outline, :data:`PAINT_LOOPS`, is the outer rim and three holes
(the eyes and the lips), found once from the triangles' edges that only one triangle has; a frame
fills the rim and clears the holes with ``cv2.fillPoly``, inside the face's bounding box only. The
rim runs along the face oval, so nothing beyond it is painted, even where a turned face's far cheek
bulges a few pixels past it.

**The UV layout** is livepose's own: the x, y of ``REFERENCE_FACE`` (a mean frontal face) scaled by
one factor into the unit square, centred, with a margin of :data:`UV_MARGIN` on the longer side, u
to the image's right and v *down* (the person's forehead at the top, their right eye on the left, as
a camera sees them unmirrored). A texture of any size covers the square: landmark ``i`` shows the
texture at pixel ``(u * width - 0.5, v * height - 0.5)``, ``(u, v) = FACE_UV[i]``.
``tools/make_face_uv_template.py`` draws the triangles in this layout into
``assets/face_uv_template.png`` to paint over. It is not MediaPipe's canonical UV layout
(``canonical_face_model.obj``): that file and its UVs do not ship in the mediapipe wheel and nothing
is fetched, so a texture made for MediaPipe's layout would land a little off here.

**Texturing** is piecewise affine per triangle, computed on a coarse grid and interpolated: each
frame the triangles are drawn, by index, into a grid of one point per :data:`GRID_STEP` pixels of
the face's box (a ``cv2.fillConvexPoly`` per triangle; grid points just outside the mesh take a
neighbouring triangle's, dilated, so the rim interpolates smoothly; drawn far to near, so where the
mesh folds the nearer triangle shows); each grid point's (u, v) is its
triangle's affine map, exact there; the grid is resized to the box (bilinear, which is exact inside
a triangle and off by a fraction of a pixel's worth across a crease), and one ``cv2.remap`` samples
the texture over the box. Measured on this project's 2-core machine (shared with other work) with
a 275 x 314 pixel face: a per-pixel index map (``GRID_STEP`` 1) costs about 4 ms, a vectorised numpy
rasteriser of the 4-px grid (candidate points per triangle box, best barycentric kept) about 2 ms,
this one 0.9 ms. A whole textured face: 1.2 ms (163 x 185 px, the signer of the shared clip at
720p) to 1.7 ms (275 x 314 px), 1.35 to 2.2 ms with a texture's alpha; a colour fill 0.1 ms.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from livepose.errors import UserError
from livepose.render.face_tessellation import FACE_TRIANGLES, REFERENCE_FACE
from livepose.render.topology import LIPS_OUTER

Colour = tuple[int, int, int]

UV_MARGIN = 0.02
"""Space left on each side of the longer (vertical) extent of the face in the unit square, so that
bilinear sampling at the rim reads the texture, not its border."""

GRID_STEP = 4
"""Pixels between the points where (u, v) is computed exactly (see the module doc)."""

_SHIFT = 4
"""Fractional bits of the vertices given to OpenCV's rasterisers: sub-pixel accurate edges."""


def _frontal() -> np.ndarray:
    return np.asarray(REFERENCE_FACE, dtype=np.float64)[:, :2]


def _face_uv() -> np.ndarray:
    points = _frontal()
    low, high = points.min(axis=0), points.max(axis=0)
    scale = float((high - low).max()) / (1.0 - 2.0 * UV_MARGIN)
    uv = (points - (low + high) / 2.0) / scale + 0.5
    uv.flags.writeable = False
    return uv


def _paint_triangles() -> np.ndarray:
    points = _frontal()
    lips = points[list(LIPS_OUTER)].astype(np.float32)
    triangles = np.asarray(FACE_TRIANGLES, dtype=np.int32).reshape(-1, 3)
    centres = points[triangles].mean(axis=1)
    keep = [cv2.pointPolygonTest(lips, (float(x), float(y)), False) < 0 for x, y in centres]
    kept = np.ascontiguousarray(triangles[np.asarray(keep)])
    kept.flags.writeable = False
    return kept


def _boundary_loops(triangles: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """The closed loops of edges that belong to one triangle only, the longest (the rim) first."""
    count: dict[tuple[int, int], int] = defaultdict(int)
    for a, b, c in triangles.tolist():
        for edge in ((a, b), (b, c), (c, a)):
            count[(min(edge), max(edge))] += 1
    neighbours: dict[int, list[int]] = defaultdict(list)
    for (a, b), n in count.items():
        if n == 1:
            neighbours[a].append(b)
            neighbours[b].append(a)
    if any(len(v) != 2 for v in neighbours.values()):
        raise ValueError("the paint triangles' outline is not a set of simple loops")
    loops, seen = [], set()
    for start in sorted(neighbours):
        if start in seen:
            continue
        loop, previous, current = [start], None, start
        seen.add(start)
        while True:
            a, b = neighbours[current]
            following = b if a == previous else a
            if following == start:
                break
            loop.append(following)
            seen.add(following)
            previous, current = current, following
        loops.append(tuple(loop))
    return tuple(sorted(loops, key=len, reverse=True))


FACE_UV: np.ndarray = _face_uv()
"""(468, 2) float64, read-only: each landmark's (u, v) in livepose's layout (see the module doc)."""
PAINT_TRIANGLES: np.ndarray = _paint_triangles()
"""(N, 3) int32, read-only: the painted triangles, landmark indices (the mesh less eyes, mouth, lips)."""
PAINT_LOOPS: tuple[tuple[int, ...], ...] = _boundary_loops(PAINT_TRIANGLES)
"""The painted region's outline: the outer rim first, then the holes (eyes and lips)."""

_TRIANGLE_UV = FACE_UV[PAINT_TRIANGLES]  # (N, 3, 2)
_STRUCTURE = np.ones((3, 3), np.uint8)


def parse_colour(text: str) -> Colour:
    """``'#rrggbb'`` as a BGR triple; a :class:`UserError` for anything else."""
    if not isinstance(text, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", text.strip()):
        raise UserError(f"colour {text!r} is not of the form '#rrggbb' (e.g. '#3080ff')")
    value = text.strip()
    r, g, b = (int(value[i:i + 2], 16) for i in (1, 3, 5))
    return (b, g, r)


@dataclass(frozen=True)
class FaceTexture:
    """A texture in the UV layout ready to sample: BGRA uint8 levels, each half the size of the one
    before, so that a small face samples a level near its own size (bilinear reads of a much larger
    image alias)."""

    levels: tuple[np.ndarray, ...]
    """BGR uint8, contiguous."""
    alpha: tuple[np.ndarray, ...] | None
    """The alpha of each level (uint8), or ``None`` when the texture is opaque: then blending is one
    uint8 ``cv2.addWeighted``."""

    @classmethod
    def from_image(cls, image: np.ndarray, name: str = "the texture") -> FaceTexture:
        """``image``: BGR, BGRA or grey, 8 or 16 bit. Alpha (255 when absent) multiplies the opacity."""
        image = np.asarray(image)
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        if image.dtype != np.uint8:
            raise UserError(f"{name!r} has {image.dtype} pixels: give an 8- or 16-bit image")
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
        elif image.ndim == 3 and image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        elif not (image.ndim == 3 and image.shape[2] == 4):
            raise UserError(f"{name!r} has shape {image.shape}: give a grey, BGR or BGRA image")
        if image.shape[0] < 2 or image.shape[1] < 2:
            raise UserError(f"{name!r} is {image.shape[1]}x{image.shape[0]} pixels: too small to paint with")
        image = _bleed(np.ascontiguousarray(image))
        levels = [image]
        while min(levels[-1].shape[:2]) >= 32:
            h, w = levels[-1].shape[:2]
            levels.append(cv2.resize(levels[-1], ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA))
        bgr = tuple(np.ascontiguousarray(level[..., :3]) for level in levels)
        opaque = bool(image[..., 3].min() == 255)
        return cls(bgr, None if opaque else tuple(np.ascontiguousarray(level[..., 3]) for level in levels))

    def level_for(self, extent: float) -> int:
        """The smallest level whose side still spans ``extent`` pixels (the face's size in the frame)."""
        level = 0
        while level + 1 < len(self.levels) and min(self.levels[level + 1].shape[:2]) >= extent:
            level += 1
        return level


def _bleed(bgra: np.ndarray) -> np.ndarray:
    """Give fully transparent texels the colour of the visible ones nearby: bilinear sampling at an
    alpha edge then fades the painted colour out, instead of mixing in whatever the transparent
    texels hold (often black)."""
    alpha = bgra[..., 3]
    if alpha.min() > 0:
        return bgra
    weight = (alpha > 0).astype(np.float32)
    if not weight.any():
        return bgra
    sigma = max(2.0, 0.01 * max(bgra.shape[:2]))
    colour = cv2.GaussianBlur(bgra[..., :3].astype(np.float32) * weight[..., None], (0, 0), sigma)
    spread = cv2.GaussianBlur(weight, (0, 0), sigma)
    filled = colour / np.maximum(spread, 1e-6)[..., None]
    out = bgra.copy()
    hidden = alpha == 0
    out[..., :3][hidden] = np.clip(filled[hidden] + 0.5, 0, 255).astype(np.uint8)
    return out


def load_texture(path: str | os.PathLike[str]) -> FaceTexture:
    """A texture image file (BGR or BGRA); a :class:`UserError` naming the file when it cannot be read."""
    name = os.fspath(path)
    image = cv2.imread(name, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"cannot read the face paint texture {name!r}: no such file, or not an image "
                        "OpenCV reads")
    return FaceTexture.from_image(image, name)


def face_box(landmarks: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the painted triangles' vertices, clipped to the frame; ``None`` when off it."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    low, high = points.min(axis=0), points.max(axis=0)
    x0, y0 = max(int(np.floor(low[0])), 0), max(int(np.floor(low[1])), 0)
    x1, y1 = min(int(np.ceil(high[0])) + 1, width), min(int(np.ceil(high[1])) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def region_mask(landmarks: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The painted region as a uint8 0/1 mask of ``box`` (x0, y0, x1, y1): inside the rim, outside the holes."""
    x0, y0, x1, y1 = box
    points = np.asarray(landmarks, dtype=np.float64)[:, :2] - (x0, y0)
    fixed = np.round(points * (1 << _SHIFT)).astype(np.int32)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    # The rim filled, then each hole cleared on its own (not one even-odd fill): on a turned face the
    # far side's rim can cross an eye, and the eye must stay unpainted all the same.
    cv2.fillPoly(mask, [fixed[list(PAINT_LOOPS[0])]], 1, cv2.LINE_8, _SHIFT)
    for hole in PAINT_LOOPS[1:]:
        cv2.fillPoly(mask, [fixed[list(hole)]], 0, cv2.LINE_8, _SHIFT)
    return mask


def uv_map(landmarks: np.ndarray, box: tuple[int, int, int, int], step: int = GRID_STEP,
           size: tuple[int, int] | None = None) -> np.ndarray:
    """(u, v) of every pixel of ``box``: ``(y1 - y0, x1 - x0, 2)`` float32, piecewise affine per
    triangle (see the module doc); pixels far outside the mesh get -1. With ``size`` (a texture's
    width, height): that texture's pixel coordinates instead, ``u * width - 0.5``, as ``cv2.remap``
    takes them (folded into the per-triangle maps, so it costs no pass over the pixels)."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    # Grid point (i, j) sits at box pixel ((j - 1 + 0.5) * step - 0.5, ...): where cv2.resize puts the
    # centre of source pixel j - 1 when it scales by ``step``. One spare point on each side lets the
    # resize interpolate the box's edges too.
    grid_w, grid_h = -(-width // step) + 2, -(-height // step) + 2
    points = (np.asarray(landmarks, dtype=np.float64)[:, :2] - (x0, y0) + 0.5) / step + 0.5
    px, py = points[:, 0], points[:, 1]
    a, b, c = PAINT_TRIANGLES[:, 0], PAINT_TRIANGLES[:, 1], PAINT_TRIANGLES[:, 2]
    ax, ay = px[a], py[a]
    e1x, e1y, e2x, e2y = px[b] - ax, py[b] - ay, px[c] - ax, py[c] - ay
    det = e1x * e2y - e1y * e2x
    # A triangle seen edge-on has no inverse; its pixels are drawn by its neighbours.
    usable = np.abs(det) > 1e-6
    inv = np.where(usable, 1.0 / np.where(usable, det, 1.0), 0.0)
    # Barycentric l1 = (dx e2y - dy e2x) / det, l2 = (dy e1x - dx e1y) / det, and
    # uv = uv_a + l1 (uv_b - uv_a) + l2 (uv_c - uv_a): an affine map of the grid point (x, y).
    uv_a = _TRIANGLE_UV[:, 0].T
    d1, d2 = _TRIANGLE_UV[:, 1].T - uv_a, _TRIANGLE_UV[:, 2].T - uv_a
    along_x = d1 * (e2y * inv) - d2 * (e1y * inv)
    along_y = d2 * (e1x * inv) - d1 * (e2x * inv)
    offset = uv_a - along_x * ax - along_y * ay
    coefficients = np.full((6, len(PAINT_TRIANGLES) + 1), -1.0, np.float32)  # index 0: no triangle
    coefficients[:, 0] = (0.0, 0.0, 0.0, 0.0, -1.0, -1.0)
    coefficients[0:2, 1:], coefficients[2:4, 1:], coefficients[4:6, 1:] = along_x, along_y, offset
    if size is not None:
        coefficients *= np.float32((size[0], size[1]) * 3)[:, None]
        coefficients[4:6] -= np.float32(0.5)

    index = np.zeros((grid_h, grid_w), np.uint16)
    fixed = np.round(points * (1 << _SHIFT)).astype(np.int32)[PAINT_TRIANGLES]
    # A triangle with no grid point inside its bounding box is needed by no grid point: skipped,
    # which on a small face is most of them (the loop of calls is this function's main cost).
    lo = np.minimum(np.minimum(points[a], points[b]), points[c])
    hi = np.maximum(np.maximum(points[a], points[b]), points[c])
    holds = np.all(np.floor(hi) >= np.ceil(lo), axis=1)
    drawn = np.flatnonzero(usable & holds)
    if landmarks.shape[1] > 2:
        # Far triangles first, so that where the mesh folds over itself (the nose of a turned face
        # over its far cheek) the nearer one is what shows; z grows away from the camera.
        depth = np.asarray(landmarks, dtype=np.float64)[:, 2][PAINT_TRIANGLES[drawn]].sum(axis=1)
        drawn = drawn[np.argsort(-depth, kind="stable")]
    fill = cv2.fillConvexPoly
    for number, triangle in zip((drawn + 1).tolist(), fixed[drawn]):
        fill(index, triangle, number, cv2.LINE_8, _SHIFT)
    # Points just outside the mesh (or in its holes) take a neighbour's triangle: its affine map
    # extended, so interpolation at the rim does not mix in the -1 of "no triangle".
    grown = cv2.dilate(index, _STRUCTURE)
    index = np.where(index == 0, grown, index).astype(np.intp)

    gy, gx = np.mgrid[:grid_h, :grid_w].astype(np.float32)
    u = np.take(coefficients[0], index) * gx + np.take(coefficients[2], index) * gy + np.take(coefficients[4], index)
    v = np.take(coefficients[1], index) * gx + np.take(coefficients[3], index) * gy + np.take(coefficients[5], index)
    grid = cv2.merge([u, v])
    full = cv2.resize(grid, (grid_w * step, grid_h * step), interpolation=cv2.INTER_LINEAR)
    return full[step:step + height, step:step + width]


def paint_face(image: np.ndarray, landmarks: np.ndarray, *, colour: Colour = (0, 0, 255), opacity: float = 0.5,
               texture: FaceTexture | None = None) -> None:
    """Paint one face (``(468, 2 or 3)`` pixel landmarks) into the BGR ``image``, in place.

    Without ``texture``: the region blended at ``opacity`` with ``colour`` (BGR). With one: the
    texture mapped through the UV layout, at ``opacity`` times its alpha; ``colour`` is not used."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    height, width = image.shape[:2]
    box = face_box(landmarks, width, height)
    if box is None or opacity == 0.0:
        return
    x0, y0, x1, y1 = box
    mask = region_mask(landmarks, box)
    target = image[y0:y1, x0:x1]
    if texture is None:
        # One per-channel affine pass (x (1 - opacity) + colour x opacity), rounded once.
        matrix = np.zeros((3, 4), np.float32)
        matrix[:, :3] = np.eye(3, dtype=np.float32) * np.float32(1.0 - opacity)
        matrix[:, 3] = np.float32(opacity) * np.float32(colour)
        painted = cv2.transform(target, matrix)
    else:
        level = texture.level_for(max(x1 - x0, y1 - y0) / (1.0 - 2.0 * UV_MARGIN))
        source = texture.levels[level]
        maps = uv_map(landmarks, box, size=(source.shape[1], source.shape[0]))
        sampled = cv2.remap(source, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if texture.alpha is None:
            painted = cv2.addWeighted(sampled, opacity, target, 1.0 - opacity, 0.0)
        else:
            alpha = cv2.remap(texture.alpha[level], maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            weight = cv2.multiply(alpha, 1.0, dtype=cv2.CV_32F, scale=opacity / 255.0)
            painted = cv2.blendLinear(sampled, target, weight, 1.0 - weight)
    # Only the region's pixels are written: the rest of the box stays exactly as it was.
    cv2.copyTo(painted, mask, target)


def paint_faces(image: np.ndarray, faces: Iterable[np.ndarray], *, colour: Colour = (0, 0, 255),
                opacity: float = 0.5, texture: FaceTexture | None = None) -> None:
    """:func:`paint_face` for each face, in order, in place."""
    for landmarks in faces:
        paint_face(image, landmarks, colour=colour, opacity=opacity, texture=texture)

