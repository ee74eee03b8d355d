"""The body pose, long-range face and holistic hand re-crop models through the converter, against TFLite.

Each model is converted from its source (the wheel; pose_landmark_lite and _heavy from the npm package
@mediapipe/pose, fetched once into the model cache) and run on real frames of the shared clips (the whole frame
letterboxed to the input, in the model's input range); ai-edge-litert's interpreter is the reference.
These models' outputs span very different ranges (the pose landmark model's segmentation logits about
1500, its presence flag 1), so each output is held to a share of its own range: the largest absolute
difference at most ``RELATIVE_TOLERANCE`` of the largest absolute value TFLite gives on that output,
the person mask as probabilities within ``MASK_TOLERANCE``. Measured on these frames: at most 3.2e-5 of
the range (pose landmark world points) and 2.3e-3 on the mask probabilities (logits of several hundred,
where XNNPACK and onnxruntime sum in different orders).
``face_landmark_with_attention`` is not here: TFLite's stock interpreter cannot run MediaPipe's custom
ops (tests/test_converter_mediapipe_ops.py checks them, tests/test_refined_face.py the whole model).
"""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from livepose.converters.tflite import convert_tflite
from livepose.models.cache import ModelCache, ModelSourceError
from livepose.models.zoo import POSE_AND_HOLISTIC_MODELS, ZooModel
from livepose.vision.image_to_tensor import TensorSpec, image_to_letterboxed_tensor
from media_paths import HD_CLIP, SHORT_CLIP, WEBM_CLIP, media_file

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (test extra) is not installed")

RELATIVE_TOLERANCE = 1e-4
MASK_TOLERANCE = 5e-3
CHECKED = [name for name in POSE_AND_HOLISTIC_MODELS if not name.endswith("_with_attention")]
CLIPS = (WEBM_CLIP, SHORT_CLIP, HD_CLIP)
FRAME_INDEX = 10


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    images = []
    for clip in CLIPS:
        capture = cv2.VideoCapture(str(media_file(clip)))
        for _ in range(FRAME_INDEX + 1):
            ok, image = capture.read()
            assert ok, f"{clip} has fewer than {FRAME_INDEX + 1} frames"
        images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        capture.release()
    return images


def _tflite(model: ZooModel) -> bytes:
    try:
        return ModelCache(progress=lambda _: None).read_tflite(model)
    except ModelSourceError as error:
        pytest.skip(f"MediaPipe models unavailable: {error}")


def _input(model: ZooModel, rgb: np.ndarray) -> np.ndarray:
    width, height = model.input_size
    low, high = model.input_range
    spec = TensorSpec(width, height, low, high, keep_aspect_ratio=True, border="zero")
    return image_to_letterboxed_tensor(rgb, spec)[0][None]


def _difference(meaning: str, actual: np.ndarray, expected: np.ndarray) -> float:
    """The share of the output's range the two differ by; person masks as the probabilities nodes use."""
    if "segmentation logits" in meaning:
        # Logits of +-700 differ by a few tenths where the sigmoid is flat: compare what the mask gets.
        return float(np.abs(_sigmoid(actual) - _sigmoid(expected)).max())
    span = max(float(np.abs(expected).max()), 1e-6)
    return float(np.abs(actual - expected).max()) / span


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float64)))  # the sigmoid, without overflow


@pytest.mark.parametrize("name", CHECKED)
def test_converted_model_matches_tflite_on_real_frames(name: str, frames: list[np.ndarray]) -> None:
    model = POSE_AND_HOLISTIC_MODELS[name]
    content = _tflite(model)
    converted = convert_tflite(content, model.file_name)
    assert [o.name for o in converted.graph.output] == [o.name for o in model.outputs]
    session = ort.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"])
    interpreter = litert.Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    outputs = {detail["name"]: detail["index"] for detail in interpreter.get_output_details()}
    worst: dict[str, float] = {}
    masks = {o.name for o in model.outputs if "segmentation logits" in o.meaning}
    for rgb in frames:
        tensor = _input(model, rgb)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
        interpreter.invoke()
        actual = session.run([o.name for o in model.outputs], {model.input_name: tensor})
        for output, value in zip(model.outputs, actual, strict=True):
            expected = interpreter.get_tensor(outputs[output.name])
            assert value.shape == expected.shape == output.shape
            worst[output.name] = max(worst.get(output.name, 0.0), _difference(output.meaning, value, expected))
    for output, difference in worst.items():
        tolerance = MASK_TOLERANCE if output in masks else RELATIVE_TOLERANCE
        assert difference <= tolerance, f"{name} {output}: |ONNX - TFLite| reaches {difference:.1e} of its range"
