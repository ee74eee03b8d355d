"""The results check: every result a node requires (or reads) is written by some node upstream.

Which result keys may be on a stream: those on every input stream of the node that writes it (a
node passes its input's results on), plus what that node declares it adds on the port
(``Node.written_on``). Feedback streams make the graph cyclic, so the sets grow until they no
longer change. A node whose ``writes`` is None declares nothing and may add any key: downstream
of it, a missing requirement is only a warning, and a missing read is not reported. A stream that
no node produces is the wiring check's error; the nodes after it are not checked here.

A node uses the results it ``reads`` when they are there, and reading several it is made for
whichever are (the visualizer draws the hands of a hands pipeline, and would draw faces): so it
is warned about only when none of them is written upstream, and then it will never see one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livepose.graph.problems import ProblemCollector
from livepose.graph.spec import NodeSpec
from livepose.results import WELL_KNOWN


@dataclass
class _Upstream:
    """What may be on one stream."""

    keys: set[str] = field(default_factory=set)
    """Result keys some node upstream declares it writes."""
    undeclared: set[str] = field(default_factory=set)
    """Nodes upstream (or the producer itself) that declare no writes."""
    unwired: bool = False
    """Whether some stream upstream has no producer."""


def check_results(problems: ProblemCollector, nodes: list[NodeSpec]) -> None:
    """Errors for required results no node upstream writes, warnings for those only read."""
    upstream = _results_on_streams(nodes)
    order = {n.name: index for index, n in enumerate(nodes)}
    for n in nodes:
        arriving = _merged(upstream, n)
        if arriving.unwired:
            continue
        undeclared = sorted(arriving.undeclared, key=order.__getitem__)
        for key in n.cls.requires:
            if key in arriving.keys:
                continue
            if undeclared:
                problems.warn(n.line, n.name, f"requires result '{key}', which no node upstream declares it writes; "
                                              f"node '{undeclared[0]}' declares no writes, so it may add it",
                              f"if '{undeclared[0]}' adds it, declare writes = ('{key}',) on its class; "
                              f"else {_add_a_writer(key)}")
            else:
                problems.error(n.line, n.name, f"requires result '{key}', which no node upstream writes",
                               _add_a_writer(key))
        reads = n.cls.reads
        if reads and not undeclared and not arriving.keys.intersection(reads):
            named = ", ".join(f"'{key}'" for key in reads)
            message = (f"reads result {named}, which no node upstream writes" if len(reads) == 1
                       else f"reads results {named}, none of which a node upstream writes")
            problems.warn(n.line, n.name, f"{message}: it will never see one",
                          "; or ".join(_add_a_writer(key) for key in reads))


def _results_on_streams(nodes: list[NodeSpec]) -> dict[str, _Upstream]:
    """What may be on each produced stream, followed round feedback loops until nothing changes."""
    producers: dict[str, NodeSpec] = {}
    for n in nodes:
        for stream in n.outputs.values():
            producers.setdefault(stream, n)
    on_stream = {stream: _Upstream() for stream in producers}
    changed = True
    while changed:
        changed = False
        for n in nodes:
            arriving = _merged(on_stream, n)
            for port, stream in n.outputs.items():
                if producers[stream] is not n:
                    continue
                written = n.cls.written_on(port)
                current = on_stream[stream]
                # Only ever growing (a stream may take two ports of its node), so the loop ends.
                keys = current.keys | arriving.keys | set(written or ())
                undeclared = current.undeclared | arriving.undeclared | ({n.name} if written is None else set())
                unwired = current.unwired or arriving.unwired
                if (keys, undeclared, unwired) != (current.keys, current.undeclared, current.unwired):
                    on_stream[stream] = _Upstream(keys, undeclared, unwired)
                    changed = True
    return on_stream


def _merged(on_stream: dict[str, _Upstream], node: NodeSpec) -> _Upstream:
    """What may arrive at ``node`` on all its inputs together."""
    merged = _Upstream()
    for stream in node.inputs.values():
        found = on_stream.get(stream)
        if found is None:
            merged.unwired = True
            continue
        merged.keys |= found.keys
        merged.undeclared |= found.undeclared
        merged.unwired |= found.unwired
    return merged


def _add_a_writer(key: str) -> str:
    """The fix for a result no node writes: the built-in node types that write it, else a declaration."""
    known = WELL_KNOWN.get(key)
    if known is None or not known.writers:
        return f"declare writes = ('{key}',) on the node that adds it"
    if len(known.writers) == 1:
        return f"add a {known.writers[0]} node before it (it writes '{key}')"
    choices = f"{', '.join(known.writers[:-1])} or {known.writers[-1]}"
    return f"add a {choices} node before it (each writes '{key}')"
