"""Checks of the whole graph, once its node entries are read: streams, wiring, cycles and hotkeys."""

from __future__ import annotations

from typing import Any, Mapping

from livepose.graph.keys import RESERVED_KEYS
from livepose.graph.problems import ProblemCollector, cut, did_you_mean, shown
from livepose.graph.spec import DEFAULT_QUEUE_SIZE, MAX_QUEUE_SIZE, POLICIES, STREAM_KEYS, NodeSpec, StreamSettings
from livepose.graph.yamlsource import LocatedDict


def build_streams(problems: ProblemCollector, data: LocatedDict, nodes: list[NodeSpec],
                  mode: str) -> dict[str, StreamSettings]:
    """Every stream the nodes name, with its settings from ``queue:``, ``streams:`` and the mode."""
    queue = _section(problems, data, "queue", "'queue' must be a mapping {size, policy}",
                     "write queue: {size: 1, policy: latest}")
    defaults = _stream_settings(problems, "queue", queue, allow_feedback=False)
    declared = _section(problems, data, "streams", "'streams' must map stream names to settings",
                        "write streams: {<stream>: {size: 4, policy: drop_oldest}}")
    names = {s for n in nodes for s in (*n.outputs.values(), *n.inputs.values())}
    own: dict[Any, dict[str, Any]] = {}
    for stream, settings in declared.items():
        line = declared.line_of(stream) if isinstance(declared, LocatedDict) else 0
        if stream not in names:
            hint = did_you_mean(str(stream), names)
            problems.error(line, None, f"'streams:' configures '{cut(str(stream))}', which no node reads or writes",
                           hint or "remove it or fix the name")
        elif not isinstance(settings, dict):
            problems.error(line, None, f"settings of stream '{stream}' must be a mapping {{size, policy, feedback}}, "
                                       f"got {shown(settings)}", f"write {stream}: {{size: 4, policy: drop_oldest}}")
        else:
            own[stream] = _stream_settings(problems, f"stream '{stream}'", settings, allow_feedback=True)
    streams: dict[str, StreamSettings] = {}
    for stream in sorted(names):
        settings = {**defaults, **own.get(stream, {})}
        streams[stream] = StreamSettings(settings.get("size", DEFAULT_QUEUE_SIZE[mode]),
                                         settings.get("policy", "latest"), settings.get("feedback", False),
                                         stream in declared)
    return streams


def _section(problems: ProblemCollector, data: LocatedDict, key: str, message: str, fix: str) -> Mapping[Any, Any]:
    """The mapping under ``queue:`` or ``streams:``; left empty, it holds no settings."""
    value = data.get(key)
    if value is None:
        return LocatedDict()
    if not isinstance(value, dict):
        problems.error(data.line_of(key), None, f"{message}, got {shown(value)}", fix)
        return LocatedDict()
    return value


def _stream_settings(problems: ProblemCollector, what: str, settings: Mapping[Any, Any],
                     allow_feedback: bool) -> dict[str, Any]:
    """The valid settings among ``{size, policy, feedback}``; each invalid one is reported at its line."""
    allowed = STREAM_KEYS if allow_feedback else STREAM_KEYS[:2]
    valid: dict[str, Any] = {}
    for key, value in settings.items():
        line = settings.line_of(key) if isinstance(settings, LocatedDict) else 0
        if key not in allowed:
            problems.error(line, None, f"{what}: unknown setting '{cut(str(key))}'",
                           did_you_mean(str(key), allowed) or "allowed: " + ", ".join(allowed))
        elif key == "size" and (isinstance(value, bool) or not isinstance(value, int)
                                or not 1 <= value <= MAX_QUEUE_SIZE):
            problems.error(line, None, f"{what}: size must be a whole number from 1 to {MAX_QUEUE_SIZE}, "
                                       f"got {shown(value)}",
                           "size: 1 keeps one frame waiting; larger sizes absorb bursts at the cost of latency")
        elif key == "policy" and value not in POLICIES:
            problems.error(line, None, f"{what}: policy {shown(value)} is not one of {', '.join(POLICIES)}",
                           did_you_mean(str(value), POLICIES) or
                           "latest keeps the newest frame, drop_oldest drops the oldest, block applies back-pressure")
        elif key == "feedback" and not isinstance(value, bool):
            problems.error(line, None, f"{what}: feedback must be true or false, got {shown(value)}",
                           "feedback: true marks the stream that closes a loop; remove it otherwise")
        else:
            valid[key] = value
    return valid


def check_duplicates(problems: ProblemCollector, nodes: list[NodeSpec]) -> None:
    seen: dict[str, NodeSpec] = {}
    for n in nodes:
        if n.name in seen:
            problems.error(n.line, n.name, f"duplicate node name (first at line {seen[n.name].line})",
                           "give every node a unique name")
        seen.setdefault(n.name, n)


def check_wiring(problems: ProblemCollector, nodes: list[NodeSpec], streams: dict[str, StreamSettings],
                 output: str | None, output_line: int) -> None:
    """Each stream has one producer, each input one, the output is produced, and there is a source."""
    producers: dict[str, NodeSpec] = {}
    for n in nodes:
        for stream in n.outputs.values():
            if stream in producers and producers[stream] is not n:
                problems.error(n.line, n.name, f"stream '{stream}' is already written by node '{producers[stream].name}'",
                               "give this output another stream name")
            producers.setdefault(stream, n)
    for n in nodes:
        for port, stream in n.inputs.items():
            if stream not in producers:
                hint = did_you_mean(stream, producers)
                problems.error(n.line, n.name, f"input '{port}' reads stream '{stream}', which no node produces",
                               hint or "streams produced: " + ", ".join(sorted(producers)))
    consumed = {s for n in nodes for s in n.inputs.values()}
    for stream, producer in producers.items():
        if stream not in consumed and stream != output:
            problems.warn(producer.line, producer.name, f"nobody reads stream '{stream}'",
                          "connect it or remove the output")
    if output is not None and output not in producers and output not in consumed:
        problems.error(output_line, None, f"output stream '{cut(output)}' is not produced by any node",
                       "set 'output:' to one of: " + ", ".join(sorted(producers)))
    for n in nodes:
        if n.inputs and all(streams[s].feedback for s in n.inputs.values() if s in streams):
            problems.error(n.line, n.name, "every input of this node is a feedback stream, so nothing triggers it",
                           "connect at least one input to a regular stream")
    if not any(not n.inputs for n in nodes):
        problems.error(nodes[0].line if nodes else 0, None, "the pipeline has no source node (a node without inputs)",
                       "add a capture node: {name: camera, type: capture}")
    _check_cycles(problems, nodes, streams, producers)


def _check_cycles(problems: ProblemCollector, nodes: list[NodeSpec], streams: dict[str, StreamSettings],
                  producers: dict[str, NodeSpec]) -> None:
    edges = {n.name: [producers[s].name for s in n.inputs.values()
                      if s in producers and not streams[s].feedback] for n in nodes}
    by_name = {n.name: n for n in nodes}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for upstream in edges.get(name, []):
            if state.get(upstream) == 1:
                return path[path.index(upstream):] + [upstream] if upstream in path else [upstream, name]
            if upstream not in state:
                found = visit(upstream, path + [upstream])
                if found:
                    return found
        state[name] = 2
        return None

    for n in nodes:
        if n.name not in state:
            cycle = visit(n.name, [n.name])
            if cycle:
                loop = " -> ".join(reversed(cycle))
                problems.error(by_name[cycle[0]].line, cycle[0], f"the graph has a cycle: {loop}",
                               "if the loop is intended (e.g. tracking), mark the stream that closes it: "
                               "streams: {<stream>: {feedback: true}}")
                return


def check_hotkeys(problems: ProblemCollector, nodes: list[NodeSpec]) -> None:
    """Hotkeys are free and not reserved, and the nodes they disable can pass their frames on."""
    owners: dict[str, str] = {}
    for n in nodes:
        for key in n.cls.keys:
            owners.setdefault(key, n.name)
    for n in nodes:
        if n.hotkey is None and n.enabled:
            continue
        if not _can_pass_through(n):
            problems.error(n.line, n.name, "this node cannot be disabled: its outputs have no matching input to pass on",
                           "remove hotkey/enabled, or disable a node whose input and output carry frames")
        if n.hotkey is None:
            continue
        if n.hotkey in RESERVED_KEYS:
            problems.error(n.line, n.name, f"hotkey '{n.hotkey}' is reserved for {RESERVED_KEYS[n.hotkey]}",
                           "pick another key")
        elif n.hotkey in owners and owners[n.hotkey] != n.name:
            problems.error(n.line, n.name, f"hotkey '{n.hotkey}' is already used by node '{owners[n.hotkey]}'",
                           "pick another key")
        owners.setdefault(n.hotkey, n.name)


def _can_pass_through(node: NodeSpec) -> bool:
    """A disabled node forwards the input of the same port name, or its only input."""
    if not node.outputs:
        return True
    if not node.inputs:
        return False
    return len(node.inputs) == 1 or all(port in node.inputs for port in node.outputs)
