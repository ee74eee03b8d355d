"""Finger paint: the index fingertip draws while the hand pinches; an open palm held clears.

Pure code: no threads, no clock (each update is given the frame's time in seconds, the source's
media time, so a replay or an offline run paints what the live run painted).

:class:`FingerPaint` keeps the strokes. It is fed each frame's hands as ``(track_id, landmarks,
gesture)``: ``gesture`` is the name the ``gestures`` node gave the hand (``"pinch"``,
``"open_palm"``, ...) when that result is there, else ``None`` and the painter tells a pinch
itself, from the thumb-tip to index-tip distance in palm sizes, with two thresholds (a
hysteresis: a hand enters the pinch below ``pinch_on`` and leaves it only above ``pinch_off``),
and an open palm with :func:`livepose.vision.gestures.classify`'s rules.

- While a hand pinches, its stroke grows at the index fingertip, smoothed a little (an
  exponential average: the landmark model's jitter would draw a wobbly line) and with points
  closer than ``min_step`` pixels to the stroke's last one merged (a still hand adds nothing).
- A release ends the stroke once the hand has not pinched for ``bridge_seconds``: a pinch lost on
  one or two frames (a flicker of the landmarks, a frame without the hand) continues the same
  stroke instead of breaking it.
- An open palm held ``clear_seconds`` (0.5) clears **that hand's strokes only**. Strokes belong
  to the hand's id, and a painting hand's other hand mostly rests open: clearing every stroke
  would wipe what one hand is drawing whenever the other one relaxes, or what another person
  drew. (A run with one hand clears everything it drew, which is what a single user expects.)
- A hand that leaves keeps its strokes on the canvas, however long it is gone; coming back with
  the same id (after a ``tracker`` node) it continues in its own colour.
- A new frame size (another source) clears everything: the strokes are pixels of the old frames.

:func:`draw_strokes` draws strokes as anti-aliased polylines, one colour per hand id. With a
:class:`StrokeCanvas` it draws only each frame's new segments, onto a cached premultiplied BGRA
canvas, and composites the canvas over the frame only in the tiles strokes touch, inside the
strokes' bounding box: a frame costs what its new segments and painted area cost, not the
frame's size.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import cv2
import numpy as np

from livepose.vision.gestures import FINGERS, INDEX, OPEN_PALM, PINCH, PINCH_DISTANCE, WRIST, decide, margins, measure

INDEX_TIP = FINGERS[INDEX][3]
THUMB_TIP = 4

PINCH_ON = PINCH_DISTANCE
"""Thumb tip to index tip, in palm sizes, below which a hand starts pinching: the classifier's own
threshold (touching tips measure 0.05-0.25, example_2's OK sign up to 0.34)."""
PINCH_OFF = 0.45
"""Distance above which a pinching hand lets go. On example_2 a held pinch wavers up to 0.41 on
single frames (frame 43) while an opening hand passes 0.44 and then 0.6: 0.45 keeps the first a
pinch and ends the stroke on the second."""
PINCH_INDEX_CURL = 200.0
"""Index curl (degrees) above which the hand is no pinch but a fist whose thumb rests on the
rolled index: the classifier's rule (``livepose.vision.gestures.PINCH_INDEX_CURL``)."""

Colour = tuple[int, int, int]

COLOUR_SCHEMES: dict[str, tuple[Colour, ...]] = {
    # BGR. Saturated hues far apart, so two hands' strokes are told apart at a glance.
    "bright": ((0, 0, 255), (255, 160, 0), (0, 210, 0), (0, 200, 255), (255, 0, 255), (255, 255, 0)),
    "pastel": ((160, 160, 255), (255, 210, 150), (170, 240, 170), (150, 230, 255), (255, 170, 255),
               (240, 240, 160)),
    "white": ((255, 255, 255),),
}
"""Colour schemes: a hand's strokes take colour ``track_id % len(scheme)``."""


@dataclass(eq=False)
class Stroke:
    """One continuous line drawn by one hand: pixel points of the frame, in drawing order.

    ``points`` only grows while the stroke is drawn (the canvas draws only what was appended);
    ``serial`` is unique among the strokes of a process, so a canvas tells strokes apart."""

    track_id: int
    points: list[tuple[float, float]] = field(default_factory=list)
    serial: int = field(default_factory=itertools.count().__next__)


@dataclass
class _HandState:
    last_seen: float
    pinching: bool = False
    """The painter's own pinch state (with hysteresis), when no gesture is given."""
    stroke: Stroke | None = None
    """The stroke the hand draws, until it has not pinched for ``bridge_seconds``."""
    last_pinch: float = -math.inf
    tip: np.ndarray | None = None
    """The smoothed fingertip."""
    open_since: float | None = None


def palm_size(landmarks: np.ndarray) -> float:
    """Mean 3D distance from the wrist to the four finger knuckles (the classifier's palm size)."""
    points = np.asarray(landmarks, dtype=np.float64)
    knuckles = points[[finger[0] for finger in FINGERS], :3] - points[WRIST, :3]
    return float(np.linalg.norm(knuckles, axis=1).mean())


class FingerPaint:
    """The strokes of every hand and each hand's pinch and open-palm state (see the module doc)."""

    def __init__(self, *, clear_seconds: float = 0.5, pinch_on: float = PINCH_ON, pinch_off: float = PINCH_OFF,
                 smoothing: float = 0.4, min_step: float = 1.5, bridge_seconds: float = 0.2,
                 forget_after: float = 2.0) -> None:
        if not 0 < pinch_on <= pinch_off:
            raise ValueError(f"pinch_on must be positive and at most pinch_off, got {pinch_on} and {pinch_off}")
        if not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        if clear_seconds < 0 or min_step < 0 or bridge_seconds < 0 or forget_after < 0:
            raise ValueError("clear_seconds, min_step, bridge_seconds and forget_after must not be negative")
        self.clear_seconds = clear_seconds
        self.pinch_on, self.pinch_off = pinch_on, pinch_off
        self.smoothing = smoothing
        self.min_step = min_step
        self.bridge_seconds = bridge_seconds
        self.forget_after = forget_after
        self._strokes: list[Stroke] = []
        self._hands: dict[int, _HandState] = {}
        self._last_time: float | None = None
        self._size: tuple[int, int] | None = None

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        """Every stroke on the canvas, oldest first (the order they are drawn in)."""
        return tuple(self._strokes)

    def clear(self, track_id: int | None = None) -> None:
        """Remove the strokes of one hand id, or every stroke."""
        self._strokes = [s for s in self._strokes if track_id is not None and s.track_id != track_id]
        for hand_id, state in self._hands.items():
            if track_id is None or hand_id == track_id:
                state.stroke = None

    def reset(self) -> None:
        """Forget every stroke and every hand."""
        self._strokes.clear()
        self._hands.clear()
        self._last_time = None

    def is_pinching(self, track_id: int) -> bool:
        """Whether the hand drew on its last update."""
        state = self._hands.get(track_id)
        return state is not None and state.last_pinch == state.last_seen

    def update(self, hands: Iterable[tuple[int, np.ndarray, str | None]], timestamp: float,
               size: tuple[int, int] | None = None) -> None:
        """Feed one frame: each hand as ``(track_id, landmarks (21, 2 or 3) pixels, gesture name or
        None)``, the frame's time in seconds, and its ``(height, width)`` (a change clears all)."""
        if size is not None and size != self._size:
            if self._size is not None:
                self.reset()
            self._size = size
        if self._last_time is not None and timestamp < self._last_time:
            # Time going back is a new stream or a seek: no hand's timing carries over.
            self._hands.clear()
        self._last_time = timestamp
        for track_id, landmarks, gesture in hands:
            self._update_hand(int(track_id), np.asarray(landmarks, dtype=np.float64), gesture, timestamp)
        for track_id in [i for i, s in self._hands.items() if timestamp - s.last_seen > self.forget_after]:
            del self._hands[track_id]  # its strokes stay

    def _update_hand(self, track_id: int, landmarks: np.ndarray, gesture: str | None, now: float) -> None:
        state = self._hands.get(track_id)
        if state is None:
            state = self._hands[track_id] = _HandState(now)
        gap = now - state.last_seen
        state.last_seen = now
        if landmarks.shape[0] != 21 or landmarks.shape[1] < 2 or not np.isfinite(landmarks[:, :2]).all():
            return
        if gesture is not None:
            pinching, is_open = gesture == PINCH, gesture == OPEN_PALM
        else:
            pinching, is_open = self._own_gesture(state, landmarks)
        if gap > self.bridge_seconds:
            state.open_since = None  # an open palm must be held in view, not across an absence
        if pinching:
            state.open_since = None
            self._extend(state, track_id, landmarks[INDEX_TIP, :2], now)
            return
        if state.stroke is not None and now - state.last_pinch > self.bridge_seconds:
            state.stroke = None  # released for longer than a flicker: the next pinch starts anew
        if is_open:
            state.open_since = now if state.open_since is None else state.open_since
            if now - state.open_since >= self.clear_seconds:
                self.clear(track_id)
        else:
            state.open_since = None

    def _own_gesture(self, state: _HandState, landmarks: np.ndarray) -> tuple[bool, bool]:
        points = landmarks if landmarks.shape[1] >= 3 else np.column_stack([landmarks, np.zeros(21)])
        measures = measure(points)
        if measures is None:
            state.pinching = False
            return False, False
        threshold = self.pinch_off if state.pinching else self.pinch_on
        state.pinching = (measures.pinch_distance < threshold
                          and measures.finger_curls[INDEX] < PINCH_INDEX_CURL)
        if state.pinching:
            return True, False
        return False, decide(margins(measures)).name == OPEN_PALM

    def _extend(self, state: _HandState, track_id: int, tip: np.ndarray, now: float) -> None:
        if state.stroke is None or now - state.last_pinch > self.bridge_seconds or state.tip is None:
            state.stroke = Stroke(track_id)
            self._strokes.append(state.stroke)
            state.tip = tip.copy()  # a new stroke starts where the finger is, not where it was
        else:
            state.tip = self.smoothing * state.tip + (1.0 - self.smoothing) * tip
        state.last_pinch = now
        points = state.stroke.points
        point = (float(state.tip[0]), float(state.tip[1]))
        if not points or math.dist(points[-1], point) >= self.min_step:
            points.append(point)


_SHIFT = 4
"""Fractional bits of the coordinates given to OpenCV: sub-pixel positions keep slow strokes smooth."""
_TILE = 32
"""Side of the tiles the canvas is composited by: small enough that a thin stroke's tiles are
mostly stroke, large enough that a long stroke is a few dozen OpenCV calls."""


class StrokeCanvas:
    """What :func:`draw_strokes` keeps between frames: the strokes drawn so far on a premultiplied
    BGRA canvas of the frame's size, how many points of each are drawn, and the tiles they touch.

    OpenCV's anti-aliased drawing on a BGRA image blends every channel by coverage, so drawing
    ``(b, g, r, 255)`` onto transparent black leaves premultiplied colour and alpha: the canvas
    is composited as ``frame * (1 - alpha) + colour``, and later strokes lie over earlier ones.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._drawn: dict[int, int] = {}
        self._bgra = np.zeros((0, 0, 4), np.uint8)
        self._colour = np.zeros((0, 0, 3), np.uint8)
        self._inverse = np.zeros((0, 0, 3), np.uint8)
        self._tiles = np.zeros((0, 0), bool)
        self._rects: list[tuple[int, int, int, int]] | None = []
        self.box: tuple[int, int, int, int] | None = None
        """``(x0, y0, x1, y1)``: the bounding box of everything drawn, None when empty."""

    def reset(self, shape: tuple[int, int], key: tuple) -> None:
        """An empty canvas of ``shape`` (height, width) for drawing settings ``key``."""
        height, width = shape
        self._key = key
        self._drawn.clear()
        self._bgra = np.zeros((height, width, 4), np.uint8)
        self._colour = np.zeros((height, width, 3), np.uint8)
        self._inverse = np.full((height, width, 3), 255, np.uint8)
        self._tiles = np.zeros((-(-height // _TILE), -(-width // _TILE)), bool)
        self._rects = []
        self.box = None

    def update(self, strokes: Sequence[Stroke], shape: tuple[int, int], thickness: int,
               colours: Sequence[Colour]) -> None:
        """Draw what is new in ``strokes``; start over when one was removed or the settings changed."""
        key = (tuple(shape), thickness, tuple(map(tuple, colours)))
        present = {stroke.serial: len(stroke.points) for stroke in strokes}
        if (key != self._key or any(present.get(serial, -1) < count for serial, count in self._drawn.items())):
            self.reset(shape, key)  # a clear (or new settings): redraw what is left, once
        for stroke in strokes:
            done = self._drawn.get(stroke.serial, 0)
            if len(stroke.points) > done:
                self._draw(stroke.points[max(done - 1, 0):], colours[stroke.track_id % len(colours)], thickness,
                           first=done == 0)
                self._drawn[stroke.serial] = len(stroke.points)

    def _draw(self, points: Sequence[tuple[float, float]], colour: Colour, thickness: int, first: bool) -> None:
        """Draw the segments between ``points`` (from the stroke's first point, with its dot, when ``first``)."""
        height, width = self._bgra.shape[:2]
        array = np.asarray(points, dtype=np.float64)
        fixed = np.round(array * (1 << _SHIFT)).astype(np.int32)
        bgra = (*map(int, colour), 255)
        # Segment by segment, each with its round caps (a zero-length first one is the stroke's
        # starting dot): drawn so, the pixels do not depend on how many frames the stroke took to
        # grow, and the cached canvas is exactly what a fresh drawing of the same strokes gives.
        # (One polyline call would cap only its ends, which depend on where each frame's part began.)
        starts, ends = (np.concatenate([fixed[:1], fixed[:-1]]), fixed) if first else (fixed[:-1], fixed[1:])
        for start, end in zip(starts.tolist(), ends.tolist()):
            cv2.line(self._bgra, tuple(start), tuple(end), bgra, thickness, cv2.LINE_AA, _SHIFT)
        reach = thickness / 2 + 2  # the line's half width and its anti-aliased rim
        x0, y0 = (max(int(math.floor(v - reach)), 0) for v in array.min(axis=0))
        x1, y1 = int(math.ceil(array[:, 0].max() + reach)) + 1, int(math.ceil(array[:, 1].max() + reach)) + 1
        x1, y1 = min(x1, width), min(y1, height)
        if x0 >= x1 or y0 >= y1:
            return  # wholly outside the frame
        rect = self._bgra[y0:y1, x0:x1]
        self._colour[y0:y1, x0:x1] = rect[..., :3]
        self._inverse[y0:y1, x0:x1] = 255 - rect[..., 3:4]
        self._tiles[y0 // _TILE:(y1 - 1) // _TILE + 1, x0 // _TILE:(x1 - 1) // _TILE + 1] = True
        self._rects = None
        box = self.box
        self.box = (x0, y0, x1, y1) if box is None else (min(box[0], x0), min(box[1], y0),
                                                          max(box[2], x1), max(box[3], y1))

    def rects(self) -> list[tuple[int, int, int, int]]:
        """``(x0, y0, x1, y1)`` of the runs of touched tiles, row by row, clipped to the canvas."""
        if self._rects is None:
            height, width = self._bgra.shape[:2]
            made = []
            for row in np.flatnonzero(self._tiles.any(axis=1)):
                edges = np.flatnonzero(np.diff(np.concatenate(([0], self._tiles[row].view(np.int8), [0]))))
                y0, y1 = row * _TILE, min((row + 1) * _TILE, height)
                for start, stop in zip(edges[::2], edges[1::2]):
                    made.append((int(start) * _TILE, int(y0), min(int(stop) * _TILE, width), int(y1)))
            self._rects = made
        return self._rects

    def composite(self, image: np.ndarray) -> None:
        """Lay the canvas over ``image`` (BGR, the canvas's size) in place, in the touched tiles only."""
        for x0, y0, x1, y1 in self.rects():
            region = image[y0:y1, x0:x1]
            # frame * (255 - alpha) / 255 + premultiplied colour, written into the frame's own
            # pixels (no temporary); 255 - alpha = 255 and colour 0 leave a pixel as it was.
            cv2.multiply(region, self._inverse[y0:y1, x0:x1], dst=region, scale=1 / 255.0)
            cv2.add(region, self._colour[y0:y1, x0:x1], dst=region)


def draw_strokes(image: np.ndarray, strokes: Sequence[Stroke], *, thickness: int = 6,
                 colours: Sequence[Colour] = COLOUR_SCHEMES["bright"], canvas: StrokeCanvas | None = None) -> None:
    """Draw ``strokes`` on a BGR ``image`` in place: anti-aliased polylines ``thickness`` pixels wide,
    each in ``colours[track_id % len(colours)]``; pixels no stroke covers are left as they were.

    Give the same ``canvas`` frame after frame to draw only what was added since the last call
    (a new image size, other settings or a removed stroke start it over); without one, every
    stroke is drawn afresh."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"draw_strokes needs a BGR uint8 image, got shape {image.shape} and {image.dtype}")
    if thickness < 1:
        raise ValueError(f"thickness must be at least 1, got {thickness}")
    if not colours:
        raise ValueError("colours must name at least one colour")
    canvas = StrokeCanvas() if canvas is None else canvas
    canvas.update(strokes, image.shape[:2], thickness, colours)
    if image.flags.c_contiguous:
        canvas.composite(image)
    else:
        # OpenCV writes its results in place only into arrays of ordinary layout (a flipped view
        # is not): composite a copy and put it back.
        made = np.ascontiguousarray(image)
        canvas.composite(made)
        image[...] = made
