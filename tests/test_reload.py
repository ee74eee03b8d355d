"""Live reload (issue 18): a user's node swapped mid-run when its file changes, and kept when the change is bad."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from livepose.graph.runner import Runner
from livepose.graph.spec import Overrides, load_pipeline

WAIT_SECONDS = 30.0

VERSION = """\
from livepose import Frame, Node


class Stamp(Node):
    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> Frame:
        {body}
        return frame.with_results(version={version})
"""

PIPELINE = """\
nodes:
  - {name: src, type: "pipeline_nodes:Counter", params: {count: 0}, outputs: a}
  - {name: stamp, type: "my_effect:Stamp", inputs: a, outputs: b}
  - {name: out, type: "pipeline_nodes:Collect", inputs: b, params: {delay: 0.002}}
"""


def write(path: Path, version: int, body: str = "pass") -> None:
    path.write_text(VERSION.format(version=version, body=body))
    # A later modification time than the last, however coarse the file system's clock.
    stamp = time.time() + version
    os.utime(path, (stamp, stamp))


def wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT_SECONDS:.0f} s in vain for {what}")
        time.sleep(0.01)


def test_a_changed_file_is_swapped_in_and_a_bad_change_keeps_the_version_before(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    module = tmp_path / "my_effect.py"
    write(module, 1)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    spec = load_pipeline(tmp_path / "pipeline.yaml", Overrides(mode="offline"))
    runner = Runner(spec, install_signal_handlers=False, reload=True)
    collect = runner.nodes["out"]
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        versions = lambda: [f.results["version"] for f in list(collect.frames)]  # noqa: E731
        wait_for(lambda: len(versions()) > 5, "frames of version 1")
        write(module, 2)
        wait_for(lambda: versions()[-1:] == [2], "version 2 swapped in")
        seen = len(versions())

        write(module, 3, body="def (:  # a syntax error")
        wait_for(lambda: "does not load" in caplog.text, "the failed load said")
        count = len(versions())
        wait_for(lambda: len(versions()) > count + 20, "frames after the failed load")
        assert set(versions()[seen:]) == {2}  # still version 2

        write(module, 4, body="raise RuntimeError('broken effect')")
        wait_for(lambda: "failed on frame" in caplog.text, "the reloaded node's failure said")
        count = len(versions())
        wait_for(lambda: len(versions()) > count + 20, "frames after the failing reload")
        assert set(versions()[seen:]) == {2}  # the frame it raised on, too, went through version 2
        indices = [f.index for f in list(collect.frames)]
        assert indices == list(range(len(indices)))  # no frame lost on any swap
    finally:
        runner.request_stop("test over")
        thread.join(10)
    assert not thread.is_alive()
    assert caplog.text.count("does not load") == 1 and caplog.text.count("failed on frame") == 1


def test_nothing_to_watch_is_said(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.replace('"my_effect:Stamp"', '"pipeline_nodes:Tag"'))
    spec = load_pipeline(tmp_path / "pipeline.yaml", Overrides(mode="offline"))
    Runner(spec, install_signal_handlers=False, reload=True)
    assert "nothing to watch" in caplog.text
