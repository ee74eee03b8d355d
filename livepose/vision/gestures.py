"""Hand gestures from a hand's 21 landmarks: a per-frame classifier and a per-hand hysteresis filter.

Pure code: no threads, no files, no clock (the filter is given each frame's time).

The classifier measures a few quantities that do not change when the hand is scaled, rotated in
the image or mirrored, because each is an angle or a distance divided by the hand's own size:

- **palm size**: the mean distance, in 3D, from the wrist to the four finger MCP knuckles. It
  shrinks little when the hand turns (z keeps most of it) and is never close to zero.
- **curl of a finger** (index to pinky): the sum of its three bends, at the MCP (wrist->MCP against
  MCP->PIP), PIP and DIP joints, in degrees, in 3D. A straight finger measures 0-40 degrees, a
  finger rolled into a fist 180-300.
- **thumb**: its bends at the MCP and IP joints, and how far its tip is from the index and middle
  knuckles (in palm sizes): a thumb folded over the palm or the fingers has its tip near them.
- **pinch**: the distance between the thumb tip and the index tip, in palm sizes.
- **thumb direction**: the angle in the image between "up" and the thumb (MCP to tip). This one
  is not rotation invariant on purpose: a thumb up differs from a thumb sideways by its direction.

Each condition of a rule ("index extended", "pinky curled", ...) is turned into a signed margin in
[-1, 1]: positive when the condition holds, 0 at its threshold, +-1 a ``width`` away from it. A rule
holds when all its margins are positive, and its score is its smallest margin: how far the weakest
condition is from flipping, so a score near 0 marks an ambiguous frame. Rules are tried in
:data:`PRIORITY` order, the first that holds wins, and a hand that fits none is :data:`NONE`.

The thresholds were read off MediaPipe's landmarks on the shared clips (Hand-keypoints webm clips,
demo_input) and checked on frames labelled by eye (``tests/test_vision_gestures.py`` names them);
each constant says why it has its value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

OPEN_PALM = "open_palm"
FIST = "fist"
POINTING = "pointing"
PINCH = "pinch"
VICTORY = "victory"
THUMBS_UP = "thumbs_up"
NONE = "none"
"""The name of a hand that fits no gesture (or whose landmarks cannot be measured)."""

GESTURES: tuple[str, ...] = (OPEN_PALM, FIST, POINTING, PINCH, VICTORY, THUMBS_UP)
"""Every gesture :func:`classify` can answer, besides :data:`NONE`."""

PRIORITY: tuple[str, ...] = (PINCH, THUMBS_UP, VICTORY, POINTING, OPEN_PALM, FIST)
"""The order rules are tried in. Pinch first: a pinch made with the other fingers straight (the
"OK" sign) or curled is still a pinch, and finger painting must see it. Thumbs up before fist: both
have the four fingers curled, and only the thumb tells them apart."""

# Landmark indices (MediaPipe's order; livepose.results.HandLandmark names them). Not imported from
# livepose.results, which imports livepose.vision: vision stays below results.
WRIST = 0
THUMB = (1, 2, 3, 4)            # CMC, MCP, IP, tip
FINGERS = ((5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))  # MCP, PIP, DIP, tip
INDEX, MIDDLE, RING, PINKY = range(4)

FINGER_CURL_DEGREES = 100.0
"""Curl (sum of a finger's three bends) above which a finger counts as curled, below which as
extended. Straight fingers measure 0-40 degrees on the shared clips, even seen from the side
(z keeps the angles), and fingers of a fist 180-300; a finger bent at the knuckle only (the index
of a pinch, the loose fingers of a pointing hand) sits between, near 90-140, and is told by
the width below rather than by a third state."""
FINGER_CURL_WIDTH = 60.0
"""Degrees from the threshold at which a finger's margin reaches +-1: a finger at 40 degrees (the
straightest fingers of a relaxed open hand) or at 160 (a loose fist) is certain."""

THUMB_REACH = 0.67
"""Distance, in palm sizes, of the thumb tip from the nearer of the index and middle MCP knuckles
above which the thumb is out. A thumb folded across the palm or against the side of the index
(the "four" of a counting hand in demo_input) has its tip 0.2-0.62 palm sizes from them; held out
beside an open hand, 0.73-1.3 (0.73 on hands5 frame 80, the closest of the open palms seen)."""
THUMB_REACH_WIDTH = 0.2

THUMB_ABOVE = 0.25
"""For a thumbs up, how far (palm sizes) the thumb tip must rise above every other landmark of
the hand. The curled fingers of a fist held knuckles up come within 0.1-0.3 of the top of a thumb
laid across them (hands5 frames 52-74, where the model puts the thumb tip on the knuckles), and a
thumb held up rises a phalanx or more (0.4 and up) above the index knuckle."""
THUMB_ABOVE_WIDTH = 0.2

PINCH_DISTANCE = 0.35
"""Thumb tip to index tip, in palm sizes, below which the hand pinches. Touching tips measure
0.05-0.25 (the landmarks sit inside the fingertips, a finger's width apart); an open hand's are
0.8 or more apart."""
PINCH_WIDTH = 0.2
PINCH_INDEX_CURL = 200.0
"""Index curl above which a pinch does not count: in a fist the thumb tip rests on the index's
curled phalanges and can come near its tip, but the index is then rolled up (curl 200 or more),
while the index of a pinch bends 40-160 degrees."""
PINCH_INDEX_WIDTH = 60.0

THUMB_UP_DEGREES = 50.0
"""Largest angle between the thumb (MCP to tip) and the image's up direction for a thumbs up: a
thumb held up tilts 0-35 degrees; further over it is a thumb pointing sideways."""
THUMB_UP_WIDTH = 30.0


@dataclass(frozen=True)
class Gesture:
    """A gesture and its score: the margin of the rule's weakest condition, in [0, 1] (0 for NONE)."""

    name: str
    score: float


@dataclass(frozen=True)
class HandMeasures:
    """What the rules read off one hand (see the module docstring)."""

    palm_size: float
    finger_curls: tuple[float, float, float, float]
    """Degrees, index to pinky."""
    thumb_reach: float
    """Palm sizes."""
    pinch_distance: float
    """Palm sizes."""
    thumb_up_angle: float
    """Degrees between the thumb (MCP to tip) and the image's up direction."""
    thumb_above: float
    """Palm sizes by which the thumb tip is higher in the image than every other landmark."""


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between two vectors (0 for a zero vector: no bend can be measured)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(a, b)) / (na * nb)))))


def _bend(points: np.ndarray, chain: tuple[int, ...]) -> float:
    """Sum of the bends along a chain of landmarks: the turn at each inner joint, in degrees."""
    return sum(_angle(points[chain[i]] - points[chain[i - 1]], points[chain[i + 1]] - points[chain[i]])
               for i in range(1, len(chain) - 1))


def measure(landmarks: np.ndarray) -> HandMeasures | None:
    """The measures of a hand's 21 landmarks (x, y, z pixels; x, y alone also work), or ``None``
    when they cannot be measured (wrong shape, a point that is not finite, a hand of no size)."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] != 21 or points.shape[1] < 2 or not np.isfinite(points).all():
        return None
    points = points[:, :3] if points.shape[1] >= 3 else np.column_stack([points, np.zeros(21)])
    wrist = points[WRIST]
    palm = float(np.mean([np.linalg.norm(points[finger[0]] - wrist) for finger in FINGERS]))
    if palm <= 1e-6:
        return None
    curls = tuple(_bend(points, (WRIST, *finger)) for finger in FINGERS)
    thumb_tip = points[THUMB[3]]
    reach = min(np.linalg.norm(thumb_tip - points[FINGERS[INDEX][0]]),
                np.linalg.norm(thumb_tip - points[FINGERS[MIDDLE][0]])) / palm
    pinch = np.linalg.norm(thumb_tip - points[FINGERS[INDEX][3]]) / palm
    thumb_2d = thumb_tip[:2] - points[THUMB[1]][:2]
    up = _angle(thumb_2d, np.array([0.0, -1.0])) if np.linalg.norm(thumb_2d) > 0 else 180.0
    above = (float(np.delete(points[:, 1], THUMB[3]).min()) - float(thumb_tip[1])) / palm
    return HandMeasures(palm, curls, float(reach), float(pinch), up, above)  # type: ignore[arg-type]


def _below(value: float, threshold: float, width: float) -> float:
    """Margin of "value < threshold": +1 a width below it, -1 a width above, linear between."""
    return max(-1.0, min(1.0, (threshold - value) / width))


def margins(measures: HandMeasures) -> dict[str, float]:
    """Every rule's score on these measures: its weakest condition's margin, positive when it holds."""
    extended = [_below(curl, FINGER_CURL_DEGREES, FINGER_CURL_WIDTH) for curl in measures.finger_curls]
    curled = [-m for m in extended]
    thumb_out = -_below(measures.thumb_reach, THUMB_REACH, THUMB_REACH_WIDTH)
    thumb_up = min(thumb_out, _below(measures.thumb_up_angle, THUMB_UP_DEGREES, THUMB_UP_WIDTH),
                   -_below(measures.thumb_above, THUMB_ABOVE, THUMB_ABOVE_WIDTH))
    index, middle, ring, pinky = extended
    return {
        PINCH: min(_below(measures.pinch_distance, PINCH_DISTANCE, PINCH_WIDTH),
                   _below(measures.finger_curls[INDEX], PINCH_INDEX_CURL, PINCH_INDEX_WIDTH)),
        THUMBS_UP: min(thumb_up, *curled),
        VICTORY: min(index, middle, curled[RING], curled[PINKY]),
        POINTING: min(index, curled[MIDDLE], curled[RING], curled[PINKY]),
        # The thumb of an open palm must be out too, or four straight fingers with the thumb
        # folded (the "four" of a counting hand) would count.
        OPEN_PALM: min(index, middle, ring, pinky, thumb_out),
        FIST: min(*curled),
    }


def decide(scores: Mapping[str, float]) -> Gesture:
    """The first rule in :data:`PRIORITY` order whose score is positive, or NONE."""
    for name in PRIORITY:
        score = scores.get(name, -1.0)
        if score > 0.0:
            return Gesture(name, float(score))
    return Gesture(NONE, 0.0)


def classify(landmarks: np.ndarray) -> Gesture:
    """The gesture of one hand in one frame, from its 21 landmarks (x, y, z pixels)."""
    measures = measure(landmarks)
    return Gesture(NONE, 0.0) if measures is None else decide(margins(measures))


@dataclass
class _Track:
    held: Gesture
    candidate: str
    candidate_since: float
    candidate_frames: int
    last_seen: float
    last_scores: dict[str, float]


class GestureFilter:
    """Hysteresis per hand: a new gesture replaces the one held only once the classifier has given
    it on ``min_frames`` consecutive frames spanning at least ``min_seconds`` of frame time.

    Each hand is known by its track id; an id not seen for ``forget_after`` seconds is dropped,
    and a hand seen for the first time holds NONE until its first gesture has persisted. Time
    that goes backwards (a new stream, a seek) forgets every hand. The score reported with a held
    gesture is the classifier's last score for it (0 if it was never seen with one: NONE).
    """

    def __init__(self, min_frames: int = 3, min_seconds: float = 0.0, forget_after: float = 1.0) -> None:
        if min_frames < 1:
            raise ValueError(f"min_frames must be at least 1, got {min_frames}")
        if min_seconds < 0 or forget_after < 0:
            raise ValueError("min_seconds and forget_after must not be negative")
        self.min_frames = min_frames
        self.min_seconds = min_seconds
        self.forget_after = forget_after
        self._tracks: dict[int, _Track] = {}
        self._last_time: float | None = None

    def reset(self) -> None:
        """Forget every hand."""
        self._tracks.clear()
        self._last_time = None

    @property
    def track_ids(self) -> tuple[int, ...]:
        """The hands currently remembered."""
        return tuple(self._tracks)

    def _forget(self, now: float) -> None:
        if self._last_time is not None and now < self._last_time:
            self._tracks.clear()
        self._last_time = now
        for track_id in [i for i, track in self._tracks.items() if now - track.last_seen > self.forget_after]:
            del self._tracks[track_id]

    def update(self, track_id: int, guess: Gesture, timestamp: float) -> Gesture:
        """Feed one hand's per-frame gesture at ``timestamp`` (seconds of frame time); returns the
        gesture held for it. Call once per hand per frame, the frame's hands in any order."""
        self._forget(timestamp)
        track = self._tracks.get(track_id)
        if track is None:
            track = self._tracks[track_id] = _Track(Gesture(NONE, 0.0), guess.name, timestamp, 0, timestamp, {})
        track.last_seen = timestamp
        track.last_scores[guess.name] = guess.score
        if guess.name == track.held.name:
            track.held = guess
            track.candidate, track.candidate_frames = guess.name, 0
            return guess
        if guess.name != track.candidate or track.candidate_frames == 0:
            track.candidate, track.candidate_since, track.candidate_frames = guess.name, timestamp, 0
        track.candidate_frames += 1
        if track.candidate_frames >= self.min_frames and timestamp - track.candidate_since >= self.min_seconds:
            track.held = guess
            track.candidate_frames = 0
            return guess
        return Gesture(track.held.name, track.last_scores.get(track.held.name, track.held.score))
