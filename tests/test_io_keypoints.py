"""The JSON Lines keypoint format, exactly as the accuracy checks read it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from livepose.errors import UserError
from livepose.io import KeypointWriter, read_keypoints


def hand(track_id=1, handedness="Left", score=0.91234567, offset=0.0):
    landmarks = np.arange(63, dtype=np.float64).reshape(21, 3) * 1.00001 + offset
    return SimpleNamespace(landmarks=landmarks, handedness=handedness, score=score, track_id=track_id)


def face(track_id=4):
    return SimpleNamespace(landmarks=np.full((468, 3), 2.5), score=np.float32(0.75), track_id=track_id)


def test_format_key_order_rounding_and_one_flushed_line_per_frame(tmp_path):
    path = tmp_path / "k.jsonl"
    writer = KeypointWriter(path, decimals=2)
    writer.write(0, 0.0)
    writer.write(1, 1 / 30, [hand(), hand(2, "Right")], [face()])
    # Flushed per frame: readable while the writer is still open.
    lines = path.read_text().splitlines()
    writer.close()
    assert len(lines) == 2
    assert lines[0] == '{"frame":0,"t":0.0,"hands":[],"faces":[]}'
    record = json.loads(lines[1])
    assert list(record) == ["frame", "t", "hands", "faces"]
    assert record["frame"] == 1 and record["t"] == pytest.approx(1 / 30, abs=1e-6)
    first = record["hands"][0]
    assert list(first) == ["id", "handedness", "score", "landmarks"]
    assert (first["id"], first["handedness"], first["score"]) == (1, "Left", 0.9123)
    assert len(first["landmarks"]) == 21 and first["landmarks"][1] == [3.0, 4.0, 5.0]
    assert record["hands"][1]["handedness"] == "Right"
    only_face = record["faces"][0]
    assert list(only_face) == ["id", "score", "landmarks"]
    assert only_face["id"] == 4 and only_face["score"] == 0.75 and len(only_face["landmarks"]) == 468
    assert read_keypoints(path)[1] == record


def test_points_a_model_could_not_place_become_null(tmp_path):
    broken = hand()
    broken.landmarks[3, 1] = np.nan
    with KeypointWriter(tmp_path / "k.jsonl") as writer:
        writer.write(5, 0.5, [broken])
    landmarks = read_keypoints(tmp_path / "k.jsonl")[0]["hands"][0]["landmarks"]
    assert landmarks[3][1] is None and landmarks[3][0] == 9.0


def test_unwritable_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot write keypoints"):
        KeypointWriter(tmp_path / "missing" / "k.jsonl")


def _body(track_id=2):
    from livepose.results import Pose
    from livepose.vision.rects import NormalizedRect

    landmarks = np.column_stack([np.linspace(10, 42, 33), np.linspace(5, 90, 33), np.zeros(33)])
    world = np.column_stack([np.linspace(-0.3, 0.3, 33), np.zeros(33), np.full(33, 0.1)])
    return Pose(landmarks, np.linspace(0, 1, 33), np.full(33, 0.75), world, 0.98, NormalizedRect(0.5, 0.5, 1, 1, 0),
                track_id)


def test_poses_written_are_read_back_as_poses(tmp_path):
    from livepose.io.keypoints import KeypointReader, replayed_poses

    path = tmp_path / "k.jsonl"
    with KeypointWriter(path) as writer:
        writer.write(0, 0.0, poses=[_body()])
        writer.write(1, 0.04, poses=[])
        writer.write(2, 0.08)  # a run without a pose node writes no "poses"
    reader = KeypointReader(path)
    first, empty, none = reader.next_record(), reader.next_record(), reader.next_record()
    (pose,) = replayed_poses(first, (100, 60))
    expected = _body()
    np.testing.assert_allclose(pose.landmarks, expected.landmarks, atol=1e-3)
    np.testing.assert_allclose(pose.world_landmarks, expected.world_landmarks, atol=1e-7)
    np.testing.assert_allclose(pose.visibility, expected.visibility, atol=1e-4)
    np.testing.assert_allclose(pose.presence, 0.75)
    assert pose.track_id == 2 and pose.score == 0.98
    assert replayed_poses(empty, (100, 60)) == () and replayed_poses(none, (100, 60)) is None


def test_a_pose_without_33_points_is_named_with_its_line(tmp_path):
    from livepose.io.keypoints import KeypointFileError, KeypointReader

    path = tmp_path / "k.jsonl"
    path.write_text('{"frame": 0, "hands": [], "faces": [], "poses": [{"landmarks": [[1, 2, 3]], "visibility": [1]}]}\n')
    with pytest.raises(KeypointFileError, match=r"k.jsonl:1: .*33 landmarks"):
        KeypointReader(path).next_record()
