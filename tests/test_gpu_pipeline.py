"""``preprocess: torch`` in the model nodes: one upload per frame, crops on the device, IO binding.

On this machine the torch path runs on the CPU device with the CPU provider: the same code as on the GPU
but for the device. ``torch`` must give the OpenCV path's keypoints byte for byte (its crops are
bit-equal); ``torch-float`` (grid_sample) must still meet the MediaPipe accuracy goals.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is the optional extra livepose[torch] that livepose.gpu needs")
cv2 = pytest.importorskip("cv2")

from evaluation.mediapipe_check import (
    REFERENCE_SETTINGS,
    compare_keypoints,
    run_keypoints,
)
from evaluation.reference import load_reference
from livepose.gpu.pipeline import (
    FrameUploads,
    TorchCropper,
    open_torch_model,
    uploads_on,
)
from livepose.vision import image_to_tensor as cpu
from livepose.vision.rects import NormalizedRect
from tests.media_paths import SHORT_CLIP, media_file

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


def _frame(clip: str = SHORT_CLIP) -> np.ndarray:
    capture = cv2.VideoCapture(str(media_file(clip)))
    ok, frame = capture.read()
    capture.release()
    assert ok, clip
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def test_a_frame_is_uploaded_once_however_many_crops() -> None:
    uploads = FrameUploads(CPU, capacity=2)
    image, other = _frame(), _frame().copy()
    first = uploads.get(image)
    assert uploads.get(image) is first and uploads.uploads == 1
    assert uploads.get(other) is not first and uploads.uploads == 2
    assert uploads.get(image) is first  # still kept: the two most recent
    uploads.get(other.copy())
    uploads.get(other.copy())
    assert uploads.get(image) is not first and uploads.uploads == 5  # pushed out by newer frames


def test_a_new_array_at_a_freed_arrays_address_is_uploaded_again() -> None:
    uploads = FrameUploads(CPU)
    image = np.zeros((4, 6, 3), np.uint8)
    uploads.get(image)
    del image
    gc.collect()
    fresh = np.full((4, 6, 3), 7, np.uint8)  # may reuse the freed id()
    assert int(uploads.get(fresh).pixels[0, 0, 0]) == 7


def test_torch_cropper_gives_the_opencv_croppers_batches() -> None:
    image = _frame()
    rects = [NormalizedRect(0.4, 0.45, 0.3, 0.35, 0.4), NormalizedRect(0.6, 0.3, 0.2, 0.2, -1.0)]
    cropper = TorchCropper(CPU)
    for spec in (cpu.HAND_LANDMARK_INPUT, cpu.FACE_LANDMARK_INPUT):
        batch, paddings = cropper.crops(image, rects, spec)
        expected, expected_paddings = cpu.OPENCV_CROPPER.crops(image, rects, spec)
        np.testing.assert_array_equal(batch.numpy(), expected)
        np.testing.assert_array_equal(paddings, expected_paddings)
    batch, padding = cropper.letterbox(image, cpu.PALM_DETECTOR_INPUT)
    expected, expected_padding = cpu.OPENCV_CROPPER.letterbox(image, cpu.PALM_DETECTOR_INPUT)
    assert tuple(batch.shape) == expected.shape == (1, 192, 192, 3) and padding == expected_padding
    np.testing.assert_array_equal(batch.numpy(), expected)
    assert uploads_on(CPU) is cropper.frames


def test_torch_model_equals_the_session_on_host_arrays(models_ready) -> None:
    session, model, cropper = open_torch_model("mediapipe/hand_landmark_full", "cpu", 1)
    assert session.cuda_stream == 0 and cropper.stream is None and model.device == CPU
    rects = [NormalizedRect(0.4, 0.45, 0.3, 0.35, 0.4), NormalizedRect(0.6, 0.3, 0.2, 0.2, -1.0)]
    image = _frame()
    batch, _ = cropper.crops(image, rects, cpu.HAND_LANDMARK_INPUT)
    outputs = model(batch)
    again = model(batch[:1])  # the binding reuses its buffers: the first outputs must not change
    for name, value in outputs.items():
        expected = np.concatenate([session.run(batch[i : i + 1].numpy())[name] for i in range(2)])
        np.testing.assert_array_equal(value, expected)
        np.testing.assert_array_equal(again[name], expected[:1])


HANDS_FACE = ROOT / "pipelines" / "hands_face.yaml"
TORCH_NODES = ("palms", "hands", "face")


def _settings(preprocess: str) -> list[str]:
    return [*REFERENCE_SETTINGS, *(f"{node}.provider=cpu" for node in TORCH_NODES),
            *(f"{node}.preprocess={preprocess}" for node in TORCH_NODES)]


def test_torch_preprocessing_gives_the_opencv_paths_keypoints(models_ready, tmp_path: Path) -> None:
    clip = media_file("sign-language-processing_pose/videos/FOOTBALL.mp4")
    opencv, on_torch = tmp_path / "opencv.jsonl", tmp_path / "torch.jsonl"
    assert run_keypoints(HANDS_FACE, clip, opencv, _settings("opencv")).exit_code == 0
    uploads_before = uploads_on(CPU).uploads
    assert run_keypoints(HANDS_FACE, clip, on_torch, [*_settings("torch"), "hands.max_batch=2"]).exit_code == 0
    rows = [json.loads(line) for line in on_torch.read_text().splitlines()]
    assert rows == [json.loads(line) for line in opencv.read_text().splitlines()]
    assert sum(len(row["hands"]) for row in rows) > 100
    # The palm detector and the hand landmarks share one upload per frame (the face runs in its own process).
    assert 0 < uploads_on(CPU).uploads - uploads_before <= len(rows)


def test_float_preprocessing_meets_the_mediapipe_goals(models_ready, tmp_path: Path) -> None:
    recording = load_reference(media_file("reference/SOUP.mediapipe.json.gz"))
    out = tmp_path / "keypoints.jsonl"
    assert run_keypoints(HANDS_FACE, media_file(recording.source), out, _settings("torch-float")).exit_code == 0
    result = compare_keypoints(out, recording)
    assert result.hands.matched_objects > 0 and result.faces.matched_objects > 0
    assert result.passes(), result


def test_the_pose_nodes_take_the_torch_path_too(models_ready, pose_models_ready, tmp_path: Path) -> None:
    clip = media_file("sign-language-processing_pose/videos/SOUP.mp4")
    opencv, on_torch = tmp_path / "opencv.jsonl", tmp_path / "torch.jsonl"
    pose = ROOT / "pipelines" / "pose.yaml"
    on_cpu = ["pose_detector.provider=cpu", "pose.provider=cpu"]
    assert run_keypoints(pose, clip, opencv, on_cpu).exit_code == 0
    assert run_keypoints(pose, clip, on_torch, [*on_cpu, "pose_detector.preprocess=torch",
                                                "pose.preprocess=torch"]).exit_code == 0
    rows = on_torch.read_text().splitlines()
    assert sum(len(json.loads(row)["poses"]) for row in rows) > 30
    assert rows == opencv.read_text().splitlines()
