"""``refine_landmarks``: the 478-point face against MediaPipe's ``FaceMesh(refine_landmarks=True)``.

The converted face_landmark_with_attention cannot be compared with TFLite op by op (the stock
interpreter lacks MediaPipe's custom ops), so the whole model is checked through the face pipeline
against MediaPipe 0.10.21's own answers (``<clip>.refine.json.gz``) with the accuracy goals of
tests/test_vision_accuracy.py, and the refinement merge on its own with synthetic heads.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from livepose.converters.tflite import convert_tflite
from livepose.models.cache import ModelCache
from livepose.nodes.face import FACE_ATTENTION_MODEL, FACE_LANDMARK_MODEL, FaceTrackerNode, landmark_model_name
from livepose.results import FaceLandmark
from livepose.testing import frames_from, run_node
from livepose.vision.face_refinement import (
    LEFT_EYE_INDICES,
    LIPS_INDICES,
    RIGHT_EYE_INDICES,
    refine_face_landmarks,
)
from media_paths import media_file
from test_vision_accuracy import MAX_MEDIAN_PX, MAX_P95_PX, MIN_COUNT_AGREEMENT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
compare_refined_face = pytest.importorskip("compare_refined_face")


def test_refinement_merge_follows_mediapipe_rules() -> None:
    rng = np.random.default_rng(0)
    mesh = rng.uniform(0, 192, (468, 3)).astype(np.float32)
    heads = [rng.uniform(0, 192, (n, 2)).astype(np.float32) for n in (80, 71, 71, 5, 5)]
    refined = refine_face_landmarks(mesh, *heads)
    assert refined.shape == (478, 3)
    for indices, head in zip((LIPS_INDICES, LEFT_EYE_INDICES, RIGHT_EYE_INDICES), heads):
        np.testing.assert_array_equal(refined[list(indices), :2], head)
    untouched = sorted(set(range(468)) - set(LIPS_INDICES) - set(LEFT_EYE_INDICES) - set(RIGHT_EYE_INDICES))
    np.testing.assert_array_equal(refined[untouched], mesh[untouched])
    np.testing.assert_array_equal(refined[:468, 2], mesh[:, 2])  # lips and eyes keep the mesh's z
    np.testing.assert_array_equal(refined[FaceLandmark.RIGHT_IRIS_CENTER : 473, :2], heads[3])
    np.testing.assert_array_equal(refined[FaceLandmark.LEFT_IRIS_CENTER :, :2], heads[4])
    np.testing.assert_allclose(refined[468:473, 2], mesh[list(LEFT_EYE_INDICES[:16]), 2].mean(), rtol=1e-6)
    np.testing.assert_allclose(refined[473:, 2], mesh[list(RIGHT_EYE_INDICES[:16]), 2].mean(), rtol=1e-6)


@pytest.fixture(scope="module")
def models():
    try:
        return compare_refined_face.refined_face_models()
    except Exception as error:  # the wheel or the prepared detector is absent
        pytest.skip(f"face models unavailable: {error}")


@pytest.mark.parametrize(("clip", "frames"), [("SOUP", None), ("FOOTBALL", 40)])
def test_refined_faces_match_mediapipe(models, clip: str, frames: int | None) -> None:
    if not media_file(f"reference/{clip}.refine.json.gz").exists():
        pytest.skip(f"reference/{clip}.refine.json.gz not in the shared media")
    media = media_file("reference").parent
    stats = compare_refined_face.compare_clip(models, media, clip, frames or 0)
    assert stats.matched_objects > 0, stats
    assert stats.count_agreement >= MIN_COUNT_AGREEMENT, stats
    assert stats.median_px <= MAX_MEDIAN_PX, stats
    assert stats.p95_px <= MAX_P95_PX, stats


def test_the_default_landmark_model_follows_refine_landmarks() -> None:
    assert landmark_model_name(FACE_LANDMARK_MODEL, False) == FACE_LANDMARK_MODEL
    assert landmark_model_name(FACE_LANDMARK_MODEL, True) == FACE_ATTENTION_MODEL
    assert landmark_model_name("mine.onnx", True) == "mine.onnx"  # an explicit choice is kept


def test_face_tracker_node_with_refine_landmarks_writes_478_points(models_ready, tmp_path) -> None:
    wheel = ModelCache().source_wheel()
    attention = zipfile.ZipFile(wheel).read(compare_refined_face.ATTENTION_MEMBER)
    path = tmp_path / "face_landmark_with_attention.onnx"
    path.write_bytes(convert_tflite(attention, path.name).SerializeToString())
    clip = frames_from(media_file("sign-language-processing_pose/videos/SOUP.mp4"), max_frames=3)
    out = run_node(FaceTrackerNode, clip, params={"refine_landmarks": True, "landmark_model": str(path)})
    faces = [f.results["faces"] for f in out]
    assert all(len(found) == 1 and found[0].landmarks.shape == (478, 3) for found in faces)
    iris = faces[0][0].landmarks[FaceLandmark.RIGHT_IRIS_CENTER, :2]
    eye = faces[0][0].landmarks[list(LEFT_EYE_INDICES[:16]), :2]
    assert np.all(eye.min(axis=0) < iris) and np.all(iris < eye.max(axis=0)), "the iris centre lies in its eye"
