"""A pipeline called one frame at a time on the caller's thread: no queues, no threads.

For one-call use from Python (``livepose.hands(image)``): the same node classes the threaded runner
runs, set up once, then ``step(frame)`` calls every node in graph order with that frame's inputs and
returns what every stream carried. Feedback streams carry the previous step's message, as an
offline run does, so a tracking loop tracks from one call to the next.
"""

from __future__ import annotations

import threading
from typing import Any

from livepose.graph.assembly import build_node
from livepose.graph.frame import Frame
from livepose.graph.metrics import PipelineMetrics
from livepose.graph.node import NodeContext
from livepose.graph.spec import NodeSpec, PipelineSpec


class Stepper:
    """Runs ``spec``'s nodes (except its sources) synchronously on frames given by the caller.

    The frames enter on the streams the spec's source nodes write. Thread-safe: steps are serialized.
    """

    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec
        self._order = _graph_order(spec)
        self.entry_streams = [stream for n in spec.nodes if not n.inputs for stream in n.outputs.values()]
        sinks = [n.name for n in spec.nodes if not any(spec.consumers(s) for s in n.outputs.values())]
        self.metrics = PipelineMetrics([n.name for n in spec.nodes], {}, [], sinks)
        self._nodes = {n.name: build_node(n) for n in self._order}
        stop = threading.Event()
        for node in self._nodes.values():
            node.ctx = NodeContext("offline", self.metrics, stop, headless=True)
        self._feedback: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._set_up: list[str] = []
        try:
            for name, node in self._nodes.items():
                node.setup()
                self._set_up.append(name)
        except BaseException:
            self.close()
            raise

    def step(self, frame: Frame) -> dict[str, Frame]:
        """Every stream's message for ``frame`` (streams whose node dropped the frame are absent)."""
        with self._lock:
            carried: dict[str, Any] = {stream: frame for stream in self.entry_streams}
            for n in self._order:
                inputs = {}
                for port, stream in n.inputs.items():
                    inputs[port] = (self._feedback.get(stream) if self.spec.streams[stream].feedback
                                    else carried.get(stream))
                if any(inputs[port] is None for port, stream in n.inputs.items()
                       if not self.spec.streams[stream].feedback):
                    continue
                outcome = self._nodes[n.name].process(**inputs)
                for port, stream in n.outputs.items():
                    item = outcome if isinstance(outcome, Frame) and len(n.outputs) == 1 else (
                        outcome.get(port) if isinstance(outcome, dict) else None)
                    if item is not None:
                        carried[stream] = item
            for stream, settings in self.spec.streams.items():
                if settings.feedback:
                    self._feedback[stream] = carried.get(stream)
            return carried

    def close(self) -> None:
        """Release every node that was set up (once)."""
        with self._lock:
            for name in reversed(self._set_up):
                self._nodes[name].close()
            self._set_up = []


def _graph_order(spec: PipelineSpec) -> list[NodeSpec]:
    """The non-source nodes in an order where each comes after the producers of its regular inputs."""
    producers = spec.producers()
    placed: set[str] = {n.name for n in spec.nodes if not n.inputs}
    order: list[NodeSpec] = []
    remaining = [n for n in spec.nodes if n.inputs]
    while remaining:
        ready = [n for n in remaining
                 if all(producers[s].name in placed for s in n.inputs.values() if not spec.streams[s].feedback)]
        if not ready:
            raise ValueError("the graph has a cycle without a feedback stream")  # the validator rejects these
        for n in ready:
            order.append(n)
            placed.add(n.name)
        remaining = [n for n in remaining if n.name not in placed]
    return order
