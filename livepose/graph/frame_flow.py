"""Frames through one node's thread: a source's loop, a consumer's loop, and what a call returns.

A source calls ``process()`` until it returns None, the stop event is set or ``max_frames`` are
made, and offers each frame to its admission (realtime). A consumer takes each delivery of its
inbox (one frame per input port, of one index), calls ``prepare()`` while a feedback input is on
its way, then ``process()`` (or passes the frame through when disabled), and sends the result on.
A missing result travels as a Skip marker, so that the joins downstream do not wait for it; a
node's exception is handled by its ``on_error``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
from typing import Any, Callable

from tqdm import tqdm

from livepose.errors import UserError
from livepose.graph.assembly import RunningNode
from livepose.graph.frame import Frame
from livepose.graph.metrics import PipelineMetrics
from livepose.graph.node import Node
from livepose.graph.queues import Skip
from livepose.graph.spec import pass_through_port

log = logging.getLogger("livepose")

_FAILED = object()
_SKIPPED = object()


class FrameFlow:
    """The frame loops of one run's node threads; ``fail(exit_code, reason)`` stops the run."""

    def __init__(self, stop_event: threading.Event, metrics: PipelineMetrics, max_frames: int | None,
                 fail: Callable[[int, str], None], notify: Callable[[str], None] = lambda _: None) -> None:
        self.stop_event = stop_event
        self.metrics = metrics
        self.max_frames = max_frames
        self.fail = fail
        self.notify = notify
        """Says something the user should see once (a reload that failed): the log, and the viewer."""
        self.progress_bar: tqdm | None = None
        """Offline runs with ``progress``: advanced by each frame ``progress_node`` (a sink) handles."""
        self.progress_node: RunningNode | None = None

    def produce(self, rn: RunningNode) -> None:
        """A source's loop, until its stream ends, the run stops or ``max_frames`` are made."""
        produced = 0
        metrics = self.metrics
        limiter = rn.limiter
        while not self.stop_event.is_set():
            if self.max_frames is not None and produced >= self.max_frames:
                break
            started = time.perf_counter()
            outcome = self._call(rn, rn.node.process, {}, produced)
            if outcome is _FAILED:
                break
            if outcome is _SKIPPED:
                continue
            if outcome is None:
                break
            finished = time.perf_counter()
            rn.metrics.processed(started, finished)
            metrics.source_emitted(time.monotonic())
            index = outcome.index if isinstance(outcome, Frame) else produced
            produced += 1
            with rn.emit_lock:
                if limiter is None or limiter.offer(index, outcome):
                    self._emit(rn, outcome, index)
        if limiter is not None:
            if not self.stop_event.is_set():
                # The last frame of a file may be held: let the graph take it before the stream ends.
                limiter.wait_until_drained(None, self.stop_event)
            with rn.emit_lock:
                if limiter.take_held() is not None:
                    limiter.dropped += 1
            rn.metrics.dropped = limiter.dropped

    def sink_handled(self, rn: RunningNode, index: int | None, port: str | None = None) -> None:
        """Tell the admissions upstream that this sink is done with frame ``index`` (None: with all);
        a gathering node tells those of the stream on ``port`` only."""
        for source, limiter in (rn.limiters if port is None else rn.port_limiters.get(port, [])):
            with source.emit_lock:
                held = limiter.sink_ended(rn.spec.name) if index is None else limiter.finished(rn.spec.name, index)
                if held is not None:
                    self._emit(source, held[1], held[0])
                source.metrics.dropped = limiter.dropped

    def consume(self, rn: RunningNode) -> None:
        """A consumer's loop, until its inbox ends (every input ended, or the run was aborted)."""
        inbox = rn.inbox
        assert inbox is not None
        prepares = inbox.has_feedback and type(rn.node).prepare is not Node.prepare
        while True:
            delivery = inbox.get()
            if delivery is None:
                return
            if delivery.origin is not None and delivery.skipped:
                # A gathered stream skipped a frame or ended: its admission hears of it, nothing goes on.
                self.sink_handled(rn, delivery.origin[1], delivery.origin[0])
                continue
            if rn.reloader is not None and rn.reloader.changed():
                self._reload(rn)
            frames = delivery.frames
            prepare_seconds = 0.0
            prepared: Any = None
            if prepares and rn.enabled and not delivery.skipped and inbox.feedback_pending(delivery):
                started = time.perf_counter()
                prepared = self._call(rn, rn.node.prepare, frames, delivery.index)
                if prepared is _FAILED:
                    return
                prepare_seconds = time.perf_counter() - started
            if inbox.has_feedback:
                feedback = inbox.feedback(delivery)
                if feedback is None:
                    return
                frames = {**frames, **feedback}
            if delivery.skipped or prepared is _SKIPPED:
                rn.metrics.skipped += 1
                self._emit(rn, None, delivery.index)
                if rn.limiters:
                    self.sink_handled(rn, delivery.index)
                continue
            rn.metrics.frames_in += 1
            started = time.perf_counter()
            if rn.enabled:
                outcome = self._call(rn, rn.node.process, frames, delivery.index)
                if outcome is _FAILED:
                    return
            else:
                outcome = self._pass_through(rn, frames)
            finished = time.perf_counter()
            rn.metrics.processed(started - prepare_seconds, finished)
            self._emit(rn, None if outcome is _SKIPPED else outcome, delivery.index)
            if rn.is_sink:
                capture_time = next(f.timestamp for f in frames.values() if isinstance(f, Frame))
                self.metrics.sink_finished(rn.metrics, capture_time, time.monotonic())
                if self.progress_bar is not None and rn is self.progress_node:
                    self.progress_bar.update(1)
                if rn.limiters:
                    self.sink_handled(rn, delivery.index)
            if delivery.origin is not None:
                port = delivery.origin[0]
                rn.metrics.frames_in_by_port[port] = rn.metrics.frames_in_by_port.get(port, 0) + 1
                self.sink_handled(rn, delivery.origin[1], port)

    def _pass_through(self, rn: RunningNode, frames: dict[str, Any]) -> Any:
        outputs = rn.spec.outputs
        if not outputs:
            return None
        if len(outputs) == 1:
            return frames[pass_through_port(rn.spec.inputs, next(iter(outputs)))]
        return {port: frames[pass_through_port(rn.spec.inputs, port)] for port in outputs}

    def _reload(self, rn: RunningNode) -> None:
        assert rn.reloader is not None
        try:
            fresh = rn.reloader.fresh_node(rn.node.ctx)
        except Exception:
            self.notify(f"node '{rn.spec.name}': {rn.reloader.path.name} changed but does not load; still running "
                        f"the version before:\n{traceback.format_exc().rstrip()}")
            return
        if rn.fallback is not None:
            _close_quietly(rn.fallback)
        rn.fallback, rn.node = rn.node, fresh
        log.info("node '%s': reloaded %s", rn.spec.name, rn.reloader.path.name)

    def _revert(self, rn: RunningNode, index: int) -> None:
        """The reloaded node raised: back to the version before it (see ``livepose.graph.reload``)."""
        assert rn.reloader is not None and rn.fallback is not None
        self.notify(f"node '{rn.spec.name}': the reloaded {rn.reloader.path.name} failed on frame {index}; back to "
                    f"the version before:\n{traceback.format_exc().rstrip()}")
        rn.reloader.refuse_current()
        broken, rn.node, rn.fallback = rn.node, rn.fallback, None
        _close_quietly(broken)

    def _call(self, rn: RunningNode, method: Callable[..., Any], frames: dict[str, Any], index: int) -> Any:
        rn.busy_in = (method.__name__, index)
        try:
            return method(**frames)
        except Exception as exc:
            if rn.fallback is not None and getattr(method, "__self__", None) is rn.node:
                self._revert(rn, index)
                return self._call(rn, getattr(rn.node, method.__name__), frames, index)
            rn.metrics.errors += 1
            if rn.spec.on_error == "skip_frame":
                if rn.metrics.errors == 1:
                    log.error("node '%s' failed on frame %d (on_error: skip_frame, going on):\n%s",
                              rn.spec.name, index, traceback.format_exc().rstrip())
                else:
                    log.error("node '%s' failed on frame %d again: %s: %s", rn.spec.name, index,
                              type(exc).__name__, exc)
                return _SKIPPED
            if isinstance(exc, UserError):
                log.error("node '%s': %s", rn.spec.name, exc)
                self.fail(2, f"node '{rn.spec.name}' stopped")
            else:
                log.error("node '%s' failed on frame %d:\n%s", rn.spec.name, index, traceback.format_exc().rstrip())
                self.fail(1, f"node '{rn.spec.name}' failed")
            return _FAILED
        finally:
            rn.busy_in = None

    def _emit(self, rn: RunningNode, outcome: Any, index: int) -> None:
        """Send a node's result on its output ports; a missing result becomes a Skip marker."""
        ports = rn.spec.outputs
        if not ports:
            return
        if outcome is None:
            by_port: dict[str, Any] = {}
        elif isinstance(outcome, Frame) and len(ports) == 1:
            by_port = {next(iter(ports)): outcome}
        elif isinstance(outcome, dict):
            by_port = outcome
        else:
            self._bad_output(rn, outcome)
            by_port = {}
        produced = 0
        for port, targets in rn.routes.items():
            item = by_port.get(port)
            if item is None:
                item = Skip(index)
            else:
                produced = 1
                if isinstance(item, Frame) and item.index != index and rn.spec.inputs:
                    item = self._restamped(rn, item, index)
            for inbox, edge in targets:
                inbox.put(edge, item)
        rn.metrics.frames_out += produced

    def _restamped(self, rn: RunningNode, item: Frame, index: int) -> Frame:
        """A node returned another frame's index (a frame it kept from before): joins, feedback and
        admission count by index, so the output takes the index of the frame it answers. A gathering
        node numbers its outputs anew, as expected."""
        if not rn.restamped and not rn.spec.cls.gathers_inputs:
            log.warning("node '%s' returned frame %d for frame %d; outputs keep the index of their input "
                        "(warned once)", rn.spec.name, item.index, index)
            rn.restamped = True
        return dataclasses.replace(item, index=index)

    def _bad_output(self, rn: RunningNode, outcome: Any) -> None:
        ports = ", ".join(rn.spec.outputs)
        log.error("node '%s' returned %s; process() must return a Frame (or a {port: Frame} dict for ports %s) "
                  "or None", rn.spec.name, type(outcome).__name__, ports)
        self.fail(1, f"node '{rn.spec.name}' returned a {type(outcome).__name__}")


def _close_quietly(node: Node) -> None:
    """Close a replaced version of a reloaded node: its failure must not stop the run."""
    try:
        node.close()
    except Exception:
        log.warning("closing the replaced version of node '%s' failed:\n%s", node.name, traceback.format_exc().rstrip())
