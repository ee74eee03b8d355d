"""Realtime admission at the source (FlowLimiter), without threads: what enters, what is held, what drops."""

from __future__ import annotations

import threading

import pytest

from livepose.graph.admission import FlowLimiter


def test_one_in_flight_holds_the_newest_and_admits_it_when_the_sinks_are_done():
    limiter = FlowLimiter(1, ["window", "record"])
    assert limiter.offer(0, "f0") is True
    assert limiter.offer(1, "f1") is False and limiter.offer(2, "f2") is False
    assert limiter.dropped == 1, "frame 1 was replaced by the newer frame 2 while held"
    assert limiter.finished("window", 0) is None, "the recorder has not finished frame 0 yet"
    assert limiter.finished("record", 0) == (2, "f2")
    assert limiter.in_flight == 1 and limiter.admitted == 2


def test_a_sink_that_passed_an_index_has_finished_every_older_one():
    limiter = FlowLimiter(2, ["out"])
    assert limiter.offer(0, "a") and limiter.offer(1, "b")
    assert not limiter.offer(2, "c")
    # Frame 0 never reached the sink (dropped on the way by a newer one): frame 1 settles both.
    assert limiter.finished("out", 1) == (2, "c")
    assert limiter.in_flight == 1


def test_an_ended_sink_is_no_longer_waited_for():
    limiter = FlowLimiter(1, ["window", "record"])
    limiter.offer(0, "a")
    limiter.offer(1, "b")
    limiter.finished("window", 0)
    assert limiter.sink_ended("record") == (1, "b")
    assert limiter.finished("window", 1) is None and limiter.in_flight == 0
    assert limiter.offer(2, "c") is True


def test_held_frames_never_overtake_and_the_end_of_stream_waits_for_the_last():
    limiter = FlowLimiter(1, ["out"])
    stop = threading.Event()
    limiter.offer(0, "a")
    limiter.offer(1, "b")
    assert limiter.offer(2, "c") is False, "with a frame held, a new one replaces it rather than enter"
    assert limiter.wait_until_drained(0.01, stop) is False
    limiter.finished("out", 0)
    assert limiter.wait_until_drained(0.01, stop) is True
    assert limiter.take_held() is None


def test_wait_for_the_last_frame_ends_on_stop():
    limiter = FlowLimiter(1, ["out"])
    stop = threading.Event()
    limiter.offer(0, "a")
    limiter.offer(1, "b")
    waiter = threading.Thread(target=limiter.wait_until_drained, args=(None, stop))
    waiter.start()
    stop.set()
    limiter.wake()
    waiter.join(5)
    assert not waiter.is_alive()
    assert limiter.take_held() == (1, "b")


def test_in_flight_must_be_positive():
    with pytest.raises(ValueError):
        FlowLimiter(0, ["out"])
