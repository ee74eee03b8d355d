"""Assembling a run from a validated pipeline: node objects, the queues between them, admission.

Every node with inputs gets one :class:`~livepose.graph.queues.Inbox` holding an edge per input
port; a node's output port routes to the edges of the stream it writes. Realtime, each source gets
a :class:`~livepose.graph.admission.FlowLimiter` over the sinks it reaches, and every regular edge
is at least ``max_in_flight`` deep, so that no admitted frame is dropped on its way.

:func:`build_node` decides where a node runs: in the pipeline's process, or (``process:``) in a
worker process behind a :class:`~livepose.graph.worker.WorkerProcessNode`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from livepose.graph.admission import FlowLimiter
from livepose.graph.metrics import NodeMetrics, PipelineMetrics
from livepose.graph.node import Node, NodeContext
from livepose.graph.queues import Edge, GatherInbox, Inbox
from livepose.graph.reload import NodeReloader
from livepose.graph.spec import NodeSpec, PipelineSpec
from livepose.graph.worker import WorkerProcessNode


def build_node(spec: NodeSpec) -> Node:
    """The node object for ``spec``: the node itself, or its stand-in when it runs in a worker process."""
    if spec.worker is not None:
        return WorkerProcessNode(spec.name, spec.cls, spec.params, spec.worker)
    return spec.cls(name=spec.name, **spec.params)


@dataclass(eq=False)
class RunningNode:
    """One node of a run: its object, queues and routes, and where its thread is."""

    spec: NodeSpec
    node: Node
    inbox: Inbox | None
    routes: dict[str, list[tuple[Inbox, Edge]]]
    metrics: NodeMetrics
    is_sink: bool
    enabled: bool
    limiter: FlowLimiter | None = None
    """Sources of a realtime run: admission of their frames (see ``livepose.graph.admission``)."""
    emit_lock: threading.Lock = field(default_factory=threading.Lock)
    """Sources: keeps their frames in order when a sink's thread sends on a held frame."""
    limiters: list[tuple["RunningNode", FlowLimiter]] = field(default_factory=list)
    """Sinks: the admissions of the sources upstream, told when this sink has handled a frame."""
    port_limiters: dict[str, list[tuple["RunningNode", FlowLimiter]]] = field(default_factory=dict)
    """Gathering nodes: the admissions of the sources upstream of each input port, which end there."""
    restamped: bool = False
    """Whether the node was warned that it returned frames of another index."""
    busy_in: tuple[str, int | None] | None = None
    """The node method its thread is inside, and on which frame: set per call, formatted only for
    the report of a node that does not stop."""
    setup_started: bool = False
    setup_done: bool = False
    setup_ok: bool = False
    finished: bool = False
    thread: threading.Thread | None = None
    reloader: "NodeReloader | None" = None
    """``--reload``: watches the user's module of this node (see ``livepose.graph.reload``)."""
    fallback: Node | None = None
    """After a reload: the version before, still set up, which takes over if the new one raises."""


def assemble(spec: PipelineSpec, realtime: bool,
             context: Callable[[PipelineMetrics, NodeSpec], NodeContext]) -> tuple[PipelineMetrics, list[RunningNode]]:
    """The run's metrics and its nodes, wired; ``context`` makes the context each node is lent."""
    in_flight = spec.max_in_flight if realtime else 0
    inboxes: dict[str, Inbox] = {}
    edges_by_stream: dict[str, list[tuple[Inbox, Edge]]] = {}
    for n in spec.nodes:
        if not n.inputs:
            continue
        edges = []
        preferred = n.cls.input_queue or {}
        for port, stream in n.inputs.items():
            settings = spec.streams[stream]
            size, policy = settings.size, settings.policy
            if not settings.explicit and preferred:
                size, policy = preferred.get("size", size), preferred.get("policy", policy)
            if in_flight and not settings.feedback:
                # Admission keeps at most in_flight frames per stream: none is dropped after it.
                size = max(size, in_flight)
            edges.append(Edge(stream, port, size, policy if realtime else "block", settings.feedback))
        inbox = (GatherInbox if n.cls.gathers_inputs else Inbox)(edges, realtime)
        inboxes[n.name] = inbox
        for edge in edges:
            edges_by_stream.setdefault(edge.stream, []).append((inbox, edge))
    consumed = set(edges_by_stream)
    sinks = [n.name for n in spec.nodes if not any(s in consumed for s in n.outputs.values())]
    sources = [n.name for n in spec.nodes if not n.inputs]
    metrics = PipelineMetrics([n.name for n in spec.nodes], inboxes, sources, sinks)
    running = []
    for n in spec.nodes:
        node = build_node(n)
        node.ctx = context(metrics, n)
        routes = {port: edges_by_stream.get(stream, []) for port, stream in n.outputs.items()}
        running.append(RunningNode(n, node, inboxes.get(n.name), routes, metrics.nodes[n.name],
                                   n.name in sinks, n.enabled))
    if any(n.cls.gathers_inputs for n in spec.nodes):
        metrics.ends = {source: _ends(spec, source, sinks) for source in sources}
    if in_flight:
        by_name = {rn.spec.name: rn for rn in running}
        for source in sources:
            reached = _reachable(spec, source)
            downstream = [name for name in reached if name in sinks]
            gathering = [name for name in reached if by_name[name].spec.cls.gathers_inputs]
            # A gathering node is where a source's frames end, as far as its admission goes.
            limiter = FlowLimiter(in_flight, downstream + gathering)
            by_name[source].limiter = limiter
            for sink in downstream:
                by_name[sink].limiters.append((by_name[source], limiter))
            written = {stream for name in [source, *reached] for stream in by_name[name].spec.outputs.values()}
            for name in gathering:
                for port, stream in by_name[name].spec.inputs.items():
                    if stream in written:
                        by_name[name].port_limiters.setdefault(port, []).append((by_name[source], limiter))
    return metrics, running


def _ends(spec: PipelineSpec, source: str, sinks: list[str]) -> list[tuple[str, str | None]]:
    """Where ``source``'s frames end: the sinks of its own part of the graph, and each gathering node's
    port that reads its part (the sinks after a gathering node count its frames, not this source's)."""
    reached = _reachable(spec, source)
    written = {stream for n in spec.nodes if n.name in {source, *reached} for stream in n.outputs.values()}
    ends: list[tuple[str, str | None]] = [(name, None) for name in reached if name in sinks]
    for n in spec.nodes:
        if n.cls.gathers_inputs and n.name in reached:
            ends += [(n.name, port) for port, stream in n.inputs.items() if stream in written]
    return ends


def _reachable(spec: PipelineSpec, start: str) -> list[str]:
    """The nodes downstream of ``start`` along regular (not feedback) streams."""
    consumers: dict[str, list[str]] = {}
    for n in spec.nodes:
        for stream in n.inputs.values():
            if not spec.streams[stream].feedback:
                consumers.setdefault(stream, []).append(n.name)
    outputs = {n.name: list(n.outputs.values()) for n in spec.nodes}
    gathering = {n.name for n in spec.nodes if n.cls.gathers_inputs}
    seen: list[str] = []
    frontier = [start]
    while frontier:
        name = frontier.pop()
        if name in gathering:
            continue  # the streams a gathering node writes start afresh: nothing admitted crosses it
        for stream in outputs[name]:
            for consumer in consumers.get(stream, []):
                if consumer not in seen:
                    seen.append(consumer)
                    frontier.append(consumer)
    return seen
