"""Problems found in a pipeline file, reported together with file, line, node and fix.

Also the wording every check shares: values cut short and shown as YAML writes them, close
matches suggested for a misspelt name.
"""

from __future__ import annotations

import difflib
import reprlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from livepose.errors import UserError

if TYPE_CHECKING:
    from livepose.graph.yamlsource import LocatedDict


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    node: str | None
    message: str
    fix: str = ""
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" node '{self.node}':" if self.node else ""
        kind = "warning" if self.warning else "error"
        text = f"{where}: {kind}:{who} {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text


class ProblemReport(UserError):
    """One or more errors in a pipeline file; the message lists them all."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProblemCollector:
    """The errors and warnings the checks of one pipeline file find, in the order found."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, line: int, node: str | None, message: str, fix: str = "") -> None:
        self.errors.append(Problem(self.path, line, node, message, fix))

    def warn(self, line: int, node: str | None, message: str, fix: str = "") -> None:
        self.warnings.append(Problem(self.path, line, node, message, fix, warning=True))

    def unknown_keys(self, data: LocatedDict, allowed: Mapping[str, str], node: str | None,
                     what: str) -> None:
        """An error at each key of ``data`` that ``allowed`` does not name."""
        for key in data:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                self.error(data.line_of(key), node, f"unknown {what} '{cut(str(key))}'",
                           hint or "allowed: " + ", ".join(allowed))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class _ShortRepr(reprlib.Repr):
    """Reprs cut short (a file can hold a 5,000-character string, or aliases that repeat a list a
    million times over), with the Located containers shown as the dicts and lists they are."""

    def repr_LocatedDict(self, value: dict[Any, Any], level: int) -> str:
        return self.repr_dict(value, level)

    def repr_LocatedList(self, value: list[Any], level: int) -> str:
        return self.repr_list(value, level)


_SHORT_REPR = _ShortRepr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def shown(value: Any) -> str:
    """A value for an error message, scalars as YAML writes them (null, true)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _SHORT_REPR.repr(value)


def cut(text: str, limit: int = 40) -> str:
    """``text`` for a message: at most ``limit`` characters, then '...'."""
    return text if len(text) <= limit else text[:limit] + "..."
