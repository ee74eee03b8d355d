"""One entry of a pipeline's ``nodes:`` list: its name, type, parameters, ports and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import pydantic

from livepose.graph.node import Node
from livepose.graph.problems import ProblemCollector, cut, did_you_mean, shown
from livepose.graph.registry import NodeTypeError, known_node_types, resolve_node_type
from livepose.graph.set_overrides import SetOverrides
from livepose.graph.spec import ERROR_POLICIES, NODE_KEYS, NodeSpec, WorkerSettings
from livepose.graph.yamlsource import LocatedDict

_KIND_OF_TYPE = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text",
                 "bool | None": "true, false or null", "int | None": "a whole number or null"}
"""How a fix names the value a parameter's type wants."""


class NodeEntryChecker:
    """Turns each entry of ``nodes:`` into a :class:`NodeSpec`, reporting every fault of it."""

    def __init__(self, problems: ProblemCollector, module_folders: list[Path], overrides: SetOverrides) -> None:
        self.problems = problems
        self.module_folders = module_folders
        """Where a ``module:Class`` type's module may be found when it is not installed."""
        self.overrides = overrides

    def check(self, item: Any, line: int) -> NodeSpec | None:
        """The node entry ``item`` (at ``line``) as a NodeSpec; None when it has an error."""
        if not isinstance(item, dict):
            self.problems.error(line, None, "each entry of 'nodes:' must be a mapping with name and type",
                                "write '- name: camera' then 'type: capture' indented below")
            return None
        item_line = getattr(item, "line", line)
        located = item if isinstance(item, LocatedDict) else LocatedDict(item)
        if not isinstance(item, LocatedDict):
            located.line = line
        name = located.get("name")
        if not isinstance(name, str) or not name or "." in name:
            self.problems.error(item_line, None, "every node needs a 'name' (text without dots)",
                                "add name: something_unique")
            return None
        self.problems.unknown_keys(located, NODE_KEYS, name, "node key")
        type_name = located.get("type")
        if not isinstance(type_name, str):
            message = (f"type must name a node type, got {shown(type_name)}" if "type" in located
                       else "the node has no 'type'")
            self.problems.error(located.line_of("type"), name, message, "see `livepose nodes` for the types")
            return None
        try:
            cls = resolve_node_type(type_name, self.module_folders)
        except NodeTypeError as exc:
            hint = did_you_mean(type_name, known_node_types())
            self.problems.error(located.line_of("type"), name, str(exc),
                                hint or "run `livepose nodes` for the list, or use package.module:ClassName")
            return None
        self.overrides.node_type_resolved(name, type_name, cls)
        raw_params = located.get("params") or LocatedDict()
        if not isinstance(raw_params, dict):
            self.problems.error(located.line_of("params"), name, "'params' must be a mapping",
                                "write params: {key: value}")
            return None
        params_line = raw_params.line_of if isinstance(raw_params, LocatedDict) else (lambda k: item_line)
        params = dict(raw_params)
        from_cli = self.overrides.node_params.get(name, {})
        params.update(from_cli)
        validated = self._validate_params(cls, type_name, name, params, params_line, from_cli)
        inputs = self._ports(located, "inputs", cls.inputs, name, default=None)
        outputs = self._ports(located, "outputs", cls.outputs, name, default=name)
        on_error = located.get("on_error", "stop")
        if on_error not in ERROR_POLICIES:
            self.problems.error(located.line_of("on_error"), name,
                                f"on_error {shown(on_error)} is not one of stop, skip_frame",
                                "stop ends the run on an exception; skip_frame drops that frame and goes on")
        hotkey = located.get("hotkey")
        if hotkey is not None and (not isinstance(hotkey, str) or len(hotkey) != 1):
            self.problems.error(located.line_of("hotkey"), name, f"hotkey {shown(hotkey)} must be a single character",
                                "for example hotkey: b (quote a digit: hotkey: '1')")
            hotkey = None
        enabled = located.get("enabled", True)
        if not isinstance(enabled, bool):
            self.problems.error(located.line_of("enabled"), name,
                                f"enabled must be true or false, got {shown(enabled)}",
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
        error = self.problems.error
        if not isinstance(value, dict) or set(value) - {"nice"}:
            error(line, name, f"process: {shown(value)} is not true, false or {{nice: N}}",
                  "write process: true, or process: {nice: 10} to also lower its CPU priority")
            return None
        nice = value.get("nice", 0)
        if isinstance(nice, bool) or not isinstance(nice, int) or not 0 <= nice <= 19:
            error(line, name, f"process nice {shown(nice)} must be a whole number from 0 to 19",
                  "0 keeps the pipeline's priority; 19 runs only when nothing else wants the CPU")
            return None
        if not cls.inputs or not cls.outputs:
            error(line, name, "only a node with inputs and outputs can run in a worker process",
                  "remove process: from this node")
            return None
        if cls.keys:
            error(line, name, "this node handles key presses, which cannot reach a worker process",
                  "remove process: from this node")
            return None
        if cls.__module__ == "__main__":
            error(line, name, "a node class defined in the script being run cannot be loaded by a worker "
                  "process", "move the class into a module and name it as package.module:ClassName")
            return None
        return WorkerSettings(nice)

    def _validate_params(self, cls: type[Node], type_name: str, name: str, params: dict[str, Any],
                         line_of: Callable[[str], int], from_cli: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return cls.validate_params(params)
        except pydantic.ValidationError as exc:
            known = [p.name for p in cls.param_info()]
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                line = 0 if key in from_cli else line_of(key)
                where = f" (from --set {name}.{key})" if key in from_cli else ""
                if err["type"] == "extra_forbidden" and key in from_cli:
                    self.overrides.unknown_param(name, type_name, key, from_cli[key], known)
                elif err["type"] == "extra_forbidden":
                    hint = did_you_mean(key, known)
                    self.problems.error(line, name, f"unknown parameter '{key}' for type {type_name}{where}",
                                        hint or ("parameters: " + ", ".join(known) if known
                                                 else f"{type_name} takes no parameters"))
                else:
                    info = next((p for p in cls.param_info() if p.name == key), None)
                    kind = _KIND_OF_TYPE.get(info.type_name, info.type_name) if info else ""
                    expect = f"{kind}{', ' + info.constraint if info and info.constraint else ''}"
                    self.problems.error(line, name, f"parameter '{cut(key)}'{where}: {err['msg'].lower()} "
                                                    f"(got {shown(err.get('input'))})",
                                        f"give {expect}: {info.doc}" if info else f"see `livepose nodes {type_name}`")
            return None

    def _ports(self, node: LocatedDict, key: str, ports: tuple[str, ...], name: str,
               default: str | None) -> dict[str, str] | None:
        raw = node.get(key)
        line = node.line_of(key)
        kind = key[:-1]
        error = self.problems.error
        if raw is None:
            if not ports:
                return {}
            if default is None:
                error(node.line, name, f"{kind} port(s) {', '.join(ports)} not connected",
                      f"add {key}: <stream name>" if len(ports) == 1 else
                      f"add {key}: {{{', '.join(p + ': <stream>' for p in ports)}}}")
                return None
            return {p: default if len(ports) == 1 else f"{default}.{p}" for p in ports}
        if not ports:
            error(line, name, f"this node type has no {key}", f"remove '{key}:'")
            return None
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, list):
            if len(raw) != len(ports) or not all(isinstance(s, str) for s in raw):
                error(line, name, f"expected {len(ports)} {key} stream name(s) for ports "
                                  f"{', '.join(ports)}, got {len(raw)}",
                      f"write {key}: {{{', '.join(p + ': <stream>' for p in ports)}}}")
                return None
            return dict(zip(ports, raw))
        if isinstance(raw, dict):
            result = {}
            for port, stream in raw.items():
                if port not in ports:
                    hint = did_you_mean(str(port), ports)
                    error(raw.line_of(port) if isinstance(raw, LocatedDict) else line, name,
                          f"unknown {kind} port '{port}'", hint or f"ports: {', '.join(ports)}")
                elif not isinstance(stream, str):
                    error(line, name, f"{kind} '{port}' must name a stream, got {shown(stream)}",
                          f"write {key}: {{{port}: <stream>}}")
                else:
                    result[port] = stream
            missing = [p for p in ports if p not in raw]
            if missing and default is None:
                error(line, name, f"{kind} port(s) {', '.join(missing)} not connected",
                      f"add {', '.join(p + ': <stream>' for p in missing)} under {key}")
                return None
            for port in missing:
                result[port] = f"{name}.{port}"
            return result if len(result) == len(ports) else None
        error(line, name, f"'{key}' must be a stream name, a list or a port: stream mapping, got {shown(raw)}",
              f"write {key}: <stream>, or {key}: {{{', '.join(p + ': <stream>' for p in ports)}}}")
        return None
