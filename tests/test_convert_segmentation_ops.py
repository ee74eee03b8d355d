"""The operators MediaPipe's selfie segmentation models add to the converter, on small synthetic graphs.

HARD_SWISH, AVERAGE_POOL_2D (global and windowed, SAME and VALID) and MediaPipe's custom
``Convolution2DTransposeBias`` (SAME and VALID, even and odd kernels), each checked against the
ai-edge-litert interpreter, whose default XNNPACK delegate implements MediaPipe's custom op.
"""

from __future__ import annotations

import numpy as np
import pytest

from livepose.converters.errors import ConversionError
from livepose.converters.tflite import convert_tflite
from test_converter_ops import SAME, VALID, TfliteGraph, schema
from tflite_compare import assert_converted_matches_tflite

_CUSTOM = "Convolution2DTransposeBias"
# TfLitePadding as MediaPipe's kernel reads it from the raw options struct.
_C_SAME, _C_VALID = 1, 2


class SegmentationGraph(TfliteGraph):
    """A TfliteGraph that can also hold MediaPipe's custom transposed convolution."""

    def transpose_conv_bias(
        self, source: int, out_shape: tuple[int, ...], kernel: int, stride: int, padding: int,
        options: bytes | None = None,
    ) -> int:
        if _CUSTOM not in self.codes:
            self.codes.append(_CUSTOM)
        in_channels = self.tensors[source].shape[-1]
        operator = schema.OperatorT()
        operator.opcodeIndex = self.codes.index(_CUSTOM)
        operator.inputs = [source, self.weights(out_shape[-1], kernel, kernel, in_channels), self.weights(out_shape[-1])]
        operator.outputs = [self.tensor(out_shape)]
        raw = options if options is not None else np.array([padding, stride, stride], "<i4").tobytes()
        operator.customOptions = np.frombuffer(raw, np.uint8)
        operator.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
        self.operators.append(operator)
        return operator.outputs[0]


def _pool_options(kernel: tuple[int, int], stride: int, padding: int) -> object:
    options = schema.Pool2DOptionsT()
    options.filterHeight, options.filterWidth = kernel
    options.strideH = options.strideW = stride
    options.padding = padding
    return options


def case_hard_swish_channels_first(g: SegmentationGraph) -> list[int]:
    return [g.op("HARD_SWISH", [g.conv(g.input, (1, 9, 11, 3), 5)], (1, 9, 11, 5))]


def case_hard_swish_nhwc(g: SegmentationGraph) -> list[int]:
    return [g.op("HARD_SWISH", [g.input], (1, 9, 11, 3))]


def case_global_average_pool_into_mul(g: SegmentationGraph) -> list[int]:
    # MediaPipe's squeeze-and-excitation: pool the whole map, then scale the map by it.
    features = g.conv(g.input, (1, 9, 11, 3), 4)
    pooled = g.op("AVERAGE_POOL_2D", [features], (1, 1, 1, 4), _pool_options((9, 11), 9, VALID))
    return [g.op("MUL", [features, g.op("LOGISTIC", [pooled], (1, 1, 1, 4))], (1, 9, 11, 4), schema.MulOptionsT())]


def case_average_pool_same_stride2(g: SegmentationGraph) -> list[int]:
    # SAME: border windows average only the cells inside the image.
    return [g.op("AVERAGE_POOL_2D", [g.conv(g.input, (1, 9, 11, 3), 4)], (1, 5, 6, 4), _pool_options((3, 3), 2, SAME))]


def case_average_pool_valid(g: SegmentationGraph) -> list[int]:
    return [g.op("AVERAGE_POOL_2D", [g.input], (1, 4, 5, 3), _pool_options((2, 3), 2, VALID))]


def case_transpose_conv_bias_mediapipe(g: SegmentationGraph) -> list[int]:
    # The selfie models' head: kernel 2, stride 2, SAME, doubling the size.
    return [g.transpose_conv_bias(g.conv(g.input, (1, 9, 11, 3), 4), (1, 18, 22, 2), 2, 2, _C_SAME)]


def case_transpose_conv_bias_odd_kernel_same(g: SegmentationGraph) -> list[int]:
    # Kernel 3 stride 2 SAME: one pixel of padding, the odd one after, as TensorFlow pads.
    return [g.transpose_conv_bias(g.input, (1, 18, 22, 3), 3, 2, _C_SAME)]


def case_transpose_conv_bias_valid(g: SegmentationGraph) -> list[int]:
    return [g.transpose_conv_bias(g.input, (1, 19, 23, 2), 3, 2, _C_VALID)]


CASES = {
    "hard_swish_channels_first": case_hard_swish_channels_first,
    "hard_swish_nhwc": case_hard_swish_nhwc,
    "global_average_pool_into_mul": case_global_average_pool_into_mul,
    "average_pool_same_stride2": case_average_pool_same_stride2,
    "average_pool_valid": case_average_pool_valid,
    "transpose_conv_bias_mediapipe": case_transpose_conv_bias_mediapipe,
    "transpose_conv_bias_odd_kernel_same": case_transpose_conv_bias_odd_kernel_same,
    "transpose_conv_bias_valid": case_transpose_conv_bias_valid,
}


@pytest.mark.parametrize("case", list(CASES))
def test_segmentation_operator_matches_tflite(case: str) -> None:
    graph = SegmentationGraph()
    content = graph.build(CASES[case](graph))
    image = np.random.default_rng(1).uniform(-4, 4, size=(1, 9, 11, 3)).astype(np.float32)
    assert_converted_matches_tflite(content, image, case)


def test_transpose_conv_bias_with_short_options_is_refused() -> None:
    graph = SegmentationGraph()
    content = graph.build([graph.transpose_conv_bias(graph.input, (1, 18, 22, 2), 2, 2, _C_SAME, options=b"\x01")])
    with pytest.raises(ConversionError, match="Convolution2DTransposeBias #0 has 1 bytes of options"):
        convert_tflite(content, "short.tflite")


def test_transpose_conv_bias_with_unknown_padding_is_refused() -> None:
    graph = SegmentationGraph()
    content = graph.build([graph.transpose_conv_bias(graph.input, (1, 18, 22, 2), 2, 2, 7)])
    with pytest.raises(ConversionError, match="padding code 7"):
        convert_tflite(content, "unknown_padding.tflite")
