"""Selfie segmentation: MediaPipe's person mask, one model run per frame.

Driven as MediaPipe 0.10.21's ``selfie_segmentation_cpu`` graph does (read from the wheel's
``mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.binarypb``):

- ``ImageToTensorCalculator``: the whole frame stretched to 256x256 (``model_selection`` 0) or 256x144
  (1), ``keep_aspect_ratio: false`` (no letterbox), pixels to [0, 1], ``border_mode: BORDER_ZERO``;
  ``livepose.vision.image_to_tensor`` reproduces its OpenCV warp;
- ``InferenceCalculator`` on the model;
- ``TensorsToSegmentationCalculator`` with ``activation: NONE`` (the model ends in a sigmoid): the
  tensor resized to the frame with OpenCV's bilinear ``cv::resize``.

The graph has no temporal smoothing (only MediaPipe Pose's segmentation has a
``SegmentationSmoothingCalculator``), so neither does this node: each frame's mask is its own.
"""

from __future__ import annotations

import cv2
import numpy as np

from livepose import results
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.models.runtime import PROVIDERS, ModelSession
from livepose.models.shared_calls import BatchRun, CameraBatching
from livepose.models.zoo import SEGMENTATION_MODELS, ZooModel, get_model
from livepose.vision.image_to_tensor import TensorSpec, image_to_letterboxed_tensor

SELFIE_SEGMENTATION_MODELS = {0: "mediapipe/selfie_segmentation", 1: "mediapipe/selfie_segmentation_landscape"}


def segmentation_input(model: ZooModel) -> TensorSpec:
    """The model's input as MediaPipe's graph samples it: the whole image, stretched."""
    width, height = model.input_size
    low, high = model.input_range
    return TensorSpec(width, height, low, high, keep_aspect_ratio=False, border="zero")


def mask_to_frame(tensor: np.ndarray, width: int, height: int) -> np.ndarray:
    """A model's ``(h, w)`` probability tensor as a ``(height, width)`` float32 mask in [0, 1].

    MediaPipe's ``TensorsToSegmentationCalculator`` upsamples with ``cv::resize`` (bilinear); the
    clip keeps [0, 1] exact where ONNX's rounding strays a hair past the sigmoid's range.
    """
    small = np.ascontiguousarray(tensor, dtype=np.float32)
    mask = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    np.clip(mask, 0.0, 1.0, out=mask)
    return mask


def _model_path(model: str, dynamic_batch: bool = False) -> str:
    """A segmentation zoo name prepared through the cache (they are not in ZOO yet, which
    ``ModelSession`` resolves by itself); anything else unchanged."""
    names = {name.removeprefix("mediapipe/") for name in SEGMENTATION_MODELS}
    if model.removeprefix("mediapipe/") in names:
        from livepose.models.cache import ModelCache

        return str(ModelCache().path(model, dynamic_batch))
    return model


class SelfieSegmenter:
    """MediaPipe's selfie segmentation on RGB images: ``segmenter(rgb)`` is the float32 mask."""

    def __init__(self, model: str, model_selection: int = 0, provider: str = "auto", threads: int = 1,
                 camera_batching: CameraBatching | None = None) -> None:
        name = model or SELFIE_SEGMENTATION_MODELS[model_selection]
        # A custom .onnx is driven like the model_selection it replaces (same input size).
        self.zoo_model = get_model(SELFIE_SEGMENTATION_MODELS[model_selection] if name.endswith(".onnx") else name)
        self.spec = segmentation_input(self.zoo_model)
        shared = camera_batching if camera_batching is not None and camera_batching.wanted(provider) else None
        self.session = ModelSession(_model_path(name, dynamic_batch=shared is not None), provider=provider,  # type: ignore[arg-type]
                                    intra_op_threads=threads, inter_op_threads=1)
        self.run: BatchRun = self.session.run
        """The model call: the session's, or (``camera_batching``) one shared with the other cameras."""
        if shared is not None and self.session.max_batch is None:
            self.run = shared.share(self.session.run, self.session.path.name, self.session.on_gpu)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        tensor, _ = image_to_letterboxed_tensor(rgb, self.spec)
        outputs = self.run(tensor[None])
        # By name for the zoo's models; a custom .onnx may name its one output otherwise.
        probabilities = outputs.get(self.zoo_model.outputs[0].name, next(iter(outputs.values())))[0, :, :, 0]
        mask = mask_to_frame(probabilities, rgb.shape[1], rgb.shape[0])
        mask.flags.writeable = False
        return mask


class SelfieSegmentationNode(Node):
    """MediaPipe's selfie segmentation: a person mask (float32 in [0, 1], frame size) per frame."""

    inputs = ("frame",)
    outputs = ("frame",)
    # The frame is converted to RGB here rather than taken from results["rgb"]: a segmentation
    # pipeline usually has no detector to write it, and validate would warn about the read.
    writes = (results.SEGMENTATION_MASK,)

    model_selection: int = param(0, "0: general model (256x256), 1: landscape model (256x144)", choices=(0, 1))
    model: str = param("", "zoo name or .onnx path; empty: chosen by model_selection")
    provider: str = param("auto", "ONNX Runtime execution provider", choices=PROVIDERS)
    threads: int = param(1, "ONNX Runtime intra-op threads for this model (0: one per core)", ge=0)

    def setup(self) -> None:
        self.segmenter = SelfieSegmenter(self.model, self.model_selection, self.provider, self.threads,
                                         self.ctx.camera_batching)

    def process(self, frame: Frame) -> Frame:
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        return frame.with_results(**{results.SEGMENTATION_MASK: self.segmenter(rgb)})
