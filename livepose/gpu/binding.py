"""Run an onnxruntime session on torch tensors through IO binding: no host round trip.

``TorchBinding(session)`` takes a ``livepose.models.runtime.ModelSession`` (or a bare
``onnxruntime.InferenceSession`` with ``device``) and ``run(inputs)`` binds each input tensor's memory
(``data_ptr``, device, dtype, shape) and each output to a preallocated torch tensor on the same device,
so the model reads the pre-processed crops where torch wrote them and writes its outputs where torch
reads them. On the CPU provider the same code runs with device ``"cpu"`` (the tests' path).

Batches: a model with a fixed batch of 1 (MediaPipe's) runs once per item, each call bound to that
item's slice of the input and output tensors (still no copy); a model with a symbolic batch runs once.

Streams: a ``ModelSession`` created with ``cuda_stream`` computes on that stream (the torch path gives
each model its own, ``livepose.gpu.pipeline``); when torch's current stream is that one, the inputs
written there are read in order and ``run`` waits for nothing. Otherwise the provider computes on its own
stream, and ``run`` first waits for torch's current stream (a host wait, not a copy). onnxruntime
synchronises its stream at the end of a run, after which the outputs are ready for torch.

Returned tensors are reused by the next ``run`` with the same batch size: clone what must outlive it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnxruntime as ort
import torch

from livepose.models.runtime import ModelSession

__all__ = ["TorchBinding"]

# onnxruntime's type strings → the torch dtype of the tensor bound for them, and the numpy dtype
# bind_input/bind_output take to name the element type.
_DTYPES: dict[str, tuple[torch.dtype, type[np.generic]]] = {
    "tensor(float)": (torch.float32, np.float32),
    "tensor(float16)": (torch.float16, np.float16),
    "tensor(double)": (torch.float64, np.float64),
    "tensor(int64)": (torch.int64, np.int64),
    "tensor(int32)": (torch.int32, np.int32),
    "tensor(uint8)": (torch.uint8, np.uint8),
    "tensor(int8)": (torch.int8, np.int8),
    "tensor(bool)": (torch.bool, np.bool_),
}
_NUMPY_OF_TORCH = {torch_dtype: numpy_dtype for torch_dtype, numpy_dtype in _DTYPES.values()}


def _ort_device(device: torch.device) -> tuple[str, int]:
    if device.type == "cuda":
        return "cuda", device.index if device.index is not None else torch.cuda.current_device()
    if device.type == "cpu":
        return "cpu", 0
    raise ValueError(f"onnxruntime IO binding takes cpu or cuda tensors, not {device.type}")


class TorchBinding:
    """A session run on torch tensors in place (see module docstring)."""

    def __init__(self, session: ModelSession | ort.InferenceSession, device: torch.device | str | None = None) -> None:
        if isinstance(session, ModelSession):
            self.session = session.session
            default = f"cuda:{session.device_id}" if session.on_gpu else "cpu"
            self.cuda_stream = session.cuda_stream
        else:
            self.session = session
            default = "cpu"
            self.cuda_stream = 0
        self.device = torch.device(device if device is not None else default)
        self.device_type, self.device_id = _ort_device(self.device)
        self.inputs = self.session.get_inputs()
        self.outputs = self.session.get_outputs()
        self.input_names = tuple(i.name for i in self.inputs)
        self.output_names = tuple(o.name for o in self.outputs)
        # A fixed batch of 1 in the first input means one call per item.
        self.per_item = self.inputs[0].shape[0] == 1
        self._binding = self.session.io_binding()
        self._outputs: dict[int, dict[str, torch.Tensor]] = {}

    def _output_tensors(self, batch: int) -> dict[str, torch.Tensor]:
        """Output tensors for ``batch`` items, allocated once per batch size and reused."""
        tensors = self._outputs.get(batch)
        if tensors is None:
            tensors = {}
            for output in self.outputs:
                dims = list(output.shape)
                if not all(isinstance(d, int) for d in dims[1:]):
                    raise ValueError(f"output {output.name} has a dynamic shape {dims}; cannot preallocate it")
                dtype = _DTYPES[output.type][0]
                shape = [batch, *dims[1:]] if dims else []
                tensors[output.name] = torch.empty(shape, dtype=dtype, device=self.device)
            self._outputs[batch] = tensors
        return tensors

    def _bind(self, name: str, tensor: torch.Tensor, is_input: bool) -> None:
        if not tensor.is_contiguous():
            raise ValueError(f"{name}: IO binding needs a contiguous tensor")
        args = (name, self.device_type, self.device_id, _NUMPY_OF_TORCH[tensor.dtype], list(tensor.shape),
                tensor.data_ptr())
        (self._binding.bind_input if is_input else self._binding.bind_output)(*args)

    def run(self, inputs: torch.Tensor | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run on ``inputs`` (one tensor for a one-input model, else by name), all on ``self.device``;
        returns every output by name as a tensor on the same device."""
        feeds = {self.input_names[0]: inputs} if isinstance(inputs, torch.Tensor) else dict(inputs)
        if set(feeds) != set(self.input_names):
            raise ValueError(f"the model takes inputs {list(self.input_names)}; got {sorted(feeds)}")
        for name, tensor in feeds.items():
            if tensor.device != self.device:
                raise ValueError(f"{name} is on {tensor.device}, the binding on {self.device}: no hidden copies")
        feeds = {name: tensor.contiguous() for name, tensor in feeds.items()}
        batch = int(next(iter(feeds.values())).shape[0])
        outputs = self._output_tensors(batch)
        if self.device.type == "cuda" and torch.cuda.current_stream(self.device).cuda_stream != self.cuda_stream:
            # The crops were written on a stream other than the one onnxruntime computes on.
            torch.cuda.current_stream(self.device).synchronize()
        items = [slice(i, i + 1) for i in range(batch)] if self.per_item else [slice(0, batch)]
        for item in items:
            for name, tensor in feeds.items():
                self._bind(name, tensor[item], is_input=True)
            for name, tensor in outputs.items():
                self._bind(name, tensor[item], is_input=False)
            self.session.run_with_iobinding(self._binding)
        return outputs
