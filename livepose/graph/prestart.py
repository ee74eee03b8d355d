"""Worker processes started while a pipeline file is still being loaded.

A worker (``process: true``) is a fresh interpreter that spends about half a second importing its
node's module (numpy, OpenCV, ONNX Runtime) before it can set the node up. Started only when the
node's ``setup()`` runs, that half second comes after the pipeline's own loading and validation;
started from the file's text, before either, it overlaps them. This module stays light (no numpy,
no pydantic) so that starting workers costs the command nothing.

Only built-in node types are started early: the module of a ``module:Class`` type may need the
pipeline's folder on the import path, which the node's ``setup`` gives its worker. A worker started
for nothing (the file turns out to be invalid) exits when the pipeline does.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

_spare: dict[str, list[tuple[subprocess.Popen[bytes], socket.socket]]] = {}


def spawn_worker(target: str | None = None) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """A new worker process and the pipeline's end of its socket; with ``target`` (``module:Class``)
    it imports that module at once, before the first request."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with theirs:
        worker = subprocess.Popen([sys.executable, "-m", "livepose.graph.worker_process", str(theirs.fileno()),
                                   *([target] if target else [])], pass_fds=(theirs.fileno(),))
    return worker, ours


def prestart_workers(pipeline_file: Path) -> int:
    """Start a worker for every built-in node the file runs in a worker process; returns how many.

    Never fails: anything wrong with the file is for the validator to report.
    """
    from livepose.nodes import BUILTIN_NODES

    try:
        import yaml

        # Bytes: PyYAML decodes UTF-8 and BOM-marked UTF-16, as the loader does.
        data = yaml.safe_load(pipeline_file.read_bytes())
        entries: list[Any] = data.get("nodes", []) if isinstance(data, dict) else []
        targets = [BUILTIN_NODES[e["type"]] for e in entries if isinstance(e, dict) and e.get("process")
                   and isinstance(e.get("type"), str) and e["type"] in BUILTIN_NODES]
    except Exception:
        return 0
    for target in targets:
        _spare.setdefault(target, []).append(spawn_worker(target))
    return len(targets)


def claim_worker(target: str) -> tuple[subprocess.Popen[bytes], socket.socket] | None:
    """A worker started early for ``target`` and still alive, or None."""
    spares = _spare.get(target, [])
    while spares:
        worker, sock = spares.pop(0)
        if worker.poll() is None:
            return worker, sock
        sock.close()
    return None
