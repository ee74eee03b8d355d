"""The torch path as the model nodes use it (``preprocess: torch``): one upload per frame, crops on the
device, the model fed through IO binding.

- ``open_torch_model(model, provider, threads, dynamic_batch, method)`` → ``(model, cropper)``: a
  ``tracking.ModelFn`` that runs the model's session on torch batches through ``TorchBinding`` (outputs
  come back to the host, a few kB per crop, for the post-processing), and an ``image_to_tensor.Cropper``
  whose batches are torch tensors on the session's device (``cuda:N`` on the GPU providers, else the CPU).
- Streams: on the GPU each opened model gets a CUDA stream of its own; its session computes on it and its
  cropper writes on it, so crops and model run in order with no host wait, and two model nodes (the palm
  detector and the hand landmarks, on their threads) overlap on the device.
- Frames: the nodes of a pipeline pass the same RGB array from node to node (``results.RGB``), so the
  croppers of one process look a frame up by that array in ``FrameUploads`` and upload it once, however
  many models crop it. A worker process (``process: true``) uploads its own copy: it is another process.
  The upload is queued on the stream of the model that first asks; an event recorded after it makes every
  other stream wait for it on the device before sampling the frame.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from livepose.gpu.binding import TorchBinding
from livepose.gpu.preprocess import DeviceFrame, Method, crops_to_batch
from livepose.models.runtime import ModelSession, provider_problem
from livepose.vision.image_to_tensor import Padding, TensorSpec
from livepose.vision.rects import NormalizedRect

__all__ = ["FrameUploads", "TorchCropper", "TorchModel", "open_torch_model", "uploads_on"]

_WHOLE_IMAGE = NormalizedRect(0.5, 0.5, 1.0, 1.0, 0.0)


class FrameUploads:
    """The device copies of the last few frames, by host array: each frame goes to the device once.

    Kept frames are those whose host array is still alive and among the ``capacity`` most recent; a
    frame in flight in a pipeline is one of a handful, so a small capacity keeps device memory bounded.
    """

    def __init__(self, device: torch.device, capacity: int = 8) -> None:
        self.device = device
        self.capacity = capacity
        self.uploads = 0
        self._frames: OrderedDict[int, tuple[weakref.ref[np.ndarray], DeviceFrame, torch.cuda.Event | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, image: np.ndarray) -> DeviceFrame:
        """The device copy of ``image``, ready for work queued after this call on the current stream."""
        key = id(image)
        with self._lock:
            kept = self._frames.get(key)
            # id() values are reused once an array is freed: the weak reference tells a new array apart.
            if kept is not None and kept[0]() is image:
                self._frames.move_to_end(key)
                frame, uploaded = kept[1], kept[2]
                if uploaded is not None:
                    torch.cuda.current_stream(self.device).wait_event(uploaded)
                return frame
            frame = DeviceFrame(image, self.device)
            uploaded = None
            if self.device.type == "cuda":
                uploaded = torch.cuda.Event()
                uploaded.record(torch.cuda.current_stream(self.device))
            self.uploads += 1
            self._frames[key] = (weakref.ref(image), frame, uploaded)
            while len(self._frames) > self.capacity:
                self._frames.popitem(last=False)
            return frame


_uploads: dict[torch.device, FrameUploads] = {}
_uploads_lock = threading.Lock()


def uploads_on(device: torch.device) -> FrameUploads:
    """The process's one ``FrameUploads`` for ``device``, shared by every node that crops on it."""
    with _uploads_lock:
        return _uploads.setdefault(device, FrameUploads(device))


def _on(stream: torch.cuda.Stream | None) -> contextlib.AbstractContextManager[object]:
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


class TorchCropper:
    """``image_to_tensor.Cropper`` on torch: crops sampled from the frame's one device copy, written on
    ``stream`` (the model's) when given."""

    def __init__(self, device: torch.device, method: Method = "exact", stream: torch.cuda.Stream | None = None) -> None:
        self.device = device
        self.method: Method = method
        self.stream = stream
        self.frames = uploads_on(device)

    def crops(self, image: np.ndarray, rects: Sequence[NormalizedRect], spec: TensorSpec) -> tuple[torch.Tensor, np.ndarray]:
        with _on(self.stream):
            return crops_to_batch(self.frames.get(image), rects, spec, method=self.method)

    def letterbox(self, image: np.ndarray, spec: TensorSpec) -> tuple[torch.Tensor, Padding]:
        # The same whole-image ROI every frame: its sampling plan is kept on the device (repeated).
        with _on(self.stream):
            batch, paddings = crops_to_batch(self.frames.get(image), [_WHOLE_IMAGE], spec, method=self.method,
                                             repeated=True)
        left, top, right, bottom = (float(v) for v in paddings[0])
        return batch, (left, top, right, bottom)


class TorchModel:
    """A ``tracking.ModelFn`` on torch batches: the session reads them where the cropper wrote them."""

    def __init__(self, session: ModelSession, stream: torch.cuda.Stream | None = None) -> None:
        self.binding = TorchBinding(session)
        self.device = self.binding.device
        self.stream = stream
        self._lock = threading.Lock()  # one binding, reused: calls from several threads take turns

    def __call__(self, batch: torch.Tensor | np.ndarray) -> Mapping[str, np.ndarray]:
        with self._lock, _on(self.stream):
            if isinstance(batch, np.ndarray):
                batch = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            outputs = self.binding.run(batch)
            # The binding reuses its output tensors on the next call: copy them out now.
            return {name: tensor.to("cpu", copy=True).numpy() for name, tensor in outputs.items()}


def open_torch_model(model: str, provider: str, threads: int, dynamic_batch: bool = False,
                     method: Method = "exact") -> tuple[ModelSession, TorchModel, TorchCropper]:
    """The session, model and cropper of the torch path for ``model`` (a zoo name or .onnx path): on the
    GPU with a stream of their own, else on the CPU."""
    stream = None
    if provider != "cpu" and torch.cuda.is_available() and provider_problem("cuda") is None:
        stream = torch.cuda.Stream()
    session = ModelSession(model, provider=provider, intra_op_threads=threads, inter_op_threads=1,  # type: ignore[arg-type]
                           dynamic_batch=dynamic_batch, cuda_stream=stream.cuda_stream if stream is not None else 0)
    if not session.on_gpu:
        stream = None
    torch_model = TorchModel(session, stream)
    return session, torch_model, TorchCropper(torch_model.device, method, stream)
