"""Read a .tflite flatbuffer into plain Python objects.

The flatbuffer accessors come from the ``tflite`` package (generated schema bindings); everything
the converter needs is copied out here once so the rest of the code never touches flatbuffer tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tflite

from livepose.converters.errors import ConversionError

_OPERATOR_NAMES: dict[int, str] = {
    value: name for name, value in vars(tflite.BuiltinOperator).items() if not name.startswith("_")
}
_OPTIONS_CLASS_NAMES: dict[int, str] = {
    value: name for name, value in vars(tflite.BuiltinOptions).items() if not name.startswith("_")
}
_TENSOR_DTYPES: dict[int, np.dtype] = {
    tflite.TensorType.FLOAT32: np.dtype(np.float32),
    tflite.TensorType.FLOAT16: np.dtype(np.float16),
    tflite.TensorType.FLOAT64: np.dtype(np.float64),
    tflite.TensorType.INT8: np.dtype(np.int8),
    tflite.TensorType.UINT8: np.dtype(np.uint8),
    tflite.TensorType.INT16: np.dtype(np.int16),
    tflite.TensorType.INT32: np.dtype(np.int32),
    tflite.TensorType.INT64: np.dtype(np.int64),
    tflite.TensorType.BOOL: np.dtype(np.bool_),
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of a tensor: real = (stored - zero_point) * scale, per tensor or per axis."""

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: np.ndarray | None  # constant contents (weights); None for activations
    quantization: Quantization | None


@dataclass(frozen=True)
class Operator:
    position: int
    name: str  # BuiltinOperator name, e.g. "CONV_2D"; "CUSTOM:<code>" for custom operators
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: Any  # the tflite.<Name>Options accessor, or None
    # A custom operator's raw option bytes (its kernel's own format, e.g. a C struct), else empty.
    custom_options: bytes = b""


@dataclass(frozen=True)
class TfliteModel:
    name: str
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def read_tflite(content: bytes, name: str) -> TfliteModel:
    """Parse the first subgraph of a .tflite flatbuffer (MediaPipe's models have exactly one)."""
    if len(content) < 8 or content[4:8] != b"TFL3":
        raise ConversionError(f"{name}: not a TFLite flatbuffer (missing 'TFL3' identifier)")
    model = tflite.Model.GetRootAsModel(content, 0)
    if model.SubgraphsLength() != 1:
        raise ConversionError(
            f"{name}: has {model.SubgraphsLength()} subgraphs; only single-subgraph models are supported"
        )
    graph = model.Subgraphs(0)
    tensors = tuple(_read_tensor(model, graph.Tensors(i), i, content, name) for i in range(graph.TensorsLength()))
    operators = tuple(_read_operator(model, graph.Operators(i), i) for i in range(graph.OperatorsLength()))
    return TfliteModel(
        name=name,
        tensors=tensors,
        operators=operators,
        inputs=tuple(int(i) for i in graph.InputsAsNumpy()),
        outputs=tuple(int(i) for i in graph.OutputsAsNumpy()),
    )


def _read_tensor(model: tflite.Model, tensor: tflite.Tensor, index: int, content: bytes, model_name: str) -> Tensor:
    tensor_name = tensor.Name().decode("utf-8")
    type_code = tensor.Type()
    if type_code not in _TENSOR_DTYPES:
        raise ConversionError(f"{model_name}: tensor '{tensor_name}' has unsupported TFLite type code {type_code}")
    dtype = _TENSOR_DTYPES[type_code]
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    sparsity = tensor.Sparsity()
    if sparsity is None:
        data = _read_buffer(model.Buffers(tensor.Buffer()), dtype, shape, content)
    else:
        values = _read_buffer(model.Buffers(tensor.Buffer()), dtype, (-1,), content)
        if values is None:
            raise ConversionError(f"{model_name}: sparse tensor '{tensor_name}' has no values")
        data = _densify(sparsity, values, shape, f"{model_name}: sparse tensor '{tensor_name}'")
    return Tensor(
        index=index,
        name=tensor_name,
        shape=shape,
        dtype=dtype,
        data=data,
        quantization=_read_quantization(tensor.Quantization()),
    )


def _read_buffer(buffer: tflite.Buffer, dtype: np.dtype, shape: tuple[int, ...], content: bytes) -> np.ndarray | None:
    if buffer.DataLength() > 0:
        raw = buffer.DataAsNumpy().tobytes()
    elif buffer.Offset() > 1:
        # Models over 2 GB keep buffers after the flatbuffer and point at them by offset.
        raw = content[buffer.Offset() : buffer.Offset() + buffer.Size()]
    else:
        return None
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


_INDEX_VECTORS = {
    tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector,
    tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
    tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector,
}


def _index_vector(kind: int, table: Any, where: str) -> np.ndarray:
    if kind not in _INDEX_VECTORS or table is None:
        raise ConversionError(f"{where}: CSR dimension without index vector (type {kind})")
    vector = _INDEX_VECTORS[kind]()
    vector.Init(table.Bytes, table.Pos)
    return vector.ValuesAsNumpy().astype(np.int64) if vector.ValuesLength() else np.zeros(0, np.int64)


def _densify(sparsity: tflite.SparsityParameters, values: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    """Decode a sparse constant into its dense array.

    Only the layout MediaPipe's sparse models use is supported (pose_detection and
    face_detection_full_range_sparse): traversal in axis order, no block map, every dimension DENSE but
    the last, which is CSR: row r's entries are values[segments[r]:segments[r + 1]] at columns
    indices[segments[r]:segments[r + 1]].
    """
    traversal = sparsity.TraversalOrderAsNumpy().tolist() if sparsity.TraversalOrderLength() else []
    formats = [sparsity.DimMetadata(i).Format() for i in range(sparsity.DimMetadataLength())]
    expected = [tflite.DimensionType.DENSE] * (len(shape) - 1) + [tflite.DimensionType.SPARSE_CSR]
    if traversal != list(range(len(shape))) or sparsity.BlockMapLength() or formats != expected:
        raise ConversionError(
            f"{where}: sparsity layout (traversal {traversal}, formats {formats}, block map "
            f"{sparsity.BlockMapLength()}) is not supported; only DENSE dimensions with a final CSR one are"
        )
    last = sparsity.DimMetadata(len(shape) - 1)
    segments = _index_vector(last.ArraySegmentsType(), last.ArraySegments(), where)
    indices = _index_vector(last.ArrayIndicesType(), last.ArrayIndices(), where)
    rows = int(np.prod(shape[:-1]))
    if len(segments) != rows + 1 or segments[-1] != len(indices) or len(indices) != len(values):
        raise ConversionError(f"{where}: CSR segments/indices do not match its {len(values)} values")
    dense = np.zeros((rows, shape[-1]), values.dtype)
    row_of_entry = np.repeat(np.arange(rows), np.diff(segments))
    dense[row_of_entry, indices] = values
    return dense.reshape(shape)


def _read_quantization(params: tflite.QuantizationParameters | None) -> Quantization | None:
    if params is None or params.ScaleLength() == 0:
        return None
    return Quantization(
        scale=params.ScaleAsNumpy().astype(np.float32),
        zero_point=params.ZeroPointAsNumpy().astype(np.int64)
        if params.ZeroPointLength()
        else np.zeros(params.ScaleLength(), np.int64),
        axis=int(params.QuantizedDimension()),
    )


def _read_operator(model: tflite.Model, operator: tflite.Operator, position: int) -> Operator:
    code = model.OperatorCodes(operator.OpcodeIndex())
    # Schema v3a moved builtin codes past 127 into a new field; the old int8 field saturates at 127.
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = _OPERATOR_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if builtin == tflite.BuiltinOperator.CUSTOM:
        name = f"CUSTOM:{code.CustomCode().decode('utf-8')}"
    return Operator(
        position=position,
        name=name,
        inputs=tuple(int(i) for i in operator.InputsAsNumpy()) if operator.InputsLength() else (),
        outputs=tuple(int(i) for i in operator.OutputsAsNumpy()) if operator.OutputsLength() else (),
        options=_read_options(operator),
        custom_options=operator.CustomOptionsAsNumpy().tobytes() if operator.CustomOptionsLength() else b"",
    )


def _read_options(operator: tflite.Operator) -> Any:
    table = operator.BuiltinOptions()
    if table is None:
        return None
    class_name = _OPTIONS_CLASS_NAMES.get(operator.BuiltinOptionsType())
    options_class = getattr(tflite, class_name, None) if class_name else None
    if options_class is None:
        return None
    options = options_class()
    options.Init(table.Bytes, table.Pos)
    return options
