"""Per-operator converter tests on small synthetic TFLite graphs.

The real MediaPipe models cover most operators (tests/test_converter.py); these graphs add the
variants they do not contain: MUL, other resize coordinate modes, odd SAME padding with dilation,
depth multipliers, fused RELU6/RELU, MEAN over non-spatial axes, FULLY_CONNECTED on a 4-D input,
concatenation on the channel axis. Graphs are written with the flatbuffer object API that ships
with ai-edge-litert and checked against its interpreter.
"""

from __future__ import annotations

from collections.abc import Callable

import flatbuffers
import numpy as np
import pytest

from livepose.converters.tflite import ConversionError, UnsupportedOperatorError, convert_tflite

_NO_LITERT = "ai-edge-litert (test extra) is not installed"
schema = pytest.importorskip("ai_edge_litert.schema_py_generated", reason=_NO_LITERT)
litert = pytest.importorskip("ai_edge_litert.interpreter", reason=_NO_LITERT)

from tflite_compare import assert_converted_matches_tflite  # noqa: E402 (after the skip)

Activation = schema.ActivationFunctionType
SAME, VALID = schema.Padding.SAME, schema.Padding.VALID
_TYPES = {np.dtype(np.float32): schema.TensorType.FLOAT32, np.dtype(np.float16): schema.TensorType.FLOAT16,
          np.dtype(np.int32): schema.TensorType.INT32}  # fmt: skip


class TfliteGraph:
    """A single-subgraph TFLite model under construction."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(7)
        self.tensors: list[object] = []
        self.buffers = [schema.BufferT()]  # buffer 0 is the conventional empty buffer
        self.operators: list[object] = []
        self.codes: list[int | str] = []  # builtin operator codes, or a custom operator's name
        self.input = self.tensor((1, 9, 11, 3))

    def tensor(self, shape: tuple[int, ...], data: np.ndarray | None = None, dtype: type = np.float32) -> int:
        tensor = schema.TensorT()
        tensor.shape = list(shape)
        tensor.type = _TYPES[np.dtype(dtype if data is None else data.dtype)]
        tensor.name = f"t{len(self.tensors)}"
        tensor.buffer = 0
        if data is not None:
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            self.buffers.append(buffer)
            tensor.buffer = len(self.buffers) - 1
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def weights(self, *shape: int) -> int:
        return self.tensor(shape, self.rng.normal(size=shape).astype(np.float32))

    def op(self, name: str, inputs: list[int], output_shape: tuple[int, ...], options: object = None) -> int:
        code = getattr(schema.BuiltinOperator, name)
        if code not in self.codes:
            self.codes.append(code)
        operator = schema.OperatorT()
        operator.opcodeIndex = self.codes.index(code)
        operator.inputs = inputs
        output = self.tensor(output_shape)
        operator.outputs = [output]
        if options is not None:
            operator.builtinOptionsType = getattr(schema.BuiltinOptions, type(options).__name__[:-1])
            operator.builtinOptions = options
        self.operators.append(operator)
        return output

    def conv(self, source: int, shape: tuple[int, ...], out_channels: int, **settings: int) -> int:
        """A 1x1 convolution: puts the converter's tensor in channels-first layout before the op under test."""
        options = schema.Conv2DOptionsT()
        options.padding, options.strideH, options.strideW = VALID, 1, 1
        options.dilationHFactor = options.dilationWFactor = 1
        for key, value in settings.items():
            setattr(options, key, value)
        filters = self.weights(out_channels, 1, 1, shape[-1])
        return self.op("CONV_2D", [source, filters, self.weights(out_channels)], (*shape[:-1], out_channels), options)

    def build(self, outputs: list[int]) -> bytes:
        subgraph = schema.SubGraphT()
        subgraph.tensors, subgraph.operators = self.tensors, self.operators
        subgraph.inputs, subgraph.outputs = [self.input], outputs
        model = schema.ModelT()
        model.version = 3
        model.subgraphs, model.buffers = [subgraph], self.buffers
        model.operatorCodes = []
        for code in self.codes:
            operator_code = schema.OperatorCodeT()
            if isinstance(code, str):  # a custom operator, by its name (MediaPipe's own kernels)
                operator_code.builtinCode = operator_code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
                operator_code.customCode = code
            else:
                operator_code.builtinCode, operator_code.deprecatedBuiltinCode = code, min(code, 127)
            operator_code.version = 1
            model.operatorCodes.append(operator_code)
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def conv_options(padding: int, stride: int, dilation: int = 1, activation: int = Activation.NONE) -> object:
    options = schema.Conv2DOptionsT()
    options.padding, options.strideH, options.strideW = padding, stride, stride
    options.dilationHFactor = options.dilationWFactor = dilation
    options.fusedActivationFunction = activation
    return options


def case_conv_same_stride2_relu6(g: TfliteGraph) -> list[int]:
    options = conv_options(SAME, 2, activation=Activation.RELU6)
    # An even kernel makes SAME padding asymmetric: the odd pixel goes after, in both axes.
    return [g.op("CONV_2D", [g.input, g.weights(4, 4, 4, 3), g.weights(4)], (1, 5, 6, 4), options)]


def case_conv_same_dilated_fp16_weights(g: TfliteGraph) -> list[int]:
    half = g.tensor((4, 3, 3, 3), g.rng.normal(size=(4, 3, 3, 3)).astype(np.float16))
    filters = g.op("DEQUANTIZE", [half], (4, 3, 3, 3))
    options = conv_options(SAME, 1, dilation=2, activation=Activation.RELU)
    return [g.op("CONV_2D", [g.input, filters, g.weights(4)], (1, 9, 11, 4), options)]


def case_depthwise_multiplier_same(g: TfliteGraph) -> list[int]:
    options = schema.DepthwiseConv2DOptionsT()
    options.padding, options.strideH, options.strideW, options.depthMultiplier = SAME, 2, 2, 2
    options.dilationHFactor = options.dilationWFactor = 1
    options.fusedActivationFunction = Activation.RELU_N1_TO_1
    return [g.op("DEPTHWISE_CONV_2D", [g.input, g.weights(1, 5, 5, 6), g.weights(6)], (1, 5, 6, 6), options)]


def case_mul_per_channel_constant(g: TfliteGraph) -> list[int]:
    features = g.conv(g.input, (1, 9, 11, 3), 5)
    options = schema.MulOptionsT()
    options.fusedActivationFunction = Activation.RELU
    return [g.op("MUL", [features, g.weights(5)], (1, 9, 11, 5), options)]


def case_mul_two_tensors_add_relu6(g: TfliteGraph) -> list[int]:
    left, right = g.conv(g.input, (1, 9, 11, 3), 4), g.conv(g.input, (1, 9, 11, 3), 4)
    product = g.op("MUL", [left, right], (1, 9, 11, 4), schema.MulOptionsT())
    options = schema.AddOptionsT()
    options.fusedActivationFunction = Activation.RELU6
    return [g.op("ADD", [product, g.weights(1, 1, 11, 4)], (1, 9, 11, 4), options)]


def _resize(align_corners: bool, half_pixel: bool) -> Callable[[TfliteGraph], list[int]]:
    def case(g: TfliteGraph) -> list[int]:
        features = g.conv(g.input, (1, 9, 11, 3), 4)
        options = schema.ResizeBilinearOptionsT()
        options.alignCorners, options.halfPixelCenters = align_corners, half_pixel
        size = g.tensor((2,), np.array([14, 25], np.int32))
        return [g.op("RESIZE_BILINEAR", [features, size], (1, 14, 25, 4), options)]

    return case


def _mean(axes: list[int], keep_dims: bool, shape: tuple[int, ...]) -> Callable[[TfliteGraph], list[int]]:
    def case(g: TfliteGraph) -> list[int]:
        features = g.conv(g.input, (1, 9, 11, 3), 4)
        options = schema.ReducerOptionsT()
        options.keepDims = keep_dims
        return [g.op("MEAN", [features, g.tensor((len(axes),), np.array(axes, np.int32))], shape, options)]

    return case


def case_concatenation_channels_and_width(g: TfliteGraph) -> list[int]:
    left, right = g.conv(g.input, (1, 9, 11, 3), 4), g.conv(g.input, (1, 9, 11, 3), 2)
    channels = schema.ConcatenationOptionsT()
    channels.axis = -1
    joined = g.op("CONCATENATION", [left, right, g.input], (1, 9, 11, 9), channels)
    width = schema.ConcatenationOptionsT()
    width.axis = 2
    return [g.op("CONCATENATION", [joined, joined], (1, 9, 22, 9), width)]


def case_fully_connected_on_4d_input(g: TfliteGraph) -> list[int]:
    features = g.conv(g.input, (1, 9, 11, 3), 2)
    options = schema.FullyConnectedOptionsT()
    options.fusedActivationFunction = Activation.RELU
    return [g.op("FULLY_CONNECTED", [features, g.weights(7, 9 * 11 * 2), g.weights(7)], (1, 7), options)]


def case_reshape_concat_logistic(g: TfliteGraph) -> list[int]:
    features = g.conv(g.input, (1, 9, 11, 3), 4)
    flat = g.op("RESHAPE", [features, g.tensor((3,), np.array([1, -1, 2], np.int32))], (1, 198, 2))
    back = g.op("RESHAPE", [flat, g.tensor((4,), np.array([1, 11, 9, 4], np.int32))], (1, 11, 9, 4))
    return [g.op("LOGISTIC", [back], (1, 11, 9, 4)), g.op("RELU", [flat], (1, 198, 2))]


def case_pad_maxpool_prelu(g: TfliteGraph) -> list[int]:
    features = g.conv(g.input, (1, 9, 11, 3), 4)
    paddings = g.tensor((4, 2), np.array([[0, 0], [1, 2], [0, 1], [0, 3]], np.int32))
    padded = g.op("PAD", [features, paddings], (1, 12, 12, 7))
    options = schema.Pool2DOptionsT()
    options.padding, options.strideH, options.strideW = SAME, 2, 2
    options.filterHeight, options.filterWidth = 3, 3
    pooled = g.op("MAX_POOL_2D", [padded], (1, 6, 6, 7), options)
    alpha = g.tensor((1, 1, 7), np.linspace(-1.5, 1.5, 7, dtype=np.float32).reshape(1, 1, 7))
    return [g.op("PRELU", [pooled, alpha], (1, 6, 6, 7))]


def case_channel_padding_into_residual_add(g: TfliteGraph) -> list[int]:
    features = g.conv(g.input, (1, 9, 11, 3), 4)
    paddings = g.tensor((4, 2), np.array([[0, 0], [0, 0], [0, 0], [2, 3]], np.int32))
    widened = g.op("PAD", [features, paddings], (1, 9, 11, 9))
    return [g.op("ADD", [g.conv(features, (1, 9, 11, 4), 9), widened], (1, 9, 11, 9), schema.AddOptionsT())]


def _strided_slice(
    begin: list[int], end: list[int], strides: list[int], shape: tuple[int, ...], **masks: int
) -> Callable[[TfliteGraph], list[int]]:
    def case(g: TfliteGraph) -> list[int]:
        features = g.conv(g.input, (1, 9, 11, 3), 4)  # channels-first in the converter
        options = schema.StridedSliceOptionsT()
        for key, value in masks.items():
            setattr(options, key, value)
        bounds = [g.tensor((4,), np.array(v, np.int32)) for v in (begin, end, strides)]
        return [g.op("STRIDED_SLICE", [features, *bounds], shape, options)]

    return case


def case_depth_to_space(g: TfliteGraph) -> list[int]:
    features = g.conv(g.input, (1, 9, 11, 3), 8)
    options = schema.DepthToSpaceOptionsT()
    options.blockSize = 2
    return [g.op("DEPTH_TO_SPACE", [features], (1, 18, 22, 2), options)]


def case_densify_sparse_filter(g: TfliteGraph) -> list[int]:
    """pose_detection's form: a CSR-sparse constant filter (dims DENSE, DENSE, DENSE, CSR) through DENSIFY."""
    dense = g.rng.normal(size=(4, 1, 1, 3)).astype(np.float32)
    dense[g.rng.uniform(size=dense.shape) < 0.5] = 0.0
    rows = dense.reshape(4, 3)
    sparse = g.tensor(dense.shape, rows[rows != 0])
    parameters = schema.SparsityParametersT()
    parameters.traversalOrder = [0, 1, 2, 3]
    parameters.dimMetadata = []
    for size in dense.shape[:3]:
        metadata = schema.DimensionMetadataT()
        metadata.format, metadata.denseSize = schema.DimensionType.DENSE, size
        parameters.dimMetadata.append(metadata)
    csr = schema.DimensionMetadataT()
    csr.format = schema.DimensionType.SPARSE_CSR
    segments, indices = schema.Int32VectorT(), schema.Int32VectorT()
    segments.values = [0, *np.cumsum((rows != 0).sum(axis=1)).tolist()]
    indices.values = np.nonzero(rows)[1].tolist()
    csr.arraySegmentsType = csr.arrayIndicesType = schema.SparseIndexVector.Int32Vector
    csr.arraySegments, csr.arrayIndices = segments, indices
    parameters.dimMetadata.append(csr)
    g.tensors[sparse].sparsity = parameters
    filters = g.op("DENSIFY", [sparse], dense.shape)
    return [g.op("CONV_2D", [g.input, filters, g.weights(4)], (1, 9, 11, 4), conv_options(VALID, 1))]


CASES: dict[str, Callable[[TfliteGraph], list[int]]] = {
    "conv_same_stride2_relu6": case_conv_same_stride2_relu6,
    "conv_same_dilated_fp16_weights": case_conv_same_dilated_fp16_weights,
    "depthwise_multiplier_same": case_depthwise_multiplier_same,
    "mul_per_channel_constant": case_mul_per_channel_constant,
    "mul_two_tensors_add_relu6": case_mul_two_tensors_add_relu6,
    "resize_align_corners": _resize(True, False),
    "resize_half_pixel": _resize(False, True),
    "resize_asymmetric": _resize(False, False),
    "mean_spatial_keep_dims": _mean([1, 2], True, (1, 1, 1, 4)),
    "mean_channels": _mean([3], False, (1, 9, 11)),
    "mean_height_reorders_axes": _mean([1], False, (1, 11, 4)),
    "concatenation_channels_and_width": case_concatenation_channels_and_width,
    "fully_connected_on_4d_input": case_fully_connected_on_4d_input,
    "reshape_concat_logistic": case_reshape_concat_logistic,
    "pad_maxpool_prelu": case_pad_maxpool_prelu,
    "channel_padding_into_residual_add": case_channel_padding_into_residual_add,
    # hand_recrop's form: the first half of the channels.
    "strided_slice_channels": _strided_slice([0, 0, 0, 0], [1, 9, 11, 2], [1, 1, 1, 1], (1, 9, 11, 2)),
    "strided_slice_negative_stride_masks": _strided_slice(
        [0, 1, -1, 0], [1, 8, 0, 4], [1, 2, -2, 3], (1, 4, 6, 2), endMask=0b0100
    ),
    "strided_slice_shrink_channel": _strided_slice(
        [0, -3, 0, 1], [1, 0, 11, 2], [1, 1, 1, 1], (1, 3, 11), shrinkAxisMask=0b1000, endMask=0b0010
    ),
    "depth_to_space": case_depth_to_space,
    "densify_sparse_filter": case_densify_sparse_filter,
}


@pytest.mark.parametrize("case", list(CASES))
def test_operator_matches_tflite(case: str) -> None:
    graph = TfliteGraph()
    outputs = CASES[case](graph)
    content = graph.build(outputs)
    image = np.random.default_rng(1).uniform(-2, 2, size=(1, 9, 11, 3)).astype(np.float32)
    assert_converted_matches_tflite(content, image, case)


def test_unsupported_operator_error_names_operator_and_model() -> None:
    graph = TfliteGraph()
    content = graph.build([graph.op("TANH", [graph.input], (1, 9, 11, 3))])
    with pytest.raises(UnsupportedOperatorError, match=r"my_model\.tflite: TFLite operator TANH \(operator #0\)"):
        convert_tflite(content, "my_model.tflite")


def test_strided_slice_ellipsis_is_refused() -> None:
    graph = TfliteGraph()
    options = schema.StridedSliceOptionsT()
    options.ellipsisMask = 1
    bounds = [graph.tensor((4,), np.array(v, np.int32)) for v in ([0] * 4, [1, 9, 11, 3], [1] * 4)]
    content = graph.build([graph.op("STRIDED_SLICE", [graph.input, *bounds], (1, 9, 11, 3), options)])
    with pytest.raises(ConversionError, match="ellipsis_mask/new_axis_mask"):
        convert_tflite(content, "ellipsis.tflite")


def test_integer_quantized_model_is_refused() -> None:
    graph = TfliteGraph()
    graph.tensors[graph.input].type = schema.TensorType.INT8
    content = graph.build([graph.op("RELU", [graph.input], (1, 9, 11, 3))])
    with pytest.raises(ConversionError, match="integer-quantized models are not supported"):
        convert_tflite(content, "quantized.tflite")
