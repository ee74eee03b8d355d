"""Runs a validated pipeline: one thread per node, orderly shutdown on every path.

Lifecycle: every node's ``setup()`` runs on its own thread; once all succeeded, sources start.
The run ends when the sources end (end of stream propagates as an ``END`` marker), on a stop
request (SIGINT, SIGTERM, the quit key, a node failing with ``on_error: stop``), or, if draining
takes longer than the grace period, by aborting every queue. ``close()`` is called on every node
whose setup succeeded, whatever the path, so sinks always finalize their files. A stop during
set-up releases the nodes already set up at once; a node still inside ``setup()`` is not waited for.

Realtime, each source's frames pass a :class:`~livepose.graph.admission.FlowLimiter`: a frame
enters only while fewer than ``max_in_flight`` are on their way to the sinks, and the sinks' threads
send on the frame held meanwhile. Every stream then holds what is admitted, so frames are dropped
at the sources only.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from tqdm import tqdm

from livepose import interrupts
from livepose.errors import UserError
from livepose.graph.admission import FlowLimiter
from livepose.graph.frame import Frame
from livepose.graph.metrics import NodeMetrics, PipelineMetrics
from livepose.graph.node import Node, NodeContext
from livepose.graph.queues import END, Edge, Inbox, Skip
from livepose.graph.spec import NodeSpec, PipelineSpec, pass_through_port

log = logging.getLogger("livepose")

QUIT_KEYS = ("q", "\x1b")
DRAIN_SECONDS = 1.2
"""After a stop request, queues may drain this long before they are aborted."""
ABORT_SECONDS = 0.6
"""After the abort, how long nodes that are closing (a recording being finalized) get to finish
before the run returns; a node stuck in ``process()`` does not hold this up."""


@dataclass
class RunResult:
    exit_code: int
    """0 ok, 1 a node failed, 2 a user error (missing model, camera, file...)."""
    reason: str
    metrics: PipelineMetrics
    stuck_nodes: list[str] = field(default_factory=list)
    started: bool = False
    """Whether every node was set up and frames began to flow (else there is nothing to report)."""
    still_setting_up: list[str] = field(default_factory=list)
    """Nodes whose ``setup()`` had not returned when the run ended (it stopped during start-up).
    Their threads finish on their own; a process about to exit need not wait for them."""


@dataclass(eq=False)
class _RunningNode:
    spec: NodeSpec
    node: Node
    inbox: Inbox | None
    routes: dict[str, list[tuple[Inbox, Edge]]]
    metrics: NodeMetrics
    is_sink: bool
    enabled: bool
    limiter: FlowLimiter | None = None
    """Sources of a realtime run: admission of their frames (see ``livepose.graph.admission``)."""
    emit_lock: threading.Lock = field(default_factory=threading.Lock)
    """Sources: keeps their frames in order when a sink's thread sends on a held frame."""
    limiters: list[tuple["_RunningNode", FlowLimiter]] = field(default_factory=list)
    """Sinks: the admissions of the sources upstream, told when this sink has handled a frame."""
    restamped: bool = False
    """Whether the node was warned that it returned frames of another index."""
    busy_in: tuple[str, int | None] | None = None
    """The node method its thread is inside, and on which frame: set per call, formatted only for
    the report of a node that does not stop."""
    setup_started: bool = False
    setup_done: bool = False
    setup_ok: bool = False
    finished: bool = False
    thread: threading.Thread | None = None


class Runner:
    """Runs one pipeline once. ``run()`` blocks until every node has finished."""

    def __init__(self, spec: PipelineSpec, *, headless: bool = False, max_frames: int | None = None,
                 progress: bool = False, install_signal_handlers: bool = True) -> None:
        self.spec = spec
        self.realtime = spec.mode == "realtime"
        self.max_frames = max_frames
        self.progress = progress
        self.install_signal_handlers = install_signal_handlers
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._stop_reason: str | None = None
        self._failure: tuple[int, str] | None = None
        self._settled = threading.Condition(self._lock)
        self._go = threading.Event()
        self._started = False
        self._aborted = False
        self._remaining = 0
        self._setups_pending = 0
        self._progress_bar: tqdm | None = None
        self._progress_node: _RunningNode | None = None
        self._nodes = self._build(spec, headless)

    # -- construction ---------------------------------------------------------------------
    def _build(self, spec: PipelineSpec, headless: bool) -> list[_RunningNode]:
        in_flight = spec.max_in_flight if self.realtime else 0
        inboxes: dict[str, Inbox] = {}
        edges_by_stream: dict[str, list[tuple[Inbox, Edge]]] = {}
        for n in spec.nodes:
            if not n.inputs:
                continue
            edges = []
            preferred = n.cls.input_queue or {}
            for port, stream in n.inputs.items():
                settings = spec.streams[stream]
                size, policy = settings.size, settings.policy
                if not settings.explicit and preferred:
                    size, policy = preferred.get("size", size), preferred.get("policy", policy)
                if in_flight and not settings.feedback:
                    # Admission keeps at most in_flight frames per stream: none is dropped after it.
                    size = max(size, in_flight)
                edges.append(Edge(stream, port, size, policy if self.realtime else "block", settings.feedback))
            inbox = Inbox(edges, self.realtime)
            inboxes[n.name] = inbox
            for edge in edges:
                edges_by_stream.setdefault(edge.stream, []).append((inbox, edge))
        consumed = set(edges_by_stream)
        sinks = [n.name for n in spec.nodes if not any(s in consumed for s in n.outputs.values())]
        sources = [n.name for n in spec.nodes if not n.inputs]
        self.metrics = PipelineMetrics([n.name for n in spec.nodes], inboxes, sources, sinks)
        running = []
        for n in spec.nodes:
            node = n.build()
            node.ctx = NodeContext(spec.mode, self.metrics, self.stop_event, on_key=self.press_key,
                                   on_stop=self.request_stop, headless=headless)
            routes = {port: edges_by_stream.get(stream, []) for port, stream in n.outputs.items()}
            running.append(_RunningNode(n, node, inboxes.get(n.name), routes, self.metrics.nodes[n.name],
                                        n.name in sinks, n.enabled))
        if in_flight:
            by_name = {rn.spec.name: rn for rn in running}
            for source in sources:
                downstream = [name for name in _reachable(spec, source) if name in sinks]
                limiter = FlowLimiter(in_flight, downstream)
                by_name[source].limiter = limiter
                for sink in downstream:
                    by_name[sink].limiters.append((by_name[source], limiter))
        return running

    @property
    def nodes(self) -> dict[str, Node]:
        """The pipeline's node objects, by name (for tools that inspect a run, such as benchmarks)."""
        return {rn.spec.name: rn.node for rn in self._nodes}

    # -- controls ------------------------------------------------------------------------
    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop the sources; the rest of the pipeline drains and finalizes."""
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
                if self._started or self._failure is None:
                    # A failed set-up has said what went wrong; "stopping" would only repeat it.
                    log.info("stopping: %s", reason)
        self.stop_event.set()
        for rn in self._nodes:
            if rn.limiter is not None:
                rn.limiter.wake()

    def press_key(self, key: str) -> bool:
        """Dispatch a key press: quit keys, YAML hotkeys, then node key handlers."""
        if key in QUIT_KEYS:
            self.request_stop("quit key")
            return True
        handled = False
        for rn in self._nodes:
            if rn.spec.hotkey == key:
                rn.enabled = not rn.enabled
                log.info("node '%s' %s", rn.spec.name, "enabled" if rn.enabled else "disabled (passing frames through)")
                handled = True
            method = type(rn.node).keys.get(key)
            if method is not None:
                handled = True
                try:
                    getattr(rn.node, method)()
                except Exception:
                    # A key handler runs on the display's thread: its failure must not take that down.
                    log.error("node '%s': key '%s' handler failed:\n%s", rn.spec.name, key,
                              traceback.format_exc().rstrip())
        return handled

    def _fail(self, exit_code: int, reason: str) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = (exit_code, reason)
        self.request_stop(reason)

    # -- running -------------------------------------------------------------------------
    def run(self) -> RunResult:
        if not self.install_signal_handlers:
            return self._run()
        with interrupts.listening(self._on_signal):
            return self._run()

    def _on_signal(self, name: str) -> None:
        if self.stop_event.is_set():
            log.warning("%s again: aborting", name)
            self._abort()
        else:
            self.request_stop(name)

    def _run(self) -> RunResult:
        self._remaining = len(self._nodes)
        self._setups_pending = len(self._nodes)
        self._start_progress()
        for rn in self._nodes:
            rn.thread = threading.Thread(target=self._thread_main, args=(rn,), name=f"livepose:{rn.spec.name}",
                                         daemon=True)
            rn.thread.start()
        # The last thread to finish also sets stop_event, so this wakes on either way out.
        self.stop_event.wait()
        # A stop during set-up (a camera that is not there, Ctrl-C) releases the nodes already set up
        # at once; a node still setting up (a model loading) is not waited for: it closes when done.
        self._go.set()
        stuck: list[str] = []
        if not self._wait_settled(DRAIN_SECONDS):
            self._abort()
            self._wait_settled(ABORT_SECONDS, stuck_ok=True)
            hung = [rn for rn in self._nodes if rn.setup_ok and rn.thread is not None and rn.thread.is_alive()]
            stuck = [rn.spec.name for rn in hung]
            if hung:
                log.error("did not stop in time, left behind: %s", "; ".join(
                    f"node '{rn.spec.name}' ({_doing(rn.busy_in)})" for rn in hung))
                self._fail(1, f"node(s) {', '.join(stuck)} did not stop")
        self.metrics.finished = time.monotonic()
        if self._progress_bar is not None:
            self._progress_bar.close()
        setting_up = [rn.spec.name for rn in self._nodes if rn.setup_started and not rn.setup_done]
        if setting_up:
            log.debug("stopped while node(s) %s were still setting up", ", ".join(setting_up))
        code, reason = self._failure or (0, self._stop_reason or "end of stream")
        return RunResult(code, reason, self.metrics, stuck, self._started, setting_up)

    def _wait_settled(self, timeout: float, stuck_ok: bool = False) -> bool:
        """Wait until every node has finished, except those still inside ``setup()`` (and, with
        ``stuck_ok``, those inside a node call, which an aborted run no longer waits for)."""
        def settled(rn: _RunningNode) -> bool:
            return (rn.finished or (rn.setup_started and not rn.setup_done)
                    or (stuck_ok and rn.busy_in is not None and rn.busy_in[0] != "close"))

        with self._lock:
            return self._settled.wait_for(lambda: all(settled(rn) for rn in self._nodes), timeout)

    def _abort(self) -> None:
        self._aborted = True
        self.stop_event.set()
        for rn in self._nodes:
            if rn.inbox is not None:
                rn.inbox.abort()
            if rn.limiter is not None:
                rn.limiter.wake()

    def _start_progress(self) -> None:
        if not self.progress or self.realtime:
            return
        totals = [rn.node.expected_frames() for rn in self._nodes if not rn.spec.inputs]
        known = [t for t in totals if t]
        if known:
            total = min(known) if self.max_frames is None else min(min(known), self.max_frames)
            self._progress_bar = tqdm(total=total, unit="frame", desc=self.spec.name,
                                      leave=False, disable=None)
            self._progress_node = next(rn for rn in self._nodes if rn.is_sink)

    # -- node threads --------------------------------------------------------------------
    def _thread_main(self, rn: _RunningNode) -> None:
        try:
            self._setup(rn)
            self._go.wait()
            if rn.setup_ok and self._started and not self._aborted and self._failure is None:
                if rn.spec.inputs:
                    self._consume(rn)
                else:
                    self._produce(rn)
        except Exception:
            # Node exceptions are handled in _call; anything here is a runtime bug, and must
            # still end the run loudly rather than leave a silent dead thread.
            log.error("node '%s': internal error:\n%s", rn.spec.name, traceback.format_exc().rstrip())
            self._fail(1, f"internal error in node '{rn.spec.name}'")
        finally:
            self._finish(rn)

    def _setup(self, rn: _RunningNode) -> None:
        with self._lock:
            rn.setup_started = not self.stop_event.is_set()
        try:
            if rn.setup_started:
                started = time.perf_counter()
                rn.node.setup()
                rn.setup_ok = True
                log.debug("node '%s' set up in %.0f ms", rn.spec.name, 1000 * (time.perf_counter() - started))
        except UserError as exc:
            log.error("node '%s': %s", rn.spec.name, exc)
            self._fail(2, f"node '{rn.spec.name}' could not start")
        except Exception:
            log.error("node '%s' failed in setup:\n%s", rn.spec.name, traceback.format_exc().rstrip())
            self._fail(1, f"node '{rn.spec.name}' failed in setup")
        finally:
            with self._lock:
                rn.setup_done = True
                self._setups_pending -= 1
                if self._setups_pending == 0:
                    self._started = self._failure is None and not self.stop_event.is_set()
                    if self._started:
                        log.info("running: Ctrl-C stops")
                    self._go.set()
                self._settled.notify_all()

    def _produce(self, rn: _RunningNode) -> None:
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

    def _sink_handled(self, rn: _RunningNode, index: int | None) -> None:
        """Tell the admissions upstream that this sink is done with frame ``index`` (None: with all)."""
        for source, limiter in rn.limiters:
            with source.emit_lock:
                held = limiter.sink_ended(rn.spec.name) if index is None else limiter.finished(rn.spec.name, index)
                if held is not None:
                    self._emit(source, held[1], held[0])
                source.metrics.dropped = limiter.dropped

    def _consume(self, rn: _RunningNode) -> None:
        inbox = rn.inbox
        assert inbox is not None
        prepares = inbox.has_feedback and type(rn.node).prepare is not Node.prepare
        while True:
            delivery = inbox.get()
            if delivery is None:
                return
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
                    self._sink_handled(rn, delivery.index)
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
                if self._progress_bar is not None and rn is self._progress_node:
                    self._progress_bar.update(1)
                if rn.limiters:
                    self._sink_handled(rn, delivery.index)

    def _pass_through(self, rn: _RunningNode, frames: dict[str, Any]) -> Any:
        outputs = rn.spec.outputs
        if not outputs:
            return None
        if len(outputs) == 1:
            return frames[pass_through_port(rn.spec.inputs, next(iter(outputs)))]
        return {port: frames[pass_through_port(rn.spec.inputs, port)] for port in outputs}

    def _call(self, rn: _RunningNode, method: Callable[..., Any], frames: dict[str, Any], index: int) -> Any:
        rn.busy_in = (method.__name__, index)
        try:
            return method(**frames)
        except Exception as exc:
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
                self._fail(2, f"node '{rn.spec.name}' stopped")
            else:
                log.error("node '%s' failed on frame %d:\n%s", rn.spec.name, index, traceback.format_exc().rstrip())
                self._fail(1, f"node '{rn.spec.name}' failed")
            return _FAILED
        finally:
            rn.busy_in = None

    def _emit(self, rn: _RunningNode, outcome: Any, index: int) -> None:
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

    def _restamped(self, rn: _RunningNode, item: Frame, index: int) -> Frame:
        """A node returned another frame's index (a frame it kept from before): joins, feedback and
        admission count by index, so the output takes the index of the frame it answers."""
        if not rn.restamped:
            log.warning("node '%s' returned frame %d for frame %d; outputs keep the index of their input "
                        "(warned once)", rn.spec.name, item.index, index)
            rn.restamped = True
        return dataclasses.replace(item, index=index)

    def _bad_output(self, rn: _RunningNode, outcome: Any) -> None:
        ports = ", ".join(rn.spec.outputs)
        log.error("node '%s' returned %s; process() must return a Frame (or a {port: Frame} dict for ports %s) "
                  "or None", rn.spec.name, type(outcome).__name__, ports)
        self._fail(1, f"node '{rn.spec.name}' returned a {type(outcome).__name__}")

    def _finish(self, rn: _RunningNode) -> None:
        if rn.inbox is not None:
            rn.inbox.close()
        if rn.limiters:
            self._sink_handled(rn, None)
        for targets in rn.routes.values():
            for inbox, edge in targets:
                inbox.put(edge, END)
        if rn.setup_ok:
            rn.busy_in = ("close", None)
            try:
                rn.node.close()
            except Exception:
                log.error("node '%s' failed in close():\n%s", rn.spec.name, traceback.format_exc().rstrip())
                self._fail(1, f"node '{rn.spec.name}' failed in close()")
        with self._lock:
            rn.finished = True
            self._remaining -= 1
            self._settled.notify_all()
            if self._remaining == 0:
                self.stop_event.set()


_FAILED = object()
_SKIPPED = object()


def _doing(busy: tuple[str, int | None] | None) -> str:
    if busy is None:
        return "waiting"
    method, index = busy
    return f"in {method}()" + ("" if index is None else f" on frame {index}")


def _reachable(spec: PipelineSpec, start: str) -> list[str]:
    """The nodes downstream of ``start`` along regular (not feedback) streams."""
    consumers: dict[str, list[str]] = {}
    for n in spec.nodes:
        for stream in n.inputs.values():
            if not spec.streams[stream].feedback:
                consumers.setdefault(stream, []).append(n.name)
    outputs = {n.name: list(n.outputs.values()) for n in spec.nodes}
    seen: list[str] = []
    frontier = [start]
    while frontier:
        name = frontier.pop()
        for stream in outputs[name]:
            for consumer in consumers.get(stream, []):
                if consumer not in seen:
                    seen.append(consumer)
                    frontier.append(consumer)
    return seen
