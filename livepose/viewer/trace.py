"""The landmark trace: one chosen landmark's x and y over time, raw and smoothed.

This is how a user sees jitter and lag: after a ``tracker`` node that smooths, each hand and face
carries ``raw_landmarks`` beside its smoothed ``landmarks``. The object followed is the one with the
lowest ``track_id`` of its kind, so the trace stays on one hand while the tracker keeps its id.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from livepose.results import FACES, HANDS, FaceLandmark, HandLandmark

TRACE_SECONDS = 30.0


@dataclass(frozen=True)
class TraceChoice:
    """Which landmark to trace: ``kind`` ``"hand"`` or ``"face"`` and its index."""

    kind: str
    index: int

    @property
    def label(self) -> str:
        names = HandLandmark if self.kind == "hand" else FaceLandmark
        try:
            name = names(self.index).name
        except ValueError:
            name = str(self.index)
        return f"{self.kind} {name}"


def trace_choices() -> list[TraceChoice]:
    """The landmarks offered in the viewer: every hand landmark, then the face mesh's named points."""
    return ([TraceChoice("hand", int(mark)) for mark in HandLandmark]
            + [TraceChoice("face", int(mark)) for mark in FaceLandmark])


def parse_trace(text: str) -> TraceChoice:
    """``hand:INDEX_FINGER_TIP``, ``face:NOSE_TIP`` or ``face:152`` (any mesh index)."""
    kind, _, name = text.partition(":")
    kind = kind.strip().lower()
    name = name.strip()
    names = {"hand": HandLandmark, "face": FaceLandmark}.get(kind)
    if names is None or not name:
        raise ValueError(f"trace {text!r}: write hand:NAME or face:NAME (a name of livepose.results.HandLandmark "
                         "or FaceLandmark, or a landmark index)")
    if name.isascii() and name.isdigit():
        index, count = int(name), 21 if kind == "hand" else 468
        if index >= count:
            raise ValueError(f"trace {text!r}: a {kind} has landmarks 0 to {count - 1}")
        return TraceChoice(kind, index)
    try:
        return TraceChoice(kind, int(names[name.upper()]))
    except KeyError:
        raise ValueError(f"trace {text!r}: no {kind} landmark {name!r}; one of "
                         f"{', '.join(mark.name for mark in names)}") from None


@dataclass(frozen=True)
class TracePoint:
    time: float
    track_id: int
    raw: tuple[float, float]
    smoothed: tuple[float, float] | None
    """``None`` when no tracker smoothed the landmarks."""


def trace_point(results: Mapping[str, Any], choice: TraceChoice, time: float) -> TracePoint | None:
    """The chosen landmark in one frame's results, or ``None`` when no such object is there."""
    objects = results.get(HANDS if choice.kind == "hand" else FACES) or ()
    if not objects:
        return None
    target = min(objects, key=lambda obj: obj.track_id)
    landmarks = np.asarray(target.landmarks)
    if choice.index >= len(landmarks):
        return None
    shown = (float(landmarks[choice.index, 0]), float(landmarks[choice.index, 1]))
    raw_landmarks = getattr(target, "raw_landmarks", None)
    if raw_landmarks is None:
        return TracePoint(time, int(target.track_id), shown, None)
    raw = (float(raw_landmarks[choice.index, 0]), float(raw_landmarks[choice.index, 1]))
    return TracePoint(time, int(target.track_id), raw, shown)


class LandmarkTrace:
    """The last ``seconds`` of trace points; written by the node's thread, read by the window's."""

    def __init__(self, choice: TraceChoice, seconds: float = TRACE_SECONDS) -> None:
        self.seconds = seconds
        self._choice = choice
        self._points: deque[TracePoint] = deque()
        self._lock = threading.Lock()

    @property
    def choice(self) -> TraceChoice:
        return self._choice

    def choose(self, choice: TraceChoice) -> None:
        """Follow another landmark from now on (the points so far are dropped)."""
        with self._lock:
            self._choice = choice
            self._points.clear()

    def add(self, results: Mapping[str, Any], time: float) -> None:
        with self._lock:
            choice = self._choice
        point = trace_point(results, choice, time)
        with self._lock:
            if point is not None and choice == self._choice:  # the window may have chosen another meanwhile
                self._points.append(point)
            while self._points and self._points[0].time < time - self.seconds:
                self._points.popleft()

    def points(self) -> list[TracePoint]:
        with self._lock:
            return list(self._points)
