"""YAML loading that remembers where every key came from, with ``${VAR:-default}`` substitution.

Validation errors must name the line of the offending key, so mappings load as
:class:`LocatedDict` (a plain ``dict`` that also knows its own and its keys' line numbers).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from livepose.graph.problems import Problem, ProblemReport

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class LocatedDict(dict):
    """A mapping loaded from YAML: ``line`` is where it starts, ``key_lines[k]`` where ``k`` is."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    """A sequence loaded from YAML: ``line`` is where it starts, ``item_lines[i]`` where item i is."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines: list[int] = []


def as_located(value: Any) -> Any:
    """Wrap plain dicts and lists (a pipeline built in Python) as Located containers at line 0."""
    if isinstance(value, (LocatedDict, LocatedList)):
        return value
    if isinstance(value, dict):
        mapping = LocatedDict({k: as_located(v) for k, v in value.items()})
        return mapping
    if isinstance(value, list):
        sequence = LocatedList(as_located(v) for v in value)
        sequence.item_lines = [0] * len(sequence)
        return sequence
    return value


def substitute_env(text: str, environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; an unset variable without default is an error."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise KeyError(name)
            return default
        return value

    return _ENV_PATTERN.sub(replace, text)


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds Located containers and rejects duplicate keys."""

    path: str = "<string>"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    mapping = LocatedDict()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            raise ProblemReport([Problem(loader.path, line, None,
                                         f"duplicate key '{key}' (first at line {mapping.key_lines[key]})",
                                         "remove one of the two entries")])
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    sequence = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _substitute_scalars(loader: _Loader, node: yaml.Node) -> None:
    """Expand environment variables in scalars, then re-type plain ones (``${FPS:-30}`` is an int)."""
    if isinstance(node, yaml.ScalarNode):
        if "${" in node.value:
            try:
                node.value = substitute_env(node.value)
            except KeyError as missing:
                raise ProblemReport([Problem(
                    loader.path, node.start_mark.line + 1, None,
                    f"environment variable {missing.args[0]} is not set",
                    f"set it, or give a default: ${{{missing.args[0]}:-value}}")]) from None
            if node.style is None:
                node.tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _substitute_scalars(loader, child)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _substitute_scalars(loader, value_node)


def load_yaml(text: str, path: str = "<string>") -> Any:
    """Parse YAML text into Located containers; syntax errors become a ProblemReport."""
    loader = _Loader(text)
    loader.path = path
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _substitute_scalars(loader, root)
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ProblemReport([Problem(path, line, None, f"YAML syntax error: {exc.problem or exc}",
                                     "check indentation, colons and quotes on this line or the one above")]) from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProblemReport([Problem(str(path), 0, None, f"cannot read the pipeline file: {exc.strerror}",
                                     "check the path (pipelines live in pipelines/*.yaml)")]) from None
    return load_yaml(text, str(path))
