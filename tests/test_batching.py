"""``max_batch``: the objects of a frame in one model call give the answers of one call per object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from media_paths import media_file

from evaluation.mediapipe_check import run_keypoints

ROOT = Path(__file__).resolve().parents[1]
LIVEPOSE = Path(sys.executable).parent / "livepose"
# 62 frames, two hands in 59 of them.
CLIP = "sign-language-processing_pose/videos/FOOTBALL.mp4"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_batched_hands_and_faces_equal_one_call_per_object(models_ready, tmp_path: Path) -> None:
    clip = media_file(CLIP)
    settings = ["face.max_num_faces=2"]
    one_by_one, batched = tmp_path / "one.jsonl", tmp_path / "batched.jsonl"
    assert run_keypoints(ROOT / "pipelines" / "hands_face.yaml", clip, one_by_one, settings).exit_code == 0
    assert run_keypoints(ROOT / "pipelines" / "hands_face.yaml", clip, batched,
                         [*settings, "hands.max_batch=2", "face.max_batch=2"]).exit_code == 0
    expected, rows = _rows(one_by_one), _rows(batched)
    assert sum(len(row["hands"]) == 2 for row in expected) >= 50  # the batches really hold two hands
    assert rows == expected


def test_the_two_node_face_loop_batches_too(models_ready, tmp_path: Path) -> None:
    clip = media_file(CLIP)
    one_by_one, batched = tmp_path / "one.jsonl", tmp_path / "batched.jsonl"
    settings = ["face_detector.max_num_faces=3"]
    assert run_keypoints(ROOT / "pipelines" / "face.yaml", clip, one_by_one, settings).exit_code == 0
    assert run_keypoints(ROOT / "pipelines" / "face.yaml", clip, batched,
                         [*settings, "face_mesh.max_batch=4"]).exit_code == 0
    assert _rows(batched) == _rows(one_by_one)


def test_max_batch_with_a_fixed_batch_model_says_what_to_do(models_ready, tmp_path: Path) -> None:
    from livepose.models.cache import ModelCache

    fixed = ModelCache().path("mediapipe/hand_landmark_full")
    done = subprocess.run(
        [str(LIVEPOSE), "run", "hands", "--source", str(media_file(CLIP)), "--offline", "--headless",
         "--set", f"hands.model={fixed}", "--set", "hands.max_batch=2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert (f"node 'hands': max_batch: 2 needs a model with a dynamic batch axis, but {fixed} takes a fixed batch "
            "of 1") in done.stderr
    assert "or set max_batch: 1" in done.stderr
