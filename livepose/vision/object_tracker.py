"""Persistent identities and smoothed landmarks for one kind of object (hands, or faces), frame by frame.

``ObjectTracker.update(objects, timestamp)`` takes one frame's ``Hand`` or ``Face`` results (see
``livepose.results``) and returns them with ``track_id`` replaced by a persistent id
(``identity.IdentityTracker``: kept through losses of up to ``max_lost`` seconds of frame time and
through crossings) and, when smoothing is on, ``landmarks`` (and a hand's ``world_landmarks``)
replaced by their One Euro-filtered values (``smoothing.LandmarkSmoother``, one per id), the
model's values kept in ``raw_landmarks`` (and ``raw_world_landmarks``). Without smoothing the
landmarks are exactly the model's.

The filter of an object lives as long as its id: an object back after a short loss continues
its filter (the long interval makes that first sample follow the new position closely), and a
new id starts a fresh one.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Generic, Sequence, TypeVar

from livepose.vision.identity import IdentityTracker, observe
from livepose.vision.smoothing import LandmarkSmoother, OneEuroSettings

ObjectT = TypeVar("ObjectT")


class ObjectTracker(Generic[ObjectT]):
    """Ids and smoothing for one kind of object; see the module docstring. Not thread-safe."""

    def __init__(self, *, max_lost: float, label_of: Callable[[ObjectT], str | None],
                 image: OneEuroSettings | None, world: OneEuroSettings | None = None) -> None:
        """``label_of`` gives what must not change on one object (a hand's handedness; None for
        faces); ``image``, ``world``: the filters of image and world landmarks, ``image=None`` to
        leave landmarks as found; ``world`` only for objects with ``world_landmarks``."""
        self.identities = IdentityTracker(max_lost=max_lost)
        self.max_lost = max_lost
        self.label_of = label_of
        self.image = image
        self.world = world
        self._smoothers: dict[int, tuple[LandmarkSmoother, float]] = {}
        """Persistent id -> its filter and the last time it was seen."""

    def reset(self) -> None:
        """Forget every object (unrelated stills follow); ids keep counting up."""
        self.identities.reset()
        self._smoothers.clear()

    def update(self, objects: Sequence[ObjectT], timestamp: float) -> tuple[ObjectT, ...]:
        observations = [observe(item.landmarks, self.label_of(item), item.track_id)  # type: ignore[attr-defined]
                        for item in objects]
        ids = self.identities.update(observations, timestamp)
        tracked = tuple(self._tracked(item, object_id, timestamp) for item, object_id in zip(objects, ids))
        self._forget_older_than(timestamp - self.max_lost)
        return tracked

    def _tracked(self, item: ObjectT, object_id: int, timestamp: float) -> ObjectT:
        if self.image is None:
            return dataclasses.replace(item, track_id=object_id)  # type: ignore[type-var]
        smoother = self._smoothers.get(object_id, (None, 0.0))[0] or LandmarkSmoother(self.image, self.world)
        self._smoothers[object_id] = (smoother, timestamp)
        world = getattr(item, "world_landmarks", None) if self.world is not None else None
        landmarks, smoothed_world = smoother(item.landmarks, timestamp, world)  # type: ignore[attr-defined]
        changes = {"track_id": object_id, "landmarks": landmarks, "raw_landmarks": item.landmarks}  # type: ignore[attr-defined]
        if world is not None:
            changes.update(world_landmarks=smoothed_world, raw_world_landmarks=world)
        return dataclasses.replace(item, **changes)  # type: ignore[type-var]

    def _forget_older_than(self, cutoff: float) -> None:
        for object_id in [i for i, (_, seen) in self._smoothers.items() if seen < cutoff]:
            del self._smoothers[object_id]
