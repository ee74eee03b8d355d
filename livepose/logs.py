"""Logging helpers shared by livepose's packages."""

from __future__ import annotations

import logging

__all__ = ["warn_once", "is_once_warning"]

_ONCE = "livepose_once"
_warned: set[tuple[str, str]] = set()


def warn_once(logger: logging.Logger, message: str) -> None:
    """Log ``message`` as a warning the first time this process sees it from ``logger``.

    Worker processes forward such warnings marked as once-only and the pipeline applies the same rule,
    so a warning that every process reaches (the CPU fallback, say) is shown once per run, not once
    per process.
    """
    key = (logger.name, message)
    if key not in _warned:
        _warned.add(key)
        logger.warning(message, extra={_ONCE: True})


def is_once_warning(record: logging.LogRecord) -> bool:
    """Whether ``record`` was logged by :func:`warn_once`."""
    return bool(getattr(record, _ONCE, False))
