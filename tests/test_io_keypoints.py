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
