"""Bounded queues with an overflow policy per edge, and the inbox that joins a node's inputs.

Every node owns one :class:`Inbox` holding one queue per input port. Producers ``put`` into it;
the node's thread blocks in ``get`` on a single condition variable until every (non-feedback)
input has a message of the same frame index. No polling: every wait is a condition wait.

Besides frames, queues carry two markers: :data:`END` (the stream is over) and :class:`Skip`
(frame ``index`` was dropped upstream). Skips let joins and feedback loops know that an index
will never arrive, so offline runs stay exact and never wait for a frame that is gone.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Sequence


class _End:
    index = float("inf")

    def __repr__(self) -> str:
        return "END"


END = _End()
"""End of stream marker: nothing follows it on this edge."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Frame ``index`` was dropped upstream (filtered out or failed with on_error: skip_frame)."""

    index: int


class Edge:
    """One stream's queue into one consumer port; counters are read by the metrics."""

    __slots__ = ("stream", "port", "size", "policy", "feedback", "items", "drops", "max_depth")

    def __init__(self, stream: str, port: str, size: int, policy: str, feedback: bool) -> None:
        self.stream = stream
        self.port = port
        self.size = size
        self.policy = policy
        self.feedback = feedback
        self.items: deque[Any] = deque()
        self.drops = 0
        self.max_depth = 0

    @property
    def depth(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What ``Inbox.get`` hands the node: a frame index's regular inputs, or a skip.

    Feedback inputs are read in a second step, ``Inbox.feedback(delivery)``, so that a node can
    start the work that does not need them while they are still on their way round the loop.
    """

    index: int
    frames: dict[str, Any]
    """Port -> Frame for the regular ports (empty for a skip)."""
    skipped: bool = False
    feedback_of: int | None = None
    """The index whose feedback messages belong to this delivery (the previously delivered one)."""
    origin: tuple[str, int | None] | None = None
    """A gathering inbox's delivery: the port it came on and the index it had there (None: that port's
    stream ended)."""


class Inbox:
    """The input queues of one node, joined by frame index."""

    def __init__(self, edges: Sequence[Edge], realtime: bool) -> None:
        self.edges = list(edges)
        self._regular = [e for e in self.edges if not e.feedback]
        self._feedback = [e for e in self.edges if e.feedback]
        self._realtime = realtime
        self._lock = threading.Lock()
        self._readable = threading.Condition(self._lock)
        self._writable = threading.Condition(self._lock)
        self._closed = False
        self._aborted = False
        self._previous_index: int | None = None
        self._last_feedback: dict[str, Any] = {}
        self.join_drops = 0

    def put(self, edge: Edge, item: Any) -> None:
        """Queue ``item`` on ``edge`` per its policy; ``block`` waits for room."""
        with self._lock:
            if self._closed:
                return
            queue = edge.items
            if item is END:
                queue.append(item)
                self._readable.notify()
                return
            if edge.feedback:
                if self._realtime:
                    queue.clear()
                queue.append(item)
            elif len(queue) >= edge.size:
                if edge.policy == "latest":
                    edge.drops += len(queue)
                    queue.clear()
                elif edge.policy == "drop_oldest":
                    queue.popleft()
                    edge.drops += 1
                else:
                    while len(queue) >= edge.size and not (self._closed or self._aborted):
                        self._writable.wait()
                    if self._closed or self._aborted:
                        return
                queue.append(item)
            else:
                queue.append(item)
            if len(queue) > edge.max_depth:
                edge.max_depth = len(queue)
            self._readable.notify()

    def get(self) -> Delivery | None:
        """Block until the next joined index of the regular inputs; ``None`` once they have ended.

        A node with feedback inputs must then call :meth:`feedback` with the delivery, skipped or not.
        """
        with self._lock:
            while True:
                if self._aborted:
                    return None
                heads = [e.items[0] if e.items else None for e in self._regular]
                if all(h is not None for h in heads):
                    if any(h is END for h in heads):
                        return None
                    newest = max(h.index for h in heads)
                    if self._discard_older_than(newest):
                        continue
                    items = [e.items.popleft() for e in self._regular]
                    self._writable.notify_all()
                    return self._deliver(newest, items)
                self._readable.wait()

    def _discard_older_than(self, index: int) -> bool:
        """Drop heads that can never be joined (another input is already past them)."""
        discarded = False
        for edge in self._regular:
            while edge.items and edge.items[0] is not END and edge.items[0].index < index:
                edge.items.popleft()
                self.join_drops += 1
                discarded = True
        if discarded:
            self._writable.notify_all()
        return discarded

    def _deliver(self, index: int, items: list[Any]) -> Delivery:
        skipped = any(isinstance(item, Skip) for item in items)
        frames: dict[str, Any] = {} if skipped else {e.port: item for e, item in zip(self._regular, items)}
        feedback_of = self._previous_index
        self._previous_index = index
        return Delivery(index, frames, skipped, feedback_of)

    @property
    def has_feedback(self) -> bool:
        return bool(self._feedback)

    def feedback_pending(self, delivery: Delivery) -> bool:
        """Whether :meth:`feedback` would wait: offline, some loop has not yet sent the message of
        ``delivery.feedback_of``."""
        if self._realtime or delivery.feedback_of is None:
            return False
        with self._lock:
            for edge in self._feedback:
                if not any(item.index >= delivery.feedback_of for item in edge.items):
                    return True
            return False

    def feedback(self, delivery: Delivery) -> dict[str, Any] | None:
        """The feedback inputs of ``delivery``: port -> Frame, or None where there is none.

        Must be called for every delivery (skips included) so each loop stays in step. Returns
        ``None`` if the run was aborted while waiting.
        """
        with self._lock:
            values = {}
            for edge in self._feedback:
                values[edge.port] = self._feedback_value(edge, delivery.feedback_of)
                if self._aborted:
                    return None
            return values

    def _feedback_value(self, edge: Edge, wanted: int | None) -> Any:
        """The feedback stream's message for the previously handled frame.

        Offline, wait for exactly that index so results equal a sequential run. Realtime, take
        whatever is newest without waiting: a frame may have been dropped on the way round.
        """
        queue = edge.items
        if self._realtime:
            if queue and queue[-1] is not END:
                self._last_feedback[edge.port] = queue[-1]
            queue.clear()
            value = self._last_feedback.get(edge.port)
            return None if isinstance(value, Skip) else value
        if wanted is None:
            return None
        while True:
            while queue and queue[0] is not END and queue[0].index < wanted:
                queue.popleft()
            if queue:
                head = queue[0]
                if head is END or head.index > wanted:
                    return None
                queue.popleft()
                return None if isinstance(head, Skip) else head
            if self._aborted:
                return None
            self._readable.wait()

    def close(self) -> None:
        """The consumer is gone: discard further puts and release blocked producers."""
        with self._lock:
            self._closed = True
            for edge in self.edges:
                edge.items.clear()
            self._writable.notify_all()

    def abort(self) -> None:
        """Shutdown deadline passed: ``get`` returns at once and ``put`` stops waiting."""
        with self._lock:
            self._aborted = True
            self._readable.notify_all()
            self._writable.notify_all()


GATHERED_PORT_SEPARATOR = "@"
"""A gathering node's port for one of several streams is ``<declared port>@<stream label>``; the node
is handed the message under the declared port."""


class GatherInbox(Inbox):
    """The inbox of a node that gathers independent streams (``Node.gathers_inputs``): every message is
    delivered alone, the edges served in turn, and numbered by this inbox; a stream that ends leaves the
    others running, and ``get`` returns None once all have ended."""

    def __init__(self, edges: Sequence[Edge], realtime: bool) -> None:
        super().__init__(edges, realtime)
        self._next_edge = 0
        self._delivered = 0
        self._ended: set[int] = set()

    def get(self) -> Delivery | None:
        with self._lock:
            while True:
                if self._aborted or len(self._ended) == len(self._regular):
                    return None
                for turn in range(len(self._regular)):
                    position = (self._next_edge + turn) % len(self._regular)
                    edge = self._regular[position]
                    if position in self._ended or not edge.items:
                        continue
                    self._next_edge = position + 1
                    item = edge.items.popleft()
                    self._writable.notify_all()
                    port = edge.port.partition(GATHERED_PORT_SEPARATOR)[0]
                    if item is END:
                        self._ended.add(position)
                        return Delivery(self._delivered, {}, skipped=True, origin=(edge.port, None))
                    if isinstance(item, Skip):
                        return Delivery(self._delivered, {}, skipped=True, origin=(edge.port, item.index))
                    delivery = Delivery(self._delivered, {port: item}, origin=(edge.port, item.index))
                    self._delivered += 1
                    return delivery
                self._readable.wait()
