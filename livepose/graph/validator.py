"""Validating a pipeline file's data: its top-level settings, then each node entry, then the graph.

The order of the checks is the order of the report: top-level settings and ``--set``, the node
entries in file order, the ``--set`` items that missed, then the graph as a whole. The graph is
checked for wiring and results only when every node entry was read, since with a node missing
those errors would only echo the one already reported for it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pydantic

from livepose.graph import graph_checks
from livepose.graph.admission import DEFAULT_MAX_IN_FLIGHT
from livepose.graph.cameras import expand_cameras
from livepose.graph.node_entry import NodeEntryChecker
from livepose.graph.problems import ProblemCollector, shown
from livepose.graph.result_checks import check_results
from livepose.graph.set_overrides import SetOverrides
from livepose.graph.spec import (BATCH_CAMERAS, DEFAULT_BATCH_WAIT_MS, MAX_BATCH_WAIT_MS, MODES, TOP_LEVEL_KEYS,
                                 NodeSpec, Overrides, PipelineSpec)
from livepose.graph.yamlsource import LocatedDict, LocatedList


_CAMERA_NAME = re.compile(r"[A-Za-z0-9_-]+")


class Validator:
    """Checks one pipeline's data; what it finds is in :attr:`problems`."""

    def __init__(self, path: str, module_folders: list[Path]) -> None:
        self.path = path
        self.module_folders = module_folders
        self.problems = ProblemCollector(path)

    def build(self, data: Any, overrides: Overrides) -> PipelineSpec | None:
        """The pipeline ``data`` describes; None when it is too broken to say (see :attr:`problems`)."""
        problems = self.problems
        if data is None:
            problems.error(0, None, "the pipeline file is empty (or holds only comments)",
                           "start from a packaged pipeline: `livepose pipelines` says where they are")
            return None
        if not isinstance(data, LocatedDict):
            problems.error(getattr(data, "line", 1), None, "a pipeline file must be a mapping with a 'nodes:' list",
                           "start from pipelines/hands_face.yaml")
            return None
        problems.unknown_keys(data, TOP_LEVEL_KEYS, None, "top-level setting")
        set_overrides = SetOverrides(overrides.settings, problems)
        set_overrides.apply_top_level(data)
        mode = overrides.mode or data.get("mode", "realtime")
        if mode not in MODES:
            problems.error(data.line_of("mode"), None, f"mode {shown(mode)} is not one of {', '.join(MODES)}",
                           "use realtime (live camera) or offline (every frame of a file)")
            mode = "realtime"
        name = self._text_setting(data, "name", "give the pipeline a name, or remove name: to use the file's")
        self._text_setting(data, "description", "write the description as text, or remove it")
        source = overrides.source if overrides.source is not None else self._source_setting(data)
        nodes_data = data.get("nodes")
        if not isinstance(nodes_data, LocatedList) or not nodes_data:
            problems.error(data.line_of("nodes"), None, "the pipeline has no 'nodes:' list",
                           "add a 'nodes:' list with at least a source node")
            return None
        entries = list(zip(nodes_data, nodes_data.item_lines)) + [(extra, 0) for extra in overrides.extra_nodes]
        set_overrides.read_node_params()
        entry_checker = NodeEntryChecker(problems, self.module_folders, set_overrides)
        built = [entry_checker.check(item, line) for item, line in entries]
        nodes = [n for n in built if n is not None]
        set_overrides.report_misses({str(item.get("name")) for item, _ in entries if isinstance(item, dict)})
        graph_checks.check_duplicates(problems, nodes)
        output = self._resolve_output(data, nodes)
        output_line = data.line_of("output") if "output" in data else 0
        for n in nodes:
            for port, stream in n.inputs.items():
                if stream == "$output":
                    if output is None:
                        problems.error(0, n.name, "the pipeline has no output stream to tap",
                                       "add 'output: <stream>' to the pipeline file")
                    n.inputs[port] = output or ""
        self._apply_source(nodes, source, forced=overrides.source is not None)
        streams = graph_checks.build_streams(problems, data, nodes, mode)
        graph_checks.check_hotkeys(problems, nodes)
        complete = len(nodes) == len(built)
        cameras = self._cameras(data, nodes, overrides) if "cameras" in data else None
        if cameras and complete:
            nodes, streams = expand_cameras(nodes, streams, cameras)
            if output is not None and output not in streams:
                output = f"{next(iter(cameras))}.{output}"  # a per-camera stream: the first camera's
        if complete:
            graph_checks.check_wiring(problems, nodes, streams, output, output_line)
            check_results(problems, nodes)
        batch_cameras, batch_wait_ms = self._batch_cameras(data, has_cameras="cameras" in data)
        return PipelineSpec(self.path, name or Path(self.path).stem, mode,
                            None if source is None else str(source), output, nodes, streams,
                            max_in_flight=self._max_in_flight(data), batch_cameras=batch_cameras,
                            batch_wait_s=batch_wait_ms / 1000)

    def _cameras(self, data: LocatedDict, nodes: list[NodeSpec], overrides: Overrides) -> dict[str, dict[str, Any]] | None:
        """``cameras:``: each camera's name and the capture parameters it sets; None after an error."""
        problems, line = self.problems, data.line_of("cameras")
        section = data["cameras"]
        example = "write cameras: {left: 0, right: clip.mp4} (or {left: {source: 0, mirror: false}})"
        if not isinstance(section, LocatedDict) or not section:
            problems.error(line, None, f"cameras must map camera names to their sources, got {shown(section)}", example)
            return None
        if overrides.source is not None:
            problems.error(line, None, "--source does not apply to a pipeline with cameras: each camera names its own",
                           "give each camera's source under cameras: (--set cameras is not supported)")
            return None
        captures = [n for n in nodes if not n.inputs and n.cls.pipeline_source_param]
        if not captures:
            problems.error(line, None, "cameras: needs a capture node to repeat per camera", "add a capture node")
            return None
        capture = captures[0]
        cameras: dict[str, dict[str, Any]] = {}
        for name, value in section.items():
            where = section.line_of(name)
            if not isinstance(name, str) or not _CAMERA_NAME.fullmatch(name):
                problems.error(where, None, f"camera name {shown(name)} must be letters, digits, '_' or '-'",
                               "name cameras like left, right or cam_1")
                continue
            settings = dict(value) if isinstance(value, dict) else {capture.cls.pipeline_source_param: value}
            unknown = [key for key in settings if key not in capture.cls._params or key == "camera"]
            if unknown:
                problems.error(where, None, f"camera '{name}' sets {', '.join(map(str, unknown))}, which the "
                               f"{capture.type_name} node has no parameter for",
                               f"use the {capture.type_name} node's parameters (`livepose nodes {capture.type_name}`)")
                continue
            settings = {key: str(v) if key == capture.cls.pipeline_source_param else v for key, v in settings.items()}
            try:
                capture.cls._param_model.model_validate({**capture.params, **settings})
            except pydantic.ValidationError as error:
                first = error.errors()[0]
                problems.error(where, None, f"camera '{name}': {'.'.join(map(str, first['loc']))}: {first['msg']}",
                               example)
                continue
            cameras[name] = settings
        return cameras if len(cameras) == len(section) else None

    def _batch_cameras(self, data: LocatedDict, has_cameras: bool) -> tuple[str, float]:
        """``batch_cameras`` (as one of BATCH_CAMERAS) and ``batch_wait_ms``; their defaults after an error."""
        problems = self.problems
        value = data.get("batch_cameras", "auto")
        choice = str(value).lower() if isinstance(value, bool) else value
        if choice not in BATCH_CAMERAS:
            problems.error(data.line_of("batch_cameras"), None,
                           f"batch_cameras must be auto, true or false, got {shown(value)}",
                           "auto shares the cameras' model calls when the models run on a GPU; true always; "
                           "false never")
            choice = "auto"
        wait = data.get("batch_wait_ms", DEFAULT_BATCH_WAIT_MS)
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= MAX_BATCH_WAIT_MS:
            problems.error(data.line_of("batch_wait_ms"), None,
                           f"batch_wait_ms must be a number of milliseconds from 0 to {MAX_BATCH_WAIT_MS:g}, "
                           f"got {shown(wait)}",
                           f"{DEFAULT_BATCH_WAIT_MS:g} (the default) lets a call wait that long for another camera's "
                           "crops that are due; 0 never waits")
            wait = DEFAULT_BATCH_WAIT_MS
        for key in ("batch_cameras", "batch_wait_ms"):
            if key in data and not has_cameras:
                problems.warn(data.line_of(key), None, f"{key} applies only to a pipeline with cameras:",
                                 f"remove {key}, or add cameras:")
        return str(choice), float(wait)

    def _text_setting(self, data: LocatedDict, key: str, fix: str) -> str | None:
        """A top-level setting that is text (a number stands for its text); None when absent or wrong."""
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problems.error(data.line_of(key), None, f"{key} must be text, got {shown(value)}", fix)
            return None
        return str(value)

    def _source_setting(self, data: LocatedDict) -> str | int | None:
        """The file's default source: text, a camera index, or null for none (see ``livepose.graph.spec``)."""
        value = data.get("source")
        if value is None or (isinstance(value, str) and value):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.problems.error(data.line_of("source"), None,
                            f"source must be a camera index, a path, a URL or 'synthetic', got {shown(value)}",
                            "write source: 0 (the first camera) or source: clip.mp4; leave it out (or null) to keep "
                            "each capture node's own")
        return None

    def _max_in_flight(self, data: LocatedDict) -> int:
        value = data.get("max_in_flight", DEFAULT_MAX_IN_FLIGHT)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
            self.problems.error(data.line_of("max_in_flight"), None,
                                f"max_in_flight must be a whole number from 0 to 64, got {shown(value)}",
                                "1 (the default) works on one frame at a time; 2 lets the next frame start early; "
                                "0 turns admission off")
            return DEFAULT_MAX_IN_FLIGHT
        return value

    def _resolve_output(self, data: LocatedDict, nodes: list[NodeSpec]) -> str | None:
        """The stream --record/--keypoints tap: 'output:', else what a node that shows the output
        (``Node.shows_output``), or else the last sink, reads."""
        if "output" in data:
            return self._text_setting(data, "output", "name the stream --record and --keypoints should tap")
        displays = [n for n in nodes if n.cls.shows_output and n.inputs]
        sinks = [n for n in nodes if not n.outputs and n.inputs and "$output" not in n.inputs.values()]
        for candidates in (displays, sinks[::-1]):
            if candidates:
                return next(iter(candidates[0].inputs.values()))
        consumed = {s for n in nodes for s in n.inputs.values()}
        leaves = [s for n in nodes for s in n.outputs.values() if s not in consumed]
        return leaves[-1] if leaves else None

    def _apply_source(self, nodes: list[NodeSpec], source: Any, forced: bool) -> None:
        """The pipeline's source is a default for source nodes; ``--source`` replaces theirs."""
        if source is None:
            return
        for n in nodes:
            param_name = n.cls.pipeline_source_param
            if param_name and (forced or n.params[param_name] == n.cls._params[param_name].default):
                n.params[param_name] = str(source)
