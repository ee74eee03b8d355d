"""The torch path as the model nodes use it (``preprocess: torch``): one upload per frame, crops on the
device, the model fed through IO binding.

- ``open_torch_model(session, method)`` → ``(model, cropper)``: a ``tracking.ModelFn`` that runs the session
  on torch batches through ``TorchBinding`` (outputs come back to the host, a few kB per crop, for the
  post-processing), and an ``image_to_tensor.Cropper`` whose batches are torch tensors on the session's
  device (``cuda:N`` on the GPU providers, the CPU otherwise).
- Frames: the nodes of a pipeline pass the same RGB array from node to node (``results.RGB``), so the
  croppers of one process look a frame up by that array in ``FrameUploads`` and upload it once, however
  many models crop it. A worker process (``process: true``) uploads its own copy: it is another process.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from livepose.gpu.binding import TorchBinding
from livepose.gpu.preprocess import DeviceFrame, Method, crops_to_batch
from livepose.models.runtime import ModelSession
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
        self._frames: OrderedDict[int, tuple[weakref.ref[np.ndarray], DeviceFrame]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, image: np.ndarray) -> DeviceFrame:
        key = id(image)
        with self._lock:
            kept = self._frames.get(key)
            # id() values are reused once an array is freed: the weak reference tells a new array apart.
            if kept is not None and kept[0]() is image:
                self._frames.move_to_end(key)
                return kept[1]
            frame = DeviceFrame(image, self.device)
            self.uploads += 1
            self._frames[key] = (weakref.ref(image), frame)
            while len(self._frames) > self.capacity:
                self._frames.popitem(last=False)
            return frame


_uploads: dict[torch.device, FrameUploads] = {}
_uploads_lock = threading.Lock()


def uploads_on(device: torch.device) -> FrameUploads:
    """The process's one ``FrameUploads`` for ``device``, shared by every node that crops on it."""
    with _uploads_lock:
        return _uploads.setdefault(device, FrameUploads(device))


class TorchCropper:
    """``image_to_tensor.Cropper`` on torch: crops sampled from the frame's one device copy."""

    def __init__(self, device: torch.device, method: Method = "exact") -> None:
        self.device = device
        self.method: Method = method
        self.frames = uploads_on(device)

    def crops(self, image: np.ndarray, rects: Sequence[NormalizedRect], spec: TensorSpec) -> tuple[torch.Tensor, np.ndarray]:
        return crops_to_batch(self.frames.get(image), rects, spec, method=self.method)

    def letterbox(self, image: np.ndarray, spec: TensorSpec) -> tuple[torch.Tensor, Padding]:
        # The same whole-image ROI every frame: its sampling plan is kept on the device (repeated).
        batch, paddings = crops_to_batch(self.frames.get(image), [_WHOLE_IMAGE], spec, method=self.method,
                                         repeated=True)
        left, top, right, bottom = (float(v) for v in paddings[0])
        return batch, (left, top, right, bottom)


class TorchModel:
    """A ``tracking.ModelFn`` on torch batches: the session reads them where the cropper wrote them."""

    def __init__(self, session: ModelSession) -> None:
        self.binding = TorchBinding(session)
        self.device = self.binding.device
        self._lock = threading.Lock()  # one binding, reused: calls from several threads take turns

    def __call__(self, batch: torch.Tensor | np.ndarray) -> Mapping[str, np.ndarray]:
        if isinstance(batch, np.ndarray):
            batch = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
        with self._lock:
            outputs = self.binding.run(batch)
            # The binding reuses its output tensors on the next call: copy them out now.
            return {name: tensor.to("cpu", copy=True).numpy() for name, tensor in outputs.items()}


def open_torch_model(session: ModelSession, method: Method = "exact") -> tuple[TorchModel, TorchCropper]:
    """The model and cropper of the torch path for ``session``, on the session's device."""
    model = TorchModel(session)
    return model, TorchCropper(model.device, method)
