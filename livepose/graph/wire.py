"""What crosses between the pipeline and a worker process: messages and images.

Messages are pickled, framed by a header (payload length, number of file descriptors), over a Unix
socket. Images travel in shared memory: the sending side of each port writes into a buffer both
processes map (a memfd, sent once by file descriptor, replaced when an image outgrows it), and a
frame's message carries only the image's shape and type. Both processes import this module by
name, so the classes a message holds unpickle as the same classes on either side.
"""

from __future__ import annotations

import mmap
import os
import pickle
import socket
import struct
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from livepose.graph.frame import Frame

_HEADER = struct.Struct("<QI")  # payload length, number of file descriptors sent with it
_MAX_FDS = 8


def send_message(sock: socket.socket, message: Any, fds: list[int] | None = None) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    header = _HEADER.pack(len(payload), len(fds or ()))
    if fds:
        socket.send_fds(sock, [header], fds)
        sock.sendall(payload)
    else:
        sock.sendall(header + payload)


def receive_message(sock: socket.socket) -> tuple[Any, list[int]]:
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


class ImageChannel:
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


class ImageReader:
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
class FrameMessage:
    """A frame on the wire: the image travels in a shared buffer (``image``: its description) or is
    one of the call's input images (``same_as``: that input's port)."""

    image: tuple[tuple[int, ...], str] | None
    same_as: str | None
    index: int
    timestamp: float
    mirrored: bool
    results: dict[str, Any]


def frame_message(frame: Frame, image: tuple[tuple[int, ...], str] | None, same_as: str | None) -> FrameMessage:
    return FrameMessage(image, same_as, frame.index, frame.timestamp, frame.mirrored, dict(frame.results))


def frame_from(message: FrameMessage, image: np.ndarray) -> Frame:
    return Frame(image, message.index, message.timestamp, message.mirrored, message.results)
