"""The worker process of a node that runs outside the pipeline's process (``process:``).

Started by ``livepose.graph.prestart`` as ``python -m livepose.graph.worker_process FD [TARGET]``:
it serves the requests of its :class:`~livepose.graph.worker.WorkerProcessNode` on the socket
``FD`` (set up, process a frame, close) until the pipeline closes it or goes away. The messages'
classes are ``livepose.graph.wire``'s, imported by name, so this module may run as ``__main__``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any

from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.metrics import SnapshotMetrics, LiveSnapshot
from livepose.graph.node import Node, NodeContext
from livepose.graph.wire import (FrameMessage, ImageChannel, ImageReader, frame_from, frame_message, receive_message,
                                 send_message)
from livepose.logs import is_once_warning


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, even if a node call never returns."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class _LogRecorder(logging.Handler):
    """Keeps the worker's log records until the next answer carries them to the pipeline, which logs
    them with its own handlers (the CLI's format and level)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int, str, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage(), is_once_warning(record)))

    def take(self) -> list[tuple[str, int, str, bool]]:
        records, self.records = self.records, []
        return records


class _Worker:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.log = _LogRecorder()
        logger = logging.getLogger("livepose")
        logger.handlers[:] = [self.log]
        logger.propagate = False
        self.node: Node | None = None
        self.readers: dict[str, ImageReader] = {}
        self.channels: dict[str, ImageChannel] = {}
        self.metrics = SnapshotMetrics()

    def serve(self) -> None:
        while True:
            try:
                request, fds = receive_message(self.sock)
            except EOFError:
                return
            command = request[0]
            try:
                result = getattr(self, "_" + command)(*request[1:], fds=fds)
            except Exception as exc:
                kind = "user" if isinstance(exc, UserError) else "error"
                message = str(exc) if kind == "user" else f"{type(exc).__name__}: {exc}"
                send_message(self.sock, ("error", kind, message, traceback.format_exc().rstrip(), self.log.take()))
                continue
            answer, answer_fds = result
            send_message(self.sock, ("ok", answer, time.process_time(), self.log.take()), answer_fds)
            if command == "close":
                return

    def _setup(self, config: dict[str, Any], fds: list[int]) -> tuple[dict[str, str], list[int]]:
        logging.getLogger("livepose").setLevel(config["log_level"])
        if config["nice"]:
            os.nice(config["nice"])
        for entry in reversed(config["sys_path"]):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        from livepose.graph.registry import resolve_node_type

        node = resolve_node_type(config["node_class"])(name=config["name"], **config["params"])
        # Of the pipeline's metrics only the live figures cross (see SnapshotMetrics); the stop
        # event is never set, since the pipeline stops the node by closing it.
        node.ctx = NodeContext(config["mode"], self.metrics, threading.Event(),  # type: ignore[arg-type]
                               headless=config["headless"])
        node.setup()
        self.node = node
        from livepose.models.in_use import providers_in_use

        return providers_in_use(), []  # the pipeline's process shows them (the viewer's status line)

    def _process(self, messages: dict[str, Any], fd_ports: list[str], live: LiveSnapshot,
                 fds: list[int]) -> tuple[Any, list[int]]:
        assert self.node is not None
        self.metrics.received(live)
        for port, fd in zip(fd_ports, fds):
            self.readers.setdefault(port, ImageReader()).attach(fd)
        inputs = {
            port: frame_from(message, self.readers[port].get(message.image))
            if isinstance(message, FrameMessage) else message
            for port, message in messages.items()
        }
        outputs = self.node.process(**inputs)
        input_images = {id(frame.image): port for port, frame in inputs.items() if isinstance(frame, Frame)}
        out_fds: list[int] = []
        out_ports: list[str] = []

        def message(port: str, value: Any) -> Any:
            if not isinstance(value, Frame):
                return value
            same_as = input_images.get(id(value.image))
            if same_as is not None:
                return frame_message(value, None, same_as)
            description, new_fd = self.channels.setdefault(port, ImageChannel()).put(value.image)
            if new_fd is not None:
                out_fds.append(new_fd)
                out_ports.append(port)
            return frame_message(value, description, None)

        if isinstance(outputs, dict):
            wire = {port: message(port, value) for port, value in outputs.items()}
        else:
            wire = message("", outputs)
        return (wire, out_ports), out_fds

    def _close(self, fds: list[int]) -> tuple[None, list[int]]:
        if self.node is not None:
            self.node.close()
        return None, []


def _preload(target: str) -> None:
    """Import the node's module before the first request (see ``livepose.graph.prestart``)."""
    import importlib

    try:
        importlib.import_module(target.partition(":")[0])
    except Exception:
        pass  # setup imports it again, with the pipeline's import path, and reports what fails


def main(argv: list[str]) -> int:
    _die_with_parent()
    # The pipeline handles Ctrl+C and closes this node; the worker must not die of it first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=int(argv[0]))
    if len(argv) > 1:
        _preload(argv[1])
    try:
        _Worker(sock).serve()
    except (BrokenPipeError, ConnectionResetError):
        # The pipeline went away while this worker was answering (it stopped during set-up):
        # nobody is left to tell, and its own shutdown has said what happened.
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
