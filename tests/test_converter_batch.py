"""The converter's dynamic batch axis: one call on B crops gives what B calls on one crop give.

MediaPipe's models are built for a batch of 1; ``convert_tflite(..., dynamic_batch=True)`` opens the first
axis so the hands of a frame (or the crops of several cameras) run as one model call. Checked on every
synthetic operator graph of test_converter_ops, on real MediaPipe models, and for the refusals: operators
that would mix the items of a batch.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from livepose.converters.tflite import ConversionError, convert_tflite
from livepose.models.cache import ModelCache, ModelSourceError
from livepose.models.zoo import get_model

_NO_LITERT = "ai-edge-litert (test extra) is not installed (its schema writes the test graphs)"
schema = pytest.importorskip("ai_edge_litert.schema_py_generated", reason=_NO_LITERT)

from test_converter_ops import CASES, TfliteGraph

BATCH = 3


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def assert_batch_equals_items(content: bytes, batch: np.ndarray, name: str, relative: float) -> None:
    """The dynamic-batch conversion of ``content`` on ``batch`` equals the fixed one item by item, each
    output within ``relative`` of its range (0: bit for bit)."""
    dynamic = _session(convert_tflite(content, name, dynamic_batch=True))
    fixed = _session(convert_tflite(content, name))
    assert [i.shape[0] for i in dynamic.get_inputs()] == ["batch"]
    assert all(o.shape[0] == "batch" for o in dynamic.get_outputs())
    input_name = fixed.get_inputs()[0].name
    together = dynamic.run(None, {input_name: batch})
    alone = [fixed.run(None, {input_name: batch[i : i + 1]}) for i in range(len(batch))]
    for k, output in enumerate(fixed.get_outputs()):
        expected = np.concatenate([item[k] for item in alone])
        assert together[k].shape == expected.shape, output.name
        np.testing.assert_allclose(together[k], expected, rtol=0, atol=relative * max(np.ptp(expected), 1.0),
                                   err_msg=f"{name}: {output.name}")


@pytest.mark.parametrize("case", list(CASES))
def test_operator_runs_a_batch_as_its_items(case: str) -> None:
    graph = TfliteGraph()
    content = graph.build(CASES[case](graph))
    batch = np.random.default_rng(2).uniform(-2, 2, size=(BATCH, 9, 11, 3)).astype(np.float32)
    assert_batch_equals_items(content, batch, f"{case}.tflite", relative=1e-6)


def test_a_batch_of_one_still_runs() -> None:
    graph = TfliteGraph()
    content = graph.build(CASES["fully_connected_on_4d_input"](graph))
    image = np.random.default_rng(3).uniform(-2, 2, size=(1, 9, 11, 3)).astype(np.float32)
    assert_batch_equals_items(content, image, "one.tflite", relative=0)


def _concatenate_batches(g: TfliteGraph) -> list[int]:
    options = schema.ConcatenationOptionsT()
    options.axis = 0
    return [g.op("CONCATENATION", [g.input, g.input], (2, 9, 11, 3), options)]


def _reshape_into_batch(g: TfliteGraph) -> list[int]:
    return [g.op("RESHAPE", [g.input, g.tensor((2,), np.array([9, 33], np.int32))], (9, 33))]


def _mean_over_batch(g: TfliteGraph) -> list[int]:
    options = schema.ReducerOptionsT()
    options.keepDims = False
    return [g.op("MEAN", [g.input, g.tensor((2,), np.array([0, 1], np.int32))], (11, 3), options)]


def _slice_drops_the_batch(g: TfliteGraph) -> list[int]:
    options = schema.StridedSliceOptionsT()
    options.shrinkAxisMask = 0b0001
    bounds = [g.tensor((4,), np.array(v, np.int32)) for v in ([0, 0, 0, 0], [1, 9, 11, 3], [1, 1, 1, 1])]
    return [g.op("STRIDED_SLICE", [g.input, *bounds], (9, 11, 3), options)]


@pytest.mark.parametrize("case", [_concatenate_batches, _reshape_into_batch, _mean_over_batch, _slice_drops_the_batch],
                         ids=["concatenation", "reshape", "mean", "strided_slice"])
def test_operators_that_mix_the_batch_are_refused(case) -> None:
    graph = TfliteGraph()
    content = graph.build(case(graph))
    convert_tflite(content, "mixing.tflite")  # fine with the fixed batch
    with pytest.raises(ConversionError, match=r"mixing\.tflite: .* cannot be converted with a dynamic batch"):
        convert_tflite(content, "mixing.tflite", dynamic_batch=True)


@pytest.mark.parametrize("name", ["mediapipe/hand_landmark_full", "mediapipe/palm_detection_full",
                                  "mediapipe/face_landmark", "mediapipe/face_landmark_with_attention",
                                  "mediapipe/pose_landmark_lite"])
def test_mediapipe_models_run_a_batch_as_their_items(models_ready, name: str) -> None:
    model = get_model(name)
    try:
        content = ModelCache().read_tflite(model)
    except ModelSourceError as error:
        pytest.skip(f"{model.file_name} unavailable: {error}")
    width, height = model.input_size
    batch = np.random.default_rng(4).uniform(0, 1, size=(BATCH, height, width, 3)).astype(np.float32)
    # The hand and face models are bit for bit; the pose model's segmentation logits (range ~1000) and the
    # palm detector's box offsets take other convolution kernels at batch 3 and differ by float rounding.
    assert_batch_equals_items(content, batch, model.file_name, relative=1e-4)
