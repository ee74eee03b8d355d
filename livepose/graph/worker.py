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

Limits: only nodes with inputs and outputs can run in a worker; their ``keys`` handlers and
``ctx.metrics`` are not available there (YAML hotkeys that enable or disable the node still work).
"""

from __future__ import annotations

import logging
import mmap
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, NodeContext
from livepose.graph.prestart import claim_worker, spawn_worker
from livepose.logs import is_once_warning, warn_once

_HEADER = struct.Struct("<QI")  # payload length, number of file descriptors sent with it
_MAX_FDS = 8
_CLOSE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class WorkerSettings:
    """A node's ``process:`` setting."""

    nice: int = 0
    """Added to the worker's CPU niceness (0-19): higher runs after everything else."""


class WorkerError(RuntimeError):
    """The worker process failed: it raised (the message holds its traceback) or died."""


# -- messages over a Unix socket, with file descriptors for shared buffers ---------------------------


def _send(sock: socket.socket, message: Any, fds: list[int] | None = None) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    header = _HEADER.pack(len(payload), len(fds or ()))
    if fds:
        socket.send_fds(sock, [header], fds)
        sock.sendall(payload)
    else:
        sock.sendall(header + payload)


def _receive(sock: socket.socket) -> tuple[Any, list[int]]:
    """The next message and the descriptors sent with it; EOFError when the other side is gone."""
    data, fds, _flags, _address = socket.recv_fds(sock, _HEADER.size, _MAX_FDS)
    if not data:
        raise EOFError
    header = bytearray(data)
    while len(header) < _HEADER.size:
        header += _receive_exactly(sock, _HEADER.size - len(header))
    length, fd_count = _HEADER.unpack(header)
    if len(fds) != fd_count:
        raise EOFError(f"expected {fd_count} file descriptors, got {len(fds)}")
    return pickle.loads(_receive_exactly(sock, length)), fds


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = sock.recv_into(view[received:])
        if count == 0:
            raise EOFError
        received += count
    return bytes(buffer)


class _SharedBuffer:
    """A growable block of memory both processes map, created by one and sent to the other by fd."""

    def __init__(self, size: int) -> None:
        self.fd = os.memfd_create("livepose-frame") if hasattr(os, "memfd_create") else _temporary_fd()
        os.ftruncate(self.fd, size)
        self.map = mmap.mmap(self.fd, size)
        self.size = size

    @classmethod
    def attach(cls, fd: int) -> "_SharedBuffer":
        buffer = cls.__new__(cls)
        buffer.fd = fd
        buffer.size = os.fstat(fd).st_size
        buffer.map = mmap.mmap(fd, buffer.size)
        return buffer

    def array(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.ndarray(shape, dtype, buffer=self.map)

    def close(self) -> None:
        self.map.close()
        os.close(self.fd)


def _temporary_fd() -> int:
    # Where there is no memfd (macOS): an unlinked temporary file, mapped by both processes.
    handle, path = tempfile.mkstemp(prefix="livepose-frame-")
    os.unlink(path)
    return handle


class _ImageChannel:
    """The sending side of images for one port: writes each image into a buffer the other side maps.

    Returns the image's description for the message and, when the buffer was (re)created, its fd to
    send along."""

    def __init__(self) -> None:
        self.buffer: _SharedBuffer | None = None

    def put(self, image: np.ndarray) -> tuple[tuple[tuple[int, ...], str], int | None]:
        new_fd = None
        if self.buffer is None or self.buffer.size < image.nbytes:
            if self.buffer is not None:
                self.buffer.close()
            self.buffer = _SharedBuffer(max(image.nbytes, 1))
            new_fd = self.buffer.fd
        target = self.buffer.array(image.shape, image.dtype)
        np.copyto(target, image)
        return (image.shape, image.dtype.str), new_fd

    def close(self) -> None:
        if self.buffer is not None:
            self.buffer.close()
            self.buffer = None


class _ImageReader:
    """The receiving side for one port: maps the sender's buffer and copies images out of it."""

    def __init__(self) -> None:
        self.buffer: _SharedBuffer | None = None

    def attach(self, fd: int) -> None:
        if self.buffer is not None:
            self.buffer.close()
        self.buffer = _SharedBuffer.attach(fd)

    def get(self, description: tuple[tuple[int, ...], str]) -> np.ndarray:
        shape, dtype = description
        assert self.buffer is not None, "image sent before its buffer"
        # A copy: the buffer is overwritten by the next frame, and a node may keep its images.
        return self.buffer.array(shape, np.dtype(dtype)).copy()

    def close(self) -> None:
        if self.buffer is not None:
            self.buffer.close()
            self.buffer = None


@dataclass(frozen=True)
class _FrameMessage:
    """A frame on the wire: the image travels in a shared buffer (``image``: its description) or is
    one of the call's input images (``same_as``: that input's port)."""

    image: tuple[tuple[int, ...], str] | None
    same_as: str | None
    index: int
    timestamp: float
    mirrored: bool
    results: dict[str, Any]


def _frame_message(frame: Frame, image: tuple[tuple[int, ...], str] | None, same_as: str | None) -> _FrameMessage:
    return _FrameMessage(image, same_as, frame.index, frame.timestamp, frame.mirrored, dict(frame.results))


def _frame_from(message: _FrameMessage, image: np.ndarray) -> Frame:
    return Frame(image, message.index, message.timestamp, message.mirrored, message.results)


# -- the pipeline side ------------------------------------------------------------------------------


class WorkerProcessNode(Node):
    """Stands in for a node that runs in a worker process (see the module docstring)."""

    def __init__(self, name: str, node_class: type[Node], params: dict[str, Any], settings: WorkerSettings) -> None:
        super().__init__(name=name)
        self.node_class = node_class
        self.params = params
        self.settings = settings
        self._worker: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._channels: dict[str, _ImageChannel] = {}
        self._readers: dict[str, _ImageReader] = {}
        self._lock = threading.Lock()
        self.worker_cpu_seconds = 0.0
        """The worker's own CPU time so far, as of its last answer (its CPU is not this process's)."""

    def setup(self) -> None:
        target = f"{self.node_class.__module__}:{self.node_class.__qualname__}"
        self._worker, self._socket = claim_worker(target) or spawn_worker(target)
        self._call(("setup", {"sys_path": list(sys.path), "node_class": target, "name": self.name,
                              "params": self.params, "mode": self.ctx.mode, "headless": self.ctx.headless,
                              "nice": self.settings.nice,
                              "log_level": logging.getLogger("livepose").getEffectiveLevel()}))

    def process(self, **inputs: Any) -> Any:
        messages: dict[str, _FrameMessage | Any] = {}
        fds: list[int] = []
        fd_ports: list[str] = []
        for port, value in inputs.items():
            if isinstance(value, Frame):
                channel = self._channels.setdefault(port, _ImageChannel())
                description, new_fd = channel.put(value.image)
                if new_fd is not None:
                    fds.append(new_fd)
                    fd_ports.append(port)
                messages[port] = _frame_message(value, description, None)
            else:
                messages[port] = value
        answer = self._call(("process", messages, fd_ports), fds)
        return self._outputs(answer, inputs)

    def _outputs(self, answer: tuple[Any, list[str], list[int]], inputs: dict[str, Any]) -> Any:
        outputs, reader_ports, fds = answer
        for port, fd in zip(reader_ports, fds):
            self._readers.setdefault(port, _ImageReader()).attach(fd)

        def frame(port: str, message: Any) -> Any:
            if not isinstance(message, _FrameMessage):
                return message
            if message.same_as is not None:
                return _frame_from(message, inputs[message.same_as].image)
            return _frame_from(message, self._readers[port].get(message.image))  # type: ignore[arg-type]

        if isinstance(outputs, dict):
            return {port: frame(port, message) for port, message in outputs.items()}
        return frame("", outputs)

    def _call(self, request: tuple[Any, ...], fds: list[int] | None = None) -> Any:
        if self._socket is None:
            raise WorkerError(f"the worker process of node '{self.name}' is not running")
        with self._lock:
            try:
                _send(self._socket, request, fds)
                (status, *payload), received_fds = _receive(self._socket)
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


# -- the worker side --------------------------------------------------------------------------------


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
        self.readers: dict[str, _ImageReader] = {}
        self.channels: dict[str, _ImageChannel] = {}

    def serve(self) -> None:
        while True:
            try:
                request, fds = _receive(self.sock)
            except EOFError:
                return
            command = request[0]
            try:
                result = getattr(self, "_" + command)(*request[1:], fds=fds)
            except Exception as exc:
                kind = "user" if isinstance(exc, UserError) else "error"
                message = str(exc) if kind == "user" else f"{type(exc).__name__}: {exc}"
                _send(self.sock, ("error", kind, message, traceback.format_exc().rstrip(), self.log.take()))
                continue
            answer, answer_fds = result
            _send(self.sock, ("ok", answer, time.process_time(), self.log.take()), answer_fds)
            if command == "close":
                return

    def _setup(self, config: dict[str, Any], fds: list[int]) -> tuple[None, list[int]]:
        logging.getLogger("livepose").setLevel(config["log_level"])
        if config["nice"]:
            os.nice(config["nice"])
        for entry in reversed(config["sys_path"]):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        from livepose.graph.registry import resolve_node_type

        node = resolve_node_type(config["node_class"])(name=config["name"], **config["params"])
        # The worker cannot see the pipeline's metrics; its stop event is never set, since the
        # pipeline stops the node by closing it.
        node.ctx = NodeContext(config["mode"], None, threading.Event(), headless=config["headless"])  # type: ignore[arg-type]
        node.setup()
        self.node = node
        return None, []

    def _process(self, messages: dict[str, Any], fd_ports: list[str], fds: list[int]) -> tuple[Any, list[int]]:
        assert self.node is not None
        for port, fd in zip(fd_ports, fds):
            self.readers.setdefault(port, _ImageReader()).attach(fd)
        inputs = {
            port: _frame_from(message, self.readers[port].get(message.image))
            if isinstance(message, _FrameMessage) else message
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
                return _frame_message(value, None, same_as)
            description, new_fd = self.channels.setdefault(port, _ImageChannel()).put(value.image)
            if new_fd is not None:
                out_fds.append(new_fd)
                out_ports.append(port)
            return _frame_message(value, description, None)

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
    # Run the imported module, not this ``__main__`` copy: pickled messages name
    # ``livepose.graph.worker``'s classes, and isinstance checks must see those.
    from livepose.graph import worker

    sys.exit(worker.main(sys.argv[1:]))
