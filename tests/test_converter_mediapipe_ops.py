"""MediaPipe's custom operators of the attention face mesh, converted to ONNX, on small synthetic graphs.

TFLite's stock interpreter (ai-edge-litert) does not register ``Landmarks2TransformMatrix``,
``TransformTensorBilinear`` or ``TransformLandmarks``, so each op is checked against an independent
NumPy reference written from the formulas of MediaPipe's CPU kernels (v2 of each,
mediapipe/util/tflite/operations/*.cc), pixel by pixel and landmark by landmark.
"""

from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest

from livepose.converters.tflite import convert_tflite

_NO_LITERT = "ai-edge-litert (test extra) is not installed (its schema writes the test graphs)"
schema = pytest.importorskip("ai_edge_litert.schema_py_generated", reason=_NO_LITERT)
flexbuffers = pytest.importorskip("flatbuffers.flexbuffers")

from test_converter_ops import TfliteGraph  # noqa: E402 (after the skip)


def custom(g: TfliteGraph, code: str, inputs: list[int], output_shape: tuple[int, ...], options: dict) -> int:
    if code not in g.codes:
        g.codes.append(code)
    operator = schema.OperatorT()
    operator.opcodeIndex = g.codes.index(code)
    operator.inputs = inputs
    operator.outputs = [g.tensor(output_shape)]
    if options:
        operator.customOptions = np.frombuffer(bytes(flexbuffers.Dumps(options)), np.uint8)
        operator.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    g.operators.append(operator)
    return operator.outputs[0]


def run(g: TfliteGraph, outputs: list[int], feed: np.ndarray) -> np.ndarray:
    model = convert_tflite(g.build(outputs), "mediapipe_ops.tflite")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: feed})[0]


# --- NumPy references from the kernels' formulas ----------------------------------------------------


def reference_transform_matrix(landmarks: np.ndarray, options: dict) -> np.ndarray:
    left, right = landmarks[options["left_rotation_idx"]], landmarks[options["right_rotation_idx"]]
    r = options["target_rotation_radians"] - math.atan2(right[1] - left[1], right[0] - left[0])
    rotate = lambda a: np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])  # noqa: E731
    points = landmarks[np.ravel(options["subset_idxs"]), :2] @ rotate(r).T
    low, high = points.min(axis=0), points.max(axis=0)
    centre = rotate(-r) @ ((low + high) / 2)
    size = high - low
    shift = np.eye(4)
    shift[:2, 3] = centre
    turn = np.eye(4)
    turn[:2, :2] = rotate(-r)
    scale = np.diag([options["scale_x"] * size[0] / options["output_width"],
                     options["scale_y"] * size[1] / options["output_height"], 1.0, 1.0])
    back = np.eye(4)
    back[:2, 3] = [-options["output_width"] / 2, -options["output_height"] / 2]
    m = shift @ turn @ scale @ back
    return m[None].astype(np.float32)


def reference_bilinear(image: np.ndarray, matrix: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    _, height, width, channels = image.shape
    out = np.zeros((1, out_h, out_w, channels), np.float32)
    m = matrix[0]
    for y in range(out_h):
        for x in range(out_w):
            tx = m[0, 0] * (x + 0.5) + m[0, 1] * (y + 0.5) + m[0, 3] - 0.5
            ty = m[1, 0] * (x + 0.5) + m[1, 1] * (y + 0.5) + m[1, 3] - 0.5
            if tx < 0 or tx > width - 1 or ty < 0 or ty > height - 1:
                continue
            x0, y0 = math.floor(tx), math.floor(ty)
            fx, fy = tx - x0, ty - y0

            def read(yy: int, xx: int) -> np.ndarray:
                return image[0, yy, xx] if yy < height and xx < width else np.zeros(channels)

            upper = (1 - fx) * read(y0, x0) + fx * read(y0, x0 + 1)
            lower = (1 - fx) * read(y0 + 1, x0) + fx * read(y0 + 1, x0 + 1)
            out[0, y, x] = fy * lower + (1 - fy) * upper
    return out


def reference_landmarks(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    m = matrix[0]
    out = landmarks.copy()
    out[0, :, 0] = m[0, 0] * landmarks[0, :, 0] + m[0, 1] * landmarks[0, :, 1] + m[0, 3]
    out[0, :, 1] = m[1, 0] * landmarks[0, :, 0] + m[1, 1] * landmarks[0, :, 1] + m[1, 3]
    return out


# --- tests -------------------------------------------------------------------------------------------

_MATRIX_OPTIONS = {
    "left_rotation_idx": 2, "right_rotation_idx": 7, "output_height": 16, "output_width": 12,
    "scale_x": 1.5, "scale_y": 1.25, "subset_idxs": [2, 7, 3, 9, 11, 4, 5, 6], "target_rotation_radians": 0.3,
}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_landmarks_to_transform_matrix(seed: int) -> None:
    g = TfliteGraph()
    g.input = g.tensor((1, 12, 3))
    out = custom(g, "Landmarks2TransformMatrix", [g.input], (1, 4, 4), _MATRIX_OPTIONS)
    landmarks = np.random.default_rng(seed).uniform(0, 48, (1, 12, 3)).astype(np.float32)
    got = run(g, [out], landmarks)
    np.testing.assert_allclose(got, reference_transform_matrix(landmarks[0], _MATRIX_OPTIONS), atol=2e-4)


def _crop_matrix(angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    m = np.eye(4, dtype=np.float32)
    m[:2, :2] = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    m[:2, 3] = shift
    return m[None]


@pytest.mark.parametrize(
    "matrix",
    [_crop_matrix(0.4, 0.6, (3.0, 1.0)), _crop_matrix(-1.1, 1.3, (6.0, 2.0)), _crop_matrix(0.0, 1.0, (-2.0, -1.0))],
    ids=["inside", "partly-outside", "shifted-off-the-corner"],
)
def test_transform_tensor_bilinear(matrix: np.ndarray) -> None:
    g = TfliteGraph()  # input (1, 9, 11, 3); a 1x1 conv first so the op gets a channels-first tensor
    features = g.conv(g.input, (1, 9, 11, 3), 4)
    out = custom(g, "TransformTensorBilinear", [features, g.tensor((1, 4, 4), matrix)], (1, 7, 8, 4),
                 {"output_height": 7, "output_width": 8})
    g2 = TfliteGraph()
    conv_only = g2.conv(g2.input, (1, 9, 11, 3), 4)
    image = np.random.default_rng(3).normal(size=(1, 9, 11, 3)).astype(np.float32)
    got = run(g, [out], image)
    expected = reference_bilinear(run(g2, [conv_only], image), matrix, 7, 8)
    assert np.count_nonzero(expected) > 0
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("dimensions", [2, 3])
def test_transform_landmarks(dimensions: int) -> None:
    g = TfliteGraph()
    g.input = g.tensor((1, 10, dimensions))
    matrix = _crop_matrix(0.7, 1.8, (4.0, -3.0))
    matrix[0, 0, 2] = matrix[0, 1, 2] = 5.0  # the z column multiplies z = 0 in the kernel: no effect
    out = custom(g, "TransformLandmarks", [g.input, g.tensor((1, 4, 4), matrix)], (1, 10, dimensions), {})
    landmarks = np.random.default_rng(4).uniform(-5, 20, (1, 10, dimensions)).astype(np.float32)
    np.testing.assert_allclose(run(g, [out], landmarks), reference_landmarks(landmarks, matrix), atol=1e-5)
