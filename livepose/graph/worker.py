"""Running one node in a worker process.

A node marked ``process: true`` (or ``process: {nice: 10}``) in a pipeline file runs in its own
Python interpreter. Its Python work then never waits for the pipeline's GIL, and with ``nice`` the
operating system gives its CPU time to the rest of the pipeline first: on a machine with few cores
that lets a time-critical branch (a tracking loop whose every frame depends on the last) go first
while a cheaper branch fills the gaps.

In the pipeline, :class:`WorkerProcessNode` stands in for the node: same ports, and its ``setup``,
``process`` and ``close`` forward to the real node in the worker. Images cross in shared memory
(one buffer per port, reused frame after frame); everything else is pickled. The node sees ordinary
frames: its input images are private copies, so it may keep them.

What the worker reports comes back as the in-process node would report it: a :class:`UserError`
in the worker is a ``UserError`` here (a message, no traceback); any other exception carries the
worker's traceback. What the worker logs is logged here, with the pipeline's format and level. A
worker that dies makes the node fail with its exit status, so the pipeline
shuts down by its usual rules and never waits on a dead process. A worker whose parent dies exits.

The messages and shared images are ``livepose.graph.wire``'s; the worker's own loop is
``livepose.graph.worker_process``, which ``livepose.graph.prestart`` starts.

Limits: only nodes with inputs and outputs can run in a worker, and their ``keys`` handlers cannot
(YAML hotkeys that enable or disable the node still work). There, ``ctx.metrics.live()`` gives the
pipeline's live figures as of the frame being processed, at most 0.1 s old (requests carry them; during
``setup``, those of a pipeline before its first frame), but the rest of the pipeline's metrics
stays in its process; ``ctx.request_stop()`` and ``ctx.press_key()`` do not reach the pipeline,
and ``stopping`` stays false (the pipeline stops the node by closing it).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.metrics import LiveSnapshot
from livepose.graph.node import Node
from livepose.graph.prestart import claim_worker, spawn_worker
from livepose.graph.spec import WorkerSettings
from livepose.graph.wire import (FrameMessage, ImageChannel, ImageReader, frame_from, frame_message, receive_message,
                                 send_message)
from livepose.logs import warn_once
from livepose.models.in_use import record_providers

_CLOSE_TIMEOUT_S = 10.0
LIVE_REFRESH_SECONDS = 0.1


class WorkerError(RuntimeError):
    """The worker process failed: it raised (the message holds its traceback) or died."""


class WorkerProcessNode(Node):
    """Stands in for a node that runs in a worker process (see the module docstring)."""

    def __init__(self, name: str, node_class: type[Node], params: dict[str, Any], settings: WorkerSettings) -> None:
        super().__init__(name=name)
        self.node_class = node_class
        self.params = params
        self.settings = settings
        self._worker: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._channels: dict[str, ImageChannel] = {}
        self._readers: dict[str, ImageReader] = {}
        self._lock = threading.Lock()
        self.worker_cpu_seconds = 0.0
        """The worker's own CPU time so far, as of its last answer (its CPU is not this process's)."""
        self._live: tuple[float, LiveSnapshot] | None = None

    def setup(self) -> None:
        target = f"{self.node_class.__module__}:{self.node_class.__qualname__}"
        self._worker, self._socket = claim_worker(target) or spawn_worker(target)
        providers = self._call(("setup", {"sys_path": list(sys.path), "node_class": target, "name": self.name,
                              "params": self.params, "mode": self.ctx.mode, "headless": self.ctx.headless,
                              "nice": self.settings.nice,
                              "log_level": logging.getLogger("livepose").getEffectiveLevel()}))
        record_providers(providers)

    def process(self, **inputs: Any) -> Any:
        messages: dict[str, FrameMessage | Any] = {}
        fds: list[int] = []
        fd_ports: list[str] = []
        for port, value in inputs.items():
            if isinstance(value, Frame):
                channel = self._channels.setdefault(port, ImageChannel())
                description, new_fd = channel.put(value.image)
                if new_fd is not None:
                    fds.append(new_fd)
                    fd_ports.append(port)
                messages[port] = frame_message(value, description, None)
            else:
                messages[port] = value
        answer = self._call(("process", messages, fd_ports, self._live_figures()), fds)
        return self._outputs(answer, inputs)

    def _live_figures(self) -> LiveSnapshot:
        """The pipeline's live figures for the worker, computed afresh at most every
        LIVE_REFRESH_SECONDS: they average over a second, and most worker nodes never read them."""
        now = time.monotonic()
        if self._live is None or now - self._live[0] >= LIVE_REFRESH_SECONDS:
            self._live = (now, self.ctx.metrics.live())
        return self._live[1]

    def _outputs(self, answer: tuple[Any, list[str], list[int]], inputs: dict[str, Any]) -> Any:
        outputs, reader_ports, fds = answer
        for port, fd in zip(reader_ports, fds):
            self._readers.setdefault(port, ImageReader()).attach(fd)

        def frame(port: str, message: Any) -> Any:
            if not isinstance(message, FrameMessage):
                return message
            if message.same_as is not None:
                return frame_from(message, inputs[message.same_as].image)
            return frame_from(message, self._readers[port].get(message.image))  # type: ignore[arg-type]

        if isinstance(outputs, dict):
            return {port: frame(port, message) for port, message in outputs.items()}
        return frame("", outputs)

    def _call(self, request: tuple[Any, ...], fds: list[int] | None = None) -> Any:
        if self._socket is None:
            raise WorkerError(f"the worker process of node '{self.name}' is not running")
        with self._lock:
            try:
                send_message(self._socket, request, fds)
                (status, *payload), received_fds = receive_message(self._socket)
            except (EOFError, OSError):
                raise WorkerError(self._death_notice()) from None
        for name, level, text, once in payload.pop():
            if once:
                warn_once(logging.getLogger(name), text)
            else:
                logging.getLogger(name).log(level, "%s", text)
        if status == "ok":
            result, self.worker_cpu_seconds = payload
            if request[0] == "process":
                return (*result, received_fds)
            return result
        kind, message, details = payload
        if kind == "user":
            raise UserError(message)
        raise WorkerError(f"{message}\n--- in the worker process of node '{self.name}':\n{details}")

    def _death_notice(self) -> str:
        assert self._worker is not None
        try:
            code = self._worker.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return f"lost contact with the worker process of node '{self.name}'"
        self._socket = None
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return f"the worker process of node '{self.name}' {how}"

    def close(self) -> None:
        closed = False
        try:
            if self._socket is not None and self._worker is not None and self._worker.poll() is None:
                self._socket.settimeout(_CLOSE_TIMEOUT_S)
                self._call(("close",))
                closed = True
        finally:
            self._stop_worker(closed)
            for holder in (*self._channels.values(), *self._readers.values()):
                holder.close()

    def _stop_worker(self, closed: bool) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._worker is not None:
            try:
                self._worker.wait(timeout=_CLOSE_TIMEOUT_S if closed else 0.5)
            except subprocess.TimeoutExpired:
                self._worker.kill()
                self._worker.wait()
