"""The ONNX graph under construction, with layout tracking for 4-D tensors.

TFLite stores images NHWC; onnxruntime's fast CPU and CUDA kernels want NCHW. Every converted TFLite
tensor therefore remembers whether its ONNX value holds the TFLite layout or the channels-first
permutation of it. Operators ask for the layout they need and a Transpose is inserted (once per
tensor) only where the layouts disagree, so a convolutional trunk runs NCHW end to end with a single
transpose after the model input and before the outputs or reshapes that need NHWC order.

With ``dynamic_batch`` the graph's inputs and outputs get a symbolic first axis ``batch`` where TFLite
has 1, and every shape the operators spell out keeps that axis open (``batch_shape``), so one call runs
any number of crops; converters that would mix items of a batch refuse (``require_batch_preserving``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from livepose.converters.errors import ConversionError
from livepose.converters.tflite.flatbuffer import Tensor, TfliteModel

NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)

_ONNX_TYPES = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int8): TensorProto.INT8,
    np.dtype(np.uint8): TensorProto.UINT8,
    np.dtype(np.int16): TensorProto.INT16,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.bool_): TensorProto.BOOL,
}


def onnx_type(dtype: np.dtype) -> int:
    return _ONNX_TYPES[np.dtype(dtype)]


@dataclass(frozen=True)
class Value:
    """Where a TFLite tensor lives in the ONNX graph."""

    name: str
    channels_first: bool  # True: a 4-D tensor stored NCHW while TFLite's own layout is NHWC


class GraphBuilder:
    """Accumulates ONNX nodes and initializers for one TFLite model."""

    def __init__(self, model: TfliteModel, dynamic_batch: bool = False) -> None:
        self.model = model
        self.dynamic_batch = dynamic_batch
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._values: dict[int, Value] = {}
        # Constant tensors (weights, shapes) in TFLite layout, including folded DEQUANTIZE results.
        self._constants: dict[int, np.ndarray] = {
            t.index: t.data for t in model.tensors if t.data is not None
        }
        self._transposed: dict[tuple[int, bool], str] = {}
        self._materialized: dict[tuple[int, bool], str] = {}
        self._used_names: set[str] = {model.tensors[i].name for i in (*model.inputs, *model.outputs)}
        self._output_indices = set(model.outputs)
        for index in model.inputs:
            self._values[index] = Value(model.tensors[index].name, channels_first=False)

    # --- tensors -------------------------------------------------------------------------------

    def tensor(self, index: int) -> Tensor:
        return self.model.tensors[index]

    def rank(self, index: int) -> int:
        return len(self.model.tensors[index].shape)

    def constant(self, index: int) -> np.ndarray | None:
        """The constant contents of a tensor in TFLite layout, or None if it is computed at run time."""
        return self._constants.get(index)

    def require_constant(self, index: int, role: str, operator: str) -> np.ndarray:
        value = self._constants.get(index)
        if value is None:
            raise ConversionError(
                f"{self.model.name}: {operator} needs a constant {role} "
                f"(tensor '{self.tensor(index).name}' is computed at run time)"
            )
        return value

    def set_constant(self, index: int, value: np.ndarray) -> None:
        self._constants[index] = value

    def is_channels_first(self, index: int) -> bool:
        value = self._values.get(index)
        return value is not None and value.channels_first

    def value(self, index: int, channels_first: bool) -> str:
        """ONNX name of a tensor in the requested layout (channels_first only applies to 4-D tensors)."""
        if channels_first and self.rank(index) != 4:
            raise ConversionError(
                f"{self.model.name}: tensor '{self.tensor(index).name}' is not 4-D, cannot be made channels-first"
            )
        if index in self._constants:
            return self._materialize_constant(index, channels_first)
        if index not in self._values:
            raise ConversionError(
                f"{self.model.name}: tensor '{self.tensor(index).name}' is used before any operator produces it"
            )
        stored = self._values[index]
        if stored.channels_first == channels_first:
            return stored.name
        key = (index, channels_first)
        if key not in self._transposed:
            permutation = NHWC_TO_NCHW if channels_first else NCHW_TO_NHWC
            suffix = "nchw" if channels_first else "nhwc"
            self._transposed[key] = self.add_node(
                "Transpose", [stored.name], self.unique_name(f"{self.tensor(index).name}/{suffix}"), perm=permutation
            )
        return self._transposed[key]

    def output_name(self, index: int, channels_first: bool) -> str:
        """Name for the ONNX value an operator writes for TFLite tensor ``index``, and record it.

        Graph outputs keep their TFLite name when produced in TFLite layout; a channels-first graph
        output gets a scratch name and is transposed into the real name by :meth:`finish`.
        """
        tensor = self.tensor(index)
        if index in self._output_indices and not channels_first:
            name = tensor.name
        else:
            name = self.unique_name(tensor.name)
        self._values[index] = Value(name, channels_first)
        return name

    def _materialize_constant(self, index: int, channels_first: bool) -> str:
        key = (index, channels_first)
        if key not in self._materialized:
            array = self._constants[index]
            if channels_first:
                array = array.transpose(NHWC_TO_NCHW)
            self._materialized[key] = self.add_initializer(array, self.tensor(index).name)
        return self._materialized[key]

    # --- graph editing -------------------------------------------------------------------------

    def unique_name(self, base: str) -> str:
        name = base or "tensor"
        counter = 1
        while name in self._used_names:
            counter += 1
            name = f"{base}_{counter}"
        self._used_names.add(name)
        return name

    def add_initializer(self, array: np.ndarray, base_name: str) -> str:
        name = self.unique_name(base_name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def add_node(self, op_type: str, inputs: list[str], output: str | None = None, **attributes: object) -> str:
        """Append a single-output node; returns its output name."""
        output = output or self.unique_name(f"{op_type}_{len(self.nodes)}")
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name=self.unique_name(f"node/{output}"), **attributes)
        )
        return output

    # --- the batch axis ------------------------------------------------------------------------

    def require_batch_preserving(self, shape: tuple[int, ...], operator: str, condition: bool = True) -> None:
        """Refuse a dynamic batch for an operator that would mix the items of a batch."""
        if self.dynamic_batch and (not condition or not shape or shape[0] != 1):
            raise ConversionError(
                f"{self.model.name}: {operator} works across the batch axis of shape {list(shape)}, "
                "so this model cannot be converted with a dynamic batch"
            )

    def batch_shape(self, shape: tuple[int, ...] | list[int], reference: str, base_name: str) -> str:
        """An int64 shape tensor for ``shape`` (first axis the batch): a constant with a fixed batch; with a
        dynamic batch the first axis of ``reference`` (a value whose first axis is the batch) followed by
        ``shape[1:]``."""
        shape = [int(d) for d in shape]
        if not self.dynamic_batch:
            return self.add_initializer(np.array(shape, np.int64), base_name)
        self.require_batch_preserving(tuple(shape), f"the shape {base_name}")
        batch = self.add_node("Shape", [reference], self.unique_name(f"{base_name}/batch"), start=0, end=1)
        rest = self.add_initializer(np.array(shape[1:], np.int64), f"{base_name}/rest")
        return self.add_node("Concat", [batch, rest], self.unique_name(base_name), axis=0)

    # --- finishing -----------------------------------------------------------------------------

    def finish(self, opset: int, doc: str, metadata: dict[str, str]) -> onnx.ModelProto:
        for index in self.model.outputs:
            tensor = self.tensor(index)
            if index in self._constants:
                raise ConversionError(f"{self.model.name}: graph output '{tensor.name}' is a constant")
            stored = self._values.get(index)
            if stored is None:
                raise ConversionError(f"{self.model.name}: no operator produces graph output '{tensor.name}'")
            if stored.channels_first:
                self.add_node("Transpose", [stored.name], tensor.name, perm=NCHW_TO_NHWC)
        graph = helper.make_graph(
            self.nodes,
            "livepose_" + self.model.name.replace(".tflite", ""),
            inputs=[self._value_info(i) for i in self.model.inputs],
            outputs=[self._value_info(i) for i in self.model.outputs],
            initializer=self.initializers,
            doc_string=doc,
        )
        model = helper.make_model(
            graph,
            producer_name="livepose",
            opset_imports=[helper.make_opsetid("", opset)],
            doc_string=doc,
        )
        # IR 8 is what opset 17 shipped with; older onnxruntime builds reject newer IR versions.
        model.ir_version = 8
        helper.set_model_props(model, metadata)
        return model

    def _value_info(self, index: int) -> onnx.ValueInfoProto:
        tensor = self.tensor(index)
        shape: list[int | str] = list(tensor.shape)
        if self.dynamic_batch:
            self.require_batch_preserving(tensor.shape, f"graph input or output '{tensor.name}'")
            shape[0] = "batch"
        return helper.make_tensor_value_info(tensor.name, onnx_type(tensor.dtype), shape)
