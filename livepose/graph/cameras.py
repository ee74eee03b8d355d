"""Several cameras in one pipeline (``cameras:``): the per-camera part of the graph, once per camera.

A pipeline file with ``cameras:`` is written for one camera::

    cameras:
      left: 0                       # a source, or {source: ..., and other capture parameters}
      right: {source: 1, mirror: false}
    nodes:
      - {name: camera, type: capture, outputs: frames}
      - {name: palms, type: palm_detector, inputs: {frame: frames, tracked: hand_tracks}, outputs: hand_rois}
      ...
      - {name: tiles, type: mosaic, inputs: annotated, outputs: tiled}   # gathers every camera's stream
      - {name: window, type: viewer, inputs: tiled}

``expand_cameras`` repeats every node that is not a gathering node (``Node.gathers_inputs``) or
downstream of one, once per camera: node ``palms`` becomes ``left.palms`` and ``right.palms``, stream
``frames`` becomes ``left.frames``..., so each camera has its own detect-or-track loops, tracker ids,
filters and frame numbers, while the models behind them load once per process (sessions are shared by
file and settings). Each camera's capture node takes that camera's settings and writes its name to
every frame (``results.CAMERA``). A gathering node reads one stream per camera (port ``frame@left``...)
and what follows it runs once. In a repeated node, ``{camera}`` in a text parameter becomes the
camera's name; a repeated ``path`` without it gets the name before its extension (``out.mp4`` becomes
``out-left.mp4``), so two cameras never write one file. Each copy knows its camera (``NodeSpec.camera``):
with ``batch_cameras``, the copies of a model node share their model calls (``livepose.models.shared_calls``).
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import Any

from livepose.graph.queues import GATHERED_PORT_SEPARATOR
from livepose.graph.spec import NodeSpec, StreamSettings

CAMERA_PLACEHOLDER = "{camera}"


def shared_nodes(nodes: list[NodeSpec]) -> set[str]:
    """The gathering nodes and everything downstream of them: what runs once, not per camera."""
    shared = {n.name for n in nodes if n.cls.gathers_inputs}
    grew = True
    while grew:
        written = {stream for n in nodes if n.name in shared for stream in n.outputs.values()}
        more = {n.name for n in nodes if n.name not in shared and set(n.inputs.values()) & written}
        shared |= more
        grew = bool(more)
    return shared


def expand_cameras(nodes: list[NodeSpec], streams: dict[str, StreamSettings],
                   cameras: dict[str, dict[str, Any]]) -> tuple[list[NodeSpec], dict[str, StreamSettings]]:
    """The nodes and streams of a ``cameras:`` pipeline with its per-camera part repeated per camera.

    ``cameras`` maps each camera's name to the capture parameters it sets (``source`` and any other).
    """
    shared = shared_nodes(nodes)
    per_camera = [n for n in nodes if n.name not in shared]
    repeated_streams = {stream for n in per_camera for stream in (*n.inputs.values(), *n.outputs.values())}
    expanded: list[NodeSpec] = []
    for camera, settings in cameras.items():
        for node in per_camera:
            expanded.append(_for_camera(node, camera, settings, repeated_streams, len(cameras) > 1))
    for node in nodes:
        if node.name in shared:
            expanded.append(_gathering_all(node, cameras, repeated_streams) if node.cls.gathers_inputs else node)
    expanded_streams = {name: settings for name, settings in streams.items() if name not in repeated_streams}
    for camera in cameras:
        for name in repeated_streams:
            expanded_streams[f"{camera}.{name}"] = streams[name]
    return expanded, expanded_streams


def _for_camera(node: NodeSpec, camera: str, settings: dict[str, Any], repeated: set[str], several: bool) -> NodeSpec:
    params = {key: _camera_text(key, value, camera, several) for key, value in node.params.items()}
    if not node.inputs and node.cls.pipeline_source_param:
        params.update(settings)
        if "camera" in node.cls._params:
            params["camera"] = camera
    rename = {stream: f"{camera}.{stream}" for stream in repeated}
    return dataclasses.replace(
        node, name=f"{camera}.{node.name}", params=params, camera=camera,
        inputs={port: rename.get(stream, stream) for port, stream in node.inputs.items()},
        outputs={port: rename.get(stream, stream) for port, stream in node.outputs.items()})


def _camera_text(key: str, value: Any, camera: str, several: bool) -> Any:
    if not isinstance(value, str):
        return value
    if CAMERA_PLACEHOLDER in value:
        return value.replace(CAMERA_PLACEHOLDER, camera)
    if key == "path" and value and several:
        path = PurePath(value)
        return str(path.with_name(f"{path.stem}-{camera}{path.suffix}"))
    return value


def _gathering_all(node: NodeSpec, cameras: dict[str, dict[str, Any]], repeated: set[str]) -> NodeSpec:
    inputs: dict[str, str] = {}
    for port, stream in node.inputs.items():
        if stream not in repeated:
            inputs[port] = stream
            continue
        for camera in cameras:
            inputs[f"{port}{GATHERED_PORT_SEPARATOR}{camera}"] = f"{camera}.{stream}"
    params = dict(node.params)
    if "cameras" in node.cls._params and not params.get("cameras"):
        params["cameras"] = ",".join(cameras)  # the gathering node's order: the file's
    return dataclasses.replace(node, inputs=inputs, params=params)
