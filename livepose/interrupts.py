"""Ctrl-C and SIGTERM from the first instant of a command, not only once a pipeline runs.

The CLI calls :func:`install` before it imports anything slow. Until something listens, a signal
either raises ``KeyboardInterrupt`` (which the CLI turns into one line and exit status 130), or,
after :func:`defer` (``livepose run`` calls it), is remembered: a pipeline that is still being
loaded or set up when the user presses Ctrl-C then stops in order as soon as it can, instead of
dying with a traceback halfway through its imports.

A running pipeline registers its stop handler with :func:`listening`; a signal that arrived
before is handed to it at once. Standard library only: this module is imported first.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_lock = threading.Lock()
_installed = False
_deferring = False
_received: str | None = None
_listener: Callable[[str], None] | None = None


def _handle(signum: int, _frame: Any) -> None:
    global _received
    name = signal.Signals(signum).name
    with _lock:
        listener = _listener
        if listener is None:
            _received = name
    if listener is not None:
        listener(name)
    elif not _deferring:
        raise KeyboardInterrupt(name)


def install() -> None:
    """Handle SIGINT and SIGTERM from now on (main thread only; elsewhere it does nothing)."""
    global _installed
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        signal.signal(sig, _handle)
    _installed = True


def defer() -> None:
    """Remember signals that arrive while nothing listens, instead of raising KeyboardInterrupt."""
    global _deferring
    _deferring = True


def received() -> str | None:
    """The name of a signal that arrived while nothing listened (``SIGINT``...), or None."""
    return _received


@contextmanager
def listening(on_signal: Callable[[str], None]) -> Iterator[None]:
    """Route SIGINT and SIGTERM to ``on_signal(name)`` inside the block.

    Installs the handlers for the block if :func:`install` has not (a pipeline run from Python's
    main thread), and does nothing off the main thread, where signals cannot be handled. A signal
    that arrived earlier is delivered on entry.
    """
    global _listener, _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = None if _installed else {sig: signal.signal(sig, _handle) for sig in SIGNALS}
    with _lock:
        outer, _listener = _listener, on_signal
        early, _received = _received, None
    try:
        if early is not None:
            on_signal(early)
        yield
    finally:
        with _lock:
            _listener = outer
        if previous is not None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
