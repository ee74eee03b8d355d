"""Small nodes for engine tests: a counting source, pass-through, slow, failing and collecting nodes."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import ClassVar

import numpy as np

from livepose import Frame, Node, param, testing


class Counter(Node):
    """Emits `count` small frames, optionally paced at `fps`."""

    outputs = ("frame",)
    pipeline_source_param: ClassVar[str] = "source"
    count: int = param(10, "how many frames to emit (0: forever)", ge=0)
    fps: float = param(0.0, "pace frames at this rate (0: as fast as possible)", ge=0)
    width: int = param(8, "frame width", ge=1)
    height: int = param(8, "frame height", ge=1)
    source: str = param("counter", "label stored in every frame's results")

    def setup(self) -> None:
        self._image = np.zeros((self.height, self.width, 3), np.uint8)
        self._next = 0
        self._start = time.monotonic()

    def process(self) -> Frame | None:
        if self.count and self._next >= self.count:
            return None
        if self.fps:
            due = self._start + self._next / self.fps
            delay = due - time.monotonic()
            if delay > 0 and self.ctx.stop_event.wait(delay):
                return None
        frame = Frame.capture(self._image, self._next).with_results(source=self.source)
        self._next += 1
        return frame

    def expected_frames(self) -> int | None:
        return self.count or None


class Tag(Node):
    """Adds results[key] = frame index * factor."""

    inputs = ("frame",)
    outputs = ("frame",)
    key: str = param("tag", "result name")
    factor: int = param(1, "multiplier")
    delay: float = param(0.0, "seconds to sleep per frame", ge=0)

    def process(self, frame: Frame) -> Frame:
        if self.delay:
            time.sleep(self.delay)
        return frame.with_results(**{self.key: frame.index * self.factor})


class Merge(Node):
    """Joins two branches into one frame with both results."""

    inputs = ("left", "right")
    outputs = ("frame",)

    def process(self, left: Frame, right: Frame) -> Frame:
        assert left.index == right.index
        return left.merged_with(right)


class DropOdd(Node):
    """Drops odd frames (returns None)."""

    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> Frame | None:
        return None if frame.index % 2 else frame


class Fail(Node):
    """Raises on the frames listed in `on`."""

    inputs = ("frame",)
    outputs = ("frame",)
    fail_on: list[int] = param([3], "frame indices that raise")

    def process(self, frame: Frame) -> Frame:
        if frame.index in self.fail_on:
            raise RuntimeError(f"boom on frame {frame.index}")
        return frame


class Collect(testing.Collect):
    """The testing sink (every frame it gets kept in ``frames``), slowed, counted or quitting on demand."""

    delay: float = param(0.0, "seconds to sleep per frame", ge=0)
    done_file: str = param("", "on close, write the number of frames received here")
    quit_after: int = param(0, "press the quit key after this many frames (0: never)", ge=0)
    announce_after: int = param(0, "log 'collected N frames' every N frames (0: never)", ge=0)
    keys: ClassVar[dict[str, str]] = {"x": "mark"}

    def setup(self) -> None:
        super().setup()
        self.closed = threading.Event()
        self.marks = 0

    def mark(self) -> None:
        self.marks += 1

    def process(self, frame: Frame) -> None:
        if self.delay:
            time.sleep(self.delay)
        super().process(frame)
        received = len(self.frames)
        if self.quit_after and received == self.quit_after:
            self.ctx.press_key("q")
        if self.announce_after and received % self.announce_after == 0:
            logging.getLogger("livepose.tests").info("%s: collected %d frames", self.name, received)

    def close(self) -> None:
        self.closed.set()
        if self.done_file:
            with open(self.done_file, "w") as f:
                f.write(str(len(self.frames)))


class BadOutput(Node):
    """Returns something that is not a frame."""

    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> str:
        return "not a frame"


class NeedsCamera(Node):
    """A source whose setup fails like a missing camera does."""

    outputs = ("frame",)

    def setup(self) -> None:
        from livepose.errors import UserError

        raise UserError("camera 7 could not be opened: is it plugged in?")

    def process(self) -> None:
        return None


class Loop(Node):
    """Counts the frames of a feedback loop: output = previous output + 1."""

    inputs = ("frame", "previous")
    outputs = ("frame",)

    def process(self, frame: Frame, previous: Frame | None) -> Frame:
        before = previous.results["loop"] if previous is not None else 0
        return frame.with_results(loop=before + 1, seen=None if previous is None else previous.index)


class PreparingLoop(Loop):
    """A Loop that notes which frames reached ``prepare`` before their feedback came back."""

    fail_on: list[int] = param([], "frame indices whose prepare raises")

    def setup(self) -> None:
        self.prepared: set[int] = set()

    def prepare(self, frame: Frame) -> None:
        if frame.index in self.fail_on:
            raise RuntimeError(f"prepare failed on frame {frame.index}")
        self.prepared.add(frame.index)

    def process(self, frame: Frame, previous: Frame | None) -> Frame:
        return super().process(frame, previous).with_results(prepared=frame.index in self.prepared)


class DeepCollect(Collect):
    """A Collect whose input edges prefer a deep drop_oldest queue."""

    input_queue: ClassVar[dict] = {"size": 5, "policy": "drop_oldest"}


class Fill(Node):
    """A new picture: every pixel set to the frame index (modulo 256)."""

    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> Frame:
        return frame.with_image(np.full_like(frame.image, frame.index % 256))


class KeepFirst(Node):
    """Keeps the first picture it gets and reports its mean with every frame (it must never change)."""

    inputs = ("frame",)
    outputs = ("frame",)

    def setup(self) -> None:
        self.first: np.ndarray | None = None

    def process(self, frame: Frame) -> Frame:
        if self.first is None:
            self.first = frame.image
        return frame.with_results(first_mean=float(self.first.mean()))


class WhereAmI(Node):
    """Reports the process it runs in and that process's CPU niceness."""

    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> Frame:
        if frame.index == 0:
            logging.getLogger("livepose.tests").warning("frame 0 reached process %d", os.getpid())
        return frame.with_results(pid=os.getpid(), nice=os.nice(0))


class WarnOnce(Node):
    """Logs one once-per-run warning in setup (as the CPU fallback of a model node does)."""

    inputs = ("frame",)
    outputs = ("frame",)

    def setup(self) -> None:
        from livepose.logs import warn_once

        warn_once(logging.getLogger("livepose.tests"), "the same warning from every process")

    def process(self, frame: Frame) -> Frame:
        return frame


class ExitProcess(Node):
    """Ends its whole process abruptly (as a crash in native code would) on frame `at`."""

    inputs = ("frame",)
    outputs = ("frame",)
    at: int = param(3, "the frame index that ends the process")

    def process(self, frame: Frame) -> Frame:
        if frame.index == self.at:
            os._exit(3)
        return frame


class NeedsModel(Node):
    """A processing node whose setup fails like a missing model does."""

    inputs = ("frame",)
    outputs = ("frame",)

    def setup(self) -> None:
        from livepose.errors import UserError

        raise UserError("model 'nowhere.onnx' not found: run `livepose models prepare`")

    def process(self, frame: Frame) -> Frame:
        return frame


class LiveProbe(Node):
    """Records the pipeline's live metrics at every frame (what a visualizer's overlay shows) in
    ``snapshots``."""

    inputs = ("frame",)

    def setup(self) -> None:
        self.snapshots: list = []

    def process(self, frame: Frame) -> None:
        self.snapshots.append(self.ctx.metrics.live())


class SlowSetup(Node):
    """A source whose setup takes `seconds` (a model loading), announced in the log."""

    outputs = ("frame",)
    seconds: float = param(30.0, "how long setup() takes", ge=0)

    def setup(self) -> None:
        logging.getLogger("livepose.tests").info("setting up")
        time.sleep(self.seconds)

    def process(self) -> Frame | None:
        return Frame.capture(np.zeros((4, 4, 3), np.uint8), 0)


class Hang(Node):
    """Passes frames on until frame `on`, then never returns (a node stuck in a driver call)."""

    inputs = ("frame",)
    outputs = ("frame",)
    at: int = param(3, "the frame to hang on", ge=0)

    def process(self, frame: Frame) -> Frame:
        if frame.index == self.at:
            logging.getLogger("livepose.tests").info("hanging on frame %d", frame.index)
            threading.Event().wait()
        return frame


class Stale(Node):
    """Answers every frame with the one before it (a node that keeps frames and returns old ones)."""

    inputs = ("frame",)
    outputs = ("frame",)

    def setup(self) -> None:
        self._previous: Frame | None = None

    def process(self, frame: Frame) -> Frame:
        answer = self._previous or frame
        self._previous = frame
        return answer
