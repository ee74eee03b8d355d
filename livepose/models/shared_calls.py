"""One model call for the batches several threads ask for at about the same time.

In a ``cameras:`` pipeline each camera has its own copy of a model node, on its own thread, so a
stalled camera never holds back the others. With ``batch_cameras`` on, those copies run their model
through one :class:`SharedModelCalls`: the batches that are waiting when a call starts go into that
one call, concatenated along the batch axis, and each caller gets its own rows back. A GPU runs two
cameras' crops in one call in about the time of one; a CPU gains nothing (see benchmarks/RESULTS.md).

A caller waits for the other cameras only when their next batch is due within ``wait_s``: each
participant's next request is predicted from its last two, so a camera that is not about to ask
(one running slower, stalled or finished) costs no wait at all, and the wait is never longer than
``wait_s``. The oldest waiting caller runs the call on its own thread (no extra thread, no hand-over
when nobody else is waiting); the others sleep until their rows are back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from livepose.logs import warn_once

logger = logging.getLogger(__name__)

BatchRun = Callable[[Any], Mapping[str, np.ndarray]]
"""A model call: a batch (rows on the first axis) in, every output (rows on the first axis) out."""


@dataclass(frozen=True)
class SharedCallStats:
    """What one shared model did: ``calls`` model calls for ``requests`` requests of ``rows`` rows,
    ``shared`` of the calls serving more than one participant."""

    calls: int = 0
    requests: int = 0
    rows: int = 0
    shared: int = 0

    @property
    def requests_per_call(self) -> float:
        return self.requests / self.calls if self.calls else 0.0


class _Request:
    __slots__ = ("participant", "batch", "rows", "arrived", "result", "error", "done")

    def __init__(self, participant: int, batch: Any, arrived: float) -> None:
        self.participant = participant
        self.batch = batch
        self.rows = len(batch)
        self.arrived = arrived
        self.result: dict[str, np.ndarray] | None = None
        self.error: BaseException | None = None
        self.done = False


class _Cadence:
    """When a participant asked last, and how long it waited between its last two requests."""

    __slots__ = ("last", "interval")

    def __init__(self) -> None:
        self.last: float | None = None
        self.interval: float | None = None

    def asked(self, when: float) -> None:
        if self.last is not None:
            self.interval = when - self.last
        self.last = when

    def due_by(self, deadline: float, now: float) -> bool:
        """Whether its next request is predicted before ``deadline`` and it still looks active (it is
        not already later than its own interval again, which means it stalled or finished)."""
        if self.last is None or self.interval is None:
            return False
        predicted = self.last + self.interval
        return predicted <= deadline and now <= predicted + self.interval


class SharedModelCalls:
    """``run`` shared by several participants (threads), whose waiting batches go into one call.

    ``participant()`` gives each thread its own callable with ``run``'s signature. Every output must
    have the rows of the batch on its first axis; a model whose outputs do not (or a failing call)
    raises in every caller of that call. ``clock`` is injectable for tests.
    """

    def __init__(self, run: BatchRun, wait_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if wait_s < 0:
            raise ValueError("wait_s must be 0 or more")
        self._run = run
        self._wait_s = wait_s
        self._clock = clock
        self._changed = threading.Condition()
        self._pending: list[_Request] = []
        self._cadences: list[_Cadence] = []
        self._running = False
        self._stats = SharedCallStats()

    def participant(self) -> BatchRun:
        """A callable for one thread (one camera's node): ``run`` with its batches shared."""
        with self._changed:
            index = len(self._cadences)
            self._cadences.append(_Cadence())
        return lambda batch: self._call(index, batch)

    @property
    def stats(self) -> SharedCallStats:
        with self._changed:
            return self._stats

    def _call(self, participant: int, batch: Any) -> dict[str, np.ndarray]:
        with self._changed:
            now = self._clock()
            request = _Request(participant, batch, now)
            self._cadences[participant].asked(now)
            self._pending.append(request)
            self._changed.notify_all()
            while True:
                if request.done:
                    return self._answer(request)
                if not self._running and self._pending[0] is request:
                    remaining = self._time_to_wait(request)
                    if remaining <= 0:
                        taken, self._pending = self._pending, []
                        self._running = True
                        break
                    self._changed.wait(remaining)
                else:
                    self._changed.wait()
        self._run_together(taken)
        return self._answer(request)

    def _time_to_wait(self, first: _Request) -> float:
        """How much longer the oldest request waits for participants due soon (0: run now)."""
        now = self._clock()
        deadline = first.arrived + self._wait_s
        if now >= deadline:
            return 0.0
        waiting = {r.participant for r in self._pending}
        due = [c for i, c in enumerate(self._cadences) if i not in waiting and c.due_by(deadline, now)]
        return deadline - now if due else 0.0

    def _run_together(self, taken: list[_Request]) -> None:
        outputs: Mapping[str, np.ndarray] | None = None
        error: BaseException | None = None
        try:
            if len(taken) == 1:
                outputs = self._run(taken[0].batch)
            else:
                outputs = self._run(np.concatenate([r.batch for r in taken]))
                rows = sum(r.rows for r in taken)
                wrong = [name for name, value in outputs.items() if len(value) != rows]
                if wrong:
                    raise ValueError(f"cannot batch this model across cameras: its outputs {wrong} do not have one "
                                 "row per input row; set batch_cameras: false")
        except BaseException as failure:  # handed to every caller of this call, each raises it
            error = failure
        with self._changed:
            start = 0
            for request in taken:
                if outputs is not None and error is None:
                    request.result = {name: value[start:start + request.rows] for name, value in outputs.items()}
                request.error = error
                request.done = True
                start += request.rows
            stats = self._stats
            self._stats = SharedCallStats(stats.calls + 1, stats.requests + len(taken),
                                          stats.rows + sum(r.rows for r in taken),
                                          stats.shared + (len({r.participant for r in taken}) > 1))
            self._running = False
            self._changed.notify_all()

    @staticmethod
    def _answer(request: _Request) -> dict[str, np.ndarray]:
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result


class SharedCallsRegistry:
    """The shared model calls of one run, one per key (a node of the file and the model it runs)."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self._lock = threading.Lock()
        self._shared: dict[Hashable, SharedModelCalls] = {}
        self._labels: dict[Hashable, str] = {}

    def participant(self, key: Hashable, label: str, run: BatchRun) -> BatchRun:
        """A participant's callable for the model ``key`` names; the first participant's ``run`` does the calls
        (the others' are the same model: one session per file and settings)."""
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                shared = self._shared[key] = SharedModelCalls(run, self.wait_s)
                self._labels[key] = label
        return shared.participant()

    def stats(self) -> dict[str, SharedCallStats]:
        """Each shared model's figures, by its label (``hands (hand_landmark_full)``)."""
        with self._lock:
            return {self._labels[key]: shared.stats for key, shared in self._shared.items()}


@dataclass(frozen=True)
class CameraBatching:
    """What one camera's copy of a model node needs to share its model calls with the other cameras' copies
    (lent by the runner in ``NodeContext.camera_batching``)."""

    registry: SharedCallsRegistry
    always: bool
    """``batch_cameras: true``; otherwise (auto) only models that run on a GPU share their calls."""
    node: str
    """The node's name in the pipeline file: what its copies have in common."""

    def wanted(self, provider: str, preprocess: str = "opencv") -> bool:
        """Whether a model asked for on ``provider`` should be loaded to share its calls (its dynamic-batch
        conversion): ``batch_cameras: true``, or auto and a GPU ahead; with crops made on the host only."""
        if not (self.always or _gpu_expected(provider)):
            return False
        if preprocess != "opencv":
            # Each copy crops on its own CUDA stream: another camera's call would read crops not yet written.
            if self.always:
                warn_once(logger, f"batch_cameras: {self.node} crops with preprocess: {preprocess}, whose model "
                                  "calls are not shared across cameras; use preprocess: opencv to share them")
            return False
        return True

    def share(self, run: BatchRun, model: str, on_gpu: bool) -> BatchRun:
        """``run`` (of the model file ``model``), joined with the other cameras' copies when it should be."""
        if not (self.always or on_gpu):
            return run
        return self.registry.participant((self.node, model), f"{self.node} ({model})", run)


def _gpu_expected(provider: str) -> bool:
    """Whether a session asked for ``provider`` will run on a GPU, before it is made (which conversion to
    load depends on it)."""
    if provider in ("tensorrt", "cuda"):
        return True
    if provider != "auto":
        return False
    # Imported here: the runner imports this module for every run, and onnxruntime only model nodes need.
    from livepose.models.runtime import provider_problem

    return any(provider_problem(p) is None for p in ("tensorrt", "cuda"))
