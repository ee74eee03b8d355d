"""Graph adapters for MediaPipe's detect-or-track loop, shared by the hand and face nodes.

The loop is two nodes joined by a feedback stream (see ``livepose.vision.tracking``)::

    frames ──► detector ──► landmarks ──► frame (objects in results)
                  ▲             │
                  └── tracked ◄─┘   (streams: {<tracked>: {feedback: true}})

The detector node reads the previous frame's tracked ROIs from its ``tracked`` input and runs its
model only while fewer objects than wanted are tracked; the landmark node reads the ROIs from the
frame's results and sends the next frame's ROIs back. Offline, the runtime hands the detector
exactly the previous frame's ROIs, so results equal MediaPipe's sequential graph; while it waits
for them, the detector runs its model ahead (``prepare``) whenever the previous frame needed it,
so detection of frame t overlaps landmarks of frame t-1. Realtime, it hands the newest available,
so a dropped frame never stalls the loop. Both nodes convert BGR to
RGB once: the detector stores the RGB image in the results for the landmark node.

Each kind (hands, faces) names its vision classes and default models in class attributes, and which
of its parameters they take: the node parameters carry MediaPipe's names, as the vision classes'
keyword arguments do, so ``max_num_hands`` goes from the node to ``PalmDetector`` by name.

Frames of an image folder are unrelated stills (the capture node marks them): the detector ignores
the tracked ROIs on them, as MediaPipe's ``static_image_mode``, unless that parameter is set false.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, NamedTuple

import cv2
import numpy as np

from livepose import results
from livepose.errors import UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param
from livepose.logs import warn_once
from livepose.models.runtime import PROVIDERS, ModelSession
from livepose.models.shared_calls import CameraBatching
from livepose.vision.image_to_tensor import OPENCV_CROPPER, Cropper
from livepose.vision.rects import NormalizedRect, TrackedRoi
from livepose.vision.tracking import (
    DetectionStep,
    Detector,
    LandmarkStep,
    LandmarkStepOutput,
    ModelFn,
)

logger = logging.getLogger(__name__)

STATIC_IMAGE_MODE_DOC = ("treat every frame as unrelated: always detect, never track (default: stills "
                         "from an image folder are, video is not)")


def is_static(static_image_mode: bool | None, frame: Frame) -> bool:
    """Whether to detect afresh on ``frame``: as the node's parameter says, else if it is a still."""
    if static_image_mode is not None:
        return static_image_mode
    return bool(frame.results.get(results.STILL_IMAGE, False))


PREPROCESS_CHOICES = ("opencv", "torch", "torch-float")
PREPROCESS_DOC = ("how crops are made: opencv (MediaPipe's converter, on the host), torch (the same values bit for "
                  "bit, on the model's device: the frame uploaded once, fed to the model without a copy; needs "
                  "torch) or torch-float (grid_sample, within 4.5/255 of them)")
MAX_BATCH_DOC = ("objects of a frame per model call: 1 runs MediaPipe's model once per object; more loads the "
                 "model converted with a dynamic batch axis and runs up to that many in one call (for the GPU)")


class OpenedModel(NamedTuple):
    run: ModelFn
    cropper: Cropper


def open_model(model: str, provider: str, threads: int, parallel_items: int = 1, max_batch: int = 1,
               preprocess: str = "opencv", camera_batching: CameraBatching | None = None) -> OpenedModel:
    """A model callable that takes any batch size, and the cropper that makes its batches.

    MediaPipe's models have a fixed batch of 1, so the items of a batch (the hands of one frame)
    run as separate calls; with ``parallel_items`` > 1 they run concurrently (onnxruntime releases
    the GIL), which shortens the tracking loop's critical path on a multi-core CPU. With
    ``max_batch`` > 1 a zoo model is loaded in its dynamic-batch conversion and runs a whole batch in
    one call (the caller chunks batches larger than ``max_batch``). ``preprocess`` other than opencv
    crops and runs on torch tensors on the session's device (``livepose.gpu.pipeline``).

    ``camera_batching`` (a camera's copy of the node, ``batch_cameras`` not false): the model is loaded
    with a dynamic batch axis and its calls join the other cameras' copies' (``livepose.models.shared_calls``)
    when ``batch_cameras`` is true or the model runs on a GPU.
    """
    shared = camera_batching if camera_batching is not None and camera_batching.wanted(provider, preprocess) else None
    if preprocess != "opencv":
        session, torch_run, torch_cropper = _torch_model(model, provider, threads, max_batch > 1, preprocess)
    else:
        session = ModelSession(model, provider=provider, intra_op_threads=threads, inter_op_threads=1,  # type: ignore[arg-type]
                               dynamic_batch=max_batch > 1 or shared is not None)
    if session.max_batch is not None and max_batch > 1:
        raise UserError(
            f"max_batch: {max_batch} needs a model with a dynamic batch axis, but {session.path} takes a fixed batch "
            f"of {session.max_batch}; export it with a dynamic first axis, or set max_batch: 1"
        )
    if preprocess != "opencv":
        return OpenedModel(torch_run, torch_cropper)
    if session.max_batch is None:
        run = shared.share(session.run, session.path.name, session.on_gpu) if shared else session.run
        return OpenedModel(run, OPENCV_CROPPER)
    if shared is not None and shared.always:
        warn_once(logger, f"batch_cameras: {session.path.name} takes a fixed batch of {session.max_batch}, so "
                          f"{shared.node}'s calls are not shared across cameras; export it with a dynamic "
                          "first axis to share them")
    # The calling thread runs one item itself and the pool the others: one thread fewer to wake.
    helpers = parallel_items - 1
    pool = ThreadPoolExecutor(helpers, thread_name_prefix="livepose-model") if helpers else None

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        if len(batch) == 1:
            return session.run(batch)
        items = [batch[i:i + 1] for i in range(len(batch))]
        if pool is None:
            outputs = [session.run(item) for item in items]
        else:
            pending = [pool.submit(session.run, item) for item in items[1:]]
            outputs = [session.run(items[0])] + [future.result() for future in pending]
        return {name: np.concatenate([output[name] for output in outputs]) for name in outputs[0]}

    return OpenedModel(run, OPENCV_CROPPER)


def _torch_model(model: str, provider: str, threads: int, dynamic_batch: bool,
                 preprocess: str) -> tuple[ModelSession, ModelFn, Cropper]:
    try:
        # Imported only here: torch loads in the processes of nodes that ask for it, and nowhere else.
        from livepose.gpu.pipeline import open_torch_model
    except ImportError as error:
        raise UserError(f"preprocess: {preprocess} needs torch ({error}); install it with "
                        "`pip install torch==2.13.0`, or set preprocess: opencv") from None
    return open_torch_model(model, provider, threads, dynamic_batch, "float" if preprocess == "torch-float" else "exact")


def node_params(node: Node, names: Sequence[str]) -> dict[str, Any]:
    """The values of ``node``'s parameters ``names``, by name: keyword arguments for a vision class."""
    return {name: getattr(node, name) for name in names}


def rgb_of(frame: Frame) -> np.ndarray:
    rgb = frame.results.get(results.RGB)
    if rgb is None:
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
    return rgb


class _ChoosesModel:
    """How a tracking node picks its model: the ``model`` parameter, or when that is empty (for a kind
    with a ``model_complexity`` parameter) the model that ``model_complexity`` chooses."""

    models_by_complexity: ClassVar[Mapping[int, str]] = {}
    model: str
    model_complexity: int

    def model_name(self) -> str:
        if self.model or not self.models_by_complexity:
            return self.model
        return self.models_by_complexity[self.model_complexity]


class DetectorNode(_ChoosesModel, Node):
    """Base of the detection step: previous ROIs in, this frame's ROIs out."""

    inputs = ("frame", "tracked")
    outputs = ("frame",)
    detector_class: ClassVar[Callable[..., Detector]]
    """The vision detector, called with the model and the parameters named in ``detector_params``."""
    detector_params: ClassVar[tuple[str, ...]]
    rois_result: ClassVar[str]
    """Result holding the ROIs the landmark node reads."""
    detections_result: ClassVar[str]
    """Result holding the ROIs that came from the detector this frame (for drawing)."""
    tracks_result: ClassVar[str]
    """Result of the landmark node's ``tracked`` output holding next-frame ROIs."""

    static_image_mode: bool | None = param(None, STATIC_IMAGE_MODE_DOC)
    provider: str = param("auto", "ONNX Runtime execution provider", choices=PROVIDERS)
    threads: int = param(1, "ONNX Runtime intra-op threads for this model (0: one per core)", ge=0)
    preprocess: str = param("opencv", PREPROCESS_DOC, choices=PREPROCESS_CHOICES)

    def setup(self) -> None:
        model, cropper = open_model(self.model_name(), self.provider, self.threads, preprocess=self.preprocess,
                                    camera_batching=self.ctx.camera_batching)
        self.step = DetectionStep(self.detector_class(model, cropper=cropper,
                                                      **node_params(self, self.detector_params)))
        self._last_frame_detected = True
        self._prepared: tuple[int, np.ndarray, list[NormalizedRect] | None] | None = None

    def prepare(self, frame: Frame) -> None:
        # Offline, the landmark node is still busy with the previous frame: run the detector now,
        # in parallel with it, if the previous frame needed the detector (it then usually needs it
        # again). A wrong guess costs one unused detection, never a different answer.
        rgb = rgb_of(frame)
        detections = self.step.detect(rgb) if self._last_frame_detected else None
        self._prepared = (frame.index, rgb, detections)

    def process(self, frame: Frame, tracked: Frame | None) -> Frame:
        previous: tuple[TrackedRoi, ...] = ()
        if tracked is not None and not is_static(self.static_image_mode, frame):
            previous = tracked.results.get(self.tracks_result, ())
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared[0] == frame.index:
            _, rgb, detections = prepared
        else:
            rgb, detections = rgb_of(frame), None
        self._last_frame_detected = self.step.needs_detection(previous)
        rois = tuple(self.step(rgb, previous, detections))
        detected = tuple(roi for roi in rois if roi.from_detection)
        return frame.with_results(**{results.RGB: rgb, self.rois_result: rois, self.detections_result: detected})


class LandmarkNode(_ChoosesModel, Node):
    """Base of the landmark step: ROIs in, objects and next-frame ROIs out."""

    inputs = ("frame",)
    outputs = ("frame", "tracked")
    landmarker_class: ClassVar[Callable[..., LandmarkStep[Any]]]
    """The vision landmark step, called with the model and the parameters named in ``landmarker_params``."""
    landmarker_params: ClassVar[tuple[str, ...]]
    parallel_param: ClassVar[str] = ""
    """The parameter saying how many objects of one frame the model runs on concurrently (none: one)."""
    batch_param: ClassVar[str] = ""
    """The parameter saying how many objects of one frame go into one model call (none: one; a kind that
    finds one object per frame has none)."""
    rois_result: ClassVar[str]
    objects_result: ClassVar[str]
    tracks_result: ClassVar[str]

    provider: str = param("auto", "ONNX Runtime execution provider", choices=PROVIDERS)
    threads: int = param(1, "ONNX Runtime intra-op threads for this model (0: one per core)", ge=0)
    preprocess: str = param("opencv", PREPROCESS_DOC, choices=PREPROCESS_CHOICES)

    def setup(self) -> None:
        parallel = getattr(self, self.parallel_param) if self.parallel_param else 1
        max_batch = getattr(self, self.batch_param) if self.batch_param else 1
        model, cropper = open_model(self.model_name(), self.provider, self.threads, parallel, max_batch,
                                    self.preprocess, self.ctx.camera_batching)
        batching = {"max_batch": max_batch} if max_batch > 1 else {}
        self.landmarker = self.landmarker_class(model, cropper=cropper, **node_params(self, self.landmarker_params),
                                                **batching)

    def run_step(self, rgb: np.ndarray, rois: tuple[TrackedRoi, ...], frame: Frame) -> LandmarkStepOutput[Any]:
        return self.landmarker(rgb, rois)

    def frame_results(self, found: LandmarkStepOutput[Any], frame: Frame) -> dict[str, Any]:
        """What the step adds to the frame's results: its objects (a kind may add more)."""
        return {self.objects_result: found.objects}

    def process(self, frame: Frame) -> dict[str, Frame]:
        rois = frame.results.get(self.rois_result, ())
        found = self.run_step(rgb_of(frame), rois, frame)
        return {"frame": frame.with_results(**self.frame_results(found, frame)),
                "tracked": frame.with_results(**{self.tracks_result: found.next_rois})}
