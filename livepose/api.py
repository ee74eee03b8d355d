"""livepose from Python: run a pipeline as an iterator of frames, or find hands and faces in one image.

    import livepose

    for frame in livepose.run("hands", source="clip.mp4"):     # a packaged name, a file, or a dict
        for hand in frame.results["hands"]:
            print(frame.index, hand.handedness, hand.landmarks[8])

    hands = livepose.hands(image)                              # one BGR image (or a path)

``run`` runs the same threaded graph as ``livepose run`` (headless unless ``show=True``) and hands
over the frames of the pipeline's output stream; leaving the loop early stops the pipeline in order.
``hands`` and ``faces`` call the same nodes and models on one image, set up once per set of
parameters and kept for the next call.
"""

from __future__ import annotations

import functools
import json
import queue
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from livepose.errors import LiveposeError, UserError
from livepose.graph.frame import Frame
from livepose.graph.node import Node, param

_CHANNELS: dict[str, "queue.Queue[Any]"] = {}
"""Queues from the pipeline's delivering sink to the Python loop, by channel name."""
_END = object()
_POLL_SECONDS = 0.1


class PipelineFailed(LiveposeError):
    """A pipeline run from Python ended with an error; ``exit_code`` is what the CLI would return."""

    def __init__(self, reason: str, exit_code: int) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


class DeliverToPython(Node):
    """Hand every frame to the Python loop iterating over ``livepose.run(...)`` (waits for it)."""

    inputs = ("frame",)
    channel: str = param(..., "the channel the Python loop reads")

    def process(self, frame: Frame) -> None:
        # Waiting for the loop is the point: offline nothing is lost, realtime admission holds back.
        # Frames that reach this node before a stop still go to the loop, until it closes the channel.
        while (channel := _CHANNELS.get(self.channel)) is not None:
            try:
                channel.put(frame, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue


class PipelineRun:
    """One run of a pipeline from Python: iterate over it for its output frames.

    Iterate once. Leaving the loop early (``break``, an exception) or :meth:`close` stops the
    pipeline in order; ``with livepose.run(...) as frames:`` closes it whatever happens.
    """

    def __init__(self, spec: Any, channel: str, *, show: bool, max_frames: int | None) -> None:
        from livepose.graph.runner import Runner

        self._channel = channel
        self._runner = Runner(spec, headless=not show, max_frames=max_frames, install_signal_handlers=False)
        self._thread: threading.Thread | None = None
        self.result: Any = None
        """The run's :class:`livepose.graph.runner.RunResult` once it has ended (metrics included)."""

    @property
    def metrics(self) -> Any:
        return self._runner.metrics

    def __iter__(self) -> Iterator[Frame]:
        if self._thread is not None:
            raise RuntimeError("a pipeline run can be iterated only once; call livepose.run() again")
        self._thread = threading.Thread(target=self._run, name="livepose:run", daemon=True)
        self._thread.start()
        return self._frames()

    def _run(self) -> None:
        try:
            self.result = self._runner.run()
        finally:
            _CHANNELS[self._channel].put(_END)

    def _frames(self) -> Iterator[Frame]:
        channel = _CHANNELS[self._channel]
        try:
            while (item := channel.get()) is not _END:
                yield item
        finally:
            self.close()
        if self.result is not None and self.result.exit_code:
            raise PipelineFailed(self.result.reason, self.result.exit_code)

    def close(self) -> None:
        """Stop the pipeline and wait for it to finish in order (its recordings are finalized)."""
        if self._thread is not None:
            self._runner.request_stop("the Python loop ended")
            channel = _CHANNELS.get(self._channel)
            while self._thread.is_alive():
                if channel is not None:
                    _drain(channel)
                self._thread.join(_POLL_SECONDS)
        _CHANNELS.pop(self._channel, None)

    def __enter__(self) -> "PipelineRun":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


def run(pipeline: str | Path | Mapping[str, Any], *, source: str | int | None = None,
        realtime: bool | None = None, settings: Mapping[str, Any] | Sequence[str] = (),
        max_frames: int | None = None, show: bool = False) -> PipelineRun:
    """Run a pipeline and iterate over the frames of its output stream.

    ``pipeline``: a packaged name (``"hands"``, ``"hands_face"``), a YAML file, or the same structure
    as a dict. ``source``: replaces the pipeline's source (camera index, file, folder, URL,
    ``"synthetic"``). ``realtime``: None runs files and folders offline (every frame) and cameras
    and streams as the pipeline says. ``settings``: ``{"palms.max_num_hands": 1}`` or
    ``["palms.max_num_hands=1"]``, as ``--set``. ``show``: open the pipeline's window.

    Mistakes in the pipeline raise :class:`livepose.errors.UserError` here, before anything runs.
    """
    from livepose.graph.spec import Overrides

    channel = uuid.uuid4().hex
    overrides = Overrides(source=None if source is None else str(source), settings=settings_list(settings),
                          extra_nodes=[{"name": "python", "type": "livepose.api:DeliverToPython",
                                        "inputs": "$output", "params": {"channel": channel}}])
    spec = load_spec(pipeline, overrides)
    if realtime is None and _reads_files(spec):
        realtime = False
    if realtime is not None:
        overrides.mode = "realtime" if realtime else "offline"
        spec = load_spec(pipeline, overrides)
    _CHANNELS[channel] = queue.Queue(maxsize=1)
    return PipelineRun(spec, channel, show=show, max_frames=max_frames)


def load_spec(pipeline: str | Path | Mapping[str, Any], overrides: Any) -> Any:
    """The validated spec of a packaged name, a file, or a pipeline given as a dict."""
    from livepose.graph.spec import build_pipeline, load_pipeline
    from livepose.pipelines import find

    if isinstance(pipeline, Mapping):
        return build_pipeline(dict(pipeline), "<python>", overrides)
    return load_pipeline(find(str(pipeline)), overrides)


def settings_list(settings: Mapping[str, Any] | Sequence[str]) -> list[str]:
    """``--set`` strings from a ``{"node.param": value}`` mapping or a list of them."""
    if isinstance(settings, Mapping):
        # JSON is YAML, so each value reaches the node with its Python type.
        return [f"{key}={json.dumps(value)}" for key, value in settings.items()]
    return [str(item) for item in settings]


def _reads_files(spec: Any) -> bool:
    from livepose.io.sources import parse_source

    sources = [n.params[n.cls.pipeline_source_param] for n in spec.nodes if n.cls.pipeline_source_param]
    return bool(sources) and all(parse_source(str(s)).kind in ("file", "images") for s in sources)


def _drain(channel: "queue.Queue[Any]") -> None:
    try:
        while True:
            channel.get_nowait()
    except queue.Empty:
        pass


# -- one image --------------------------------------------------------------------------------


def hands(image: np.ndarray | str | Path, *, max_num_hands: int = 2, model_complexity: int = 1,
          min_detection_confidence: float = 0.5, provider: str = "auto") -> tuple[Any, ...]:
    """The hands in one BGR image (OpenCV's order) or image file, as the ``hand_landmarks`` node finds
    them: ``landmarks`` (21 x 3, pixels), ``world_landmarks``, ``handedness``, ``score``.

    Every image is treated as unrelated (MediaPipe's static image mode). The models are set up on
    the first call and kept for the next ones with the same parameters.
    """
    stepper = _image_pipeline("hands", max_num_hands, model_complexity, min_detection_confidence, provider)
    return _find(stepper, image, "hands")


def faces(image: np.ndarray | str | Path, *, max_num_faces: int = 1, min_detection_confidence: float = 0.5,
          provider: str = "auto") -> tuple[Any, ...]:
    """The faces in one BGR image or image file, as the ``face_landmarks`` node finds them: the
    468-point mesh in ``landmarks`` (pixels) and ``score``. Static image mode, as :func:`hands`."""
    stepper = _image_pipeline("faces", max_num_faces, 0, min_detection_confidence, provider)
    return _find(stepper, image, "faces")


def _find(stepper: Any, image: np.ndarray | str | Path, result: str) -> tuple[Any, ...]:
    frame = Frame.capture(_read_image(image), 0)
    outputs = stepper.step(frame)
    found = outputs.get("found")
    return tuple(found.results.get(result, ())) if found is not None else ()


def _read_image(image: np.ndarray | str | Path) -> np.ndarray:
    if isinstance(image, (str, Path)):
        import cv2

        loaded = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if loaded is None:
            raise UserError(f"cannot read an image from {str(image)!r} (missing, or not an image file)")
        return loaded
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise UserError(f"expected a BGR image: an (height, width, 3) uint8 array, got {array.dtype} "
                        f"{array.shape}")
    return array


@functools.lru_cache(maxsize=4)
def _image_pipeline(kind: str, max_items: int, complexity: int, confidence: float, provider: str) -> Any:
    from livepose.graph.spec import build_pipeline
    from livepose.graph.stepper import Stepper

    common = {"provider": provider}
    if kind == "hands":
        detector = {"type": "palm_detector", "params": {**common, "max_num_hands": max_items,
                    "model_complexity": complexity, "min_detection_confidence": confidence,
                    "static_image_mode": True}}
        landmarks = {"type": "hand_landmarks", "params": {**common, "model_complexity": complexity}}
    else:
        detector = {"type": "face_detector", "params": {**common, "max_num_faces": max_items,
                    "min_detection_confidence": confidence, "static_image_mode": True}}
        landmarks = {"type": "face_landmarks", "params": common}
    spec = build_pipeline({"mode": "offline", "streams": {"tracked": {"feedback": True}}, "nodes": [
        {"name": "image", "type": "capture", "params": {"source": "synthetic"}, "outputs": "image"},
        {"name": "detector", **detector, "inputs": {"frame": "image", "tracked": "tracked"}, "outputs": "rois"},
        {"name": "landmarks", **landmarks, "inputs": "rois", "outputs": {"frame": "found", "tracked": "tracked"}},
    ]}, f"<livepose.{kind}>")
    return Stepper(spec)
