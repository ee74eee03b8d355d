"""The pipeline file: loading, overrides and every check made before a thread starts.

A pipeline file looks like::

    name: hands demo
    mode: realtime              # or offline; --realtime/--offline override it
    source: ${CAMERA:-0}        # default for the capture node; --source overrides it
    queue: {size: 1, policy: latest}   # defaults for every stream
    streams:
      annotated: {size: 8, policy: drop_oldest}
      hand_rois: {feedback: true}      # closes a loop: the consumer sees the previous frame's message
    nodes:
      - name: camera
        type: capture
        outputs: frames
      - name: blur
        type: my_effects:BlurFaces     # or a built-in / entry-point name
        inputs: frames
        outputs: annotated
        params: {strength: 15}
        hotkey: b                      # toggles the node; disabled nodes pass frames through
        on_error: skip_frame           # or stop (default)
        process: {nice: 10}            # its own worker process (own GIL), lower CPU priority

``load_pipeline`` returns a :class:`PipelineSpec` or raises a :class:`ProblemReport` that lists
every error with file, line, node and fix.

Values the checks settle on:

- ``source: null`` (or ``source:`` left empty, or a ``${VAR:-}`` that expands to nothing) means the
  pipeline sets no default source: each capture node keeps its own ``source`` parameter. Any other
  source is text or a camera index (a whole number from 0).
- ``queue:``, ``streams:`` and a node's ``params:`` left empty hold no settings, and ``hotkey:``
  left empty means no hotkey. Any other setting of the file written without a value (``size:``,
  ``size: null``, ``mode:``) is an error: remove the key to get the default.
- A queue holds 1 to MAX_QUEUE_SIZE frames.
- ``name``, ``description`` and ``output`` are text (a number is taken as its text); ``mode``,
  ``on_error`` and the policies are one of their words; the file's whole-number settings
  (``max_in_flight``, ``size``, ``nice``) never take a boolean: ``size: true`` is an error, not 1.
  Node parameters are checked against the types their node declares.
"""

from __future__ import annotations

import difflib
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pydantic

from livepose.graph.admission import DEFAULT_MAX_IN_FLIGHT
from livepose.graph.node import Node
from livepose.graph.problems import Problem, ProblemReport, did_you_mean
from livepose.graph.registry import NodeTypeError, known_node_types, resolve_node_type
from livepose.graph.worker import WorkerProcessNode, WorkerSettings
from livepose.graph.yamlsource import (LocatedDict, LocatedList, as_located, load_yaml, load_yaml_file,
                                       load_yaml_value)

POLICIES = ("latest", "drop_oldest", "block")
MODES = ("realtime", "offline")
ERROR_POLICIES = ("stop", "skip_frame")
RESERVED_KEYS = {"q": "quit", "\x1b": "quit (Esc)", " ": "pause"}
DEFAULT_QUEUE_SIZE = {"realtime": 1, "offline": 4}
MAX_QUEUE_SIZE = 300
"""Ten seconds of 30 fps video, and already about 1.8 GB of 1080p frames on one stream: a deeper
queue would only hide a slow node behind seconds of latency and memory."""

_TOP_LEVEL_KEYS = {
    "name": "a name for the pipeline",
    "description": "free text",
    "mode": "realtime or offline",
    "max_in_flight": "realtime: frames a source may have in the graph at once (0: no admission, queues drop)",
    "source": "default source of capture nodes (camera index, path, URL or 'synthetic')",
    "output": "the stream --record and --keypoints tap",
    "queue": "default queue settings: {size, policy}",
    "streams": "per-stream queue settings: {stream: {size, policy, feedback}}",
    "nodes": "the list of nodes",
}
_NODE_KEYS = {
    "name": "unique node name",
    "type": "node type (see `livepose nodes`)",
    "inputs": "stream(s) this node reads",
    "outputs": "stream(s) this node writes",
    "params": "the node's parameters",
    "hotkey": "a key that enables/disables the node at runtime",
    "enabled": "whether the node starts enabled (true)",
    "on_error": "stop or skip_frame",
    "process": "run the node in a worker process: true, or {nice: 0-19} to also lower its CPU priority",
}
_STREAM_KEYS = ("size", "policy", "feedback")


@dataclass(frozen=True)
class StreamSettings:
    size: int
    policy: str
    """Overflow policy in realtime mode; offline runs always block (every frame is processed)."""
    feedback: bool = False
    explicit: bool = False
    """Set in the file's ``streams:``; otherwise a consumer's preferred ``input_queue`` applies."""


@dataclass
class NodeSpec:
    name: str
    type_name: str
    cls: type[Node]
    params: dict[str, Any]
    inputs: dict[str, str]
    """Port -> stream."""
    outputs: dict[str, str]
    hotkey: str | None = None
    enabled: bool = True
    on_error: str = "stop"
    line: int = 0
    worker: WorkerSettings | None = None
    """Set when the node runs in a worker process (``process:``)."""

    def build(self) -> Node:
        if self.worker is not None:
            return WorkerProcessNode(self.name, self.cls, self.params, self.worker)
        return self.cls(name=self.name, **self.params)


@dataclass
class PipelineSpec:
    file: str
    name: str
    mode: str
    source: str | None
    output: str | None
    nodes: list[NodeSpec]
    streams: dict[str, StreamSettings]
    warnings: list[Problem] = field(default_factory=list)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Realtime runs: how many frames each source may have between itself and the sinks; a frame
    that finds the graph full is dropped at the source, so no work is wasted on it (0: none, and
    each queue drops by its own policy)."""

    def producers(self) -> dict[str, NodeSpec]:
        return {stream: n for n in self.nodes for stream in n.outputs.values()}

    def consumers(self, stream: str) -> list[NodeSpec]:
        return [n for n in self.nodes if stream in n.inputs.values()]


@dataclass
class Overrides:
    """What the command line changes in a pipeline."""

    mode: str | None = None
    source: str | None = None
    settings: list[str] = field(default_factory=list)
    """``node.param=value`` or ``setting=value`` strings from ``--set``."""
    extra_nodes: list[dict[str, Any]] = field(default_factory=list)
    """Node entries appended to the file's (``--record``/``--keypoints``); may use ``$output``."""


def load_pipeline(path: str | Path, overrides: Overrides | None = None) -> PipelineSpec:
    return build_pipeline(load_yaml_file(path), str(path), overrides)


def parse_pipeline(text: str, path: str = "<string>", overrides: Overrides | None = None) -> PipelineSpec:
    return build_pipeline(load_yaml(text, path), path, overrides)


def build_pipeline(data: Any, path: str, overrides: Overrides | None = None) -> PipelineSpec:
    """Validate a pipeline given as data (from YAML, or dicts and lists built in Python)."""
    builder = _Builder(path, _module_folders(path))
    spec = builder.build(as_located(data), overrides or Overrides())
    if builder.errors:
        raise ProblemReport(builder.errors)
    assert spec is not None
    spec.warnings = builder.warnings
    return spec


def _module_folders(path: str) -> list[Path]:
    """Where a ``module:Class`` type's module may live: beside the pipeline file, then the current folder."""
    folders = [Path.cwd()]
    pipeline = Path(path)
    if pipeline.is_file():
        folders.insert(0, pipeline.resolve().parent)
    return folders


class _Builder:
    def __init__(self, path: str, module_folders: list[Path]) -> None:
        self.path = path
        self.module_folders = module_folders
        self._unknown_cli_params: list[tuple[str, str, str, Any, list[str]]] = []
        self._node_types: dict[str, tuple[str, type[Node]]] = {}
        """Every node whose type resolved (even if its parameters did not): name -> (type, class)."""
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, line: int, node: str | None, message: str, fix: str = "") -> None:
        self.errors.append(Problem(self.path, line, node, message, fix))

    def warn(self, line: int, node: str | None, message: str, fix: str = "") -> None:
        self.warnings.append(Problem(self.path, line, node, message, fix, warning=True))

    # -- top level -------------------------------------------------------------------------
    def build(self, data: Any, overrides: Overrides) -> PipelineSpec | None:
        if data is None:
            self.error(0, None, "the pipeline file is empty (or holds only comments)",
                       "start from a packaged pipeline: `livepose pipelines` says where they are")
            return None
        if not isinstance(data, LocatedDict):
            self.error(getattr(data, "line", 1), None, "a pipeline file must be a mapping with a 'nodes:' list",
                       "start from pipelines/hands_face.yaml")
            return None
        self._check_keys(data, _TOP_LEVEL_KEYS, None, "top-level setting")
        self._apply_setting_overrides(data, overrides.settings)
        mode = overrides.mode or data.get("mode", "realtime")
        if mode not in MODES:
            self.error(data.line_of("mode"), None, f"mode {_shown(mode)} is not one of {', '.join(MODES)}",
                       "use realtime (live camera) or offline (every frame of a file)")
            mode = "realtime"
        name = self._text_setting(data, "name", "give the pipeline a name, or remove name: to use the file's")
        self._text_setting(data, "description", "write the description as text, or remove it")
        source = overrides.source if overrides.source is not None else self._source_setting(data)
        nodes_data = data.get("nodes")
        if not isinstance(nodes_data, LocatedList) or not nodes_data:
            self.error(data.line_of("nodes"), None, "the pipeline has no 'nodes:' list",
                       "add a 'nodes:' list with at least a source node")
            return None
        entries = list(zip(nodes_data, nodes_data.item_lines)) + [(extra, 0) for extra in overrides.extra_nodes]
        node_overrides = self._node_overrides(overrides.settings)
        built = [self._build_node(item, line, node_overrides) for item, line in entries]
        nodes = [n for n in built if n is not None]
        self._check_unknown_override_targets(
            node_overrides, {str(item.get("name")) for item, _ in entries if isinstance(item, dict)})
        self._report_unknown_cli_params()
        self._check_duplicates(nodes)
        output = self._resolve_output(data, nodes)
        output_line = data.line_of("output") if "output" in data else 0
        for n in nodes:
            for port, stream in n.inputs.items():
                if stream == "$output":
                    if output is None:
                        self.error(0, n.name, "the pipeline has no output stream to tap",
                                   "add 'output: <stream>' to the pipeline file")
                    n.inputs[port] = output or ""
        self._apply_source(nodes, source, forced=overrides.source is not None)
        streams = self._build_streams(data, nodes, mode)
        if len(nodes) == len(built):
            # With a node missing, wiring errors would only echo the error already reported for it.
            self._check_wiring(nodes, streams, output, output_line)
        self._check_hotkeys(nodes)
        return PipelineSpec(self.path, name or Path(self.path).stem, mode,
                            None if source is None else str(source), output, nodes, streams,
                            max_in_flight=self._max_in_flight(data))

    def _text_setting(self, data: LocatedDict, key: str, fix: str) -> str | None:
        """A top-level setting that is text (a number stands for its text); None when absent or wrong."""
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(data.line_of(key), None, f"{key} must be text, got {_shown(value)}", fix)
            return None
        return str(value)

    def _source_setting(self, data: LocatedDict) -> str | int | None:
        """The file's default source: text, a camera index, or null for none (see the module docstring)."""
        value = data.get("source")
        if value is None or (isinstance(value, str) and value):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.error(data.line_of("source"), None,
                   f"source must be a camera index, a path, a URL or 'synthetic', got {_shown(value)}",
                   "write source: 0 (the first camera) or source: clip.mp4; leave it out (or null) to keep "
                   "each capture node's own")
        return None

    def _max_in_flight(self, data: LocatedDict) -> int:
        value = data.get("max_in_flight", DEFAULT_MAX_IN_FLIGHT)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
            self.error(data.line_of("max_in_flight"), None,
                       f"max_in_flight must be a whole number from 0 to 64, got {_shown(value)}",
                       "1 (the default) works on one frame at a time; 2 lets the next frame start early; "
                       "0 turns admission off")
            return DEFAULT_MAX_IN_FLIGHT
        return value

    def _check_keys(self, data: LocatedDict, allowed: Mapping[str, str], node: str | None, what: str) -> None:
        for key in data:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                self.error(data.line_of(key), node, f"unknown {what} '{_cut(str(key))}'",
                           hint or "allowed: " + ", ".join(allowed))

    def _apply_setting_overrides(self, data: LocatedDict, settings: list[str]) -> None:
        for item in settings:
            key, _, value = item.partition("=")
            if "." not in key:
                if key not in _TOP_LEVEL_KEYS or key in ("nodes", "streams", "queue"):
                    self.error(0, None, f"--set {item}: '{key}' is not a top-level setting you can set",
                               "use --set node.param=value, or one of: name, mode, source, output")
                else:
                    try:
                        data[key] = load_yaml_value(value)
                    except ValueError as exc:
                        self._unreadable_cli_value(item, key, value, exc)
                        continue
                    data.key_lines[key] = 0  # from the command line, not a line of the file

    def _node_overrides(self, settings: list[str]) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for item in settings:
            key, sep, value = item.partition("=")
            if not sep:
                self.error(0, None, f"--set {item}: expected node.param=value", "for example --set palms.max_hands=1")
                continue
            if "." in key:
                node, _, name = key.partition(".")
                try:
                    result.setdefault(node, {})[name] = load_yaml_value(value) if value else ""
                except ValueError as exc:
                    self._unreadable_cli_value(item, key, value, exc)
        return result

    def _unreadable_cli_value(self, item: str, key: str, value: str, exc: ValueError) -> None:
        self.error(0, None, f"--set {_cut(item)}: {exc}",
                   f"to pass it as text, quote it: --set '{key}=\"{_cut(value)}\"'")

    def _check_unknown_override_targets(self, overrides: dict[str, dict[str, Any]], names: set[str]) -> None:
        for node, params in overrides.items():
            if node in names:
                continue
            of_type = [name for name, (type_name, _) in self._node_types.items() if type_name == node]
            close = difflib.get_close_matches(node, list(names), n=1, cutoff=0.6)
            prefer = close[0] if close else (of_type[0] if of_type else None)
            fixes = [fix for key, value in params.items()
                     if (fix := _setting_fix(self._node_types, key, value, prefer))]
            if fixes:
                hint = "write " + " ".join(fixes)
            elif of_type:
                hint = f"--set takes node names, not types: the {node} node here is '{of_type[0]}'"
            else:
                hint = did_you_mean(node, names) or "nodes: " + ", ".join(sorted(names))
            self.error(0, None, f"--set {node}.{next(iter(params), '…')}: there is no node named '{node}'", hint)

    def _report_unknown_cli_params(self) -> None:
        """Unknown ``--set`` parameters, with a fix that may name another node (the one that has it)."""
        for name, type_name, key, value, known in self._unknown_cli_params:
            fix = _setting_fix(self._node_types, key, value, prefer=name)
            hint = f"write {fix}" if fix else (
                "parameters: " + ", ".join(known) if known else f"{type_name} takes no parameters")
            self.error(0, name, f"unknown parameter '{key}' for type {type_name} (from --set {name}.{key})", hint)

    # -- nodes -----------------------------------------------------------------------------
    def _build_node(self, item: Any, line: int, overrides: dict[str, dict[str, Any]]) -> NodeSpec | None:
        if not isinstance(item, dict):
            self.error(line, None, "each entry of 'nodes:' must be a mapping with name and type",
                       "write '- name: camera' then 'type: capture' indented below")
            return None
        item_line = getattr(item, "line", line)
        located = item if isinstance(item, LocatedDict) else LocatedDict(item)
        if not isinstance(item, LocatedDict):
            located.line = line
        name = located.get("name")
        if not isinstance(name, str) or not name or "." in name:
            self.error(item_line, None, "every node needs a 'name' (text without dots)", "add name: something_unique")
            return None
        self._check_keys(located, _NODE_KEYS, name, "node key")
        type_name = located.get("type")
        if not isinstance(type_name, str):
            message = (f"type must name a node type, got {_shown(type_name)}" if "type" in located
                       else "the node has no 'type'")
            self.error(located.line_of("type"), name, message, "see `livepose nodes` for the types")
            return None
        try:
            cls = resolve_node_type(type_name, self.module_folders)
        except NodeTypeError as exc:
            hint = did_you_mean(type_name, known_node_types())
            self.error(located.line_of("type"), name, str(exc),
                       hint or "run `livepose nodes` for the list, or use package.module:ClassName")
            return None
        self._node_types.setdefault(name, (type_name, cls))
        raw_params = located.get("params") or LocatedDict()
        if not isinstance(raw_params, dict):
            self.error(located.line_of("params"), name, "'params' must be a mapping", "write params: {key: value}")
            return None
        params_line = raw_params.line_of if isinstance(raw_params, LocatedDict) else (lambda k: item_line)
        params = dict(raw_params)
        from_cli = overrides.get(name, {})
        params.update(from_cli)
        validated = self._validate_params(cls, type_name, name, params, params_line, from_cli)
        inputs = self._ports(located, "inputs", cls.inputs, name, default=None)
        outputs = self._ports(located, "outputs", cls.outputs, name, default=name)
        on_error = located.get("on_error", "stop")
        if on_error not in ERROR_POLICIES:
            self.error(located.line_of("on_error"), name, f"on_error {_shown(on_error)} is not one of stop, skip_frame",
                       "stop ends the run on an exception; skip_frame drops that frame and goes on")
        hotkey = located.get("hotkey")
        if hotkey is not None and (not isinstance(hotkey, str) or len(hotkey) != 1):
            self.error(located.line_of("hotkey"), name, f"hotkey {_shown(hotkey)} must be a single character",
                       "for example hotkey: b (quote a digit: hotkey: '1')")
            hotkey = None
        enabled = located.get("enabled", True)
        if not isinstance(enabled, bool):
            self.error(located.line_of("enabled"), name, f"enabled must be true or false, got {_shown(enabled)}",
                       "write enabled: false to start the node disabled, or remove it")
            enabled = True
        worker = self._worker_settings(located, cls, name)
        if validated is None or inputs is None or outputs is None:
            return None
        return NodeSpec(name, type_name, cls, validated, inputs, outputs, hotkey, enabled, on_error, item_line,
                        worker)

    def _worker_settings(self, located: LocatedDict, cls: type[Node], name: str) -> WorkerSettings | None:
        value = located.get("process", False)
        if value is False:
            return None
        line = located.line_of("process")
        if value is True:
            value = {}
        if not isinstance(value, dict) or set(value) - {"nice"}:
            self.error(line, name, f"process: {_shown(value)} is not true, false or {{nice: N}}",
                       "write process: true, or process: {nice: 10} to also lower its CPU priority")
            return None
        nice = value.get("nice", 0)
        if isinstance(nice, bool) or not isinstance(nice, int) or not 0 <= nice <= 19:
            self.error(line, name, f"process nice {_shown(nice)} must be a whole number from 0 to 19",
                       "0 keeps the pipeline's priority; 19 runs only when nothing else wants the CPU")
            return None
        if not cls.inputs or not cls.outputs:
            self.error(line, name, "only a node with inputs and outputs can run in a worker process",
                       "remove process: from this node")
            return None
        if cls.keys:
            self.error(line, name, "this node handles key presses, which cannot reach a worker process",
                       "remove process: from this node")
            return None
        if cls.__module__ == "__main__":
            self.error(line, name, "a node class defined in the script being run cannot be loaded by a worker "
                       "process", "move the class into a module and name it as package.module:ClassName")
            return None
        return WorkerSettings(nice)

    def _validate_params(self, cls: type[Node], type_name: str, name: str, params: dict[str, Any],
                         line_of: Any, from_cli: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return cls.validate_params(params)
        except pydantic.ValidationError as exc:
            known = [p.name for p in cls.param_info()]
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                line = 0 if key in from_cli else line_of(key)
                where = f" (from --set {name}.{key})" if key in from_cli else ""
                if err["type"] == "extra_forbidden" and key in from_cli:
                    self._unknown_cli_params.append((name, type_name, key, from_cli[key], known))
                elif err["type"] == "extra_forbidden":
                    hint = did_you_mean(key, known)
                    self.error(line, name, f"unknown parameter '{key}' for type {type_name}{where}",
                               hint or ("parameters: " + ", ".join(known) if known else f"{type_name} takes no parameters"))
                else:
                    info = next((p for p in cls.param_info() if p.name == key), None)
                    kind = _KIND_OF_TYPE.get(info.type_name, info.type_name) if info else ""
                    expect = f"{kind}{', ' + info.constraint if info and info.constraint else ''}"
                    self.error(line, name, f"parameter '{_cut(key)}'{where}: {err['msg'].lower()} "
                                           f"(got {_shown(err.get('input'))})",
                               f"give {expect}: {info.doc}" if info else f"see `livepose nodes {type_name}`")
            return None

    def _ports(self, node: LocatedDict, key: str, ports: tuple[str, ...], name: str,
               default: str | None) -> dict[str, str] | None:
        raw = node.get(key)
        line = node.line_of(key)
        kind = key[:-1]
        if raw is None:
            if not ports:
                return {}
            if default is None:
                self.error(node.line, name, f"{kind} port(s) {', '.join(ports)} not connected",
                           f"add {key}: <stream name>" if len(ports) == 1 else
                           f"add {key}: {{{', '.join(p + ': <stream>' for p in ports)}}}")
                return None
            return {p: default if len(ports) == 1 else f"{default}.{p}" for p in ports}
        if not ports:
            self.error(line, name, f"this node type has no {key}", f"remove '{key}:'")
            return None
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, list):
            if len(raw) != len(ports) or not all(isinstance(s, str) for s in raw):
                self.error(line, name, f"expected {len(ports)} {key} stream name(s) for ports "
                                       f"{', '.join(ports)}, got {len(raw)}",
                           f"write {key}: {{{', '.join(p + ': <stream>' for p in ports)}}}")
                return None
            return dict(zip(ports, raw))
        if isinstance(raw, dict):
            result = {}
            for port, stream in raw.items():
                if port not in ports:
                    hint = did_you_mean(str(port), ports)
                    self.error(raw.line_of(port) if isinstance(raw, LocatedDict) else line, name,
                               f"unknown {kind} port '{port}'", hint or f"ports: {', '.join(ports)}")
                elif not isinstance(stream, str):
                    self.error(line, name, f"{kind} '{port}' must name a stream, got {_shown(stream)}",
                               f"write {key}: {{{port}: <stream>}}")
                else:
                    result[port] = stream
            missing = [p for p in ports if p not in raw]
            if missing and default is None:
                self.error(line, name, f"{kind} port(s) {', '.join(missing)} not connected",
                           f"add {', '.join(p + ': <stream>' for p in missing)} under {key}")
                return None
            for port in missing:
                result[port] = f"{name}.{port}"
            return result if len(result) == len(ports) else None
        self.error(line, name, f"'{key}' must be a stream name, a list or a port: stream mapping, got {_shown(raw)}",
                   f"write {key}: <stream>, or {key}: {{{', '.join(p + ': <stream>' for p in ports)}}}")
        return None

    def _check_duplicates(self, nodes: list[NodeSpec]) -> None:
        seen: dict[str, NodeSpec] = {}
        for n in nodes:
            if n.name in seen:
                self.error(n.line, n.name, f"duplicate node name (first at line {seen[n.name].line})",
                           "give every node a unique name")
            seen.setdefault(n.name, n)

    def _resolve_output(self, data: LocatedDict, nodes: list[NodeSpec]) -> str | None:
        """The stream --record/--keypoints tap: 'output:', else what the display (or a sink) reads."""
        if "output" in data:
            return self._text_setting(data, "output", "name the stream --record and --keypoints should tap")
        displays = [n for n in nodes if n.type_name == "display" and n.inputs]
        sinks = [n for n in nodes if not n.outputs and n.inputs and "$output" not in n.inputs.values()]
        for candidates in (displays, sinks[::-1]):
            if candidates:
                return next(iter(candidates[0].inputs.values()))
        consumed = {s for n in nodes for s in n.inputs.values()}
        leaves = [s for n in nodes for s in n.outputs.values() if s not in consumed]
        return leaves[-1] if leaves else None

    def _apply_source(self, nodes: list[NodeSpec], source: Any, forced: bool) -> None:
        """The pipeline's source is a default for source nodes; ``--source`` replaces theirs."""
        if source is None:
            return
        for n in nodes:
            param_name = n.cls.pipeline_source_param
            if param_name and (forced or n.params[param_name] == n.cls._params[param_name].default):
                n.params[param_name] = str(source)

    # -- streams and graph -----------------------------------------------------------------
    def _build_streams(self, data: LocatedDict, nodes: list[NodeSpec], mode: str) -> dict[str, StreamSettings]:
        queue = self._section(data, "queue", "'queue' must be a mapping {size, policy}",
                              "write queue: {size: 1, policy: latest}")
        defaults = self._stream_settings("queue", queue, allow_feedback=False)
        declared = self._section(data, "streams", "'streams' must map stream names to settings",
                                 "write streams: {<stream>: {size: 4, policy: drop_oldest}}")
        names = {s for n in nodes for s in (*n.outputs.values(), *n.inputs.values())}
        own: dict[Any, dict[str, Any]] = {}
        for stream, settings in declared.items():
            line = declared.line_of(stream) if isinstance(declared, LocatedDict) else 0
            if stream not in names:
                hint = did_you_mean(str(stream), names)
                self.error(line, None, f"'streams:' configures '{_cut(str(stream))}', which no node reads or writes",
                           hint or "remove it or fix the name")
            elif not isinstance(settings, dict):
                self.error(line, None, f"settings of stream '{stream}' must be a mapping {{size, policy, feedback}}, "
                                       f"got {_shown(settings)}", f"write {stream}: {{size: 4, policy: drop_oldest}}")
            else:
                own[stream] = self._stream_settings(f"stream '{stream}'", settings, allow_feedback=True)
        streams: dict[str, StreamSettings] = {}
        for stream in sorted(names):
            settings = {**defaults, **own.get(stream, {})}
            streams[stream] = StreamSettings(settings.get("size", DEFAULT_QUEUE_SIZE[mode]),
                                             settings.get("policy", "latest"), settings.get("feedback", False),
                                             stream in declared)
        return streams

    def _section(self, data: LocatedDict, key: str, message: str, fix: str) -> Mapping[Any, Any]:
        """The mapping under ``queue:`` or ``streams:``; left empty, it holds no settings."""
        value = data.get(key)
        if value is None:
            return LocatedDict()
        if not isinstance(value, dict):
            self.error(data.line_of(key), None, f"{message}, got {_shown(value)}", fix)
            return LocatedDict()
        return value

    def _stream_settings(self, what: str, settings: Mapping[Any, Any], allow_feedback: bool) -> dict[str, Any]:
        """The valid settings among ``{size, policy, feedback}``; each invalid one is reported at its line."""
        allowed = _STREAM_KEYS if allow_feedback else _STREAM_KEYS[:2]
        valid: dict[str, Any] = {}
        for key, value in settings.items():
            line = settings.line_of(key) if isinstance(settings, LocatedDict) else 0
            if key not in allowed:
                self.error(line, None, f"{what}: unknown setting '{_cut(str(key))}'",
                           did_you_mean(str(key), allowed) or "allowed: " + ", ".join(allowed))
            elif key == "size" and (isinstance(value, bool) or not isinstance(value, int)
                                    or not 1 <= value <= MAX_QUEUE_SIZE):
                self.error(line, None, f"{what}: size must be a whole number from 1 to {MAX_QUEUE_SIZE}, "
                                       f"got {_shown(value)}",
                           "size: 1 keeps one frame waiting; larger sizes absorb bursts at the cost of latency")
            elif key == "policy" and value not in POLICIES:
                self.error(line, None, f"{what}: policy {_shown(value)} is not one of {', '.join(POLICIES)}",
                           did_you_mean(str(value), POLICIES) or
                           "latest keeps the newest frame, drop_oldest drops the oldest, block applies back-pressure")
            elif key == "feedback" and not isinstance(value, bool):
                self.error(line, None, f"{what}: feedback must be true or false, got {_shown(value)}",
                           "feedback: true marks the stream that closes a loop; remove it otherwise")
            else:
                valid[key] = value
        return valid

    def _check_wiring(self, nodes: list[NodeSpec], streams: dict[str, StreamSettings], output: str | None,
                      output_line: int) -> None:
        producers: dict[str, NodeSpec] = {}
        for n in nodes:
            for stream in n.outputs.values():
                if stream in producers and producers[stream] is not n:
                    self.error(n.line, n.name, f"stream '{stream}' is already written by node '{producers[stream].name}'",
                               "give this output another stream name")
                producers.setdefault(stream, n)
        for n in nodes:
            for port, stream in n.inputs.items():
                if stream not in producers:
                    hint = did_you_mean(stream, producers)
                    self.error(n.line, n.name, f"input '{port}' reads stream '{stream}', which no node produces",
                               hint or "streams produced: " + ", ".join(sorted(producers)))
        consumed = {s for n in nodes for s in n.inputs.values()}
        for stream, producer in producers.items():
            if stream not in consumed and stream != output:
                self.warn(producer.line, producer.name, f"nobody reads stream '{stream}'",
                          "connect it or remove the output")
        if output is not None and output not in producers and output not in consumed:
            self.error(output_line, None, f"output stream '{_cut(output)}' is not produced by any node",
                       "set 'output:' to one of: " + ", ".join(sorted(producers)))
        for n in nodes:
            if n.inputs and all(streams[s].feedback for s in n.inputs.values() if s in streams):
                self.error(n.line, n.name, "every input of this node is a feedback stream, so nothing triggers it",
                           "connect at least one input to a regular stream")
        if not any(not n.inputs for n in nodes):
            self.error(nodes[0].line if nodes else 0, None, "the pipeline has no source node (a node without inputs)",
                       "add a capture node: {name: camera, type: capture}")
        self._check_cycles(nodes, streams, producers)

    def _check_cycles(self, nodes: list[NodeSpec], streams: dict[str, StreamSettings],
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
                    self.error(by_name[cycle[0]].line, cycle[0], f"the graph has a cycle: {loop}",
                               "if the loop is intended (e.g. tracking), mark the stream that closes it: "
                               "streams: {<stream>: {feedback: true}}")
                    return

    def _check_hotkeys(self, nodes: list[NodeSpec]) -> None:
        owners: dict[str, str] = {}
        for n in nodes:
            for key in n.cls.keys:
                owners.setdefault(key, n.name)
        for n in nodes:
            if n.hotkey is None and n.enabled:
                continue
            if not _can_pass_through(n):
                self.error(n.line, n.name, "this node cannot be disabled: its outputs have no matching input to pass on",
                           "remove hotkey/enabled, or disable a node whose input and output carry frames")
            if n.hotkey is None:
                continue
            if n.hotkey in RESERVED_KEYS:
                self.error(n.line, n.name, f"hotkey '{n.hotkey}' is reserved for {RESERVED_KEYS[n.hotkey]}",
                           "pick another key")
            elif n.hotkey in owners and owners[n.hotkey] != n.name:
                self.error(n.line, n.name, f"hotkey '{n.hotkey}' is already used by node '{owners[n.hotkey]}'",
                           "pick another key")
            owners.setdefault(n.hotkey, n.name)


_KIND_OF_TYPE = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text",
                 "bool | None": "true, false or null", "int | None": "a whole number or null"}
"""How a fix names the value a parameter's type wants."""


def _setting_fix(node_types: Mapping[str, tuple[str, type[Node]]], key: str, value: Any,
                 prefer: str | None = None) -> str:
    """The ``--set node.param=value`` most likely meant by parameter ``key``, searching every node.

    A parameter named alike on another node beats a weaker match on the node given: ``max_faces`` on
    the face mesh node means the detector's ``max_num_faces``, not the mesh's ``parallel_faces``.
    """
    best, best_score = "", 0.6
    for name, (_, cls) in node_types.items():
        for info in cls.param_info():
            score = difflib.SequenceMatcher(None, key, info.name).ratio() + (0.05 if name == prefer else 0.0)
            if score > best_score:
                best, best_score = f"--set {name}.{info.name}={_cli_value(value)}", score
    return best


def _cli_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class _ShortRepr(reprlib.Repr):
    """Reprs cut short (a file can hold a 5,000-character string, or aliases that repeat a list a
    million times over), with the Located containers shown as the dicts and lists they are."""

    def repr_LocatedDict(self, value: LocatedDict, level: int) -> str:
        return self.repr_dict(value, level)

    def repr_LocatedList(self, value: LocatedList, level: int) -> str:
        return self.repr_list(value, level)


_SHORT_REPR = _ShortRepr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def _shown(value: Any) -> str:
    """A value for an error message, scalars as YAML writes them (null, true)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _SHORT_REPR.repr(value)


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _can_pass_through(node: NodeSpec) -> bool:
    """A disabled node forwards the input of the same port name, or its only input."""
    if not node.outputs:
        return True
    if not node.inputs:
        return False
    return len(node.inputs) == 1 or all(port in node.inputs for port in node.outputs)


def pass_through_port(node_inputs: Iterable[str], output_port: str) -> str:
    """The input port whose frame a disabled node forwards on ``output_port``."""
    ports = list(node_inputs)
    return output_port if output_port in ports else ports[0]


__all__ = ["NodeSpec", "Overrides", "PipelineSpec", "StreamSettings", "load_pipeline",
           "parse_pipeline", "build_pipeline", "pass_through_port"]
