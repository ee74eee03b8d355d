"""The line every benchmark prints first: the machine, its load, the date and the code measured."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*command: str) -> str:
    try:
        return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def machine_line(extra: str = "") -> str:
    """``machine: ...`` with the cores, Python, ``extra`` (library versions), the load average now,
    the date and the commit (saying so when livepose/ has uncommitted changes)."""
    load = os.getloadavg()
    dirty = _git("status", "--porcelain", "--", "livepose")
    return (f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, python "
            f"{platform.python_version()}{', ' + extra if extra else ''}, load average {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f} at the start, {time.strftime('%Y-%m-%d %H:%M')}, commit {_git('rev-parse', '--short', 'HEAD')}"
            f"{' + uncommitted changes in livepose/' if dirty else ''}")
