"""Realtime admission: a source's frame enters the graph only when the graph can finish it.

Without it, every queue of a realtime graph drops on its own, and a join (a merge of two branches)
passes only the frames that both branches happened to keep: most of the work done is thrown away.
With it, a source has at most ``max_in_flight`` frames between itself and the sinks; a frame that
arrives while the graph is full waits in one held slot (a newer one replaces it, and the older is
counted as dropped), and is admitted the moment a sink finishes the oldest frame in flight. That is
MediaPipe's flow limiter (a back edge from the end of the graph to its entrance, one frame queued),
and it makes the source the only place where realtime frames are dropped: every admitted frame
runs through every branch. Offline runs need none of this: their queues apply back-pressure.

A frame is finished once every sink downstream of its source has handled it or a later frame
(sinks see frame indices in increasing order, so a sink that has passed an index will never see
it). A sink that ends is no longer waited for.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable

DEFAULT_MAX_IN_FLIGHT = 1
"""MediaPipe's default: the graph works on one frame at a time, and the next is admitted the moment
the sinks have it. A second frame in flight buys little where the cores are already busy with the
branches of the first, and it costs the latency of waiting behind it."""


class FlowLimiter:
    """Admission for one source. Thread-safe; ``offer`` is called by the source, ``finished`` by sinks."""

    def __init__(self, max_in_flight: int, sinks: Iterable[str]) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self._sinks = set(sinks)
        self._pending: dict[int, set[str]] = {}
        """Index of each frame in flight -> the sinks that have not handled it yet."""
        self._held: tuple[int, Any] | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.admitted = 0
        self.dropped = 0
        """Frames the source produced that never entered the graph."""

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._pending)

    def offer(self, index: int, item: Any) -> bool:
        """The source has frame ``index``: True if it may enter now, else it is held (or dropped
        later, when a newer frame replaces it before there is room)."""
        with self._lock:
            if self._held is None and self._has_room():
                self._admit(index)
                return True
            if self._held is not None:
                self.dropped += 1
            self._held = (index, item)
            return False

    def finished(self, sink: str, index: int) -> tuple[int, Any] | None:
        """Sink ``sink`` has handled frame ``index`` (or skipped it). Returns the held frame if it is
        admitted now: the caller sends it on, in order, before anything newer."""
        with self._lock:
            for pending_index, waiting in list(self._pending.items()):
                if pending_index <= index:
                    waiting.discard(sink)
                    if not waiting:
                        del self._pending[pending_index]
            return self._release_held()

    def sink_ended(self, sink: str) -> tuple[int, Any] | None:
        """A sink will handle nothing more (its stream ended or it stopped): stop waiting for it."""
        with self._lock:
            self._sinks.discard(sink)
            for pending_index, waiting in list(self._pending.items()):
                waiting.discard(sink)
                if not waiting:
                    del self._pending[pending_index]
            return self._release_held()

    def take_held(self) -> tuple[int, Any] | None:
        """The held frame, removed, whether or not there is room (the source is ending)."""
        with self._lock:
            held, self._held = self._held, None
            return held

    def wait_until_drained(self, timeout: float, stop: threading.Event) -> bool:
        """Wait until no frame is held (the last one was admitted); False on timeout or stop."""
        with self._lock:
            return self._changed.wait_for(lambda: self._held is None or stop.is_set() or not self._sinks,
                                          timeout) and self._held is None

    def wake(self) -> None:
        """Wake a source waiting in :meth:`wait_until_drained` (the pipeline is stopping)."""
        with self._lock:
            self._changed.notify_all()

    def _has_room(self) -> bool:
        return len(self._pending) < self.max_in_flight

    def _admit(self, index: int) -> None:
        self.admitted += 1
        if self._sinks:
            self._pending[index] = set(self._sinks)

    def _release_held(self) -> tuple[int, Any] | None:
        if self._held is None or not self._has_room():
            return None
        held, self._held = self._held, None
        self._admit(held[0])
        self._changed.notify_all()
        return held
