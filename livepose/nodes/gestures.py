"""The gestures node: each hand's gesture (open palm, fist, pointing, pinch, victory, thumbs up) with hysteresis."""

from __future__ import annotations

from typing import Any

from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.results import GESTURES, HANDS, MEDIA_TIME, STILL_IMAGE, HandGesture, frame_time
from livepose.vision.gestures import GestureFilter, classify


class Gestures(Node):
    """Name each hand's gesture from its landmarks and hold it through brief flickers.

    The classifier (``livepose.vision.gestures``) reads angles and distances relative to the hand's
    size, so it works near and far, upright or tilted, mirrored or not; a new gesture replaces a
    hand's current one once it has lasted ``min_frames`` frames and ``min_seconds`` of frame time.
    Hands are told apart by ``track_id``: after a ``tracker`` node a hand keeps its gesture through
    short losses. Frames of unrelated stills are classified each on its own, without hysteresis.
    """

    inputs = ("frame",)
    outputs = ("frame",)
    requires = (HANDS,)
    reads = (MEDIA_TIME, STILL_IMAGE)
    writes = (GESTURES,)

    min_frames: int = param(3, "frames a new gesture must last before it replaces a hand's current one "
                               "(1: no hysteresis)", ge=1, le=300)
    min_seconds: float = param(0.0, "seconds of frame time a new gesture must also last (frame-rate independent)",
                               ge=0, le=10)
    forget_after: float = param(1.0, "seconds of frame time after which a hand not seen is forgotten", ge=0, le=60)

    def __init__(self, name: str | None = None, **params: Any) -> None:
        super().__init__(name, **params)
        self._filter = GestureFilter(self.min_frames, self.min_seconds, self.forget_after)

    def process(self, frame: Frame) -> Frame:
        hands = frame.results.get(HANDS, ())
        still = bool(frame.results.get(STILL_IMAGE, False))
        if still:
            self._filter.reset()
        timestamp = frame_time(frame)
        found = []
        for hand in hands:
            guess = classify(hand.landmarks)
            held = guess if still else self._filter.update(hand.track_id, guess, timestamp)
            found.append(HandGesture(hand.track_id, held.name, held.score))
        return frame.with_results(**{GESTURES: tuple(found)})
