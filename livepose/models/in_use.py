"""Which execution provider each model of this run really runs on, for the viewer's status line.

Kept apart from ``runtime`` so that reading it never imports onnxruntime. Sessions created in this
process record themselves; a worker process reports its own after its node's set-up.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

_lock = threading.Lock()
_in_use: dict[str, str] = {}


def record_provider(model: str, provider: str) -> None:
    """Model ``model`` (its file name) runs on ``provider`` (``cpu``, ``cuda``, ``tensorrt``)."""
    with _lock:
        _in_use[model] = provider


def record_providers(found: Mapping[str, str]) -> None:
    """What a worker process reported of its models."""
    with _lock:
        _in_use.update(found)


def providers_in_use() -> dict[str, str]:
    """Model file name -> provider, of every model session of this run so far."""
    with _lock:
        return dict(_in_use)
