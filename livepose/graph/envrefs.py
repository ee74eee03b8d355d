"""``${VAR}`` and ``${VAR:-default}`` in a pipeline file: environment variables substituted into its text."""

from __future__ import annotations

import os
import re

from livepose.graph.problems import cut

_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


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
                raise EnvReferenceError(f"'{cut(text[start:])}' has no closing '}}'",
                                        "write ${NAME} or ${NAME:-default}")
            raise EnvReferenceError(f"'{cut(text[start:close + 1])}' is not an environment reference",
                                    "write ${NAME} or ${NAME:-default}; NAME is letters, digits and _")
        name, default = match["name"], match["default"]
        if default is not None and "${" in default:
            raise EnvReferenceError(f"'{cut(match[0])}}}' puts a reference inside a default, which is not supported",
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
