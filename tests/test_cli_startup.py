"""The ``livepose`` console script starts without the heavy libraries, and Ctrl-C ends any command cleanly.

Start-up is checked by what gets imported (``PYTHONPROFILEIMPORTTIME``, the environment form of
``python -X importtime``), not by the clock, which belongs in ``benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from livepose.models.zoo import DEFAULT_MODELS

LIVEPOSE = shutil.which("livepose", path=str(Path(sys.executable).parent))

# What only running a model (onnxruntime, cv2 for its images), converting one (onnx, tflite, the
# converter) or an optional extra (torch, PyQt5) needs.
HEAVY = ("onnx", "onnxruntime", "torch", "PyQt5", "pyqtgraph", "cv2", "tflite", "livepose.converters")
CONVERSION_ONLY = ("onnx", "tflite", "livepose.converters")

MODEL_FREE_NODES = """\
import numpy as np

from livepose import Frame, Node


class Source(Node):
    outputs = ("frame",)

    def setup(self) -> None:
        self.sent = 0

    def process(self) -> Frame | None:
        if self.sent == 3:
            return None
        self.sent += 1
        return Frame.capture(np.zeros((4, 4, 3), np.uint8), self.sent - 1)


class Sink(Node):
    inputs = ("frame",)

    def process(self, frame: Frame) -> None:
        return None
"""

MODEL_FREE_PIPELINE = """\
nodes:
  - {name: src, type: "model_free_nodes:Source", outputs: frames}
  - {name: out, type: "model_free_nodes:Sink", inputs: frames}
"""


@pytest.fixture(autouse=True)
def _console_script() -> None:
    assert LIVEPOSE, f"no livepose console script beside {sys.executable}; pip install -e . first"


def livepose(*args: str, cwd: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the console script in ``cwd``; returns the result and every module it imported."""
    environment = dict(os.environ, PYTHONPROFILEIMPORTTIME="1", **env)
    result = subprocess.run([LIVEPOSE, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                            timeout=120, check=False)
    modules = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines()
               if line.startswith("import time:")}
    assert "livepose.cli" in modules, "no import profile: the check would pass for nothing"
    return result, modules


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The given packages (or their submodules) among ``modules``."""
    return sorted(p for p in packages if any(m == p or m.startswith(f"{p}.") for m in modules))


def without_profile(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if not line.startswith("import time:"))


@pytest.fixture
def model_free(tmp_path: Path) -> Path:
    (tmp_path / "model_free_nodes.py").write_text(MODEL_FREE_NODES)
    (tmp_path / "model_free.yaml").write_text(MODEL_FREE_PIPELINE)
    return tmp_path


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("models", "--help"), ("models", "list"),
                                  ("pipelines",)], ids=" ".join)
def test_listing_commands_import_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    result, modules = livepose(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert loaded(modules, HEAVY) == []


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_pipeline_without_model_nodes_imports_nothing_heavy(model_free: Path, command: str) -> None:
    extra = ("--headless", "--offline", "--no-progress") if command == "run" else ()
    result, modules = livepose(command, "model_free.yaml", *extra, cwd=model_free, PYTHONPATH=str(model_free))
    assert result.returncode == 0, without_profile(result.stderr)
    assert loaded(modules, HEAVY) == []


def test_validate_of_the_demo_never_loads_what_only_conversion_needs(tmp_path: Path) -> None:
    result, modules = livepose("validate", "hands_face", cwd=tmp_path)
    assert result.returncode == 0, without_profile(result.stderr)
    assert "hands_face: ok" in result.stdout
    assert loaded(modules, (*CONVERSION_ONLY, "torch", "PyQt5")) == []


@pytest.fixture
def cached_models() -> None:
    from livepose.models.cache import ModelCache

    cache = ModelCache()
    if not all(cache.is_prepared(name) for name in DEFAULT_MODELS):
        pytest.skip("the default models are not prepared (livepose models prepare)")


def test_a_run_with_cached_models_never_loads_what_only_conversion_needs(tmp_path: Path, cached_models: None) -> None:
    result, modules = livepose("run", "hands", "--source", "synthetic", "--offline", "--headless", "--no-progress",
                               "--max-frames", "2", cwd=tmp_path)
    assert result.returncode == 0, without_profile(result.stderr)
    assert loaded(modules, CONVERSION_ONLY) == []
    assert "onnxruntime" in modules, "the run used its models"


# --- Ctrl-C ----------------------------------------------------------------------------------------

def _wait_for_reader(fifo: Path, proc: subprocess.Popen[str], timeout: float = 60) -> int:
    """Open ``fifo`` for writing once ``proc`` has opened it for reading; returns the descriptor.

    The writer end stays open without data, so the reader then blocks in read() until a signal.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: nobody reads yet
                raise
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the command never started reading its model source")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda sig: sig.name)
def test_a_signal_during_models_prepare_prints_one_line_and_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    # A model source whose .tflite is a named pipe: `models prepare` blocks reading it, for as long
    # as the test likes, in the middle of a real command.
    source = tmp_path / "source"
    source.mkdir()
    fifo = source / "face_detection_short_range.tflite"
    os.mkfifo(fifo)
    env = dict(os.environ, LIVEPOSE_HOME=str(tmp_path / "home"), LIVEPOSE_MODELS_SOURCE=str(source))
    proc = subprocess.Popen([LIVEPOSE, "models", "prepare", "face_detection_short_range"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writer = _wait_for_reader(fifo, proc)
    try:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "livepose: interrupted"
    assert "Traceback" not in err and "Aborted" not in err


SLOW_COMMAND = textwrap.dedent("""\
    import time

    from livepose.cli import main

    @main.command()
    def slow() -> None:
        print("ready", flush=True)
        time.sleep(60)

    main(["slow"])
""")


# SIGTERM proves the handler is installed: by default it kills Python without a word.
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda sig: sig.name)
def test_a_signal_in_any_command_prints_one_line_and_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SLOW_COMMAND], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n", proc.communicate()[1]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == "livepose: interrupted\n"
