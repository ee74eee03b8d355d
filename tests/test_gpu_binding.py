"""livepose.gpu.binding: onnxruntime IO binding fed from torch tensors, on the CPU provider (the same code
path as CUDA, with device "cpu"), with the real hand landmark model on real hand crops.

Stated bound: torch's ``method="float"`` pre-processing moves the hand landmarks by less than
``FLOAT_LANDMARK_SHIFT_PX`` pixels of the 224x224 crop against the OpenCV path (measured: at most 0.6
on the mmpose hand images); ``method="exact"`` gives the model the same bits, hence the same outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is the optional extra livepose[torch] that livepose.gpu needs")
cv2 = pytest.importorskip("cv2")

from livepose.gpu import preprocess as gpu
from livepose.gpu.binding import TorchBinding
from livepose.models.cache import ModelCache
from livepose.models.runtime import ModelSession
from livepose.vision.hands import HAND_LANDMARK_OUTPUTS, PalmDetector
from livepose.vision.image_to_tensor import HAND_LANDMARK_INPUT, crops_to_batch
from livepose.vision.rects import NormalizedRect
from tests.media_paths import media_file

PALM, HAND = "mediapipe/palm_detection_full", "mediapipe/hand_landmark_full"
# Hand photos; the fixture adds a two-ROI frame so a batch of 2 goes through the per-item binding.
HAND_IMAGES = (
    "mmpose/tests/data/onehand10k/9.jpg",
    "mmpose/tests/data/freihand/00115300.jpg",
)
FLOAT_LANDMARK_SHIFT_PX = 1.0

Sessions = tuple[ModelSession, ModelSession]
HandCrops = list[tuple[np.ndarray, list[NormalizedRect]]]


@pytest.fixture(scope="module")
def sessions() -> Sessions:
    cache = ModelCache()
    for name in (PALM, HAND):
        if not cache.is_prepared(name):
            pytest.skip(f"{name} is not prepared in the model cache (livepose models prepare {name})")
    return ModelSession(PALM, provider="cpu"), ModelSession(HAND, provider="cpu", intra_op_threads=2)


@pytest.fixture(scope="module")
def hand_crops(sessions: Sessions) -> HandCrops:
    """Real images with their hand ROIs, as the product's palm detector finds them."""
    detector = PalmDetector(sessions[0].run)
    found = []
    for relative in HAND_IMAGES:
        image = cv2.cvtColor(cv2.imread(str(media_file(relative))), cv2.COLOR_BGR2RGB)
        rects = detector.rois(image)
        assert rects, f"no hand found in {relative}"
        found.append((image, rects))
    # Two ROIs on one frame: the batch path.
    image, rects = found[0]
    found.append((image, [rects[0], NormalizedRect(0.5, 0.5, 0.6, 0.6, 0.4)]))
    return found


def _session_outputs(session: ModelSession, batch: np.ndarray) -> dict[str, np.ndarray]:
    # ModelSession.run is the product's path; the model has a fixed batch of 1.
    outputs = [session.run(batch[i:i + 1]) for i in range(len(batch))]
    return {name: np.concatenate([o[name] for o in outputs]) for name in outputs[0]}


def test_binding_on_torch_crops_equals_model_session_run(sessions: Sessions, hand_crops: HandCrops) -> None:
    hand = sessions[1]
    binding = TorchBinding(hand)
    assert binding.device == torch.device("cpu") and binding.per_item
    for image, rects in hand_crops:
        tensors, _ = gpu.crops_to_batch(gpu.upload_frame(image), rects, HAND_LANDMARK_INPUT)
        outputs = binding.run(tensors)
        expected = _session_outputs(hand, tensors.numpy())
        assert set(outputs) == set(expected)
        for name, value in expected.items():
            assert outputs[name].shape == value.shape and outputs[name].dtype == torch.float32
            np.testing.assert_allclose(outputs[name].numpy(), value, rtol=1e-6, atol=1e-6, err_msg=name)


def test_outputs_are_preallocated_once_per_batch_size(sessions: Sessions, hand_crops: HandCrops) -> None:
    binding = TorchBinding(sessions[1])
    image, rects = hand_crops[0]
    tensors, _ = gpu.crops_to_batch(image, rects, HAND_LANDMARK_INPUT)
    first = binding.run(tensors)
    pointers = {name: t.data_ptr() for name, t in first.items()}
    again = binding.run(tensors)
    assert {name: t.data_ptr() for name, t in again.items()} == pointers


def test_float_preprocessing_moves_landmarks_less_than_the_stated_bound(sessions: Sessions, hand_crops: HandCrops) -> None:
    binding = TorchBinding(sessions[1])
    landmarks = HAND_LANDMARK_OUTPUTS.landmarks
    worst = 0.0
    for image, rects in hand_crops:
        reference, _ = crops_to_batch(image, rects, HAND_LANDMARK_INPUT)
        expected = _session_outputs(sessions[1], reference)[landmarks].reshape(len(rects), 21, 3)
        tensors, _ = gpu.crops_to_batch(gpu.upload_frame(image), rects, HAND_LANDMARK_INPUT, method="float")
        found = binding.run(tensors)[landmarks].numpy().reshape(len(rects), 21, 3)
        worst = max(worst, float(np.linalg.norm(found[..., :2] - expected[..., :2], axis=-1).max()))
    assert worst < FLOAT_LANDMARK_SHIFT_PX


def test_a_bare_inference_session_and_misplaced_inputs(sessions: Sessions) -> None:
    binding = TorchBinding(sessions[1].session, device="cpu")
    batch = torch.zeros((1, 224, 224, 3), dtype=torch.float32)
    outputs = binding.run({binding.input_names[0]: batch})
    assert set(outputs) == set(sessions[1].output_names)
    with pytest.raises(ValueError, match="takes inputs"):
        binding.run({"nope": batch})
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="no hidden copies"):
            binding.run(batch.cuda())
