"""Big eyes: a smooth local magnification around each eye of a face mesh.

Each eye is a disc of radius ``radius`` eye widths about the eye's centre (the mean of its contour in
``render.topology``). A pixel at distance ``r`` from the centre shows the picture at distance
``r * (1 - strength * (1 - (r / R)**2))``: magnified most at the centre (by ``1 / (1 - strength)``),
not at all at the rim, and continuous with its first derivative there, so no edge shows. Only the
discs' bounding squares are remapped, with maps cached per integer radius and strength: a frame
costs two small ``cv2.remap`` calls, and every pixel outside the discs stays as it was.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from livepose.render.topology import LEFT_EYE, RIGHT_EYE

RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
"""The eye corners of the 468-point mesh (outer, inner): their distance is the eye's width."""

MAX_STRENGTH = 0.6
"""1 / (1 - 0.6) = 2.5 times at the centre; stronger folds the picture over itself visibly."""


def eye_discs(landmarks: np.ndarray, radius: float) -> list[tuple[float, float, float]]:
    """``(x, y, R)`` of both eyes of one face's ``(468, 3)`` pixel landmarks, ``R`` in pixels."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    discs = []
    for contour, (outer, inner) in ((RIGHT_EYE, RIGHT_EYE_CORNERS), (LEFT_EYE, LEFT_EYE_CORNERS)):
        centre = points[list(contour)].mean(axis=0)
        width = float(np.linalg.norm(points[outer] - points[inner]))
        discs.append((float(centre[0]), float(centre[1]), radius * width))
    return discs


@lru_cache(maxsize=64)
def _offsets(radius: int, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Source offsets from the disc's centre for every pixel of its ``(2R+1)^2`` square (float32)."""
    grid = np.arange(-radius, radius + 1, dtype=np.float32)
    dx, dy = np.meshgrid(grid, grid)
    r = np.sqrt(dx * dx + dy * dy) / radius
    factor = np.where(r < 1.0, 1.0 - strength * (1.0 - r * r), 1.0).astype(np.float32)
    return dx * factor, dy * factor


def magnify(image: np.ndarray, centre: tuple[float, float], radius: float, strength: float) -> None:
    """Magnify the disc of ``radius`` pixels about ``centre`` in place (see the module doc)."""
    if not 0.0 <= strength <= MAX_STRENGTH:
        raise ValueError(f"strength must be in [0, {MAX_STRENGTH}], got {strength}")
    size = int(round(radius))
    if size < 2 or strength == 0.0:
        return
    height, width = image.shape[:2]
    cx, cy = int(round(centre[0])), int(round(centre[1]))
    x0, y0, x1, y1 = cx - size, cy - size, cx + size + 1, cy + size + 1
    # The part of the square inside the frame (an eye at the border is partly outside).
    ax0, ay0, ax1, ay1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if ax0 >= ax1 or ay0 >= ay1:
        return
    off_x, off_y = _offsets(size, round(float(strength), 3))
    window = (slice(ay0 - y0, ay1 - y0), slice(ax0 - x0, ax1 - x0))
    map_x = off_x[window] + np.float32(cx)
    map_y = off_y[window] + np.float32(cy)
    # Read from a copy of the whole frame: a magnified pixel may come from outside the square's
    # visible part, and the square itself is being written.
    source_x0, source_y0 = max(int(map_x.min()) - 1, 0), max(int(map_y.min()) - 1, 0)
    source_x1, source_y1 = min(int(map_x.max()) + 2, width), min(int(map_y.max()) + 2, height)
    source = image[source_y0:source_y1, source_x0:source_x1].copy()
    image[ay0:ay1, ax0:ax1] = cv2.remap(source, map_x - np.float32(source_x0), map_y - np.float32(source_y0),
                                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def big_eyes(image: np.ndarray, faces: list[np.ndarray] | tuple[np.ndarray, ...], *, strength: float = 0.35,
             radius: float = 1.1) -> None:
    """Magnify both eyes of every face (``(468, 3)`` pixel landmarks each) in place.

    ``radius`` is in eye widths (1.1 takes in the lids and a little of the brow); ``strength`` as in
    :func:`magnify`."""
    for landmarks in faces:
        for x, y, disc_radius in eye_discs(landmarks, radius):
            magnify(image, (x, y), disc_radius, strength)
