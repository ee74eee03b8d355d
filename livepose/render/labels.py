"""Where the text labels of hands and faces go, and what they say; geometry only, no drawing.

Labels are laid out greedily in the order given, each at the best free spot for it: just above
its item's box (left-aligned to it), else just below, else slid to the nearest place that is
clear. The best spot is the one that, in this order of importance, overlaps no label placed
before it, stays within reach of its item, covers as little as possible of the items' boxes,
is the spot above or below, and moves least. The nearest free place always has its sides on
the image's edges or against a side of some obstacle, so only those positions are tried: a few
hundred per label, scored at once with numpy, where stepping across the image would be
thousands.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np


class Rect(NamedTuple):
    """An axis-aligned rectangle in pixels; ``right`` and ``bottom`` are exclusive, as in slicing."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def intersects(self, other: Rect) -> bool:
        return (self.left < other.right and other.left < self.right
                and self.top < other.bottom and other.top < self.bottom)


def label_text(name: str, track_id: int | None, score: float) -> str:
    """``Left  id 1  99%``: wide gaps and spelled-out fields, so that the ID and the score
    cannot run together (``#1 0.99`` read as ``#10.99``); no ID while the item has none."""
    fields = [name] if track_id is None else [name, f"id {track_id}"]
    return "  ".join([*fields, f"{float(score):.0%}"])


def _overlap_area(candidates: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Total area each candidate (N, 4) shares with the rectangles (M, 4), as (N,)."""
    c, r = candidates[:, None, :], rects[None, :, :]
    dx = np.minimum(c[..., 2], r[..., 2]) - np.maximum(c[..., 0], r[..., 0])
    dy = np.minimum(c[..., 3], r[..., 3]) - np.maximum(c[..., 1], r[..., 1])
    return (np.clip(dx, 0, None) * np.clip(dy, 0, None)).sum(axis=1)


def _place_one(width: int, height: int, anchor: Rect, taken: list[Rect], keep_clear: list[Rect],
               image_size: tuple[int, int], gap: int, reach: float) -> Rect:
    x_max, y_max = max(image_size[0] - width, 0), max(image_size[1] - height, 0)
    x_home = min(max(anchor.left, 0), x_max)
    above, below = anchor.top - gap - height, anchor.bottom + gap
    # A clear spot above, or else below, beats every other; checking those two first spares
    # most frames the search (10 to 100 microseconds a label, growing with the crowd).
    for y in (above, below):
        spot = Rect(x_home, y, x_home + width, y + height)
        if 0 <= y <= y_max and not any(spot.intersects(rect) for rect in (*taken, *keep_clear)):
            return spot
    taken_array = np.array(taken, dtype=np.int64).reshape(-1, 4)
    clear_array = np.array(keep_clear, dtype=np.int64).reshape(-1, 4)
    edges = np.concatenate([taken_array, clear_array + (-gap, -gap, gap, gap)])
    xs = np.unique(np.clip(np.concatenate([[x_home, 0, x_max], edges[:, 0] - width, edges[:, 2]]), 0, x_max))
    ys = np.unique(np.clip(np.concatenate([[above, below, 0, y_max], edges[:, 1] - height, edges[:, 3]]),
                           0, y_max))
    x, y = (grid.ravel() for grid in np.meshgrid(xs, ys))
    candidates = np.stack([x, y, x + width, y + height], axis=1)
    moved = np.abs(x - anchor.left) + np.minimum(np.abs(y - above), np.abs(y - below))
    at_home = x == x_home
    rank = np.where(at_home & (y == above), 0, np.where(at_home & (y == below), 1, 2))
    keys = (moved, rank, _overlap_area(candidates, clear_array), moved > reach * height,
            _overlap_area(candidates, taken_array))
    best = int(np.lexsort(keys)[0])
    return Rect(int(x[best]), int(y[best]), int(x[best]) + width, int(y[best]) + height)


def place_labels(sizes: Sequence[tuple[int, int]], anchors: Sequence[Rect], image_size: tuple[int, int],
                 avoid: Sequence[Rect] = (), gap: int = 2, reach: float = 3.0) -> list[Rect]:
    """Rectangles for labels of the given (width, height), one per item box in ``anchors``.

    ``image_size`` is (width, height). Labels never leave the image (one wider or taller than
    the image starts at its left or top edge) and, while there is room, never come within
    ``gap`` pixels of one another. They keep off the anchors and ``avoid`` where a spot within
    ``reach`` label heights of the preferred one allows: a label far from its item reads as
    another item's, so covering a box is the lesser evil. The result depends only on the
    arguments, so a frame laid out twice gets the same labels.
    """
    if len(sizes) != len(anchors):
        raise ValueError(f"{len(sizes)} label sizes for {len(anchors)} anchors")
    keep_clear = [Rect(*map(int, rect)) for rect in (*anchors, *avoid)]
    placed: list[Rect] = []
    # Placed labels are inflated by the gap, so that one merely touching another counts as overlapping.
    taken: list[Rect] = []
    # keep_clear starts with the anchors, in order.
    for (width, height), anchor in zip(sizes, keep_clear):
        spot = _place_one(int(width), int(height), anchor, taken, keep_clear, image_size, gap, reach)
        placed.append(spot)
        taken.append(Rect(spot.left - gap, spot.top - gap, spot.right + gap, spot.bottom + gap))
    return placed
