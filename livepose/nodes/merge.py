"""Joining two branches of a pipeline into one frame."""

from __future__ import annotations

from livepose.graph.frame import Frame
from livepose.graph.node import Node


class Merge(Node):
    """Join two branches: the frame of `frame` with the results of `other` added (same frame index)."""

    inputs = ("frame", "other")
    outputs = ("frame",)
    writes = ()
    """Adds nothing of its own: the results of both inputs pass on."""

    def process(self, frame: Frame, other: Frame) -> Frame:
        return frame.merged_with(other)
