"""Running a whole pipeline in a test, offline by default, and reading what reached its sinks.

``run_pipeline`` takes what ``livepose run`` takes (a packaged name, a file, YAML text or the same
structure as a dict) and returns the run's result with its node objects, so a test can look at a
:class:`Collect` sink's frames after the run::

    outcome = run_pipeline('''
        nodes:
          - {name: camera, type: capture, params: {source: clip.mp4}}
          - {name: dots, type: "my_effects:FingerDots", inputs: camera}
          - {name: out, type: "livepose.testing:Collect", inputs: dots}
    ''')
    assert outcome.exit_code == 0 and len(outcome.frames("out")) == 30
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from livepose.graph.frame import Frame
from livepose.graph.node import Node


class Collect(Node):
    """A sink that keeps every frame it receives (in ``frames``), for tests to read after the run."""

    inputs = ("frame",)
    writes = ()

    def __init__(self, name: str | None = None, **params: Any) -> None:
        super().__init__(name, **params)
        # Kept from the start: a run that stops before this node is set up leaves it empty.
        self.frames: list[Frame] = []

    def process(self, frame: Frame) -> None:
        self.frames.append(frame)


@dataclass
class PipelineOutcome:
    """A finished run: its result (exit code, reason, metrics) and its nodes by name."""

    result: Any
    nodes: dict[str, Node]

    @property
    def exit_code(self) -> int:
        return int(self.result.exit_code)

    def frames(self, node: str) -> list[Frame]:
        """The frames a sink node kept (a :class:`Collect`, or any node with a ``frames`` list)."""
        kept = getattr(self.nodes[node], "frames", None)
        if kept is None:
            raise KeyError(f"node '{node}' keeps no frames: make it a livepose.testing:Collect sink")
        return list(kept)


def run_pipeline(pipeline: str | Path | Mapping[str, Any], *, mode: str | None = "offline",
                 source: str | None = None, settings: Mapping[str, Any] | None = None,
                 max_frames: int | None = None, headless: bool = True) -> PipelineOutcome:
    """Validate and run ``pipeline`` to its end on the caller's thread; a mistake in it raises
    ``livepose.errors.UserError`` (a ``ProblemReport``) naming file, line and node. ``mode=None``
    keeps the file's own mode."""
    from livepose.api import load_spec, settings_list
    from livepose.graph.runner import Runner
    from livepose.graph.spec import Overrides, parse_pipeline

    overrides = Overrides(mode=mode, source=source, settings=settings_list(settings or {}))
    if isinstance(pipeline, str) and "\n" in pipeline:
        spec = parse_pipeline(textwrap.dedent(pipeline), "<string>", overrides)
    else:
        spec = load_spec(pipeline, overrides)
    runner = Runner(spec, headless=headless, max_frames=max_frames, install_signal_handlers=False)
    result = runner.run()
    return PipelineOutcome(result, runner.nodes)
