"""Queue policies, joins by frame index, skips and feedback edges, without the runner."""

from __future__ import annotations

import threading

import numpy as np

from livepose.graph.frame import Frame
from livepose.graph.queues import END, Edge, Inbox, Skip

IMAGE = np.zeros((2, 2, 3), np.uint8)


def frame(i: int) -> Frame:
    return Frame.capture(IMAGE, i)


def single(policy: str, size: int, realtime: bool = True) -> tuple[Inbox, Edge]:
    edge = Edge("s", "frame", size, policy, feedback=False)
    return Inbox([edge], realtime), edge


def drain(inbox: Inbox, edge: Edge) -> list[int]:
    inbox.put(edge, END)
    out = []
    while (d := inbox.get()) is not None:
        out.append(d.index)
    return out


def test_latest_keeps_only_the_newest():
    inbox, edge = single("latest", 1)
    for i in range(5):
        inbox.put(edge, frame(i))
    assert edge.drops == 4 and drain(inbox, edge) == [4]


def test_latest_with_room_keeps_everything_until_full():
    inbox, edge = single("latest", 3)
    for i in range(3):
        inbox.put(edge, frame(i))
    assert edge.drops == 0 and edge.max_depth == 3
    inbox.put(edge, frame(3))
    assert edge.drops == 3 and drain(inbox, edge) == [3]


def test_drop_oldest():
    inbox, edge = single("drop_oldest", 2)
    for i in range(5):
        inbox.put(edge, frame(i))
    assert edge.drops == 3 and drain(inbox, edge) == [3, 4]


def test_block_waits_for_room_and_loses_nothing():
    inbox, edge = single("block", 2, realtime=False)
    producer = threading.Thread(target=lambda: [inbox.put(edge, frame(i)) for i in range(50)] + [inbox.put(edge, END)])
    producer.start()
    got = []
    while (d := inbox.get()) is not None:
        got.append(d.index)
        assert edge.depth <= 2
    producer.join(2)
    assert got == list(range(50)) and edge.drops == 0 and edge.max_depth == 2


def test_end_is_never_dropped_and_follows_pending_frames():
    inbox, edge = single("latest", 1)
    inbox.put(edge, frame(7))
    inbox.put(edge, END)
    assert inbox.get().index == 7 and inbox.get() is None


def test_join_pairs_by_index_and_discards_unmatched():
    a = Edge("a", "left", 8, "latest", False)
    b = Edge("b", "right", 8, "latest", False)
    inbox = Inbox([a, b], realtime=True)
    for i in (1, 2, 3):
        inbox.put(a, frame(i))
    for i in (2, 3):
        inbox.put(b, frame(i))
    first = inbox.get()
    assert first.index == 2 and set(first.frames) == {"left", "right"}
    assert inbox.join_drops == 1
    assert inbox.get().index == 3


def test_skip_on_one_branch_yields_a_skipped_delivery():
    a = Edge("a", "left", 4, "block", False)
    b = Edge("b", "right", 4, "block", False)
    inbox = Inbox([a, b], realtime=False)
    inbox.put(a, frame(0))
    inbox.put(b, Skip(0))
    d = inbox.get()
    assert d.index == 0 and d.skipped and d.frames == {}


def test_feedback_offline_waits_for_the_previous_index():
    main = Edge("frames", "frame", 4, "block", False)
    back = Edge("loop", "previous", 1, "block", True)
    inbox = Inbox([main, back], realtime=False)
    inbox.put(main, frame(0))
    inbox.put(main, frame(1))
    d0 = inbox.get()
    assert d0.index == 0 and not inbox.feedback_pending(d0) and inbox.feedback(d0) == {"previous": None}
    d1 = inbox.get()
    assert d1.index == 1 and d1.feedback_of == 0 and set(d1.frames) == {"frame"}
    assert inbox.feedback_pending(d1), "frame 0's feedback has not come back yet"
    result: list = []
    consumer = threading.Thread(target=lambda: result.append(inbox.feedback(d1)))
    consumer.start()
    consumer.join(0.2)
    assert consumer.is_alive(), "frame 1's feedback must wait for frame 0's message"
    inbox.put(back, frame(0).with_results(loop=1))
    consumer.join(2)
    assert result[0]["previous"].results["loop"] == 1


def test_feedback_offline_is_not_pending_once_sent_and_a_skip_reads_as_none():
    main = Edge("frames", "frame", 4, "block", False)
    back = Edge("loop", "previous", 2, "block", True)
    inbox = Inbox([main, back], realtime=False)
    for i in range(3):
        inbox.put(main, frame(i))
    inbox.feedback(inbox.get())
    inbox.put(back, frame(0))
    d1 = inbox.get()
    assert not inbox.feedback_pending(d1) and inbox.feedback(d1)["previous"].index == 0
    inbox.put(back, Skip(1))
    d2 = inbox.get()
    assert not inbox.feedback_pending(d2) and inbox.feedback(d2) == {"previous": None}


def test_feedback_realtime_takes_the_newest_without_waiting():
    main = Edge("frames", "frame", 1, "latest", False)
    back = Edge("loop", "previous", 1, "latest", True)
    inbox = Inbox([main, back], realtime=True)

    def next_feedback():
        delivery = inbox.get()
        assert not inbox.feedback_pending(delivery)
        return inbox.feedback(delivery)["previous"]

    inbox.put(main, frame(0))
    assert next_feedback() is None
    inbox.put(back, frame(0))
    inbox.put(main, frame(5))
    assert next_feedback().index == 0
    inbox.put(main, frame(6))
    assert next_feedback().index == 0, "the last feedback stays until a newer one arrives"


def test_close_releases_a_blocked_producer_and_abort_releases_the_consumer():
    inbox, edge = single("block", 1, realtime=False)
    inbox.put(edge, frame(0))
    producer = threading.Thread(target=inbox.put, args=(edge, frame(1)))
    producer.start()
    producer.join(0.1)
    assert producer.is_alive()
    inbox.close()
    producer.join(1)
    assert not producer.is_alive()
    other, _ = single("block", 1, realtime=False)
    consumer = threading.Thread(target=other.get)
    consumer.start()
    other.abort()
    consumer.join(1)
    assert not consumer.is_alive()


def test_frames_are_read_only_and_fan_out_safe():
    image = np.zeros((4, 4, 3), np.uint8)
    f = Frame.capture(image, 0)
    assert not f.image.flags.writeable and image.flags.writeable
    g = f.with_results(hands=(1,))
    assert "hands" not in f.results and g.results["hands"] == (1,) and g.image is f.image
    try:
        f.results["x"] = 1  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("results must be read-only")
