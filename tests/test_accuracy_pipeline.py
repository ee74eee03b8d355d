"""The hands_face pipeline, run as a user runs it, gives MediaPipe's answers on real clips and images.

Offline, with ``--keypoints``, compared frame by frame with ``../shared/media/reference``: same
count of hands and faces on >= 97% of frames, median landmark error <= 1 px and p95 <= 3 px at
native resolution, handedness >= 99% (physically correct labels: the clips are not mirrored).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.mediapipe_check import REFERENCE_SETTINGS, compare_keypoints, image_set_folder, run_keypoints
from evaluation.reference import load_reference
from media_paths import MEDIA, media_file

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "pipelines" / "hands_face.yaml"
SETTINGS = list(REFERENCE_SETTINGS)
@pytest.mark.parametrize("reference", ["FOOTBALL", "SOUP", "test_video", "video"])
def test_clip_matches_mediapipe(models_ready, tmp_path, reference):
    recording = load_reference(media_file(f"reference/{reference}.mediapipe.json.gz"))
    clip = media_file(recording.source)
    out = tmp_path / "keypoints.jsonl"
    assert run_keypoints(PIPELINE, clip, out, SETTINGS).exit_code == 0
    result = compare_keypoints(out, recording)
    assert result.hands.matched_objects > 0 and result.faces.matched_objects > 0
    assert result.passes(), result


def test_static_images_match_mediapipe(models_ready, tmp_path):
    recording = load_reference(media_file("reference/images.mediapipe.json.gz"))
    folder = image_set_folder(recording, MEDIA, tmp_path / "images")
    out = tmp_path / "keypoints.jsonl"
    # No static_image_mode setting: a folder of images is detected afresh image by image by default.
    assert run_keypoints(PIPELINE, folder, out, SETTINGS).exit_code == 0
    result = compare_keypoints(out, recording)
    reference_hands = sum(len(f.hands) for f in recording.frames)
    reference_faces = sum(len(f.faces) for f in recording.frames)
    assert result.hands.matched_objects >= 0.9 * reference_hands
    assert result.faces.matched_objects >= 0.9 * reference_faces
    assert result.passes(), result


def test_face_tracker_node_gives_the_two_node_loops_answers(models_ready, tmp_path):
    # hands_face.yaml runs the face as one face_tracker node in a worker process; face.yaml keeps the
    # detector and mesh as two nodes joined by a feedback stream. Offline they must agree exactly.
    clip = media_file(load_reference(media_file("reference/test_video.mediapipe.json.gz")).source)
    both = tmp_path / "hands_face.jsonl"
    face_only = tmp_path / "face.jsonl"
    assert run_keypoints(PIPELINE, clip, both, ["face.max_num_faces=2"]).exit_code == 0
    assert run_keypoints(ROOT / "pipelines" / "face.yaml", clip, face_only,
                         ["face_detector.max_num_faces=2"]).exit_code == 0
    rows = [json.loads(line) for line in both.read_text().splitlines()]
    expected = [json.loads(line) for line in face_only.read_text().splitlines()]
    assert len(rows) == len(expected) > 0
    assert sum(len(row["faces"]) for row in rows) > 0
    assert [row["faces"] for row in rows] == [row["faces"] for row in expected]
