"""MediaPipe's custom TFLite operators of the attention face mesh, expressed in standard ONNX ops (opset 17).

``face_landmark_with_attention.tflite`` crops feature maps around the lips and eyes inside the
network: ``Landmarks2TransformMatrix`` turns predicted landmarks into a crop matrix,
``TransformTensorBilinear`` samples the feature map through it and ``TransformLandmarks`` maps the
crop's landmarks back. The formulas are those of MediaPipe's CPU kernels (version 2 of each, the
one the model uses), ``mediapipe/util/tflite/operations/landmarks_to_transform_matrix.cc``,
``transform_tensor_bilinear.cc`` and ``transform_landmarks.cc``; their options are flexbuffer maps.
"""

from __future__ import annotations

import numpy as np
from flatbuffers import flexbuffers

from livepose.converters.errors import ConversionError
from livepose.converters.tflite.flatbuffer import Operator
from livepose.converters.tflite.graph import GraphBuilder
from livepose.converters.tflite.operators import OperatorConverter


def _options(builder: GraphBuilder, op: Operator, required: tuple[str, ...]) -> dict[str, object]:
    options = flexbuffers.Loads(op.custom_options) if op.custom_options else {}
    if not isinstance(options, dict):
        raise ConversionError(f"{builder.model.name}: {op.name} #{op.position} options are not a flexbuffer map")
    missing = [key for key in required if key not in options]
    if missing:
        raise ConversionError(f"{builder.model.name}: {op.name} #{op.position} options lack {', '.join(missing)}")
    return options


def _const(builder: GraphBuilder, value: object, name: str, dtype: type = np.float32) -> str:
    return builder.add_initializer(np.asarray(value, dtype), name)


def _column(builder: GraphBuilder, source: str, index: int, name: str) -> str:
    """``source[..., index]`` keeping the axis (Gather with a 1-element index)."""
    return builder.add_node("Gather", [source, _const(builder, [index], f"{name}/index", np.int64)], axis=-1)


def convert_landmarks_to_transform_matrix(builder: GraphBuilder, op: Operator) -> None:
    """``Landmarks2TransformMatrix`` v2: the 4x4 matrix mapping crop pixels to feature-map pixels.

    The kernel rotates the subset of landmarks by ``r = target - atan2(right - left)``, takes their
    bounding box, rotates its centre back and composes shift(centre) * rotate(-r) *
    scale(scale * box / output size) * shift(-output size / 2). ONNX has no atan2, so cos r and
    sin r come from the normalised left-to-right vector by the angle-difference identities.
    """
    options = _options(
        builder, op,
        ("left_rotation_idx", "right_rotation_idx", "output_height", "output_width", "scale_x", "scale_y",
         "subset_idxs"),
    )
    if builder.rank(op.inputs[0]) != 3:
        raise ConversionError(f"{builder.model.name}: {op.name} #{op.position} expects landmarks [1, N, 3]")
    name = builder.tensor(op.outputs[0]).name
    landmarks = builder.value(op.inputs[0], channels_first=False)  # [1, N, 3]

    def point(index: int, label: str) -> tuple[str, str]:
        position = _const(builder, [int(index)], f"{name}/{label}", np.int64)
        row = builder.add_node("Gather", [landmarks, position], axis=1)
        return _column(builder, row, 0, f"{name}/{label}_x"), _column(builder, row, 1, f"{name}/{label}_y")

    left_x, left_y = point(int(options["left_rotation_idx"]), "left")
    right_x, right_y = point(int(options["right_rotation_idx"]), "right")
    dx = builder.add_node("Sub", [right_x, left_x])  # [1, 1, 1]
    dy = builder.add_node("Sub", [right_y, left_y])
    length = builder.add_node("Sqrt", [builder.add_node("Add", [builder.add_node("Mul", [dx, dx]),
                                                                 builder.add_node("Mul", [dy, dy])])])
    cos_t = builder.add_node("Div", [dx, length])
    sin_t = builder.add_node("Div", [dy, length])
    target = float(options.get("target_rotation_radians", 0.0))
    cos_target, sin_target = _const(builder, np.cos(target), f"{name}/cos_target"), _const(
        builder, np.sin(target), f"{name}/sin_target"
    )
    # r = target - theta: cos r = cos target cos theta + sin target sin theta, sin r = sin target cos theta - ...
    cos_r = builder.add_node("Add", [builder.add_node("Mul", [cos_target, cos_t]),
                                     builder.add_node("Mul", [sin_target, sin_t])])
    sin_r = builder.add_node("Sub", [builder.add_node("Mul", [sin_target, cos_t]),
                                     builder.add_node("Mul", [cos_target, sin_t])])

    subset = _const(builder, np.ravel(np.asarray(options["subset_idxs"], np.int64)), f"{name}/subset", np.int64)
    points = builder.add_node("Gather", [landmarks, subset], axis=1)  # [1, M, 3]
    xs, ys = _column(builder, points, 0, f"{name}/xs"), _column(builder, points, 1, f"{name}/ys")
    rotated_x = builder.add_node("Sub", [builder.add_node("Mul", [cos_r, xs]), builder.add_node("Mul", [sin_r, ys])])
    rotated_y = builder.add_node("Add", [builder.add_node("Mul", [sin_r, xs]), builder.add_node("Mul", [cos_r, ys])])

    def extent(values: str) -> tuple[str, str]:
        high = builder.add_node("ReduceMax", [values], axes=[1], keepdims=1)
        low = builder.add_node("ReduceMin", [values], axes=[1], keepdims=1)
        return builder.add_node("Sub", [high, low]), builder.add_node(
            "Mul", [builder.add_node("Add", [high, low]), _const(builder, 0.5, f"{name}/half")]
        )

    width, mid_x = extent(rotated_x)
    height, mid_y = extent(rotated_y)
    # The box centre back in landmark space: rotate(-r) = [[cos r, sin r], [-sin r, cos r]].
    centre_x = builder.add_node(
        "Add", [builder.add_node("Mul", [cos_r, mid_x]), builder.add_node("Mul", [sin_r, mid_y])]
    )
    centre_y = builder.add_node(
        "Sub", [builder.add_node("Mul", [cos_r, mid_y]), builder.add_node("Mul", [sin_r, mid_x])]
    )
    out_w, out_h = float(options["output_width"]), float(options["output_height"])
    scale_x = builder.add_node("Mul", [width, _const(builder, float(options["scale_x"]) / out_w, f"{name}/scale_x")])
    scale_y = builder.add_node("Mul", [height, _const(builder, float(options["scale_y"]) / out_h, f"{name}/scale_y")])
    # Linear part rotate(-r) * scale and the translation centre - linear * (out_w / 2, out_h / 2).
    m00 = builder.add_node("Mul", [cos_r, scale_x])
    m01 = builder.add_node("Mul", [sin_r, scale_y])
    m10 = builder.add_node("Neg", [builder.add_node("Mul", [sin_r, scale_x])])
    m11 = builder.add_node("Mul", [cos_r, scale_y])
    half_w, half_h = _const(builder, out_w / 2.0, f"{name}/half_w"), _const(builder, out_h / 2.0, f"{name}/half_h")

    def translation(centre: str, a: str, b: str) -> str:
        offset = builder.add_node("Add", [builder.add_node("Mul", [a, half_w]), builder.add_node("Mul", [b, half_h])])
        return builder.add_node("Sub", [centre, offset])

    t0, t1 = translation(centre_x, m00, m01), translation(centre_y, m10, m11)
    # The constant entries take the batch of the computed ones, so that the 16 can be concatenated.
    entry_shape = builder.add_node("Shape", [cos_r])
    zero, one = (builder.add_node("Expand", [_const(builder, np.full((1, 1, 1), value), f"{name}/{label}"), entry_shape])
                 for value, label in ((0.0, "zero"), (1.0, "one")))
    entries = [m00, m01, zero, t0, m10, m11, zero, t1, zero, zero, one, zero, zero, zero, zero, one]
    flat = builder.add_node("Concat", entries, axis=2)  # [1, 1, 16]
    builder.add_node(
        "Reshape", [flat, builder.batch_shape([1, 4, 4], flat, f"{name}/shape")],
        builder.output_name(op.outputs[0], channels_first=False),
    )


def _affine_rows(builder: GraphBuilder, matrix: str, name: str) -> str:
    """The first two rows of a [1, 4, 4] matrix without its z column: [1, 2, 3] acting on (x, y, 1)."""
    rows = builder.add_node(
        "Slice",
        [matrix, _const(builder, [0], f"{name}/starts", np.int64), _const(builder, [2], f"{name}/ends", np.int64),
         _const(builder, [1], f"{name}/axes", np.int64)],
    )
    return builder.add_node("Gather", [rows, _const(builder, [0, 1, 3], f"{name}/xyw", np.int64)], axis=2)


def convert_transform_tensor_bilinear(builder: GraphBuilder, op: Operator) -> None:
    """``TransformTensorBilinear`` v2: bilinear sampling of an NHWC tensor through a crop matrix.

    Output pixel (x, y) reads input position M * (x + 0.5, y + 0.5) - 0.5 (the kernel's half-pixel
    correction); positions outside [0, W-1] x [0, H-1] give 0, inside it is plain bilinear, which is
    GridSample with align_corners=1 followed by a mask of the in-bounds positions.
    """
    _, in_h, in_w, _ = builder.tensor(op.inputs[0]).shape
    _, out_h, out_w, _ = builder.tensor(op.outputs[0]).shape
    name = builder.tensor(op.outputs[0]).name
    affine = _affine_rows(builder, builder.value(op.inputs[1], channels_first=False), name)
    ys, xs = np.meshgrid(np.arange(out_h, dtype=np.float32), np.arange(out_w, dtype=np.float32), indexing="ij")
    pixels = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5, np.ones(out_h * out_w, np.float32)])  # [3, P]
    positions = builder.add_node("MatMul", [affine, _const(builder, pixels, f"{name}/pixels")])  # [1, 2, P]
    positions = builder.add_node("Transpose", [positions], perm=[0, 2, 1])  # [1, P, 2]
    # Pixel positions to GridSample's [-1, 1] with align_corners=1: p * 2 / (size - 1) - 1, after the -0.5.
    gains = np.array([2.0 / max(in_w - 1, 1), 2.0 / max(in_h - 1, 1)], np.float32)
    grid = builder.add_node(
        "Sub", [builder.add_node("Mul", [positions, _const(builder, gains, f"{name}/gains")]),
                _const(builder, 1.0 + 0.5 * gains, f"{name}/offsets")],
    )
    grid = builder.add_node("Reshape", [grid, builder.batch_shape([1, out_h, out_w, 2], grid, f"{name}/grid_shape")])
    sampled = builder.add_node(
        "GridSample", [builder.value(op.inputs[0], channels_first=True), grid],
        align_corners=1, mode="bilinear", padding_mode="zeros",
    )
    inside = builder.add_node("LessOrEqual", [builder.add_node("ReduceMax", [builder.add_node("Abs", [grid])],
                                                                axes=[3], keepdims=0),
                                               _const(builder, 1.0, f"{name}/bound")])
    mask = builder.add_node("Unsqueeze", [builder.add_node("Cast", [inside], to=1),
                                          _const(builder, [1], f"{name}/channel_axis", np.int64)])
    builder.add_node("Mul", [sampled, mask], builder.output_name(op.outputs[0], channels_first=True))


def convert_transform_landmarks(builder: GraphBuilder, op: Operator) -> None:
    """``TransformLandmarks`` v2: (x, y) -> M * (x, y, 0, 1) for landmarks [1, N, 2 or 3]; z passes through."""
    shape = builder.tensor(op.inputs[0]).shape
    if len(shape) != 3 or shape[-1] not in (2, 3):
        raise ConversionError(f"{builder.model.name}: {op.name} #{op.position} expects landmarks [1, N, 2 or 3]")
    name = builder.tensor(op.outputs[0]).name
    landmarks = builder.value(op.inputs[0], channels_first=False)
    affine = _affine_rows(builder, builder.value(op.inputs[1], channels_first=False), name)  # [1, 2, 3]
    xy = landmarks if shape[-1] == 2 else builder.add_node(
        "Slice", [landmarks, _const(builder, [0], f"{name}/xy_start", np.int64),
                  _const(builder, [2], f"{name}/xy_end", np.int64), _const(builder, [2], f"{name}/xy_axis", np.int64)],
    )
    ones = builder.add_node(
        "Expand", [_const(builder, np.ones((1, 1, 1)), f"{name}/one"),
                   builder.batch_shape([1, shape[1], 1], xy, f"{name}/ones_shape")],
    )
    homogeneous = builder.add_node("Concat", [xy, ones], axis=2)  # [1, N, 3]
    output = builder.output_name(op.outputs[0], channels_first=False)
    if shape[-1] == 2:
        builder.add_node("MatMul", [homogeneous, builder.add_node("Transpose", [affine], perm=[0, 2, 1])], output)
        return
    moved = builder.add_node("MatMul", [homogeneous, builder.add_node("Transpose", [affine], perm=[0, 2, 1])])
    z = _column(builder, landmarks, 2, f"{name}/z")
    builder.add_node("Concat", [moved, z], output, axis=2)


CONVERTERS: dict[str, OperatorConverter] = {
    "CUSTOM:Landmarks2TransformMatrix": convert_landmarks_to_transform_matrix,
    "CUSTOM:TransformLandmarks": convert_transform_landmarks,
    "CUSTOM:TransformTensorBilinear": convert_transform_tensor_bilinear,
}
