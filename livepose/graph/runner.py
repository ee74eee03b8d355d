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

This module is the run's lifecycle and controls; ``assembly`` builds the nodes, queues and
admission, and ``frame_flow`` is the loop each node's thread runs between set-up and close.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from livepose import interrupts
from livepose.errors import UserError
from livepose.graph.assembly import RunningNode, assemble
from livepose.graph.controls import RunControls
from livepose.graph.frame_flow import FrameFlow
from livepose.graph.keys import QUIT_KEYS
from livepose.graph.metrics import PipelineMetrics
from livepose.graph.node import Node, NodeContext
from livepose.graph.queues import END
from livepose.graph.reload import watch_user_nodes
from livepose.graph.spec import NodeSpec, PipelineSpec
from livepose.models.shared_calls import CameraBatching, SharedCallsRegistry

log = logging.getLogger("livepose")

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


class Runner:
    """Runs one pipeline once. ``run()`` blocks until every node has finished."""

    def __init__(self, spec: PipelineSpec, *, headless: bool = False, max_frames: int | None = None,
                 progress: bool = False, install_signal_handlers: bool = True, reload: bool = False) -> None:
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
        self._controls: RunControls | None = None
        cameras = {n.camera for n in spec.nodes if n.camera}
        self.shared_calls = (SharedCallsRegistry(spec.batch_wait_s)
                             if len(cameras) > 1 and spec.batch_cameras != "false" else None)
        """The model calls the cameras' copies of a node share (``batch_cameras``); None when none may."""

        def context(metrics: PipelineMetrics, node: NodeSpec) -> NodeContext:
            return NodeContext(spec.mode, metrics, self.stop_event, on_key=self.press_key, on_stop=self.request_stop,
                               headless=headless, camera_batching=self._camera_batching(node))

        self.metrics, self._nodes = assemble(spec, self.realtime, context)
        if self.shared_calls is not None:
            self.metrics.shared_calls = self.shared_calls.stats
        self.notices: deque[tuple[float, str]] = deque(maxlen=32)
        """What the user was told once while the run went on (a reload that failed), with its time."""
        self._flow = FrameFlow(self.stop_event, self.metrics, max_frames, self._fail, self._notify)
        if reload:
            watch_user_nodes(self._nodes, [Path(spec.file).parent, Path.cwd()])

    def _camera_batching(self, node: NodeSpec) -> CameraBatching | None:
        # A node in a worker process has its own models: its calls cannot join this process's.
        if self.shared_calls is None or node.camera is None or node.worker is not None:
            return None
        return CameraBatching(self.shared_calls, self.spec.batch_cameras == "true", node.name_in_file)

    def _notify(self, text: str) -> None:
        log.error("%s", text)
        self.notices.append((time.monotonic(), text))

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
        loop = self._main_thread_loop()
        if loop is not None:
            return self._run_beside(loop)
        if not self.install_signal_handlers:
            return self._run()
        with interrupts.listening(self._on_signal):
            return self._run()

    def _main_thread_loop(self) -> Callable[[RunControls], None] | None:
        if threading.current_thread() is not threading.main_thread():
            return None
        for rn in self._nodes:
            loop = rn.node.main_thread_loop()
            if loop is not None:
                return loop
        return None

    def _run_beside(self, loop: Callable[[RunControls], None]) -> RunResult:
        """Run the pipeline on a thread of its own while ``loop`` (a GUI) has the main thread."""
        finished = threading.Event()
        outcome: list[RunResult] = []
        controls = RunControls(name=self.spec.name, mode=self.spec.mode, source=self.spec.source, nodes=self._nodes,
                               metrics=self.metrics, press_key=self.press_key, request_stop=self.request_stop,
                               finished=finished, failure=lambda: self._failure[1] if self._failure else None,
                               notices=self.notices)
        self._controls = controls

        def pipeline() -> None:
            try:
                outcome.append(self._run())
                controls.result = outcome[0]
            finally:
                finished.set()

        thread = threading.Thread(target=pipeline, name="livepose:pipeline", daemon=True)
        with interrupts.listening(self._on_signal) if self.install_signal_handlers else contextlib.nullcontext():
            thread.start()
            try:
                loop(controls)
            except Exception:
                log.error("the main-thread loop failed:\n%s", traceback.format_exc().rstrip())
                self._fail(1, "the viewer failed")
            finally:
                if not finished.is_set():
                    self.request_stop("window closed")
            # The pipeline's own drain and abort deadlines bound this wait; signals still reach us.
            thread.join()
        return outcome[0]

    def _on_signal(self, name: str) -> None:
        if self._controls is not None:
            self._controls.interrupted.set()
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
        if self._flow.progress_bar is not None:
            self._flow.progress_bar.close()
        setting_up = [rn.spec.name for rn in self._nodes if rn.setup_started and not rn.setup_done]
        if setting_up:
            log.debug("stopped while node(s) %s were still setting up", ", ".join(setting_up))
        code, reason = self._failure or (0, self._stop_reason or "end of stream")
        return RunResult(code, reason, self.metrics, stuck, self._started, setting_up)

    def _wait_settled(self, timeout: float, stuck_ok: bool = False) -> bool:
        """Wait until every node has finished, except those still inside ``setup()`` (and, with
        ``stuck_ok``, those inside a node call, which an aborted run no longer waits for)."""
        def settled(rn: RunningNode) -> bool:
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
            self._flow.progress_bar = tqdm(total=total, unit="frame", desc=self.spec.name,
                                           leave=False, disable=None)
            self._flow.progress_node = next(rn for rn in self._nodes if rn.is_sink)

    # -- node threads --------------------------------------------------------------------
    def _thread_main(self, rn: RunningNode) -> None:
        try:
            self._setup(rn)
            self._go.wait()
            if rn.setup_ok and self._started and not self._aborted and self._failure is None:
                if rn.spec.inputs:
                    self._flow.consume(rn)
                else:
                    self._flow.produce(rn)
        except Exception:
            # Node exceptions are handled in _call; anything here is a runtime bug, and must
            # still end the run loudly rather than leave a silent dead thread.
            log.error("node '%s': internal error:\n%s", rn.spec.name, traceback.format_exc().rstrip())
            self._fail(1, f"internal error in node '{rn.spec.name}'")
        finally:
            self._finish(rn)

    def _setup(self, rn: RunningNode) -> None:
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

    def _finish(self, rn: RunningNode) -> None:
        if rn.inbox is not None:
            rn.inbox.close()
        if rn.limiters:
            self._flow.sink_handled(rn, None)
        for targets in rn.routes.values():
            for inbox, edge in targets:
                inbox.put(edge, END)
        if rn.setup_ok:
            rn.busy_in = ("close", None)
            if rn.fallback is not None:
                rn.fallback.close()
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


def _doing(busy: tuple[str, int | None] | None) -> str:
    if busy is None:
        return "waiting"
    method, index = busy
    return f"in {method}()" + ("" if index is None else f" on frame {index}")

