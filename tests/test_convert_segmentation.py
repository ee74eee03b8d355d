"""MediaPipe's selfie segmentation models through the converter, against TFLite on real frames.

Each model is converted from the wheel and run on frames of the shared clips, sampled as MediaPipe's
graph samples them (the whole frame stretched to the input); ai-edge-litert's interpreter (its
default XNNPACK kernels, which also implement MediaPipe's custom ``Convolution2DTransposeBias``) is
the reference. The outputs are probabilities in [0, 1]; the largest absolute difference allowed is
1e-3. Measured: up to 3.3e-4, within the spread of TFLite itself (its builtin kernels and XNNPACK
differ by up to 3.1e-4 on the same images), while the converted model is within 2.5e-4 of the
builtin kernels.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from livepose.converters.tflite import convert_tflite
from livepose.models.cache import ModelCache, ModelSourceError
from livepose.models.zoo import SEGMENTATION_MODELS
from livepose.nodes.segmentation import segmentation_input
from livepose.vision.image_to_tensor import image_to_letterboxed_tensor
from media_paths import HD_CLIP, SHORT_CLIP, WEBM_CLIP, media_file

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (test extra) is not installed")

TOLERANCE = 1e-3
CLIPS = (WEBM_CLIP, SHORT_CLIP, HD_CLIP)
FRAMES = (0, 20)  # two frames a clip: a person in each, different poses


@pytest.fixture(scope="module")
def tflite_models() -> dict[str, bytes]:
    cache = ModelCache(progress=lambda _: None)
    try:
        return {name: cache.read_tflite(model) for name, model in SEGMENTATION_MODELS.items()}
    except ModelSourceError as error:
        pytest.skip(f"MediaPipe models unavailable: {error}")


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    images = []
    for clip in CLIPS:
        capture = cv2.VideoCapture(str(media_file(clip)))
        for index in range(max(FRAMES) + 1):
            ok, image = capture.read()
            assert ok, f"{clip} has fewer than {max(FRAMES) + 1} frames"
            if index in FRAMES:
                images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        capture.release()
    return images


@pytest.mark.parametrize("name", list(SEGMENTATION_MODELS))
def test_converted_segmentation_model_matches_tflite_on_real_frames(
    name: str, tflite_models: dict[str, bytes], frames: list[np.ndarray]
) -> None:
    model = SEGMENTATION_MODELS[name]
    converted = convert_tflite(tflite_models[name], model.file_name)
    session = ort.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"])
    interpreter = litert.Interpreter(model_content=tflite_models[name], num_threads=1)
    interpreter.allocate_tensors()
    spec = segmentation_input(model)
    worst = 0.0
    for rgb in frames:
        tensor = image_to_letterboxed_tensor(rgb, spec)[0][None]
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
        interpreter.invoke()
        expected = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        (actual,) = session.run([model.outputs[0].name], {model.input_name: tensor})
        assert actual.shape == expected.shape == (1, *model.input_shape[1:3], 1)
        worst = max(worst, float(np.abs(actual - expected).max()))
        # A person is in every frame: the masks are not trivially empty.
        assert 0.02 < float((expected > 0.5).mean()) < 0.9
    assert worst <= TOLERANCE, f"{name}: max |ONNX - TFLite| = {worst:.2e}"


@pytest.mark.parametrize("name", list(SEGMENTATION_MODELS))
def test_converted_segmentation_model_keeps_the_interface_and_runs_channels_first(
    name: str, tflite_models: dict[str, bytes]
) -> None:
    model = SEGMENTATION_MODELS[name]
    graph = convert_tflite(tflite_models[name], model.file_name).graph
    assert [(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim]) for i in graph.input] == [
        (model.input_name, list(model.input_shape))
    ]
    assert [o.name for o in graph.output] == [o.name for o in model.outputs]
    op_types = [node.op_type for node in graph.node]
    assert op_types.count("ConvTranspose") == 1 and "HardSwish" in op_types
    # One transpose into NCHW after the input, one back before the output: the trunk stays NCHW.
    assert op_types.count("Transpose") == 2
    onnx.checker.check_model(convert_tflite(tflite_models[name], model.file_name))
