"""Running the real ``livepose`` command in tests: start it, wait for its lines, find what it left.

Every run gets a marker in its environment, which its worker processes inherit, so a test can find
any process the run left behind after it has exited. Tests that use ``start`` import the
``no_run_outlives_its_test`` fixture, so that a failed assertion never leaves an endless pipeline
running on the machine.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
LIVEPOSE = Path(sys.executable).parent / "livepose"


def start(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """``livepose ARGS`` in ``cwd``, with the test nodes importable; the process and its marker."""
    marker = uuid.uuid4().hex
    env = dict(os.environ, PYTHONPATH=str(TESTS), LIVEPOSE_TEST_RUN=marker)
    env.pop("LIVEPOSE_SOURCE", None)
    proc = subprocess.Popen([str(LIVEPOSE), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _started.append(proc)
    return proc, marker


@pytest.fixture(autouse=True)
def no_run_outlives_its_test():
    """A failed assertion must not leave an endless pipeline running on the machine."""
    yield
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _started.clear()


_started: list[subprocess.Popen[str]] = []


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    """Read the process's stderr until a line contains ``text``; returns what was read."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], deadline - time.monotonic())
        line = proc.stderr.readline() if ready else ""
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"no {text!r} within {timeout} s:\n{''.join(seen)}")


def left_behind(marker: str) -> list[int]:
    """Processes still alive whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"LIVEPOSE_TEST_RUN={marker}".encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def no_processes_left(marker: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while left_behind(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # polling /proc: processes end on their own time, nothing to wait on
    return True
