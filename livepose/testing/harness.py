"""Running one node as a pipeline would, on frames the test gives it, and checking its contract.

:func:`run_node` sets the node up, calls ``process`` once per frame on the caller's thread, and
closes it, whatever happens. :class:`NodeHarness` does the same one call at a time, and also
presses keys. Both check what the node returns as the runtime would refuse it (not a frame, a
port it does not have) and what ``livepose.results`` and the node's own declarations promise: a
frame lacking a result the node ``requires`` is refused before the call, and every result the
node adds must be in its ``writes`` and of the well-known type.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping

import numpy as np

from livepose.graph.frame import Frame
from livepose.graph.metrics import LiveSnapshot, SnapshotMetrics
from livepose.graph.node import Node, NodeContext
from livepose.results import type_problem


class ContractError(AssertionError):
    """A node did not keep its contract: it returned something the runtime cannot send on, or wrote
    a result it does not declare (or of the wrong type), or was given frames it cannot work on."""


class NodeHarness:
    """One node, set up on entry and closed on exit, called one frame at a time::

        with NodeHarness(FingerDots, {"radius": 3}) as dots:
            drawn = dots.process(frame)
            dots.press("d")

    ``headless`` is true by default: a display node under test opens no window. ``pressed`` lists the keys the node pressed (``ctx.press_key``) and ``stop_requests`` the
    reasons it asked the pipeline to stop.
    """

    def __init__(self, node_class: type[Node], params: Mapping[str, Any] | None = None, *,
                 mode: str = "offline", headless: bool = True,
                 live: LiveSnapshot = LiveSnapshot(fps=30.0, latency_ms=20.0, drops=0, source_fps=30.0),
                 check: bool = True) -> None:
        if mode not in ("offline", "realtime"):
            raise ValueError(f"mode must be 'offline' or 'realtime', got {mode!r}")
        self.node_class = node_class
        self.node = node_class(**dict(params or {}))
        self.check = check
        self.pressed: list[str] = []
        self.stop_requests: list[str] = []
        self.stop_event = threading.Event()
        self.node.ctx = NodeContext(mode, SnapshotMetrics(live), self.stop_event,  # type: ignore[arg-type]
                                    on_key=self._on_key, on_stop=self._on_stop, headless=headless)
        self._set_up = False
        self._next_index = 0

    def _on_key(self, key: str) -> bool:
        self.pressed.append(key)
        return True

    def _on_stop(self, reason: str) -> None:
        self.stop_requests.append(reason)
        self.stop_event.set()

    def __enter__(self) -> "NodeHarness":
        self.node.setup()
        self._set_up = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the node (once), as a pipeline does on every way out."""
        if self._set_up:
            self._set_up = False
            self.stop_event.set()
            self.node.close()

    def press(self, key: str) -> None:
        """Press a key the node handles (its ``keys``), as the display would."""
        method = self.node_class.keys.get(key)
        if method is None:
            raise ContractError(f"{self.node_class.__name__} handles no key {key!r} "
                                f"(its keys: {', '.join(self.node_class.keys) or 'none'})")
        getattr(self.node, method)()

    def process(self, frame: Frame | np.ndarray | None = None, **ports: Frame | np.ndarray | None) -> Any:
        """One call of ``process``: the frame of the only input port, or one per port by name (a
        port left out gets ``None``, as a feedback input has on the first frame). A bare image is
        made a frame. A source node takes no frames and returns its next one."""
        if not self._set_up:
            raise RuntimeError("the node is not set up: use `with NodeHarness(...) as harness:`")
        inputs = self._inputs(frame, ports)
        if self.check:
            self._check_required(inputs)
        output = self.node.process(**inputs)
        if self.check:
            self._check_output(output, inputs)
        return output

    def drain(self, max_frames: int | None = None) -> list[Frame]:
        """A source node's frames: ``process()`` until it returns ``None``, or ``max_frames`` of them."""
        if self.node_class.inputs:
            raise ContractError(f"{self.node_class.__name__} is not a source: give it frames with process()")
        frames: list[Frame] = []
        while max_frames is None or len(frames) < max_frames:
            made = self.process()
            if made is None:
                break
            frames.append(made)
        return frames

    def _inputs(self, frame: Any, ports: dict[str, Any]) -> dict[str, Any]:
        declared = self.node_class.inputs
        if frame is not None:
            if len(declared) != 1 and not ports:
                raise ContractError(f"{self.node_class.__name__} has inputs {', '.join(declared) or 'none'}: "
                                    "give one frame per port by name")
            ports = {declared[0]: frame, **ports}
        unknown = set(ports) - set(declared)
        if unknown:
            raise ContractError(f"{self.node_class.__name__} has no input port {', '.join(sorted(unknown))} "
                                f"(ports: {', '.join(declared) or 'none'})")
        inputs = {port: self._as_frame(ports.get(port)) for port in declared}
        if declared and all(value is None for value in inputs.values()):
            raise ContractError(f"{self.node_class.__name__} was given no frame")
        return inputs

    def _as_frame(self, value: Any) -> Frame | None:
        if isinstance(value, np.ndarray):
            value = Frame.capture(value, self._next_index)
        if isinstance(value, Frame):
            self._next_index = value.index + 1
        return value

    def _check_required(self, inputs: dict[str, Any]) -> None:
        present = {key for value in inputs.values() if isinstance(value, Frame) for key in value.results}
        missing = [key for key in self.node_class.requires if key not in present]
        if missing:
            raise ContractError(f"{self.node_class.__name__} requires result(s) {', '.join(missing)}, which "
                                "the frames given lack: make them with livepose.testing.frame("
                                f"{missing[0]}=...) or read them with frames_from()")

    def _check_output(self, output: Any, inputs: dict[str, Any]) -> None:
        name = self.node_class.__name__
        ports = self.node_class.outputs
        if output is None:
            return
        if isinstance(output, Frame) and len(ports) == 1:
            by_port = {ports[0]: output}
        elif isinstance(output, dict) and set(output) <= set(ports):
            by_port = output
        else:
            raise ContractError(f"{name}.process returned {type(output).__name__}: it must return a Frame "
                                f"(or a {{port: Frame}} dict for ports {', '.join(ports) or 'none'}) or None")
        # A result passed on from any input (the very object) is not written by this node.
        given: dict[str, list[int]] = {}
        for value in inputs.values():
            if isinstance(value, Frame):
                for key, result in value.results.items():
                    given.setdefault(key, []).append(id(result))
        for port, frame in by_port.items():
            if frame is None:
                continue
            if not isinstance(frame, Frame):
                raise ContractError(f"{name}.process returned {type(frame).__name__} on port '{port}', not a Frame")
            added = [key for key, value in frame.results.items() if id(value) not in given.get(key, ())]
            declared = self.node_class.written_on(port)
            undeclared = [key for key in added if declared is not None and key not in declared]
            if undeclared:
                raise ContractError(f"{name} wrote result(s) {', '.join(undeclared)} on port '{port}' but declares "
                                    f"writes = {declared!r}: add them to its writes")
            for key in added:
                problem = type_problem(key, frame.results[key])
                if problem:
                    raise ContractError(f"{name} on port '{port}': {problem}")


def run_node(node_class: type[Node], frames: Iterable[Any] | Mapping[str, Iterable[Any]] | None = None, *,
             params: Mapping[str, Any] | None = None, mode: str = "offline", max_frames: int | None = None,
             live: LiveSnapshot | None = None, check: bool = True) -> list[Any]:
    """What ``node_class`` returns for each of ``frames``: set up once, ``process`` per frame, closed.

    ``frames`` are Frames or BGR images for a node with one input, or ``{port: frames}`` for one
    with several (the lists are zipped; an item may be ``None``). A source node takes none and is
    called until it ends, or ``max_frames`` times. The list holds each call's return value: a
    Frame, a ``{port: Frame}`` dict, or ``None`` (dropped, or a sink).
    """
    options: dict[str, Any] = {"mode": mode, "check": check}
    if live is not None:
        options["live"] = live
    outputs: list[Any] = []
    with NodeHarness(node_class, params, **options) as harness:
        if not node_class.inputs:
            if frames is not None:
                raise ContractError(f"{node_class.__name__} is a source: it takes no frames")
            return list(harness.drain(max_frames))
        if frames is None:
            raise ContractError(f"{node_class.__name__} reads {', '.join(node_class.inputs)}: give it frames")
        if isinstance(frames, Mapping):
            ports = list(frames)
            calls: Iterable[dict[str, Any]] = (dict(zip(ports, items)) for items in zip(*frames.values()))
        else:
            calls = ({node_class.inputs[0]: item} for item in frames)
        for call in calls:
            if max_frames is not None and len(outputs) >= max_frames:
                break
            outputs.append(harness.process(**call))
    return outputs
