"""What a node that owns the main thread (the viewer) may see and do of the run it belongs to.

A GUI's event loop must run on the main thread while the pipeline's nodes run on theirs. A node
asks for that with :meth:`~livepose.graph.node.Node.main_thread_loop`; the runner then runs the
pipeline on a thread of its own and calls the loop on the main thread with a :class:`RunControls`.
Everything here is safe to call from the main thread while the pipeline runs: the same controls
the keyboard has (keys, node toggles, stop), the run's live metrics, and how the run ended.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from livepose.graph.metrics import PipelineMetrics
from livepose.graph.node import Node

if TYPE_CHECKING:
    from livepose.graph.assembly import RunningNode
    from livepose.graph.runner import RunResult


@dataclass(frozen=True)
class NodeToggle:
    """A node the user may switch on and off: its name, type and YAML ``hotkey``."""

    name: str
    type_name: str
    hotkey: str


class RunControls:
    """The run as its main-thread loop sees it (see the module doc)."""

    def __init__(self, *, name: str, mode: str, source: str | None, nodes: list["RunningNode"],
                 metrics: PipelineMetrics, press_key: Callable[[str], bool], request_stop: Callable[[str], None],
                 finished: threading.Event, failure: Callable[[], str | None],
                 notices: Sequence[tuple[float, str]] = ()) -> None:
        self.name = name
        self.mode = mode
        self.source = source
        """The pipeline's source as its file or the command line gave it (``None``: the capture
        node's own parameter)."""
        self.metrics = metrics
        self.finished = finished
        """Set once every node has closed and the run's result is known."""
        self._nodes = {rn.spec.name: rn for rn in nodes}
        self._press_key = press_key
        self._request_stop = request_stop
        self._failure = failure
        self.notices = notices
        """What the run told the user once while it went on (monotonic time, text), newest last: a
        reload that failed, for instance. Read it, do not change it."""
        self.interrupted = threading.Event()
        """Set when SIGINT or SIGTERM arrives: a window that lingers (showing a failure) closes at once."""
        self.result: RunResult | None = None
        """How the run ended, once ``finished`` is set."""

    @property
    def realtime(self) -> bool:
        return self.mode == "realtime"

    @property
    def failure(self) -> str | None:
        """Why the run is failing (a node crashed, could not start), as soon as it is known."""
        return self._failure()

    def toggles(self) -> list[NodeToggle]:
        """The nodes that have a hotkey, in pipeline order."""
        return [NodeToggle(name, rn.spec.type_name, rn.spec.hotkey) for name, rn in self._nodes.items()
                if rn.spec.hotkey]

    def enabled(self, name: str) -> bool:
        """Whether node ``name`` processes frames (a disabled node passes them through)."""
        return self._nodes[name].enabled

    def node(self, name: str) -> Node:
        """Node ``name``'s object (a stand-in when it runs in a worker process)."""
        return self._nodes[name].node

    def nodes_of(self, cls: type[Node]) -> list[str]:
        """The names of the nodes that are instances of ``cls`` in this process, in pipeline order."""
        return [name for name, rn in self._nodes.items() if isinstance(rn.node, cls)]

    def press_key(self, key: str) -> bool:
        """Exactly what the key does in a display window: quit keys stop, hotkeys toggle nodes,
        node keys (``r`` for a recorder) call the node. Returns whether anything handled it."""
        return self._press_key(key)

    def request_stop(self, reason: str) -> None:
        """Stop the run in order (as ``q`` does)."""
        self._request_stop(reason)
