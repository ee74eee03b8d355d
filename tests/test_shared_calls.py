"""Model calls shared across cameras (``livepose.models.shared_calls``): who waits for whom, and exact rows.

The threads here are the cameras' node copies; every wait in these tests is event-driven (a model
that blocks until told, a clock the test moves), and a thread that should not wait is joined with a
generous timeout, so a wrong wait fails the test instead of slowing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from livepose.models.shared_calls import SharedCallsRegistry, SharedModelCalls

GENEROUS = 30.0


class RecordingModel:
    """Doubles its input; records each call's rows."""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        self.calls.append(batch.copy())
        return {"twice": batch * 2, "first": batch[:, :1]}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _in_thread(call: Callable[[np.ndarray], dict[str, np.ndarray]], batch: np.ndarray) -> tuple[threading.Thread, dict]:
    got: dict = {}

    def run() -> None:
        try:
            got["result"] = call(batch)
        except Exception as error:  # the test asserts on it
            got["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def _until_queued(shared: SharedModelCalls, count: int) -> None:
    """Until ``count`` requests wait behind a held call (polled: the class has no event for it)."""
    ready = threading.Event()
    for _ in range(int(GENEROUS / 0.001)):
        with shared._changed:
            if len(shared._pending) >= count:
                return
        ready.wait(0.001)
    pytest.fail(f"{count} requests never queued")


def _first_held_then_together(model: Callable[[np.ndarray], dict[str, np.ndarray]],
                              batches: list[np.ndarray]) -> tuple[SharedModelCalls, list[dict]]:
    """Each batch from its own participant: the first one's call is held until every other batch waits
    behind it, so those go into the next call together. The shared model, and what each caller got."""
    entered, release = threading.Event(), threading.Event()

    def held_first(batch: np.ndarray) -> dict[str, np.ndarray]:
        if not entered.is_set():
            entered.set()
            assert release.wait(GENEROUS)
        return model(batch)

    shared = SharedModelCalls(held_first, wait_s=0.0)
    participants = [shared.participant() for _ in batches]
    started = [_in_thread(participants[0], batches[0])]
    assert entered.wait(GENEROUS)
    started += [_in_thread(call, batch) for call, batch in zip(participants[1:], batches[1:])]
    _until_queued(shared, len(batches) - 1)
    release.set()
    for thread, _ in started:
        thread.join(GENEROUS)
    return shared, [got for _, got in started]


def _rows(value: float, count: int = 1) -> np.ndarray:
    return np.full((count, 3), value, np.float32)


def test_batches_waiting_while_a_call_runs_go_into_the_next_call_each_getting_its_rows() -> None:
    model = RecordingModel()
    shared, (got_a, got_b, got_c) = _first_held_then_together(model, [_rows(1), _rows(2, count=2), _rows(3)])
    assert [len(batch) for batch in model.calls] == [1, 3]
    np.testing.assert_array_equal(got_a["result"]["twice"], _rows(2))
    np.testing.assert_array_equal(got_b["result"]["twice"], _rows(4, count=2))
    np.testing.assert_array_equal(got_c["result"]["twice"], _rows(6))
    np.testing.assert_array_equal(got_c["result"]["first"], _rows(3)[:, :1])
    stats = shared.stats
    assert (stats.calls, stats.requests, stats.rows, stats.shared) == (2, 3, 4, 1)


def test_a_call_waits_for_a_camera_whose_next_batch_is_due_and_runs_both_together() -> None:
    clock, model = Clock(), RecordingModel()
    shared = SharedModelCalls(model, wait_s=10.0, clock=clock)
    a, b = shared.participant(), shared.participant()
    for _ in range(2):  # b asks every second: at 101 and 102, so it is due at 103
        clock.now += 1.0
        b(_rows(0))
    clock.now = 102.9
    waiting, got_a = _in_thread(a, _rows(1))
    waiting.join(0.05)
    assert waiting.is_alive() and len(model.calls) == 2  # a waits (the clock stands still: no deadline)
    clock.now = 103.0
    got_b = b(_rows(2))
    waiting.join(GENEROUS)
    assert [len(batch) for batch in model.calls[2:]] == [2]
    np.testing.assert_array_equal(got_a["result"]["twice"], _rows(2))
    np.testing.assert_array_equal(got_b["twice"], _rows(4))


@pytest.mark.parametrize("b_history", [[], [101.0], [100.0, 101.0]], ids=["never asked", "asked once", "stalled"])
def test_a_call_does_not_wait_for_a_camera_that_is_not_due(b_history: list[float]) -> None:
    clock, model = Clock(), RecordingModel()
    shared = SharedModelCalls(model, wait_s=60.0, clock=clock)
    a, b = shared.participant(), shared.participant()
    for when in b_history:
        clock.now = when
        b(_rows(0))
    clock.now = 104.0  # "stalled": b's interval is 1 s and it is 3 s late
    alone, got_a = _in_thread(a, _rows(1))
    alone.join(GENEROUS)
    assert not alone.is_alive()
    np.testing.assert_array_equal(got_a["result"]["twice"], _rows(2))
    assert len(model.calls[-1]) == 1


def test_a_waiting_call_runs_alone_once_its_wait_is_over() -> None:
    clock, model = Clock(), RecordingModel()
    shared = SharedModelCalls(model, wait_s=0.5, clock=clock)
    a, b = shared.participant(), shared.participant()
    for when in (100.0, 101.0):
        clock.now = when
        b(_rows(0))
    clock.now = 101.9  # b is due at 102, within the wait
    waiting, got_a = _in_thread(a, _rows(1))
    waiting.join(0.05)
    assert waiting.is_alive()
    clock.now = 102.5  # past the deadline: the next check runs a alone
    waiting.join(GENEROUS)
    assert not waiting.is_alive() and "result" in got_a and len(model.calls[-1]) == 1


def test_a_failing_call_raises_in_every_caller_of_that_call() -> None:
    calls: list[int] = []

    def failing_second(batch: np.ndarray) -> dict[str, np.ndarray]:
        calls.append(len(batch))
        if len(calls) == 1:
            return {"y": batch}
        raise RuntimeError("the device is gone")

    shared, (got_a, got_b, got_c) = _first_held_then_together(failing_second, [_rows(1), _rows(2), _rows(3)])
    assert calls == [1, 2] and "result" in got_a
    assert str(got_b["error"]) == str(got_c["error"]) == "the device is gone"
    assert shared.stats.calls == 2  # the failed call is counted too


def test_a_model_whose_outputs_are_not_per_row_is_refused_with_what_to_do() -> None:
    def pooled(batch: np.ndarray) -> dict[str, np.ndarray]:
        return {"mean": batch.mean(axis=0, keepdims=True)}

    _, (got_a, got_b, _) = _first_held_then_together(pooled, [_rows(1), _rows(2), _rows(3)])
    assert "result" in got_a  # alone, a call is the model's own
    assert "batch_cameras: false" in str(got_b["error"]) and "['mean']" in str(got_b["error"])


def test_the_registry_shares_one_model_per_key_and_reports_each() -> None:
    registry = SharedCallsRegistry(wait_s=0.0)
    model = RecordingModel()
    left = registry.participant(("hands", "m.onnx"), "hands (m.onnx)", model)
    right = registry.participant(("hands", "m.onnx"), "hands (m.onnx)", lambda batch: pytest.fail("not used"))
    other = registry.participant(("face", "f.onnx"), "face (f.onnx)", RecordingModel())
    left(_rows(1))
    right(_rows(2))
    other(_rows(3))
    assert len(model.calls) == 2
    assert {label: s.requests for label, s in registry.stats().items()} == {"hands (m.onnx)": 2, "face (f.onnx)": 1}


def test_real_crops_shared_across_threads_equal_each_run_alone(models_ready) -> None:
    from livepose.models.runtime import ModelSession

    session = ModelSession("mediapipe/hand_landmark_full", provider="cpu", dynamic_batch=True, intra_op_threads=1)
    crops = np.random.default_rng(7).random((4, 224, 224, 3), dtype=np.float32)
    alone = [session.run(crops[1:2]), session.run(crops[2:])]
    shared, (_, got_second, got_third) = _first_held_then_together(session.run, [crops[:1], crops[1:2], crops[2:]])
    assert shared.stats.shared == 1 and shared.stats.rows == 4
    for got, expected in ((got_second, alone[0]), (got_third, alone[1])):
        for name, value in expected.items():
            np.testing.assert_array_equal(got["result"][name], value)


def test_a_model_node_shares_its_calls_when_batch_cameras_says_so(models_ready) -> None:
    from livepose.models.shared_calls import CameraBatching
    from livepose.nodes.tracking import open_model

    registry = SharedCallsRegistry(wait_s=0.0)
    crop = np.zeros((1, 224, 224, 3), np.float32)
    always = CameraBatching(registry, always=True, node="hands")
    left = open_model("mediapipe/hand_landmark_full", "cpu", 1, camera_batching=always)
    right = open_model("mediapipe/hand_landmark_full", "cpu", 1, camera_batching=always)
    left.run(crop)
    right.run(crop)
    assert {label: s.requests for label, s in registry.stats().items()} == {
        "hands (hand_landmark_full.batch.onnx)": 2}
    # auto on the CPU, or crops made with torch: each copy calls the model itself.
    auto = CameraBatching(registry, always=False, node="face")
    open_model("mediapipe/face_landmark", "cpu", 1, camera_batching=auto).run(np.zeros((1, 192, 192, 3), np.float32))
    assert list(registry.stats()) == ["hands (hand_landmark_full.batch.onnx)"]


def test_the_segmenter_shares_its_calls_too_with_the_same_masks(models_ready) -> None:
    from livepose.models.shared_calls import CameraBatching
    from livepose.nodes.segmentation import SelfieSegmenter

    registry = SharedCallsRegistry(wait_s=0.0)
    rgb = np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    shared = SelfieSegmenter("", 0, "cpu", camera_batching=CameraBatching(registry, always=True, node="person"))
    alone = SelfieSegmenter("", 0, "cpu")
    np.testing.assert_allclose(shared(rgb), alone(rgb), atol=1e-6)
    assert registry.stats()["person (selfie_segmentation.batch.onnx)"].requests == 1
