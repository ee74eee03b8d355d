"""The node contract: ports and typed parameters declared in one place, work done in ``process``.

A minimal effect node::

    class Invert(Node):
        '''Invert the colours of the picture.'''
        inputs = ("frame",)
        outputs = ("frame",)
        amount: float = param(1.0, "blend between original (0) and inverted (1)", ge=0, le=1)

        def process(self, frame: Frame) -> Frame:
            inverted = cv2.addWeighted(frame.image, 1 - self.amount, 255 - frame.image, self.amount, 0)
            return frame.with_image(inverted)

It declares the results (``livepose.results``) it ``reads``, ``requires`` and ``writes``, so that
``livepose validate`` can tell a pipeline that lacks a node it depends on::

    class PinchDot(Node):
        inputs = ("frame",)
        outputs = ("frame",)
        requires = (results.HANDS,)

``process`` receives one frame per input port, by port name, all of the same frame index.
It returns the output frame (one output port), a ``{port: frame}`` dict (several ports), or
``None`` to drop this frame. A source node has no inputs; its ``process()`` returns the next
frame, or ``None`` at the end of the stream.
"""

from __future__ import annotations

import threading
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import pydantic

if typing.TYPE_CHECKING:
    from livepose.graph.controls import RunControls
    from livepose.graph.metrics import PipelineMetrics
    from livepose.models.shared_calls import CameraBatching


@dataclass(frozen=True)
class Param:
    """A declared node parameter; see :func:`param`."""

    default: Any
    doc: str
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None


def param(default: Any, doc: str, *, ge: float | None = None, le: float | None = None,
          gt: float | None = None, lt: float | None = None,
          choices: typing.Sequence[Any] | None = None) -> Any:
    """Declare a parameter: its default, a one-line doc and optional bounds or choices.

    The parameter's type is the class attribute's annotation; values from YAML and
    ``--set`` are checked against it before the pipeline starts.
    """
    return Param(default, doc, ge, le, gt, lt, tuple(choices) if choices is not None else None)


@dataclass(frozen=True)
class ParamInfo:
    """What ``livepose nodes`` and the validator know of one parameter."""

    name: str
    type_name: str
    default: Any
    doc: str
    constraint: str
    required: bool = False


class NodeContext:
    """What the runtime lends a running node: the run mode, live metrics and controls."""

    def __init__(self, mode: str, metrics: "PipelineMetrics", stop_event: threading.Event,
                 on_key: typing.Callable[[str], bool] | None = None,
                 on_stop: typing.Callable[[str], None] | None = None,
                 headless: bool = False, camera_batching: "CameraBatching | None" = None) -> None:
        self.mode = mode
        self.metrics = metrics
        self.headless = headless
        """True when the run must not open windows (``--headless``)."""
        self.stop_event = stop_event
        self.camera_batching = camera_batching
        """For a camera's copy of a node in a ``cameras:`` pipeline whose ``batch_cameras`` is not false:
        how its model calls join the other cameras' copies' (model nodes use it; None: they do not)."""
        self._on_key = on_key
        self._on_stop = on_stop

    @property
    def realtime(self) -> bool:
        return self.mode == "realtime"

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the whole pipeline to shut down in order (as the quit key does)."""
        if self._on_stop is not None:
            self._on_stop(reason)
        else:
            self.stop_event.set()

    def press_key(self, key: str) -> bool:
        """Deliver a key press (from a display); returns whether anything handled it."""
        return self._on_key(key) if self._on_key is not None else False


class Node:
    """Base class of every pipeline node. See the module docstring for the contract."""

    inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[tuple[str, ...]] = ()
    """Results (``livepose.results``) this node uses when they are there: the validator warns when
    no node upstream writes one."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Results this node cannot work without: the validator refuses a pipeline where no node
    upstream writes one."""
    writes: ClassVar[tuple[str, ...] | Mapping[str, tuple[str, ...]] | None] = None
    """Results this node adds: a tuple (on every output port) or ``{port: (keys...)}``. ``None``
    (the default) says nothing, so the validator cannot tell what the node adds; ``()`` adds none."""
    keys: ClassVar[dict[str, str]] = {}
    """Key presses this node handles: key -> name of a method taking no arguments.
    The method is called from the display's thread, so it must be thread-safe."""
    input_queue: ClassVar[dict[str, Any] | None] = None
    """Queue settings (``{"size": n, "policy": p}``) this node's input edges get in realtime runs
    unless the pipeline file configures the stream: a recorder wants a deep ``drop_oldest`` queue."""
    pipeline_source_param: ClassVar[str | None] = None
    """For source nodes: the parameter that the pipeline's ``source:`` and ``--source`` set."""
    shows_output: ClassVar[bool] = False
    """A sink that shows the pipeline's output to a person: when the file names no ``output:``, the
    stream it reads is the one ``--record`` and ``--keypoints`` tap."""
    gathers_inputs: ClassVar[bool] = False
    """Each message on any input is handed over alone, in arrival order, not joined with the other
    inputs by frame index: for a node that combines independent streams (``mosaic``: one per camera of
    a ``cameras:`` pipeline), so that a slow or stalled stream never holds back the others. Its outputs
    number frames anew; its inputs' admission ends at it."""

    _params: ClassVar[dict[str, Param]] = {}
    _param_model: ClassVar[type[pydantic.BaseModel]]

    name: str
    ctx: NodeContext

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.inputs = tuple(cls.inputs)
        cls.outputs = tuple(cls.outputs)
        cls.reads, cls.requires = tuple(cls.reads), tuple(cls.requires)
        if isinstance(cls.writes, (list, str)):
            cls.writes = (cls.writes,) if isinstance(cls.writes, str) else tuple(cls.writes)
        declared = {k: v for k, v in vars(cls).items() if isinstance(v, Param)}
        cls._params = {**cls._params, **declared}
        cls._param_model = _build_param_model(cls)

    def __init__(self, name: str | None = None, **params: Any) -> None:
        self.name = name or type(self).__name__
        values = self.validate_params(params)
        for key, value in values.items():
            setattr(self, key, value)

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check parameters; raises ``pydantic.ValidationError`` naming each fault."""
        return cls._param_model.model_validate(dict(params)).model_dump()

    @classmethod
    def param_info(cls) -> list[ParamInfo]:
        hints = typing.get_type_hints(cls)
        infos = []
        for key, p in cls._params.items():
            bounds = [f"{op} {v}" for op, v in ((">=", p.ge), ("<=", p.le), (">", p.gt), ("<", p.lt))
                      if v is not None]
            if p.choices is not None:
                bounds.append("one of " + ", ".join(map(str, p.choices)))
            infos.append(ParamInfo(key, _type_name(hints.get(key, Any)), p.default, p.doc,
                                   ", ".join(bounds), p.default is ...))
        return infos

    @classmethod
    def written_on(cls, port: str) -> tuple[str, ...] | None:
        """The results this node adds to the frames of output ``port`` (None: not declared)."""
        if cls.writes is None or isinstance(cls.writes, tuple):
            return cls.writes
        return tuple(cls.writes.get(port, ()))

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    def setup(self) -> None:
        """Acquire resources (models, devices, files) before the first frame."""

    def process(self, **inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement process()")

    def prepare(self, **inputs: Any) -> None:
        """Optional, for nodes with feedback inputs: start a frame's work before its feedback arrives.

        Offline, frame t's regular inputs often reach a node in a loop before the loop has sent
        back frame t-1's message. Then the runtime calls ``prepare`` with the regular inputs
        while the feedback is on its way, and ``process`` with all inputs once it has come, so
        work that does not depend on the feedback (a detector's model run) overlaps with the
        rest of the loop. Not called when the feedback is already there, nor in realtime runs,
        where feedback never waits: ``process`` must not rely on it.
        """

    def close(self) -> None:
        """Release resources; called once, on every kind of shutdown, after setup succeeded."""

    def main_thread_loop(self) -> typing.Callable[["RunControls"], None] | None:
        """For a node with a GUI: the event loop to run on the main thread, or ``None`` (the default).

        Asked once, after the node is built and before any ``setup()``. When it returns a loop, the
        runner runs the pipeline on other threads and calls ``loop(controls)`` on the main thread; the
        loop returns once ``controls.finished`` is set (or sooner, having asked the run to stop).
        Only one node of a pipeline gets the main thread; it is asked only from the main thread.
        """
        return None

    def expected_frames(self) -> int | None:
        """For sources: how many frames the stream holds, when known (drives the progress bar)."""
        return None

    @property
    def stopping(self) -> bool:
        """True once the pipeline is shutting down: long-running sources check it."""
        return self.ctx.stop_event.is_set()


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


_STRICT_TYPES: dict[Any, Any] = {
    # YAML and --set give real numbers and booleans: "64" for a width, or true for a count, is a
    # mistake to report, not to convert. Infinity and NaN are no setting's meaning.
    int: typing.Annotated[int, pydantic.Strict()],
    bool: typing.Annotated[bool, pydantic.Strict()],
    float: typing.Annotated[float, pydantic.Strict(), pydantic.Field(allow_inf_nan=False)],
}


def _strict(tp: Any) -> Any:
    """``tp`` with its numbers and booleans strict (also inside ``X | None``)."""
    if tp in _STRICT_TYPES:
        return _STRICT_TYPES[tp]
    args = typing.get_args(tp)
    if args and type(None) in args and all(a in _STRICT_TYPES or a is type(None) for a in args):
        return typing.Union[tuple(_STRICT_TYPES.get(a, a) for a in args)]  # type: ignore[return-value]
    return tp


def _build_param_model(cls: type[Node]) -> type[pydantic.BaseModel]:
    hints = typing.get_type_hints(cls) if cls._params else {}
    fields: dict[str, Any] = {}
    for key, p in cls._params.items():
        tp = _strict(hints.get(key, Any))
        if p.choices is not None:
            tp = typing.Literal[p.choices]  # type: ignore[valid-type]
        fields[key] = (tp, pydantic.Field(p.default, description=p.doc, ge=p.ge, le=p.le,
                                          gt=p.gt, lt=p.lt))
    return pydantic.create_model(f"{cls.__name__}Params",
                                 __config__=pydantic.ConfigDict(extra="forbid"), **fields)
