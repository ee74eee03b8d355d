"""The README's promises: CI runs its test command, and its custom node example runs as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from livepose import Frame, Node
from livepose.graph.runner import Runner
from livepose.graph.spec import build_pipeline, load_pipeline
from pipeline_nodes import COLLECTED

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def example(name: str) -> str:
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w+\n(.*?)```", README, re.S)
    assert match, f"README has no example block for {name}"
    return match.group(1)


def test_ci_runs_the_readme_test_command():
    match = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", README, re.S)
    assert match
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert match.group(1) in ci_lines


def test_custom_node_example_is_short_and_runs(tmp_path, monkeypatch):
    code = example("my_effects.py")
    assert len(code.strip().splitlines()) <= 30
    (tmp_path / "my_effects.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("my_effects", None)

    class OneHand(Node):
        """Frames carrying one fake hand whose index fingertip is at (40, 30)."""

        outputs = ("frame",)

        def setup(self) -> None:
            self.sent = 0

        def process(self) -> Frame | None:
            if self.sent == 3:
                return None
            landmarks = np.zeros((21, 3))
            landmarks[8] = (40, 30, 0)
            hand = type("Hand", (), {"landmarks": landmarks})()
            self.sent += 1
            return Frame.capture(np.zeros((60, 80, 3), np.uint8), self.sent - 1).with_results(hands=(hand,))

    sys.modules["readme_test_source"] = type(sys)("readme_test_source")
    sys.modules["readme_test_source"].OneHand = OneHand
    spec = build_pipeline({"mode": "offline", "nodes": [
        {"name": "src", "type": "readme_test_source:OneHand", "outputs": "frames"},
        {"name": "dots", "type": "my_effects:FingerDots", "inputs": "frames", "outputs": "dotted",
         "params": {"radius": 5, "color": [0, 0, 255]}},
        {"name": "out", "type": "pipeline_nodes:Collect", "inputs": "dotted"},
    ]}, "readme")
    assert Runner(spec, install_signal_handlers=False).run().exit_code == 0
    frames = COLLECTED["out"]
    assert len(frames) == 3
    assert frames[0].image[30, 40].tolist() == [0, 0, 255] and frames[0].image[5, 5].tolist() == [0, 0, 0]


def test_pipeline_example_validates(tmp_path, monkeypatch):
    (tmp_path / "my_effects.py").write_text(example("my_effects.py"))
    (tmp_path / "my_pipeline.yaml").write_text(example("my_pipeline.yaml"))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("my_effects", None)
    spec = load_pipeline(tmp_path / "my_pipeline.yaml")
    assert [n.type_name for n in spec.nodes][-2:] == ["my_effects:FingerDots", "display"]
