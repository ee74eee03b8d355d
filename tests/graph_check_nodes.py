"""Nodes for the tests of the whole-graph checks: each declares what it reads, requires and writes
(or, ``Undeclared``, says nothing), so the tests do not depend on the built-in nodes' declarations."""

from __future__ import annotations

from typing import Any

import numpy as np

from livepose.graph.frame import Frame
from livepose.graph.node import Node, param


class Source(Node):
    """A few black frames."""

    outputs = ("frame",)
    writes = ()
    count: int = param(3, "frames before the end of the stream", ge=0)

    def setup(self) -> None:
        self._made = 0

    def process(self) -> Frame | None:
        if self._made >= self.count:
            return None
        self._made += 1
        return Frame.capture(np.zeros((48, 64, 3), np.uint8), self._made - 1)


class FindsHands(Node):
    """Writes 'hands'."""

    inputs = ("frame",)
    outputs = ("frame",)
    writes = ("hands",)

    def process(self, frame: Frame) -> Frame:
        return frame.with_results(hands=())


class TracksHands(Node):
    """A tracking loop's step: the frame gets 'hands', the loop's stream 'hand_tracks'."""

    inputs = ("frame",)
    outputs = ("frame", "tracked")
    writes = {"frame": ("hands",), "tracked": ("hand_tracks",)}

    def process(self, frame: Frame) -> dict[str, Frame]:
        return {"frame": frame.with_results(hands=()), "tracked": frame.with_results(hand_tracks=())}


class NeedsHands(Node):
    """Cannot work without 'hands'."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = ("hands",)
    writes = ()

    def process(self, frame: Frame) -> Frame:
        return frame


class ReadsHands(Node):
    """Uses 'hands' when there are some."""

    inputs = ("frame",)
    outputs = ("frame",)
    reads = ("hands",)
    writes = ()

    def process(self, frame: Frame) -> Frame:
        return frame


class DrawsWhatIsThere(Node):
    """Uses 'hands' and 'faces', whichever there are (as a visualizer does)."""

    inputs = ("frame",)
    outputs = ("frame",)
    reads = ("hands", "faces")
    writes = ()

    def process(self, frame: Frame) -> Frame:
        return frame


class NeedsGlow(Node):
    """Cannot work without 'glow', a result no built-in node writes."""

    inputs = ("frame",)
    outputs = ("frame",)
    requires = ("glow",)
    writes = ()

    def process(self, frame: Frame) -> Frame:
        return frame


class NeedsTracks(Node):
    """Cannot work without the previous frame's 'hand_tracks', fed back on ``previous``."""

    inputs = ("frame", "previous")
    outputs = ("frame",)
    requires = ("hand_tracks",)
    writes = ()

    def process(self, frame: Frame, previous: Any) -> Frame:
        return frame


class Undeclared(Node):
    """Says nothing of what it writes (``writes`` left at None)."""

    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> Frame:
        return frame


class Keep(Node):
    """A sink that keeps every frame it gets in ``frames``."""

    inputs = ("frame",)
    writes = ()

    def setup(self) -> None:
        self.frames: list[Frame] = []

    def process(self, frame: Frame) -> None:
        self.frames.append(frame)


class Screen(Keep):
    """A sink that shows the output to a person (``shows_output``), as a display does."""

    shows_output = True


class EchoLive(Node):
    """Writes the live figures its ``ctx.metrics`` gives: now ('live') and during set-up ('live_at_setup')."""

    inputs = ("frame",)
    outputs = ("frame",)
    writes = ("live", "live_at_setup")

    def setup(self) -> None:
        self._at_setup = self.ctx.metrics.live()

    def process(self, frame: Frame) -> Frame:
        return frame.with_results(live=self.ctx.metrics.live(), live_at_setup=self._at_setup)
