"""The display node: shows the stream in a window and turns key presses into pipeline controls.

Keys: ``q`` or Esc quit, space pauses, every other key goes to the pipeline (``r`` toggles a
recording, YAML-declared keys enable and disable nodes). With no display (``--headless``, no
``$DISPLAY``, an OpenCV without GUI support) it says so once and frames are consumed unseen.

Windows are pluggable: a backend is a :class:`Window` registered in :data:`WINDOW_BACKENDS`.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import Callable, Protocol

import cv2
import numpy as np

from livepose.graph.frame import Frame
from livepose.graph.keys import PAUSE_KEY, QUIT_KEYS
from livepose.graph.node import Node, param

log = logging.getLogger(__name__)

_PAUSED_POLL_MS = 30


class WindowUnavailable(Exception):
    """The window could not be opened (no display, no GUI support)."""


class Window(Protocol):
    """What the display node needs of a window; every call comes from the node's own thread."""

    def show(self, image: np.ndarray) -> None: ...

    def poll_key(self, wait_ms: int) -> str | None:
        """The key pressed within ``wait_ms`` milliseconds (one character, Esc is ``\\x1b``)."""
        ...

    def is_open(self) -> bool:
        """False once the user closed the window."""
        ...

    def close(self) -> None: ...


class OpenCvWindow:
    """An OpenCV HighGUI window."""

    def __init__(self, title: str, fullscreen: bool = False) -> None:
        self.title = title
        self._shown = False
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
            if fullscreen:
                cv2.setWindowProperty(title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
        except cv2.error as exc:
            raise WindowUnavailable(f"OpenCV cannot open a window ({exc.err or exc})") from exc

    def show(self, image: np.ndarray) -> None:
        if not self._shown:
            cv2.resizeWindow(self.title, image.shape[1], image.shape[0])
        cv2.imshow(self.title, image)
        self._shown = True

    def poll_key(self, wait_ms: int) -> str | None:
        code = cv2.waitKey(max(1, wait_ms))
        return None if code < 0 else chr(code & 0xFF)

    def is_open(self) -> bool:
        return not self._shown or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)  # lets HighGUI process the destruction
        except cv2.error:
            pass


WINDOW_BACKENDS: dict[str, Callable[[str, bool], Window]] = {"opencv": OpenCvWindow}


def x_display_reachable(display: str, timeout: float = 1.0) -> bool:
    """Whether the X server ``display`` names (``[host]:N[.screen]``) accepts connections.

    OpenCV's Qt aborts the whole process when it cannot connect, so this is checked first.
    """
    host, _, number = display.rpartition(":")
    number = number.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix_socket:
                unix_socket.settimeout(timeout)
                unix_socket.connect(f"/tmp/.X11-unix/X{number}")
        else:
            socket.create_connection((host, 6000 + int(number)), timeout=timeout).close()
    except OSError:
        return False
    return True


def x_display_problem() -> str | None:
    """On Linux, why no X window can open (``$DISPLAY`` unset or unreachable), else ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no display is available ($DISPLAY is not set)"
    if not x_display_reachable(display):
        return f"cannot connect to the X display {display!r} ($DISPLAY)"
    return None


def display_unavailable_reason(headless: bool) -> str | None:
    """Why no window can open here, or ``None`` if one may."""
    if headless:
        return "--headless was given"
    # OpenCV's wheels draw through Qt's X11 plugin only: Wayland sessions need XWayland's $DISPLAY.
    return x_display_problem()


class Display(Node):
    """Show frames in a window with hotkeys: q/Esc quit, space pause, others to the pipeline."""

    inputs = ("frame",)
    shows_output = True

    title: str = param("livepose", "window title")
    backend: str = param("opencv", "window implementation", choices=tuple(WINDOW_BACKENDS))
    fullscreen: bool = param(False, "open the window full screen")

    def setup(self) -> None:
        self._window: Window | None = None
        self._paused = False
        reason = display_unavailable_reason(bool(getattr(self.ctx, "headless", False)))
        if reason is None:
            try:
                self._window = WINDOW_BACKENDS[self.backend](self.title, self.fullscreen)
            except WindowUnavailable as exc:
                reason = str(exc)
        if reason is not None:
            # Asked for (--headless, the Python API) it is news; found (no screen) it is a warning.
            level = logging.INFO if getattr(self.ctx, "headless", False) else logging.WARNING
            log.log(level, "display: %s; running headless", reason)

    @property
    def headless(self) -> bool:
        """True when frames are consumed without a window."""
        return self._window is None

    def process(self, frame: Frame) -> None:
        window = self._window
        if window is None:
            return None
        window.show(frame.image)
        self._handle(window.poll_key(1))
        if self._paused:
            paused_view = frame.image.copy()
            cv2.putText(paused_view, "paused (space resumes)", (10, paused_view.shape[0] - 16),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
            window.show(paused_view)
            # Holding this frame holds the pipeline behind it: offline runs wait, realtime
            # sources keep going and their frames are dropped until play resumes.
            while self._paused and not self.stopping and window.is_open():
                self._handle(window.poll_key(_PAUSED_POLL_MS))
        if not window.is_open():
            self.ctx.request_stop("display window closed")
        return None

    def _handle(self, key: str | None) -> None:
        if key is None:
            return
        if key in QUIT_KEYS:
            self.ctx.request_stop("quit key")
        elif key == PAUSE_KEY:
            self._paused = not self._paused
            log.info("display: %s", "paused" if self._paused else "resumed")
        else:
            self.ctx.press_key(key)

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
