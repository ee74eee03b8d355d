"""TFLite builtin operators expressed as ONNX nodes (opset 17).

Each converter reads one TFLite operator and emits ONNX nodes through the :class:`GraphBuilder`,
which tracks whether a 4-D tensor is held NHWC (TFLite's layout) or NCHW. Spatial operators run
NCHW; layout-sensitive ones (RESHAPE, FULLY_CONNECTED) get their input in TFLite layout so the
element order matches TFLite exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tflite
from onnx import TensorProto

from livepose.converters.errors import ConversionError
from livepose.converters.tflite.flatbuffer import Operator
from livepose.converters.tflite.graph import NHWC_TO_NCHW, GraphBuilder

OperatorConverter = Callable[[GraphBuilder, Operator], None]


# --- shared helpers ------------------------------------------------------------------------------


def same_padding(input_size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite/TensorFlow SAME padding as explicit (before, after) pads; the odd pixel goes after."""
    effective_kernel = (kernel - 1) * dilation + 1
    output_size = -(-input_size // stride)
    total = max((output_size - 1) * stride + effective_kernel - input_size, 0)
    return total // 2, total - total // 2


def _spatial_pads(
    builder: GraphBuilder, op: Operator, input_index: int, kernel: tuple[int, int], stride: tuple[int, int],
    dilation: tuple[int, int], padding: int,
) -> list[int]:
    if padding == tflite.Padding.VALID:
        return [0, 0, 0, 0]
    if padding != tflite.Padding.SAME:
        raise ConversionError(f"{builder.model.name}: {op.name} #{op.position} has unknown padding mode {padding}")
    _, height, width, _ = builder.tensor(input_index).shape
    top, bottom = same_padding(height, kernel[0], stride[0], dilation[0])
    left, right = same_padding(width, kernel[1], stride[1], dilation[1])
    return [top, left, bottom, right]


def _apply_activation(builder: GraphBuilder, op: Operator, value: str, activation: int, output: str) -> str:
    """Emit a TFLite fused activation; ``value`` is the pre-activation result, ``output`` the final name."""
    kinds = tflite.ActivationFunctionType
    if activation == kinds.NONE:
        return value
    if activation == kinds.RELU:
        return builder.add_node("Relu", [value], output)
    if activation in (kinds.RELU6, kinds.RELU_N1_TO_1):
        low, high = (0.0, 6.0) if activation == kinds.RELU6 else (-1.0, 1.0)
        bounds = [
            builder.add_initializer(np.array(low, np.float32), "clip_min"),
            builder.add_initializer(np.array(high, np.float32), "clip_max"),
        ]
        return builder.add_node("Clip", [value, *bounds], output)
    if activation == kinds.TANH:
        return builder.add_node("Tanh", [value], output)
    raise ConversionError(
        f"{builder.model.name}: {op.name} #{op.position} uses fused activation {activation}, which is not supported"
    )


def _emit_with_activation(
    builder: GraphBuilder, op: Operator, op_type: str, inputs: list[str], channels_first: bool, activation: int,
    **attributes: object,
) -> None:
    """One ONNX node plus the operator's fused activation, writing TFLite output 0."""
    output = builder.output_name(op.outputs[0], channels_first)
    if activation == tflite.ActivationFunctionType.NONE:
        builder.add_node(op_type, inputs, output, **attributes)
        return
    raw = builder.add_node(op_type, inputs, builder.unique_name(f"{output}/pre_activation"), **attributes)
    _apply_activation(builder, op, raw, activation, output)


def _float_weights(builder: GraphBuilder, op: Operator, index: int, role: str) -> np.ndarray:
    weights = builder.require_constant(index, role, f"{op.name} #{op.position}")
    if weights.dtype != np.float32:
        raise ConversionError(
            f"{builder.model.name}: {op.name} #{op.position} has {weights.dtype} {role}; only float32 "
            "(or float16 behind DEQUANTIZE) models are supported, not integer-quantized ones"
        )
    return weights


def _bias(builder: GraphBuilder, op: Operator, output_channels: int) -> np.ndarray:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        return _float_weights(builder, op, op.inputs[2], "bias")
    return np.zeros(output_channels, np.float32)


def _broadcast_layout(builder: GraphBuilder, indices: tuple[int, ...]) -> bool:
    """Whether an elementwise operator over ``indices`` should run channels-first.

    It does when some runtime operand is already channels-first and every runtime operand is 4-D;
    constants of lower rank are expanded to 4-D before being transposed.
    """
    runtime = [i for i in indices if builder.constant(i) is None]
    return bool(runtime) and all(builder.rank(i) == 4 for i in runtime) and any(
        builder.is_channels_first(i) for i in runtime
    )


def _operand(builder: GraphBuilder, index: int, channels_first: bool) -> str:
    """An elementwise operand in the chosen layout (4-D channels-first, or TFLite layout)."""
    constant = builder.constant(index)
    if channels_first and constant is not None and constant.ndim != 4:
        # NumPy broadcasting aligns trailing axes, so an NHWC-broadcastable constant becomes 4-D first.
        expanded = constant.reshape((1,) * (4 - constant.ndim) + constant.shape).transpose(NHWC_TO_NCHW)
        return builder.add_initializer(expanded, builder.tensor(index).name)
    return builder.value(index, channels_first)


def _activation_of(op: Operator) -> int:
    return op.options.FusedActivationFunction() if op.options is not None else tflite.ActivationFunctionType.NONE


# --- operators -----------------------------------------------------------------------------------


def convert_conv_2d(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    weights = _float_weights(builder, op, op.inputs[1], "filter")  # [out, kh, kw, in]
    out_channels, kernel_h, kernel_w, in_channels = weights.shape
    groups = builder.tensor(op.inputs[0]).shape[3] // in_channels
    stride = (options.StrideH(), options.StrideW())
    dilation = (options.DilationHFactor(), options.DilationWFactor())
    inputs = [
        builder.value(op.inputs[0], channels_first=True),
        builder.add_initializer(weights.transpose(NHWC_TO_NCHW), f"{builder.tensor(op.inputs[1]).name}/oihw"),
        builder.add_initializer(_bias(builder, op, out_channels), f"{builder.tensor(op.outputs[0]).name}/bias"),
    ]
    _emit_with_activation(
        builder, op, "Conv", inputs, True, options.FusedActivationFunction(),
        kernel_shape=[kernel_h, kernel_w], strides=list(stride), dilations=list(dilation), group=groups,
        pads=_spatial_pads(builder, op, op.inputs[0], (kernel_h, kernel_w), stride, dilation, options.Padding()),
    )


def convert_depthwise_conv_2d(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    weights = _float_weights(builder, op, op.inputs[1], "filter")  # [1, kh, kw, in * multiplier]
    _, kernel_h, kernel_w, out_channels = weights.shape
    in_channels = builder.tensor(op.inputs[0]).shape[3]
    if out_channels % in_channels:
        raise ConversionError(
            f"{builder.model.name}: DEPTHWISE_CONV_2D #{op.position} has {out_channels} output channels for "
            f"{in_channels} input channels"
        )
    stride = (options.StrideH(), options.StrideW())
    dilation = (options.DilationHFactor(), options.DilationWFactor())
    # TFLite's output channel c*multiplier+m reads input channel c, which is ONNX's grouped-conv order.
    onnx_weights = weights.reshape(kernel_h, kernel_w, out_channels).transpose(2, 0, 1)[:, None, :, :]
    inputs = [
        builder.value(op.inputs[0], channels_first=True),
        builder.add_initializer(onnx_weights, f"{builder.tensor(op.inputs[1]).name}/oihw"),
        builder.add_initializer(_bias(builder, op, out_channels), f"{builder.tensor(op.outputs[0]).name}/bias"),
    ]
    _emit_with_activation(
        builder, op, "Conv", inputs, True, options.FusedActivationFunction(),
        kernel_shape=[kernel_h, kernel_w], strides=list(stride), dilations=list(dilation), group=in_channels,
        pads=_spatial_pads(builder, op, op.inputs[0], (kernel_h, kernel_w), stride, dilation, options.Padding()),
    )


def convert_max_pool_2d(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    kernel = (options.FilterHeight(), options.FilterWidth())
    stride = (options.StrideH(), options.StrideW())
    # ONNX MaxPool ignores padded cells, like TFLite's SAME max pooling.
    _emit_with_activation(
        builder, op, "MaxPool", [builder.value(op.inputs[0], channels_first=True)], True,
        options.FusedActivationFunction(),
        kernel_shape=list(kernel), strides=list(stride),
        pads=_spatial_pads(builder, op, op.inputs[0], kernel, stride, (1, 1), options.Padding()),
    )


def convert_average_pool_2d(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    kernel = (options.FilterHeight(), options.FilterWidth())
    stride = (options.StrideH(), options.StrideW())
    _, height, width, _ = builder.tensor(op.inputs[0]).shape
    source = builder.value(op.inputs[0], channels_first=True)
    if kernel == (height, width) and options.Padding() == tflite.Padding.VALID:
        # MediaPipe's squeeze-and-excitation blocks pool the whole map: one global average, which
        # onnxruntime runs in its blocked layout.
        _emit_with_activation(builder, op, "GlobalAveragePool", [source], True, options.FusedActivationFunction())
        return
    # TFLite's SAME average pooling divides by the number of cells inside the image, not the window
    # size: ONNX count_include_pad=0.
    _emit_with_activation(
        builder, op, "AveragePool", [source], True, options.FusedActivationFunction(),
        kernel_shape=list(kernel), strides=list(stride), count_include_pad=0,
        pads=_spatial_pads(builder, op, op.inputs[0], kernel, stride, (1, 1), options.Padding()),
    )


def convert_hard_swish(builder: GraphBuilder, op: Operator) -> None:
    # TFLite: x * relu6(x + 3) / 6; ONNX HardSwish: x * clip(x / 6 + 0.5, 0, 1), the same function.
    channels_first = builder.is_channels_first(op.inputs[0])
    builder.add_node(
        "HardSwish", [builder.value(op.inputs[0], channels_first)], builder.output_name(op.outputs[0], channels_first)
    )


# TfLitePadding (tensorflow/lite/core/c/builtin_op_data.h), the enum MediaPipe's custom kernels read.
_TFLITE_C_PADDING = {1: "SAME", 2: "VALID"}


def convert_convolution_2d_transpose_bias(builder: GraphBuilder, op: Operator) -> None:
    """MediaPipe's ``Convolution2DTransposeBias``: TRANSPOSE_CONV with a bias, as one ONNX ConvTranspose.

    Facts from MediaPipe's kernel (``mediapipe/util/tflite/operations/transpose_conv_bias.cc``):
    inputs are the NHWC activation, the filter ``[out, kh, kw, in]`` and a bias ``[out]``; the
    custom options are the raw C struct ``TfLiteTransposeConvParams`` (int32 padding, stride_width,
    stride_height); the output shape is the output tensor's static shape and the padding is
    TensorFlow's, computed as for the forward convolution from output size back to input size.
    """
    if len(op.custom_options) < 12:
        raise ConversionError(
            f"{builder.model.name}: {op.name} #{op.position} has {len(op.custom_options)} bytes of options, "
            "expected 12 (padding, stride_width, stride_height)"
        )
    padding_code, stride_w, stride_h = (int(v) for v in np.frombuffer(op.custom_options[:12], "<i4"))
    padding = _TFLITE_C_PADDING.get(padding_code)
    if padding is None or stride_w < 1 or stride_h < 1:
        raise ConversionError(
            f"{builder.model.name}: {op.name} #{op.position} has padding code {padding_code} and strides "
            f"{stride_h}x{stride_w}, which are not supported"
        )
    weights = _float_weights(builder, op, op.inputs[1], "filter")  # [out, kh, kw, in]
    out_channels, kernel_h, kernel_w, _ = weights.shape
    bias = _float_weights(builder, op, op.inputs[2], "bias").reshape(-1)
    _, in_h, in_w, _ = builder.tensor(op.inputs[0]).shape
    _, out_h, out_w, _ = builder.tensor(op.outputs[0]).shape
    pads: list[int] = []
    output_padding: list[int] = []
    for size_in, size_out, kernel, stride in ((in_h, out_h, kernel_h, stride_h), (in_w, out_w, kernel_w, stride_w)):
        total = max((size_in - 1) * stride + kernel - size_out, 0) if padding == "SAME" else 0
        pads.append(total // 2)
        full = (size_in - 1) * stride + kernel - total
        if not 0 <= size_out - full < stride:
            raise ConversionError(
                f"{builder.model.name}: {op.name} #{op.position} output size {size_out} does not follow from "
                f"input size {size_in}, kernel {kernel} and stride {stride}"
            )
        # The pixels TensorFlow's output shape keeps past the last full window (zero input there).
        output_padding.append(size_out - full)
        pads.append(total - total // 2)
    builder.add_node(
        "ConvTranspose",
        [
            builder.value(op.inputs[0], channels_first=True),
            # ONNX ConvTranspose wants [in, out, kh, kw].
            builder.add_initializer(weights.transpose(3, 0, 1, 2), f"{builder.tensor(op.inputs[1]).name}/iohw"),
            builder.add_initializer(
                np.broadcast_to(bias, (out_channels,)).astype(np.float32), f"{builder.tensor(op.outputs[0]).name}/bias"
            ),
        ],
        builder.output_name(op.outputs[0], channels_first=True),
        kernel_shape=[kernel_h, kernel_w], strides=[stride_h, stride_w],
        pads=[pads[0], pads[2], pads[1], pads[3]], output_padding=output_padding,
    )


def _elementwise_binary(onnx_op: str) -> OperatorConverter:
    def convert(builder: GraphBuilder, op: Operator) -> None:
        channels_first = _broadcast_layout(builder, op.inputs)
        inputs = [_operand(builder, i, channels_first) for i in op.inputs]
        _emit_with_activation(builder, op, onnx_op, inputs, channels_first, _activation_of(op))

    return convert


def _elementwise_unary(onnx_op: str) -> OperatorConverter:
    def convert(builder: GraphBuilder, op: Operator) -> None:
        channels_first = builder.is_channels_first(op.inputs[0])
        output = builder.output_name(op.outputs[0], channels_first)
        builder.add_node(onnx_op, [builder.value(op.inputs[0], channels_first)], output)

    return convert


def convert_prelu(builder: GraphBuilder, op: Operator) -> None:
    channels_first = _broadcast_layout(builder, op.inputs)
    alpha = builder.constant(op.inputs[1])
    channels = builder.tensor(op.inputs[0]).shape[-1]
    if channels_first and alpha is not None and _is_per_channel(alpha, channels):
        _prelu_as_depthwise_convs(builder, op, np.broadcast_to(alpha.reshape(-1), (channels,)))
        return
    inputs = [_operand(builder, i, channels_first) for i in op.inputs]
    builder.add_node("PRelu", inputs, builder.output_name(op.outputs[0], channels_first))


def _is_per_channel(alpha: np.ndarray, channels: int) -> bool:
    """Whether a PReLU slope is one value per channel (or a single shared value)."""
    return alpha.size in (1, channels) and (alpha.ndim == 0 or alpha.shape[-1] == alpha.size)


def _prelu_as_depthwise_convs(builder: GraphBuilder, op: Operator, alpha: np.ndarray) -> None:
    """Per-channel PReLU as ``alpha * x + (1 - alpha) * relu(x)`` with two 1x1 depthwise convolutions.

    onnxruntime's CPU PRelu is a generic broadcasting kernel that also forces its blocked (NCHWc)
    convolution layout back to plain NCHW around every PReLU; on MediaPipe's models that made the
    ONNX graph 2-4x slower than TFLite. Relu, Conv and Add all stay in the blocked layout, and the
    Add is fused into the second convolution.
    """
    channels = alpha.size
    name = builder.tensor(op.outputs[0]).name
    source = builder.value(op.inputs[0], channels_first=True)

    def depthwise_scale(value: str, scale: np.ndarray, label: str) -> str:
        weights = builder.add_initializer(scale.reshape(channels, 1, 1, 1).astype(np.float32), f"{name}/{label}")
        return builder.add_node(
            "Conv", [value, weights], builder.unique_name(f"{name}/{label}_x"), group=channels, kernel_shape=[1, 1]
        )

    if np.all(alpha <= 1):
        # With 1 - alpha >= 0, (1 - alpha) * relu(x) == relu((1 - alpha) * x): the Relu fuses into the conv.
        positive_part = builder.add_node(
            "Relu", [depthwise_scale(source, 1 - alpha, "one_minus_alpha")], builder.unique_name(f"{name}/relu")
        )
    else:
        rectified = builder.add_node("Relu", [source], builder.unique_name(f"{name}/relu"))
        positive_part = depthwise_scale(rectified, 1 - alpha, "one_minus_alpha")
    negative_part = depthwise_scale(source, alpha, "alpha")
    builder.add_node("Add", [negative_part, positive_part], builder.output_name(op.outputs[0], True))


def convert_pad(builder: GraphBuilder, op: Operator) -> None:
    paddings = builder.require_constant(op.inputs[1], "paddings", f"PAD #{op.position}").astype(np.int64)
    channels_first = builder.rank(op.inputs[0]) == 4 and builder.is_channels_first(op.inputs[0])
    if channels_first and not paddings[:3].any():
        _channel_padding_as_conv(builder, op, int(paddings[3, 0]), int(paddings[3, 1]))
        return
    if channels_first:
        paddings = paddings[list(NHWC_TO_NCHW)]
    # ONNX wants all begins then all ends; TFLite stores (begin, end) per axis.
    pads = builder.add_initializer(paddings.T.reshape(-1), f"{builder.tensor(op.outputs[0]).name}/pads")
    builder.add_node(
        "Pad",
        [builder.value(op.inputs[0], channels_first), pads],
        builder.output_name(op.outputs[0], channels_first),
        mode="constant",
    )


def _channel_padding_as_conv(builder: GraphBuilder, op: Operator, before: int, after: int) -> None:
    """Zero channels added around a channels-first tensor, as a 1x1 convolution with identity weights.

    MediaPipe's residual blocks widen their shortcut this way. onnxruntime has no blocked-layout
    (NCHWc) Pad, so a Pad there costs two layout reorders and keeps the residual Add out of the
    convolution; the 1x1 convolution stays blocked, absorbs the Add and is exact (x * 1 + 0).
    """
    channels = builder.tensor(op.inputs[0]).shape[3]
    weights = np.zeros((before + channels + after, channels, 1, 1), np.float32)
    weights[np.arange(channels) + before, np.arange(channels)] = 1.0
    builder.add_node(
        "Conv",
        [
            builder.value(op.inputs[0], channels_first=True),
            builder.add_initializer(weights, f"{builder.tensor(op.outputs[0]).name}/channel_padding"),
        ],
        builder.output_name(op.outputs[0], channels_first=True),
        kernel_shape=[1, 1],
    )


def convert_resize_bilinear(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    size = builder.require_constant(op.inputs[1], "size", f"RESIZE_BILINEAR #{op.position}").astype(np.int64)
    batch, _, _, channels = builder.tensor(op.inputs[0]).shape
    if options.AlignCorners():
        mode = "align_corners"
    elif options.HalfPixelCenters():
        # TFLite samples at (out + 0.5) * scale - 0.5 clamped into the image, which is ONNX half_pixel.
        mode = "half_pixel"
    else:
        mode = "asymmetric"
    source = builder.value(op.inputs[0], channels_first=True)
    sizes = builder.batch_shape([batch, channels, size[0], size[1]], source, f"{builder.tensor(op.outputs[0]).name}/sizes")
    builder.add_node(
        "Resize",
        [source, "", "", sizes],
        builder.output_name(op.outputs[0], channels_first=True),
        mode="linear",
        coordinate_transformation_mode=mode,
    )


def convert_reshape(builder: GraphBuilder, op: Operator) -> None:
    # The target shape is the output tensor's static shape, which TFLite resolves from either the
    # shape input or the options (including any -1), so neither needs to be read here.
    target = builder.tensor(op.outputs[0]).shape
    builder.require_batch_preserving(builder.tensor(op.inputs[0]).shape, f"RESHAPE #{op.position}")
    source = builder.value(op.inputs[0], channels_first=False)
    shape = builder.batch_shape(target, source, f"{builder.tensor(op.outputs[0]).name}/shape")
    builder.add_node(
        "Reshape",
        [source, shape],
        builder.output_name(op.outputs[0], channels_first=False),
    )


def convert_concatenation(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    rank = builder.rank(op.outputs[0])
    axis = options.Axis() % rank
    builder.require_batch_preserving(builder.tensor(op.outputs[0]).shape, f"CONCATENATION #{op.position}", axis != 0)
    channels_first = _broadcast_layout(builder, op.inputs)
    if channels_first:
        axis = NHWC_TO_NCHW.index(axis)
    inputs = [builder.value(i, channels_first) for i in op.inputs]
    _emit_with_activation(
        builder, op, "Concat", inputs, channels_first, options.FusedActivationFunction(), axis=axis
    )


def convert_mean(builder: GraphBuilder, op: Operator) -> None:
    rank = builder.rank(op.inputs[0])
    axes = [int(a) % rank for a in np.ravel(builder.require_constant(op.inputs[1], "axes", f"MEAN #{op.position}"))]
    builder.require_batch_preserving(builder.tensor(op.inputs[0]).shape, f"MEAN #{op.position}", 0 not in axes)
    keep_dims = bool(op.options.KeepDims()) if op.options is not None else False
    channels_first = rank == 4 and builder.is_channels_first(op.inputs[0])
    source = builder.value(op.inputs[0], channels_first)
    onnx_axes = sorted(NHWC_TO_NCHW.index(a) for a in axes) if channels_first else sorted(axes)
    if keep_dims or not channels_first:
        builder.add_node(
            "ReduceMean", [source], builder.output_name(op.outputs[0], channels_first),
            axes=onnx_axes, keepdims=int(keep_dims),
        )
        return
    # Dropping axes from NCHW leaves the survivors in NCHW order; restore TFLite's order if it differs.
    survivors = [NHWC_TO_NCHW[i] for i in range(4) if i not in onnx_axes]
    order = [sorted(survivors).index(a) for a in survivors]
    if order == sorted(order):
        builder.add_node(
            "ReduceMean", [source], builder.output_name(op.outputs[0], False), axes=onnx_axes, keepdims=0
        )
        return
    reduced = builder.add_node("ReduceMean", [source], None, axes=onnx_axes, keepdims=0)
    inverse = [order.index(i) for i in range(len(order))]
    builder.add_node("Transpose", [reduced], builder.output_name(op.outputs[0], False), perm=inverse)


def convert_fully_connected(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    weights = _float_weights(builder, op, op.inputs[1], "weights")  # [out, in]
    out_features, in_features = weights.shape
    source = builder.value(op.inputs[0], channels_first=False)
    input_shape = builder.tensor(op.inputs[0]).shape
    if len(input_shape) != 2:
        flat_shape = builder.add_initializer(np.array([-1, in_features], np.int64), "fully_connected/flat_shape")
        source = builder.add_node("Reshape", [source, flat_shape])
    inputs = [
        source,
        builder.add_initializer(weights, builder.tensor(op.inputs[1]).name),
        builder.add_initializer(_bias(builder, op, out_features), f"{builder.tensor(op.outputs[0]).name}/bias"),
    ]
    output_shape = builder.tensor(op.outputs[0]).shape
    if len(output_shape) == 2:
        _emit_with_activation(builder, op, "Gemm", inputs, False, options.FusedActivationFunction(), transB=1)
        return
    product = builder.add_node("Gemm", inputs, None, transB=1)
    activated = _apply_activation(builder, op, product, options.FusedActivationFunction(), builder.unique_name("fc"))
    shape = builder.batch_shape(output_shape, activated, "fully_connected/output_shape")
    builder.add_node("Reshape", [activated, shape], builder.output_name(op.outputs[0], False))


def convert_dequantize(builder: GraphBuilder, op: Operator) -> None:
    source = builder.tensor(op.inputs[0])
    constant = builder.constant(op.inputs[0])
    if constant is not None:
        # Weights: fold now. float16 -> float32 is exact, as in TFLite's own dequantization.
        if constant.dtype == np.float16:
            builder.set_constant(op.outputs[0], constant.astype(np.float32))
            return
        quantization = source.quantization
        if quantization is None:
            raise ConversionError(
                f"{builder.model.name}: DEQUANTIZE #{op.position} input '{source.name}' has no quantization parameters"
            )
        shape = [1] * constant.ndim
        if quantization.scale.size > 1:
            shape[quantization.axis] = quantization.scale.size
        real = (constant.astype(np.float32) - quantization.zero_point.reshape(shape)) * quantization.scale.reshape(
            shape
        )
        builder.set_constant(op.outputs[0], real.astype(np.float32))
        return
    if source.dtype != np.float16:
        raise ConversionError(
            f"{builder.model.name}: DEQUANTIZE #{op.position} of run-time {source.dtype} tensor '{source.name}' "
            "is not supported (integer-quantized activations)"
        )
    channels_first = builder.is_channels_first(op.inputs[0])
    builder.add_node(
        "Cast", [builder.value(op.inputs[0], channels_first)], builder.output_name(op.outputs[0], channels_first),
        to=TensorProto.FLOAT,
    )


def _slice_bounds(
    builder: GraphBuilder, op: Operator, shape: tuple[int, ...], begin: np.ndarray, end: np.ndarray,
    strides: np.ndarray, begin_mask: int, end_mask: int, shrink_mask: int,
) -> tuple[list[int], list[int], list[int]]:
    """TFLite's begin/end/stride per axis resolved against the static shape into ONNX Slice bounds.

    Resolving here (rather than passing masks on) keeps ONNX's end clamping out of the picture: a
    negative-stride slice that runs past index 0 gets int64's minimum, which ONNX clamps to -1.
    """
    starts, ends, steps = [], [], []
    for axis, size in enumerate(shape):
        stride = int(strides[axis])
        if stride == 0:
            raise ConversionError(f"{builder.model.name}: STRIDED_SLICE #{op.position} has a zero stride")
        low, high = (0, size) if stride > 0 else (-1, size - 1)
        start = int(begin[axis])
        start = start + size if start < 0 else start
        start = (0 if stride > 0 else size - 1) if begin_mask >> axis & 1 else min(max(start, low), high)
        if shrink_mask >> axis & 1:
            # TFLite takes the single element at begin (its masks do not apply to shrunk axes).
            start, stop, stride = int(begin[axis]) % size, int(begin[axis]) % size + 1, 1
        else:
            stop = int(end[axis])
            stop = stop + size if stop < 0 else stop
            stop = (size if stride > 0 else -1) if end_mask >> axis & 1 else min(max(stop, low), high)
        if axis == 0 and builder.dynamic_batch:
            # The batch axis must be kept whole: every item of the batch goes through.
            builder.require_batch_preserving(shape, f"STRIDED_SLICE #{op.position}",
                                             start == 0 and stop == size and stride == 1 and not shrink_mask & 1)
            stop = np.iinfo(np.int64).max
        starts.append(start)
        ends.append(np.iinfo(np.int64).min if stop < 0 else stop)
        steps.append(stride)
    return starts, ends, steps


def convert_strided_slice(builder: GraphBuilder, op: Operator) -> None:
    options = op.options
    where = f"STRIDED_SLICE #{op.position}"
    if options.EllipsisMask() or options.NewAxisMask():
        raise ConversionError(
            f"{builder.model.name}: {where} uses ellipsis_mask/new_axis_mask, which are not supported"
        )
    shape = builder.tensor(op.inputs[0]).shape
    begin, end, strides = (
        np.ravel(builder.require_constant(i, role, where))
        for i, role in zip(op.inputs[1:4], ("begin", "end", "strides"), strict=True)
    )
    if not len(begin) == len(end) == len(strides) == len(shape):
        raise ConversionError(f"{builder.model.name}: {where} slices {len(begin)} of {len(shape)} axes")
    shrink_mask = options.ShrinkAxisMask()
    starts, ends, steps = _slice_bounds(
        builder, op, shape, begin, end, strides, options.BeginMask(), options.EndMask(), shrink_mask
    )
    # A channels-first 4-D input is sliced in place (axes permuted) unless axes are dropped.
    channels_first = len(shape) == 4 and builder.is_channels_first(op.inputs[0]) and shrink_mask == 0
    order = list(NHWC_TO_NCHW) if channels_first else list(range(len(shape)))
    name = builder.tensor(op.outputs[0]).name
    inputs = [builder.value(op.inputs[0], channels_first)] + [
        builder.add_initializer(np.array([values[a] for a in order], np.int64), f"{name}/{role}")
        for values, role in ((starts, "starts"), (ends, "ends"), (steps, "steps"))
    ]
    inputs.insert(3, builder.add_initializer(np.arange(len(shape), dtype=np.int64), f"{name}/axes"))
    if shrink_mask == 0:
        builder.add_node("Slice", inputs, builder.output_name(op.outputs[0], channels_first))
        return
    sliced = builder.add_node("Slice", inputs, None)
    axes = builder.add_initializer(
        np.array([a for a in range(len(shape)) if shrink_mask >> a & 1], np.int64), f"{name}/squeeze_axes"
    )
    builder.add_node("Squeeze", [sliced, axes], builder.output_name(op.outputs[0], False))


def convert_depth_to_space(builder: GraphBuilder, op: Operator) -> None:
    # TFLite's output[h * b + i, w * b + j, c] = input[h, w, (i * b + j) * C + c] is ONNX's DCR order.
    builder.add_node(
        "DepthToSpace",
        [builder.value(op.inputs[0], channels_first=True)],
        builder.output_name(op.outputs[0], channels_first=True),
        blocksize=op.options.BlockSize(),
        mode="DCR",
    )


def convert_densify(builder: GraphBuilder, op: Operator) -> None:
    # The reader already decoded the sparse constant (flatbuffer.py), so DENSIFY is a pass-through.
    dense = builder.require_constant(op.inputs[0], "sparse input", f"DENSIFY #{op.position}")
    builder.set_constant(op.outputs[0], dense)


CONVERTERS: dict[str, OperatorConverter] = {
    "ADD": _elementwise_binary("Add"),
    "AVERAGE_POOL_2D": convert_average_pool_2d,
    "CONCATENATION": convert_concatenation,
    "CONV_2D": convert_conv_2d,
    "CUSTOM:Convolution2DTransposeBias": convert_convolution_2d_transpose_bias,
    "DENSIFY": convert_densify,
    "DEPTH_TO_SPACE": convert_depth_to_space,
    "DEPTHWISE_CONV_2D": convert_depthwise_conv_2d,
    "DEQUANTIZE": convert_dequantize,
    "FULLY_CONNECTED": convert_fully_connected,
    "HARD_SWISH": convert_hard_swish,
    "LOGISTIC": _elementwise_unary("Sigmoid"),
    "MAX_POOL_2D": convert_max_pool_2d,
    "MEAN": convert_mean,
    "MUL": _elementwise_binary("Mul"),
    "PAD": convert_pad,
    "PRELU": convert_prelu,
    "RELU": _elementwise_unary("Relu"),
    "RESHAPE": convert_reshape,
    "RESIZE_BILINEAR": convert_resize_bilinear,
    "STRIDED_SLICE": convert_strided_slice,
}
