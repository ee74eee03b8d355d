"""YAML loading that remembers where every key came from, with ``${VAR:-default}`` substitution.

Validation errors must name the line of the offending key, so mappings load as
:class:`LocatedDict` (a plain ``dict`` that also knows its own and its keys' line numbers).

Whatever the file holds, loading it either succeeds or raises a :class:`ProblemReport` naming the
file and, where there is one, the line: a folder, an unreadable or oversized file, bytes that are
not text, characters YAML forbids, syntax errors, nesting too deep to mean anything, numbers too
large for any setting, and broken ``${...}`` references. Reading and decoding the file is
``livepose.graph.textfile``'s; the references are ``livepose.graph.envrefs``'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from livepose.graph.envrefs import EnvReferenceError, substitute_env
from livepose.graph.problems import Problem, ProblemReport, cut
from livepose.graph.textfile import position, read_text_file

MAX_DEPTH = 32
"""Nesting levels a file may have. A pipeline needs five (nodes, a node, its params, a list in a
param, a point); the limit keeps the recursive composer and constructor far from Python's
recursion limit, so 5,000 opening brackets get a located error instead of a RecursionError."""
MAX_INT = 2**63 - 1
"""No setting takes an integer beyond 64 bits (OpenCV, NumPy and ONNX Runtime would overflow at
run time), so a larger one is reported where it is written."""


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


class _TooDeep(yaml.composer.ComposerError):
    """Nesting beyond MAX_DEPTH; a MarkedYAMLError, so every loader reports it with its mark."""


class _DepthLimitedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting beyond MAX_DEPTH and integers beyond MAX_INT."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def fetch_flow_collection_start(self, TokenClass: type[yaml.Token]) -> None:
        # Stopped in the scanner: each open bracket holds a possible key that the scanner rechecks
        # for every later token, so 5,000 brackets would take it seconds to reach the composer.
        if self.flow_level >= MAX_DEPTH:
            raise _TooDeep(None, None, f"nested more than {MAX_DEPTH} levels deep", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        # The composer recurses once per level (block or flow): count the levels before Python's limit does.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    # int() refuses over 4,300 digits with advice meant for programmers: say it as it is, at the number.
    value = None if len(node.value) > 4000 else loader.construct_yaml_int(node)
    if value is None or abs(value) > MAX_INT:
        raise yaml.constructor.ConstructorError(
            None, None, f"the number {cut(node.value)} is too large for any setting (the largest is {MAX_INT})",
            node.start_mark, note="use a smaller number")
    return value


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # A date-like scalar that is no date (2024-02-30) raises ValueError: report it where it is written.
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a date: {exc}", node.start_mark,
                                                note=f"quote it to make it text: '{node.value}'") from None


_DepthLimitedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_DepthLimitedLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _Loader(_DepthLimitedLoader):
    """The pipeline file's loader: builds Located containers and rejects duplicate keys."""

    path: str = "<string>"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    mapping = LocatedDict()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if isinstance(key, (dict, list, set)):
            # A dict's keys must be hashable: `[a]: 1` would otherwise end in a TypeError.
            kind = "mapping" if isinstance(key, dict) else "list" if isinstance(key, list) else "set"
            raise ProblemReport([Problem(loader.path, line, None, f"a key cannot be a {kind}",
                                         "a key is a plain name before the colon; quote it if it must contain [ or {")])
        if key in mapping:
            raise ProblemReport([Problem(loader.path, line, None,
                                         f"duplicate key '{cut(str(key))}' (first at line {mapping.key_lines[key]})",
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


def _substitute_scalars(loader: _Loader, root: yaml.Node) -> None:
    """Expand environment variables in scalars, then re-type plain ones (``${FPS:-30}`` is an int).

    Walks the node graph with a stack and visits each node once: an alias makes a node reachable
    twice, and a recursive alias (``&a [*a]``) makes the graph cyclic.
    """
    pending, seen = [root], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if "${" in node.value:
                try:
                    node.value = substitute_env(node.value)
                except EnvReferenceError as exc:
                    line = node.start_mark.line + 1
                    raise ProblemReport([Problem(loader.path, line, None, str(exc), exc.fix)]) from None
                if node.style is None:
                    node.tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(value_node for _, value_node in node.value)


def _character_problem(path: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    line, column = position(text, exc.position)
    if exc.character == 0:
        return Problem(path, line, None, f"a NUL character at line {line}, column {column}: this is binary data, "
                                         "or UTF-16 text without a byte-order mark",
                       "save the file as UTF-8 text")
    return Problem(path, line, None, f"character U+{exc.character:04X} at line {line}, column {column} is not "
                                     "allowed in YAML (a control character, often invisible in an editor)",
                   "delete it, or write it as an escape in a double-quoted string (\"\\x01\")")


def load_yaml(text: str, path: str = "<string>") -> Any:
    """Parse YAML text into Located containers; every fault becomes a ProblemReport."""
    try:
        loader = _Loader(text)  # checks the characters at once
    except yaml.reader.ReaderError as exc:
        raise ProblemReport([_character_problem(path, text, exc)]) from None
    loader.path = path
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _substitute_scalars(loader, root)
        return loader.construct_document(root)
    except _TooDeep as exc:
        mark = exc.problem_mark
        raise ProblemReport([Problem(path, mark.line + 1, None, f"{exc.problem} (line {mark.line + 1}, column "
                                     f"{mark.column + 1})", "check for an unclosed or repeated [ or { "
                                     "(a pipeline needs only a few levels)")]) from None
    except yaml.constructor.ConstructorError as exc:
        # Well-formed YAML whose value cannot be built: an unknown !!tag, a huge number, a bad date.
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 0
        raise ProblemReport([Problem(path, line, None, f"cannot read the value: {exc.problem}",
                                     exc.note or "check the value on this line; quote it to make it text")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ProblemReport([Problem(path, line, None, f"YAML syntax error: {exc.problem or exc}",
                                     "check indentation, colons and quotes on this line or the one above")]) from None
    finally:
        loader.dispose()


def load_yaml_value(text: str) -> Any:
    """A value written on the command line (``--set key=VALUE``) as YAML reads it, plain containers.

    Raises ValueError, saying why, where YAML cannot read it.
    """
    try:
        return yaml.load(text, Loader=_DepthLimitedLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        raise ValueError(f"YAML cannot read it: {problem}") from None


def load_yaml_file(path: str | Path) -> Any:
    """Read, decode and parse a pipeline file; any fault becomes a ProblemReport naming the file."""
    return load_yaml(read_text_file(path), str(path))
