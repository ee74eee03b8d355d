"""Persistent ids for hands and faces: an id that survives short losses, crossings and handedness flips.

The detect-or-track loop (``tracking``) gives each object a ``track_id`` that lasts only while the
object is tracked on consecutive frames: a hand missed for one frame comes back with a new loop id, and
two hands crossing can swap theirs. ``IdentityTracker`` turns those into ids that last as long as the
object stays in view, allowing short losses. One tracker per object kind (hands, faces) and per camera;
call ``update`` once per frame with every object of that kind.

Public API
----------
- ``Observation(centre, size, label=None, loop_id=-1)``: one object in one frame: centre and size in
  pixels, ``label`` the handedness (``"Left"``/``"Right"``) or ``None`` (faces), ``loop_id`` the loop's
  ``track_id`` (``-1``: unknown). ``observe(landmarks, label=None, loop_id=-1)`` builds one from
  ``(N, 2 or 3)`` pixel landmarks: centre and size of their bounding box, size = (width + height) / 2.
- ``IdentityTracker(max_lost=0.5, *, gate=..., label_penalty=..., ...)``:
  ``update(observations, timestamp) -> list[int]``: the persistent id of each observation, in order;
  ``reset()`` forgets every track; ``tracks``: copies of the live tracks' state (``Track``).

Rules (per ``update``)
----------------------
1. Time is the frame time given, not the wall clock: elapsed = timestamp - previous timestamp, or 0 when
   it does not increase (that frame then counts as simultaneous with the previous one; nothing is
   dropped). Tracks unseen for more than ``max_lost`` seconds are forgotten; their ids are never reused.
   A tentative track (rule 6) is forgotten sooner, when unseen for more than ``duplicate_lost`` seconds.
2. Loop continuity: an observation whose ``loop_id`` (>= 0) is the loop id of a live track's previous
   observation is that track, provided their labels agree (either being ``None`` agrees). The loop
   tracked the object without a break, so this wins over any position jump. With disagreeing labels it
   is not trusted: that is what a swap of loop ids between crossing hands looks like (the loop's ROI
   slid onto the other hand, which the model labels as such). The pair then goes through step 3 like
   any other, where a one-frame handedness flip of the same hand still matches by position. Loop ids
   must come from one loop: call ``reset()`` when it restarts (its ids start again at 0). A tentative
   track (rule 6) never wins by loop continuity: its observation goes through step 3.
3. Assignment: the remaining observations and tracks are paired by
   ``scipy.optimize.linear_sum_assignment`` on cost = distance from the observation's centre to the
   track's predicted centre, divided by the mean of their sizes, plus ``label_penalty`` times the
   track's label confidence (the share of its last ``label_history`` frames that had its label: a
   track seen once has weak evidence of its handedness) when their labels differ, plus
   ``duplicate_penalty`` when the track is tentative (rule 6), so that the older track keeps its
   object. Pairs costing more than the gate, the duplicate penalty left out, are not matched. The
   gate grows with the time the track has been unseen beyond ``gate_grace``: ``gate + gate_growth * max(0, seconds
   unseen - gate_grace)`` (a hand lost for 0.3 s may have moved far, and the prediction only looks
   ``prediction_horizon`` ahead; a miss of a frame or two keeps the plain gate). The prediction
   moves the last centre at the track's smoothed velocity for the time since it was seen, at most
   ``prediction_horizon`` seconds.
4. Every observation left over starts a track with the next id (0, 1, 2, ...). Each track takes at most
   one observation, so no two observations of a frame share an id.
5. A matched track takes the observation's centre, size and loop id (a track that held that loop id
   before drops it); its velocity is smoothed with a
   time constant (``velocity_time_constant``), so the smoothing is the same at any frame rate and a
   tiny interval cannot make a large velocity; its label is the most frequent of its last
   ``label_history`` labels (a tie keeps the current one), so one mislabelled frame changes nothing.
6. Duplicates: MediaPipe's loop now and then answers twice on one object for a frame or two (a second
   hand, or a second, larger face mesh, a few pixels off; a duplicate hand is as often labelled as the
   other hand). An observation that starts a track while another observation of the same frame,
   already given a track, is the same object (whatever their labels: two real hands that come
   together were tracked before, so neither starts a track there; centres under
   ``DUPLICATE_DISTANCE`` mean sizes apart; sizes within a factor ``DUPLICATE_SIZE_RATIO``) starts a
   *tentative* track. It keeps its own id (the node writes both observations, so they must differ)
   but, until it has been seen on ``CONFIRM_FRAMES`` frames with no duplicate of its observation in
   the frame (MediaPipe's duplicates come and go beside their object for many frames: those frames do
   not count), it pays ``duplicate_penalty`` in the assignment, never wins by loop continuity and is
   forgotten after ``duplicate_lost`` seconds unseen; after that it is an ordinary track.

Tuned constants: on MediaPipe's hands in the shared clips' reference answers (9 clips, 25-30 fps),
with runs of 1 to 13 frames removed (every hand, or one of them) at every other frame, and each hand
that comes back checked against a frame-to-frame association of the full sequence (hands that the
reference itself had just lost were not counted either way). With these values, of about 7,600 hands
coming back 2.5% got a new id and 0.2% (14) another hand's id.
- ``GATE = 1.5`` object sizes: 1.0 doubled the new ids; 2.0 halved them but nearly doubled the swaps
  (hands side by side are 1-1.5 sizes apart centre to centre).
- ``LABEL_PENALTY = 0.75``: keeps crossing hands apart when positions are equally good (the wrong
  pairing pays it twice) while a hand with a flipped label where its track predicts it (cost 0.75 plus
  a small distance) still matches under the gate; 0.5 gave 21 swaps instead of 14, 1.0 no better.
- ``PREDICTION_HORIZON = 0.1`` s: no prediction gave 3 times the swaps; 0.2 s and more gave more new
  ids (hands change direction within a few tenths of a second, so a longer extrapolation overshoots).
- ``VELOCITY_TIME_CONSTANT = 0.1`` s (weight 0.28 on each new velocity at 30 fps): 0.03-0.2 s differ
  little; 0.1 s was the best.
- ``LABEL_HISTORY = 5`` labels: a relabel must last 3 of 5 frames to change a track's label.
- ``GATE_GROWTH = 4.0`` sizes per second unseen (tuned on ``benchmarks/bench_tracker.py``'s blanked
  frames): a hand lost for 0.24 s that moved 1.8 sizes (hands5) comes back under 2.5; two hands side
  by side are still told apart by the assignment and their labels.
- Duplicates (rule 6) as in the benchmark's reference labelling: ``DUPLICATE_DISTANCE = 0.5`` sizes,
  ``DUPLICATE_SIZE_RATIO = 1.6``; ``DUPLICATE_PENALTY = LABEL_PENALTY + DUPLICATE_DISTANCE`` = 1.25
  sizes (a duplicate is under 0.5 sizes from its object and may carry the other label, so the older
  track wins any tie it could make, even paying the label penalty); ``CONFIRM_FRAMES = 3``;
  ``DUPLICATE_LOST = 0.1`` s (2-3 frames at 25-30 fps: the duplicates seen came back within a frame).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "Observation",
    "observe",
    "Track",
    "IdentityTracker",
    "MAX_LOST",
    "GATE",
    "LABEL_PENALTY",
    "PREDICTION_HORIZON",
    "VELOCITY_TIME_CONSTANT",
    "LABEL_HISTORY",
    "GATE_GROWTH",
    "GATE_GRACE",
    "DUPLICATE_DISTANCE",
    "DUPLICATE_SIZE_RATIO",
    "DUPLICATE_PENALTY",
    "CONFIRM_FRAMES",
    "DUPLICATE_LOST",
]

MAX_LOST = 0.5
GATE = 1.5
LABEL_PENALTY = 0.75
PREDICTION_HORIZON = 0.1
VELOCITY_TIME_CONSTANT = 0.1
LABEL_HISTORY = 5
GATE_GROWTH = 4.0
GATE_GRACE = 0.1
DUPLICATE_DISTANCE = 0.5
DUPLICATE_SIZE_RATIO = 1.6
DUPLICATE_PENALTY = LABEL_PENALTY + DUPLICATE_DISTANCE
CONFIRM_FRAMES = 3
DUPLICATE_LOST = 0.1
MIN_SIZE = 1.0
"""``observe`` never gives a size below one pixel (a single landmark, or all on one point)."""

_UNMATCHABLE = 1e6  # cost standing for "above the gate" in the assignment matrix


@dataclass(frozen=True)
class Observation:
    """What the identity tracker needs of one object in one frame (pixels; see the module doc)."""

    centre: tuple[float, float]
    size: float
    label: str | None = None
    loop_id: int = -1

    def __post_init__(self) -> None:
        x, y = self.centre
        x, y, size = float(x), float(y), float(self.size)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"observation centre must be finite, got {self.centre!r}")
        if not (math.isfinite(size) and size > 0):
            raise ValueError(f"observation size must be finite and positive, got {self.size!r}")
        object.__setattr__(self, "centre", (x, y))
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "loop_id", int(self.loop_id))


def observe(landmarks: np.ndarray, label: str | None = None, loop_id: int = -1) -> Observation:
    """The observation of one object from its ``(N, 2 or 3)`` pixel landmarks (z is ignored): the centre
    of their bounding box and size (width + height) / 2, at least ``MIN_SIZE``."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] < 2:
        raise ValueError(f"landmarks must be (N, 2 or 3) with N >= 1, got shape {points.shape}")
    low = points[:, :2].min(axis=0)
    high = points[:, :2].max(axis=0)
    size = max(float((high[0] - low[0]) + (high[1] - low[1])) / 2, MIN_SIZE)
    return Observation((float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2), size, label, loop_id)


@dataclass
class Track:
    """The state of one persistent identity (times on the tracker's clock, lengths in pixels)."""

    id: int
    centre: tuple[float, float]
    size: float
    last_seen: float
    loop_id: int
    label: str | None
    velocity: tuple[float, float] = (0.0, 0.0)
    """Smoothed, in pixels per second."""
    labels: deque = field(default_factory=deque)
    """The last labels observed (``None`` is not recorded), newest last."""
    frames: int = 1
    """Frames it has been seen on."""
    tentative: bool = False
    """Started as a duplicate of another observation and not yet seen on ``CONFIRM_FRAMES`` frames
    without one (rule 6)."""
    confirmations: int = 0
    """Frames it has been seen on with no duplicate of its observation beside it."""

    def predicted_centre(self, now: float, horizon: float) -> tuple[float, float]:
        """Where the track should be at ``now``: constant velocity for at most ``horizon`` seconds."""
        lead = min(now - self.last_seen, horizon)
        return self.centre[0] + self.velocity[0] * lead, self.centre[1] + self.velocity[1] * lead

    def absorb(self, observation: Observation, now: float, time_constant: float, confirms: bool = True) -> None:
        """Take the observation matched to this track at ``now`` (``confirms``: the frame counts towards
        confirming a tentative track)."""
        elapsed = now - self.last_seen
        (x, y), (old_x, old_y) = observation.centre, self.centre
        if elapsed > 0:
            weight = 1.0 - math.exp(-elapsed / time_constant)
            vx, vy = self.velocity
            self.velocity = (vx + weight * ((x - old_x) / elapsed - vx), vy + weight * ((y - old_y) / elapsed - vy))
        self.centre = (x, y)
        self.size = observation.size
        self.last_seen = now
        self.loop_id = observation.loop_id
        self.frames += 1
        if confirms:
            self.confirmations += 1
            if self.confirmations >= CONFIRM_FRAMES:
                self.tentative = False
        self._vote(observation.label)

    def label_confidence(self, history: int) -> float:
        """The share of the last ``history`` frames whose label was the track's: a label seen once is
        weak evidence against an observation labelled otherwise."""
        return min(self.labels.count(self.label), history) / history if self.label is not None else 0.0

    def _vote(self, label: str | None) -> None:
        if label is None:
            return
        self.labels.append(label)
        if label != self.label and self.labels.count(label) > (self.labels.count(self.label) if self.label else 0):
            self.label = label


def _labels_differ(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a != b


def _duplicates(a: Observation, b: Observation) -> bool:
    """Two observations of one frame on the same object (rule 6): labels are not compared, since
    MediaPipe's duplicate of a hand is as often labelled as the other hand."""
    small, large = sorted((a.size, b.size))
    distance = math.hypot(a.centre[0] - b.centre[0], a.centre[1] - b.centre[1])
    return distance < DUPLICATE_DISTANCE * (a.size + b.size) / 2 and large < DUPLICATE_SIZE_RATIO * small


class IdentityTracker:
    """Persistent ids for one kind of object on one camera (see the module doc for the rules)."""

    def __init__(
        self,
        max_lost: float = MAX_LOST,
        *,
        gate: float = GATE,
        label_penalty: float = LABEL_PENALTY,
        prediction_horizon: float = PREDICTION_HORIZON,
        velocity_time_constant: float = VELOCITY_TIME_CONSTANT,
        label_history: int = LABEL_HISTORY,
        gate_growth: float = GATE_GROWTH,
        gate_grace: float = GATE_GRACE,
        duplicate_penalty: float = DUPLICATE_PENALTY,
        duplicate_lost: float = DUPLICATE_LOST,
    ) -> None:
        for name, value in (("max_lost", max_lost), ("label_penalty", label_penalty),
                            ("prediction_horizon", prediction_horizon), ("gate_growth", gate_growth), ("gate_grace", gate_grace),
                            ("duplicate_penalty", duplicate_penalty), ("duplicate_lost", duplicate_lost)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
        for name, value in (("gate", gate), ("velocity_time_constant", velocity_time_constant)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        if label_history < 1:
            raise ValueError(f"label_history must be >= 1, got {label_history!r}")
        self.max_lost = float(max_lost)
        self.gate = float(gate)
        self.label_penalty = float(label_penalty)
        self.prediction_horizon = float(prediction_horizon)
        self.velocity_time_constant = float(velocity_time_constant)
        self.label_history = int(label_history)
        self.gate_growth = float(gate_growth)
        self.gate_grace = float(gate_grace)
        self.duplicate_penalty = float(duplicate_penalty)
        self.duplicate_lost = float(duplicate_lost)
        self._tracks: list[Track] = []
        self._next_id = 0
        self._clock = 0.0  # frame time elapsed, summed over updates; never decreases
        self._last_timestamp: float | None = None

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Copies of the live tracks, oldest id first."""
        return tuple(replace(track, labels=deque(track.labels, maxlen=self.label_history)) for track in self._tracks)

    def reset(self) -> None:
        """Forget every track; ids keep counting up."""
        self._tracks = []

    def update(self, observations: Sequence[Observation], timestamp: float) -> list[int]:
        """The persistent id of each observation of this frame, in order."""
        now = self._advance(timestamp)
        self._tracks = [track for track in self._tracks if now - track.last_seen
                        <= (min(self.max_lost, self.duplicate_lost) if track.tentative else self.max_lost)]
        matches: list[Track | None] = [None] * len(observations)

        by_loop_id = {track.loop_id: track for track in self._tracks if track.loop_id >= 0 and not track.tentative}
        claimed: set[int] = set()
        pending: list[int] = []
        for index, observation in enumerate(observations):
            track = by_loop_id.pop(observation.loop_id, None) if observation.loop_id >= 0 else None
            if track is not None and not _labels_differ(track.label, observation.label):
                matches[index] = track
                claimed.add(track.id)
            else:
                pending.append(index)

        free = [track for track in self._tracks if track.id not in claimed]
        if pending and free:
            for index, track in self._assign([observations[i] for i in pending], free, now):
                matches[pending[index]] = track
                claimed.add(track.id)

        taken = {observation.loop_id for observation in observations if observation.loop_id >= 0}
        for track in self._tracks:
            if track.loop_id in taken and track.id not in claimed:
                track.loop_id = -1  # the loop id now belongs to the track that took it this frame

        for index, (observation, track) in enumerate(zip(observations, matches)):
            if track is not None:
                # A tentative track seen next to the object it duplicates is not confirmed by that frame.
                duplicated = track.tentative and any(_duplicates(observation, observations[other])
                                                     for other in range(len(observations)) if other != index)
                track.absorb(observation, now, self.velocity_time_constant, confirms=not duplicated)
        for index, observation in enumerate(observations):
            if matches[index] is None:
                duplicate = any(matches[other] is not None and _duplicates(observation, observations[other])
                                for other in range(len(observations)) if other != index)
                matches[index] = self._start(observation, now, duplicate)
        return [track.id for track in matches]  # type: ignore[union-attr]

    def _advance(self, timestamp: float) -> float:
        timestamp = float(timestamp)
        if not math.isfinite(timestamp):
            raise ValueError(f"timestamp must be finite, got {timestamp!r}")
        if self._last_timestamp is not None:
            self._clock += max(timestamp - self._last_timestamp, 0.0)
        self._last_timestamp = timestamp
        return self._clock

    def _cost(self, observation: Observation, track: Track, now: float) -> float:
        px, py = track.predicted_centre(now, self.prediction_horizon)
        x, y = observation.centre
        cost = math.hypot(x - px, y - py) / ((observation.size + track.size) / 2)
        if _labels_differ(track.label, observation.label):
            cost += self.label_penalty * track.label_confidence(self.label_history)
        return cost

    def _gate(self, track: Track, now: float) -> float:
        return self.gate + self.gate_growth * max(now - track.last_seen - self.gate_grace, 0.0)

    def _assign(self, observations: list[Observation], tracks: list[Track], now: float) -> list[tuple[int, Track]]:
        """Pairs (index into ``observations``, track) of the cheapest assignment within the gate."""
        if len(observations) == 1 and len(tracks) == 1:
            return [(0, tracks[0])] if self._cost(observations[0], tracks[0], now) <= self._gate(tracks[0], now) else []
        gates = [self._gate(track, now) for track in tracks]
        # The duplicate penalty ranks a tentative track below its object's track; it is not held against the gate.
        penalties = [self.duplicate_penalty if track.tentative else 0.0 for track in tracks]
        costs = np.array([[cost + penalty if (cost := self._cost(observation, track, now)) <= gate else _UNMATCHABLE
                           for track, gate, penalty in zip(tracks, gates, penalties)] for observation in observations])
        rows, columns = linear_sum_assignment(costs)
        return [(int(row), tracks[column]) for row, column in zip(rows, columns) if costs[row, column] < _UNMATCHABLE]

    def _start(self, observation: Observation, now: float, duplicate: bool = False) -> Track:
        track = Track(self._next_id, observation.centre, observation.size, now, observation.loop_id,
                      observation.label, labels=deque(maxlen=self.label_history), tentative=duplicate)
        if observation.label is not None:
            track.labels.append(observation.label)
        self._tracks.append(track)
        self._next_id += 1
        return track
