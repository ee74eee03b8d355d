"""The message that flows along every stream: one video frame and what nodes found in it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np


def _read_only(image: np.ndarray) -> np.ndarray:
    if image.flags.writeable:
        # A view, so the caller's own array stays writable and nothing is copied.
        image = image.view()
        image.flags.writeable = False
    return image


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One frame: a read-only image, its index and capture time, and named results.

    Frames are immutable, so one object can fan out to any number of consumers. A node
    that draws copies the image first (``frame.image.copy()``) and returns
    ``frame.with_image(drawn)``; a node that finds something returns
    ``frame.with_results(hands=...)``. ``livepose.results`` names the well-known results and
    their types. Results should themselves be immutable values (tuples, frozen dataclasses,
    read-only arrays).
    """

    image: np.ndarray
    index: int
    timestamp: float
    """Capture time, from ``time.monotonic()``."""
    mirrored: bool = False
    """Whether the image was flipped left-right at capture (selfie view)."""
    results: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _read_only(self.image))
        if not isinstance(self.results, MappingProxyType):
            object.__setattr__(self, "results", MappingProxyType(dict(self.results)))

    @classmethod
    def capture(cls, image: np.ndarray, index: int, *, mirrored: bool = False,
                timestamp: float | None = None) -> "Frame":
        """A new frame stamped with the current monotonic time unless given one."""
        return cls(image, index, time.monotonic() if timestamp is None else timestamp, mirrored)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def with_image(self, image: np.ndarray) -> "Frame":
        """The same frame (index, time, results) with another picture."""
        return replace(self, image=image)

    def with_results(self, **results: Any) -> "Frame":
        """The same frame with results added or replaced."""
        merged = dict(self.results)
        merged.update(results)
        return replace(self, results=merged)

    def merged_with(self, *others: "Frame") -> "Frame":
        """This frame with the results of other frames of the same index added."""
        merged = dict(self.results)
        for other in others:
            merged.update(other.results)
        return replace(self, results=merged)
