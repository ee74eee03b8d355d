"""Privacy blur: blur or pixelate regions of a frame (faces, hands) given as polygons in pixels.

Each region is worked on inside its own bounding box only: the box is shrunk, blurred (or cut into
blocks) and grown back, then blended in through the region's mask, which is fully opaque over the
polygon and, when feathered, fades out beyond it. So the polygon itself is never left partly sharp.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import cv2
import numpy as np

from livepose.render.topology import FACE_OVAL

Mode = Literal["blur", "pixelate"]


def grown(polygon: np.ndarray, margin: float) -> np.ndarray:
    """``polygon`` (N x 2 pixels) grown about its centroid by ``margin`` times its size."""
    points = np.asarray(polygon, dtype=np.float64)[:, :2]
    centre = points.mean(axis=0)
    return centre + (points - centre) * (1.0 + margin)


def face_region(landmarks: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """The face oval of a 468-point mesh, grown by ``margin`` (a fraction of the face's size)."""
    return grown(np.asarray(landmarks)[list(FACE_OVAL)], margin)


def hand_region(landmarks: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """The convex hull of a hand's 21 landmarks, grown by ``margin``."""
    points = np.ascontiguousarray(np.asarray(landmarks, dtype=np.float32)[:, :2])
    return grown(cv2.convexHull(points)[:, 0], margin)


def region_size(polygon: np.ndarray) -> float:
    """A region's size in pixels: the larger side of its bounding box."""
    points = np.asarray(polygon)[:, :2]
    return float(np.max(points.max(axis=0) - points.min(axis=0)))


def blur_region(image: np.ndarray, polygon: np.ndarray, mode: Mode = "blur", strength: float = 0.12,
                feather: float = 0.0) -> None:
    """Blur or pixelate the BGR ``image`` inside ``polygon`` (N x 2 pixels), in place.

    ``strength``: the blur's standard deviation, or the side of a pixel block, as a fraction of the
    region's size. ``feather``: how far beyond the polygon, as a fraction of its size, the effect
    fades out (0: a hard edge).
    """
    size = region_size(polygon)
    if not size > 0:
        return
    fade = feather * size
    extent = strength * size * (3.0 if mode == "blur" else 1.0)
    height, width = image.shape[:2]
    # The mask's box (the polygon and its fade), and around it the pixels the blur reads, so the
    # edge is blurred like the middle.
    x0, y0, x1, y1 = _clipped(polygon, fade, width, height)
    bx0, by0, bx1, by1 = _clipped(polygon, fade + extent, width, height)
    if x0 >= x1 or y0 >= y1:
        return
    covered = _mask(np.asarray(polygon, dtype=np.float64) - (x0, y0), (y1 - y0, x1 - x0), fade)
    if covered is None:
        return
    mask, (mx0, my0, mx1, my1) = covered
    blurred = _blurred(image[by0:by1, bx0:bx1], mode, strength * size)
    # Only the mask's nonzero part is blended.
    ox, oy = x0 - bx0, y0 - by0
    changed = blurred[oy + my0:oy + my1, ox + mx0:ox + mx1]
    target = image[y0 + my0:y0 + my1, x0 + mx0:x0 + mx1]
    mask = mask[my0:my1, mx0:mx1]
    if mask.dtype == np.bool_:
        np.copyto(target, changed, where=mask[..., None])
    else:
        target[:] = cv2.blendLinear(changed, target, mask, 1.0 - mask)


def _clipped(polygon: np.ndarray, pad: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The bounding box (x0, y0, x1, y1) of ``polygon`` grown by ``pad`` pixels, inside the image."""
    low = np.floor(np.min(polygon, axis=0) - pad).astype(int)
    high = np.ceil(np.max(polygon, axis=0) + pad).astype(int) + 1
    return max(int(low[0]), 0), max(int(low[1]), 0), min(int(high[0]), width), min(int(high[1]), height)


def _mask(polygon: np.ndarray, shape: tuple[int, int], fade: float) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The region's mask in its box: bool when hard, float32 in [0, 1] when feathered, and the box
    (x0, y0, x1, y1) of its nonzero part; ``None`` when nothing of it is inside."""
    inside = np.zeros(shape, np.uint8)
    shift = 4  # sub-pixel vertices: a small face's oval is not snapped to whole pixels
    cv2.fillPoly(inside, [np.round(polygon * (1 << shift)).astype(np.int32)], 1, cv2.LINE_8, shift)
    if fade < 1.0:
        ys, xs = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
        if not len(ys):
            return None
        return inside.astype(bool), (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)
    # Distance to the polygon of every pixel outside it: 1 inside, a smooth fall to 0 at ``fade``.
    distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, cv2.DIST_MASK_5)
    ramp = np.clip(1.0 - distance / np.float32(fade), 0.0, 1.0)
    weights = ramp * ramp * (3.0 - 2.0 * ramp)
    rows, cols = np.nonzero(weights.any(axis=1))[0], np.nonzero(weights.any(axis=0))[0]
    if not len(rows):
        return None
    return weights.astype(np.float32), (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _blurred(box: np.ndarray, mode: Mode, amount: float) -> np.ndarray:
    """``box`` blurred with a standard deviation of ``amount`` pixels, or cut into ``amount``-pixel blocks."""
    height, width = box.shape[:2]
    if mode == "pixelate":
        block = max(amount, 2.0)
        small = cv2.resize(box, (max(1, round(width / block)), max(1, round(height / block))),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    if mode != "blur":
        raise ValueError(f"mode must be 'blur' or 'pixelate', got {mode!r}")
    # A wide Gaussian is as good computed on a picture shrunk to a few pixels per sigma, and far cheaper.
    factor = max(1.0, amount / 2.0)
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(box, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), amount / factor, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def blur_regions(image: np.ndarray, polygons: Iterable[np.ndarray], mode: Mode = "blur",
                 strength: float = 0.12, feather: float = 0.0) -> None:
    """:func:`blur_region` for each polygon, in order, in place."""
    for polygon in polygons:
        blur_region(image, polygon, mode, strength, feather)


def privacy_regions(faces: Iterable[np.ndarray], detector_boxes: Iterable[np.ndarray],
                    hands: Iterable[np.ndarray] = (), margin: float = 0.0) -> list[np.ndarray]:
    """The polygons to cover in one frame: each face's oval (from its ``(468, 3)`` landmarks), each
    detector box (its four corners, pixels) that holds no mesh face's centre, and each hand's hull,
    all grown by ``margin``. A face the detector found but the mesh lost this frame (it is tracked
    from the next) is covered by its box, so no frame where a face was detected shows it."""
    faces = list(faces)
    regions = [face_region(landmarks, margin) for landmarks in faces]
    centres = [np.asarray(landmarks)[:, :2].mean(axis=0) for landmarks in faces]
    for box in detector_boxes:
        outline = np.asarray(box, np.float32)
        if not any(cv2.pointPolygonTest(outline, (float(x), float(y)), False) >= 0 for x, y in centres):
            regions.append(grown(np.asarray(box), margin))
    regions += [hand_region(landmarks, margin) for landmarks in hands]
    return regions
