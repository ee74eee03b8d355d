"""The built-in nodes declare the well-known results that ``livepose.results`` says they write."""

from __future__ import annotations

import importlib

import cv2
import pytest

from livepose import results
from livepose.graph.node import Node
from livepose.nodes import BUILTIN_NODES
from livepose.testing import NodeHarness, frame
from media_paths import WEBM_CLIP, media_file

TRACKING_NODES = ("palm_detector", "hand_landmarks", "face_detector", "face_landmarks", "face_tracker", "tracker")


def _node_class(type_name: str) -> type[Node]:
    module_name, _, class_name = BUILTIN_NODES[type_name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def _written(node_class: type[Node]) -> set[str]:
    """Every result the node declares it adds, on any output port."""
    return {key for port in node_class.outputs for key in node_class.written_on(port) or ()}


@pytest.mark.parametrize("key", sorted(results.WELL_KNOWN))
def test_every_listed_writer_is_built_in_and_declares_the_key(key):
    known = results.WELL_KNOWN[key]
    for writer in known.writers + known.updated_by + known.replayed_by:
        assert writer in BUILTIN_NODES, f"{key}: writer {writer} is no built-in node"
        assert key in _written(_node_class(writer)), f"{writer} does not declare that it writes {key}"
    for updater in known.updated_by:
        node_class = _node_class(updater)
        assert key in node_class.reads + node_class.requires, f"{updater} rewrites {key} without reading it"


@pytest.mark.parametrize("type_name", TRACKING_NODES)
def test_tracking_nodes_write_only_well_known_keys_they_are_listed_for(type_name):
    written = _written(_node_class(type_name))
    assert written, f"{type_name} declares no results"
    for key in written:
        assert key in results.WELL_KNOWN, f"{type_name} writes {key}, which livepose.results does not name"
        known = results.WELL_KNOWN[key]
        assert type_name in known.writers + known.updated_by + known.replayed_by, \
            f"{type_name} writes {key} but is not its listed writer"


@pytest.mark.parametrize("type_name", TRACKING_NODES)
def test_tracking_nodes_read_and_require_well_known_keys(type_name):
    node_class = _node_class(type_name)
    for key in node_class.reads + node_class.requires:
        assert key in results.WELL_KNOWN, f"{type_name} reads {key}, which livepose.results does not name"


def _clip_frames(count: int) -> list:
    capture = cv2.VideoCapture(str(media_file(WEBM_CLIP)))
    try:
        return [frame(capture.read()[1], index=index) for index in range(count)]
    finally:
        capture.release()


@pytest.mark.parametrize("detector_type, landmarks_type, found", [
    ("palm_detector", "hand_landmarks", results.HANDS),
    ("face_detector", "face_landmarks", results.FACES),
])
def test_the_detect_or_track_loop_writes_only_what_its_nodes_declare(models_ready, detector_type, landmarks_type,
                                                                    found):
    # The harness refuses any result a node adds without declaring it, or of the wrong type.
    tracked = None
    counts = []
    with NodeHarness(_node_class(detector_type)) as detector, NodeHarness(_node_class(landmarks_type)) as landmarks:
        for clip_frame in _clip_frames(4):
            outputs = landmarks.process(detector.process(frame=clip_frame, tracked=tracked))
            tracked = outputs["tracked"]
            counts.append(len(outputs["frame"].results[found]))
    assert any(counts)


def test_the_face_tracker_writes_only_what_it_declares(models_ready):
    with NodeHarness(_node_class("face_tracker")) as tracker:
        assert any(tracker.process(clip_frame).results[results.FACES] for clip_frame in _clip_frames(3))
