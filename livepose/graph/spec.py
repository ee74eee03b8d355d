"""The pipeline file: what it may hold, what validating it gives, and the calls that load it.

A pipeline file looks like::

    name: hands demo
    mode: realtime              # or offline; --realtime/--offline override it
    source: ${CAMERA:-0}        # default for the capture node; --source overrides it
    queue: {size: 1, policy: latest}   # defaults for every stream
    streams:
      annotated: {size: 8, policy: drop_oldest}
      hand_rois: {feedback: true}      # closes a loop: the consumer sees the previous frame's message
    nodes:
      - name: camera
        type: capture
        outputs: frames
      - name: blur
        type: my_effects:BlurFaces     # or a built-in / entry-point name
        inputs: frames
        outputs: annotated
        params: {strength: 15}
        hotkey: b                      # toggles the node; disabled nodes pass frames through
        on_error: skip_frame           # or stop (default)
        process: {nice: 10}            # its own worker process (own GIL), lower CPU priority

``load_pipeline`` returns a :class:`PipelineSpec` or raises a :class:`ProblemReport` that lists
every error with file, line, node and fix. The checks live beside this module: ``validator`` (the
file's top level, in order), ``node_entry`` (one entry of ``nodes:``), ``graph_checks`` (streams,
wiring, cycles, hotkeys), ``result_checks`` (the results each node needs are written upstream) and
``set_overrides`` (``--set``).

Values the checks settle on:

- ``source: null`` (or ``source:`` left empty, or a ``${VAR:-}`` that expands to nothing) means the
  pipeline sets no default source: each capture node keeps its own ``source`` parameter. Any other
  source is text or a camera index (a whole number from 0).
- ``queue:``, ``streams:`` and a node's ``params:`` left empty hold no settings, and ``hotkey:``
  left empty means no hotkey. Any other setting of the file written without a value (``size:``,
  ``size: null``, ``mode:``) is an error: remove the key to get the default.
- A queue holds 1 to MAX_QUEUE_SIZE frames.
- ``name``, ``description`` and ``output`` are text (a number is taken as its text); ``mode``,
  ``on_error`` and the policies are one of their words; the file's whole-number settings
  (``max_in_flight``, ``size``, ``nice``) never take a boolean: ``size: true`` is an error, not 1.
  Node parameters are checked against the types their node declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from livepose.graph.admission import DEFAULT_MAX_IN_FLIGHT
from livepose.graph.node import Node
from livepose.graph.problems import Problem, ProblemReport
from livepose.graph.yamlsource import as_located, load_yaml, load_yaml_file

POLICIES = ("latest", "drop_oldest", "block")
MODES = ("realtime", "offline")
ERROR_POLICIES = ("stop", "skip_frame")
DEFAULT_QUEUE_SIZE = {"realtime": 1, "offline": 4}
BATCH_CAMERAS = ("auto", "true", "false")
DEFAULT_BATCH_WAIT_MS = 5.0
MAX_BATCH_WAIT_MS = 100.0
MAX_QUEUE_SIZE = 300
"""Ten seconds of 30 fps video, and already about 1.8 GB of 1080p frames on one stream: a deeper
queue would only hide a slow node behind seconds of latency and memory."""

TOP_LEVEL_KEYS = {
    "name": "a name for the pipeline",
    "description": "free text",
    "mode": "realtime or offline",
    "max_in_flight": "realtime: frames a source may have in the graph at once (0: no admission, queues drop)",
    "source": "default source of capture nodes (camera index, path, URL or 'synthetic')",
    "cameras": "several cameras: {name: source or {source, capture parameters}}; the graph up to a mosaic runs per camera",
    "batch_cameras": "cameras: one model call for every camera's crops: auto (on a GPU), true or false",
    "batch_wait_ms": "batch_cameras: how long a camera's model call may wait for the others' (0-100 ms)",
    "output": "the stream --record and --keypoints tap",
    "queue": "default queue settings: {size, policy}",
    "streams": "per-stream queue settings: {stream: {size, policy, feedback}}",
    "nodes": "the list of nodes",
}
NODE_KEYS = {
    "name": "unique node name",
    "type": "node type (see `livepose nodes`)",
    "inputs": "stream(s) this node reads",
    "outputs": "stream(s) this node writes",
    "params": "the node's parameters",
    "hotkey": "a key that enables/disables the node at runtime",
    "enabled": "whether the node starts enabled (true)",
    "on_error": "stop or skip_frame",
    "process": "run the node in a worker process: true, or {nice: 0-19} to also lower its CPU priority",
}
STREAM_KEYS = ("size", "policy", "feedback")


@dataclass(frozen=True)
class StreamSettings:
    size: int
    policy: str
    """Overflow policy in realtime mode; offline runs always block (every frame is processed)."""
    feedback: bool = False
    explicit: bool = False
    """Set in the file's ``streams:``; otherwise a consumer's preferred ``input_queue`` applies."""


@dataclass(frozen=True)
class WorkerSettings:
    """A node's ``process:`` setting: the node runs in a worker process (the runtime builds it there)."""

    nice: int = 0
    """Added to the worker's CPU niceness (0-19): higher runs after everything else."""


@dataclass
class NodeSpec:
    name: str
    type_name: str
    cls: type[Node]
    params: dict[str, Any]
    inputs: dict[str, str]
    """Port -> stream."""
    outputs: dict[str, str]
    hotkey: str | None = None
    enabled: bool = True
    on_error: str = "stop"
    line: int = 0
    worker: WorkerSettings | None = None
    """Set when the node runs in a worker process (``process:``)."""
    camera: str | None = None
    """In a ``cameras:`` pipeline, the camera this copy of a per-camera node works for (its name is
    ``<camera>.<name in the file>``); None for a node that runs once."""

    @property
    def name_in_file(self) -> str:
        """The node's name as the pipeline file writes it (without its camera)."""
        return self.name.removeprefix(f"{self.camera}.") if self.camera else self.name


@dataclass
class PipelineSpec:
    file: str
    name: str
    mode: str
    source: str | None
    output: str | None
    nodes: list[NodeSpec]
    streams: dict[str, StreamSettings]
    warnings: list[Problem] = field(default_factory=list)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Realtime runs: how many frames each source may have between itself and the sinks; a frame
    that finds the graph full is dropped at the source, so no work is wasted on it (0: none, and
    each queue drops by its own policy)."""
    batch_cameras: str = "auto"
    """``cameras:`` pipelines: whether the cameras' copies of a model node share their model calls
    (``livepose.models.shared_calls``): "auto" (when the model runs on a GPU), "true" or "false"."""
    batch_wait_s: float = 0.005
    """How long a shared model call may wait for the other cameras' batches that are due."""

    def producers(self) -> dict[str, NodeSpec]:
        return {stream: n for n in self.nodes for stream in n.outputs.values()}

    def consumers(self, stream: str) -> list[NodeSpec]:
        return [n for n in self.nodes if stream in n.inputs.values()]


@dataclass
class Overrides:
    """What the command line changes in a pipeline."""

    mode: str | None = None
    source: str | None = None
    settings: list[str] = field(default_factory=list)
    """``node.param=value`` or ``setting=value`` strings from ``--set``."""
    extra_nodes: list[dict[str, Any]] = field(default_factory=list)
    """Node entries appended to the file's (``--record``/``--keypoints``); may use ``$output``."""


def load_pipeline(path: str | Path, overrides: Overrides | None = None) -> PipelineSpec:
    return build_pipeline(load_yaml_file(path), str(path), overrides)


def parse_pipeline(text: str, path: str = "<string>", overrides: Overrides | None = None) -> PipelineSpec:
    return build_pipeline(load_yaml(text, path), path, overrides)


def build_pipeline(data: Any, path: str, overrides: Overrides | None = None) -> PipelineSpec:
    """Validate a pipeline given as data (from YAML, or dicts and lists built in Python)."""
    # The validator builds these dataclasses, so it is imported here rather than above.
    from livepose.graph.validator import Validator

    validator = Validator(path, _module_folders(path))
    spec = validator.build(as_located(data), overrides or Overrides())
    if validator.problems.errors:
        raise ProblemReport(validator.problems.errors)
    assert spec is not None
    spec.warnings = validator.problems.warnings
    return spec


def _module_folders(path: str) -> list[Path]:
    """Where a ``module:Class`` type's module may live: beside the pipeline file, then the current folder."""
    folders = [Path.cwd()]
    pipeline = Path(path)
    if pipeline.is_file():
        folders.insert(0, pipeline.resolve().parent)
    return folders


def pass_through_port(node_inputs: Iterable[str], output_port: str) -> str:
    """The input port whose frame a disabled node forwards on ``output_port``."""
    ports = list(node_inputs)
    return output_port if output_port in ports else ports[0]


__all__ = ["NodeSpec", "Overrides", "PipelineSpec", "StreamSettings", "load_pipeline",
           "parse_pipeline", "build_pipeline", "pass_through_port"]
