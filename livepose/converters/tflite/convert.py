"""Convert a float TFLite model (float32 or float16 weights) to an equivalent ONNX model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx

from livepose.converters.errors import ConversionError, UnsupportedOperatorError
from livepose.converters.tflite.flatbuffer import read_tflite
from livepose.converters.tflite.graph import GraphBuilder
from livepose.converters.tflite import mediapipe_ops, operators

ONNX_OPSET = 17
CONVERTERS = {**operators.CONVERTERS, **mediapipe_ops.CONVERTERS}
SUPPORTED_OPERATORS: tuple[str, ...] = tuple(sorted(CONVERTERS))
# Shape and size tensors are int32/int64 at run time too; 8- and 16-bit ones mean quantized inference.
_INTEGER_ACTIVATIONS = {np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16)}


def convert_tflite(source: Path | bytes, name: str | None = None, *, dynamic_batch: bool = False) -> onnx.ModelProto:
    """Convert a .tflite model (a path or its bytes) to ONNX.

    The ONNX graph keeps the TFLite input and output tensor names, shapes and NHWC input layout, so
    it is a drop-in replacement for the TFLite interpreter. ``name`` labels error messages and
    defaults to the file name. With ``dynamic_batch`` the first axis of the inputs and outputs is the
    symbolic ``batch`` instead of TFLite's 1, so one call runs several crops (MediaPipe's models are built
    for one); a model whose operators mix the items of a batch is refused with a ConversionError. Raises :class:`UnsupportedOperatorError` naming the first operator the
    converter does not implement, and :class:`ConversionError` for other unconvertible content.
    """
    if isinstance(source, Path):
        content = source.read_bytes()
        name = name or source.name
    else:
        content = source
        name = name or "model.tflite"
    model = read_tflite(content, name)
    for tensor in model.tensors:
        if tensor.data is None and tensor.dtype in _INTEGER_ACTIVATIONS:
            raise ConversionError(
                f"{name}: tensor '{tensor.name}' carries {tensor.dtype} activations; integer-quantized models "
                "are not supported (float32 models, optionally with float16 weights, are)"
            )
    for op in model.operators:
        if op.name not in CONVERTERS:
            raise UnsupportedOperatorError(op.name, name, op.position, list(SUPPORTED_OPERATORS))
    builder = GraphBuilder(model, dynamic_batch)
    for op in model.operators:
        CONVERTERS[op.name](builder, op)
    source_sha256 = hashlib.sha256(content).hexdigest()
    onnx_model = builder.finish(
        ONNX_OPSET,
        doc=f"Converted from {name} by livepose's TFLite-to-ONNX converter.",
        metadata={"source_file": name, "source_sha256": source_sha256, "converter": "livepose.tflite",
                  "batch": "dynamic" if dynamic_batch else "fixed"},
    )
    onnx.checker.check_model(onnx_model)
    return onnx_model
