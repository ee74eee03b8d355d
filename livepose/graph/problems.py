"""Problems found in a pipeline file, reported together with file, line, node and fix."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

from livepose.errors import UserError


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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
