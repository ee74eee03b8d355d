"""Live reload (``livepose run --reload``): the user's own nodes swapped in between frames when their file changes.

Only nodes named as ``module:Class`` whose module file lies in the pipeline's folder or the current
one are watched: the user's effects, not livepose's nodes or installed packages. The changed file is
loaded as a new module object, and a new node of its class is made with the same parameters and set
up on the node's own thread, between two frames. A file that does not load, a class that is gone or
refuses the parameters, or a set-up that fails keeps the pipeline on the version it runs; so does a
reloaded node that raises: the frame is processed again by the version before, which stays set up
until the next reload succeeds. Each failure is said once (per version of the file).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Sequence

from livepose.graph.node import Node, NodeContext
from livepose.graph.spec import NodeSpec

if TYPE_CHECKING:
    from livepose.graph.assembly import RunningNode

log = logging.getLogger("livepose")

CHECK_SECONDS = 0.25
"""How often a watched file's modification time is looked at (a ``stat`` call)."""


class NodeReloader:
    """Watches the module file of one user node and makes fresh nodes from it."""

    def __init__(self, spec: NodeSpec, module: ModuleType, path: Path) -> None:
        self.spec = spec
        self.module_name = module.__name__
        self.class_name = spec.cls.__name__
        self.path = path
        self._loaded = self._mtime()
        self._refused: float | None = None
        self._next_check = 0.0

    def _mtime(self) -> float:
        try:
            return self.path.stat().st_mtime_ns / 1e9
        except OSError:  # being saved (some editors replace the file): looked at again next time
            return self._loaded

    def changed(self) -> bool:
        """Whether the file has a version not loaded or refused yet (looked at every ``CHECK_SECONDS``)."""
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + CHECK_SECONDS
        mtime = self._mtime()
        return mtime != self._loaded and mtime != self._refused

    def fresh_node(self, ctx: NodeContext) -> Node:
        """A set-up node of the file's current version; raises whatever loading or set-up raised."""
        version = self._mtime()
        self._refused = version  # until it has loaded and set up
        module_spec = importlib.util.spec_from_file_location(self.module_name, self.path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {self.path}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        cls = getattr(module, self.class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Node)):
            raise ImportError(f"{self.path} no longer defines the node class {self.class_name}")
        node = cls(name=self.spec.name, **self.spec.params)
        node.ctx = ctx
        node.setup()
        # The old version's objects keep their own module; later imports by name get the new one.
        sys.modules[self.module_name] = module
        self._loaded, self._refused = version, None
        return node

    def refuse_current(self) -> None:
        """The version loaded last raised while processing: not loaded again until the file changes."""
        self._refused, self._loaded = self._loaded, -1.0


def watchable(spec: NodeSpec, folders: Sequence[Path]) -> NodeReloader | None:
    """A reloader for ``spec``'s node when it is the user's own (see the module doc), else ``None``."""
    if ":" not in spec.type_name or spec.worker is not None:
        return None
    module = sys.modules.get(spec.cls.__module__)
    file = getattr(module, "__file__", None)
    if module is None or file is None:
        return None
    path = Path(file).resolve()
    roots = [folder.resolve() for folder in folders]
    if "site-packages" in path.parts or not any(root in path.parents for root in roots):
        return None
    return NodeReloader(spec, module, path)


def watch_user_nodes(nodes: Sequence["RunningNode"], folders: Sequence[Path]) -> None:
    """Give each of the run's user nodes its reloader (``--reload``), saying what is watched, or that nothing is."""
    for rn in nodes:
        rn.reloader = watchable(rn.spec, folders)
        if rn.reloader is not None:
            log.info("--reload: watching %s (node '%s')", rn.reloader.path.name, rn.spec.name)
    if not any(rn.reloader for rn in nodes):
        log.warning("--reload: no node of this pipeline is your own module:Class in its folder or this one "
                    "(or they run in a worker process): nothing to watch")
