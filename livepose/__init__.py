"""livepose: real-time hand and face keypoint pipelines.

``from livepose import Frame, Node, param`` to write a node; ``livepose.run``, ``livepose.hands`` and
``livepose.faces`` to use pipelines from Python (see ``livepose.api``). The names are loaded on first
use: every command line, and every worker process, imports this package, and most need none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Frame": "livepose.graph.frame",
    "Node": "livepose.graph.node",
    "param": "livepose.graph.node",
    "PipelineRun": "livepose.api",
    "run": "livepose.api",
    "hands": "livepose.api",
    "faces": "livepose.api",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from livepose.api import PipelineRun, faces, hands, run
    from livepose.graph.frame import Frame
    from livepose.graph.node import Node, param


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'livepose' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
