"""YAML loading that remembers where every key came from, with ``${VAR:-default}`` substitution.

Validation errors must name the line of the offending key, so mappings load as
:class:`LocatedDict` (a plain ``dict`` that also knows its own and its keys' line numbers).

Whatever the file holds, loading it either succeeds or raises a :class:`ProblemReport` naming the
file and, where there is one, the line: a folder, an unreadable or oversized file, bytes that are
not text, characters YAML forbids, syntax errors, nesting too deep to mean anything, numbers too
large for any setting, and broken ``${...}`` references.

Encoding: a pipeline file is UTF-8. A byte-order mark is unambiguous, so a UTF-8 file with one,
and a UTF-16 file with one (what Windows editors and PowerShell's ``>`` write), are decoded too.
Anything else that is not valid UTF-8 (Latin-1, UTF-16 without a mark, binary data) is reported
with the line and column of the first bad byte.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import Any

import yaml

from livepose.graph.problems import Problem, ProblemReport

_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

MAX_FILE_BYTES = 1 << 20
"""Pipeline files are a few kilobytes; anything over a MiB is some other file given by mistake (a
video), and is not read into memory whole just to say so."""
MAX_DEPTH = 32
"""Nesting levels a file may have. A pipeline needs five (nodes, a node, its params, a list in a
param, a point); the limit keeps the recursive composer and constructor far from Python's
recursion limit, so 5,000 opening brackets get a located error instead of a RecursionError."""
MAX_INT = 2**63 - 1
"""No setting takes an integer beyond 64 bits (OpenCV, NumPy and ONNX Runtime would overflow at
run time), so a larger one is reported where it is written."""

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
"""Line breaks as YAML counts them, so that positions found here agree with YAML's own marks."""


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


class EnvReferenceError(ValueError):
    """A ``${...}`` that cannot be substituted; ``fix`` says what to write instead."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def substitute_env(text: str, environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; raises EnvReferenceError for an unset variable
    without default, and for any ``${`` that does not start a complete reference (left in place,
    it would reach a node as text, and the run would fail far from the typo)."""
    env = os.environ if environ is None else environ
    parts = []
    done = 0
    while (start := text.find("${", done)) != -1:
        match = _ENV_REFERENCE.match(text, start)
        if match is None:
            close = text.find("}", start)
            if close == -1:
                raise EnvReferenceError(f"'{_cut(text[start:])}' has no closing '}}'",
                                        "write ${NAME} or ${NAME:-default}")
            raise EnvReferenceError(f"'{_cut(text[start:close + 1])}' is not an environment reference",
                                    "write ${NAME} or ${NAME:-default}; NAME is letters, digits and _")
        name, default = match["name"], match["default"]
        if default is not None and "${" in default:
            raise EnvReferenceError(f"'{_cut(match[0])}}}' puts a reference inside a default, which is not supported",
                                    f"give a plain default: ${{{name}:-value}}")
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise EnvReferenceError(f"environment variable {name} is not set",
                                        f"set it, or give a default: ${{{name}:-value}}")
            value = default
        parts += [text[done:start], value]
        done = match.end()
    return "".join(parts) + text[done:]


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


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
            None, None, f"the number {_cut(node.value)} is too large for any setting (the largest is {MAX_INT})",
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
                                         f"duplicate key '{_cut(str(key))}' (first at line {mapping.key_lines[key]})",
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


def _position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]``."""
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    return len(breaks) + 1, index - (breaks[-1].end() if breaks else 0) + 1


def _character_problem(path: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    line, column = _position(text, exc.position)
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


def _decode_text(data: bytes, path: str) -> str:
    """The text of a pipeline file's bytes: UTF-8, or UTF-8 or UTF-16 with a byte-order mark."""
    codec, body = "utf-8", data
    for bom, name in _BOMS:
        if data.startswith(bom):
            codec, body = name, data[len(bom):]
            break
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        before = body[:exc.start].decode(codec, errors="replace")
        line, column = _position(before, len(before))
        label = "UTF-8" if codec == "utf-8" else "UTF-16"
        problem = (f"byte 0x{body[exc.start]:02x}" if codec == "utf-8"
                   else f"bytes {body[exc.start:exc.end].hex(' ')}")
        raise ProblemReport([Problem(
            path, line, None, f"not {label} text: {problem} at line {line}, column {column}",
            "save the file as UTF-8 text (a video or image is a --source, not a pipeline file)")]) from None


def load_yaml_file(path: str | Path) -> Any:
    """Read, decode and parse a pipeline file; any fault becomes a ProblemReport naming the file."""
    file = Path(path)
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        if file.is_dir():
            problem, fix = "it is a folder", "give the .yaml file itself (the packaged ones are in pipelines/)"
        elif isinstance(exc, PermissionError):
            problem, fix = "permission denied", "make the file readable (chmod u+r), or run as its owner"
        elif isinstance(exc, FileNotFoundError):
            problem, fix = "no such file", "check the path (pipelines live in pipelines/*.yaml)"
        else:
            problem, fix = exc.strerror or str(exc), "check the path (pipelines live in pipelines/*.yaml)"
        raise ProblemReport([Problem(str(path), 0, None, f"cannot read the pipeline file: {problem}", fix)]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ProblemReport([Problem(str(path), 0, None, f"the file is over {MAX_FILE_BYTES >> 20} MiB, too large "
                                     "for a pipeline file", "give the pipeline's .yaml file (a video is a --source)")])
    return load_yaml(_decode_text(data, str(path)), str(path))
