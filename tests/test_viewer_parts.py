"""The viewer's plain-Python parts, without Qt: the frame hand-off and pause/step (``bridge``), the
landmark trace (``trace``), the plotted series sampled from a real run's metrics (``series``), the
check for a usable display (``availability``), and the metrics readers they rely on."""

from __future__ import annotations

import dataclasses
import math
import sys
import threading

import numpy as np
import pytest

from livepose.graph.metrics import LIVE_SECONDS, PipelineMetrics, SampleRing
from livepose.results import FACES, HANDS, FaceLandmark, HandLandmark
from livepose.testing import run_pipeline, samples
from livepose.viewer import availability
from livepose.viewer.bridge import ViewerBridge, fit_size, scale_to_fit
from livepose.viewer.series import RunSeries, Series
from livepose.viewer.trace import LandmarkTrace, TraceChoice, parse_trace, trace_choices, trace_point

TIMEOUT = 5.0
"""Generous bound for anything a thread must do (it normally takes milliseconds)."""


# -- bridge: fitting ------------------------------------------------------------------------------

@pytest.mark.parametrize("image_size, area, expected", [
    ((640, 480), (320, 320), (320, 240)),      # width limits
    ((480, 640), (1000, 1000), (750, 1000)),   # height limits, scaled up
    ((640, 480), (100, 1000), (100, 75)),
    ((640, 480), (640, 480), (640, 480)),      # exact fit
    ((1000, 1), (10, 10), (10, 1)),            # never below one pixel
])
def test_fit_size_is_the_largest_size_with_the_images_aspect_inside_the_area(image_size, area, expected):
    assert fit_size(image_size, area) == expected
    width, height = fit_size(image_size, area)
    assert width <= area[0] and height <= area[1]


def test_scale_to_fit_keeps_the_aspect_and_the_picture():
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :320] = (255, 255, 255)  # left half white, right half black
    view = scale_to_fit(image, (200, 600))
    assert view.shape == (150, 200, 3)
    assert view.flags.c_contiguous
    assert (view[:, :95] == 255).all() and (view[:, 105:] == 0).all()


def test_scale_to_fit_without_an_area_or_at_an_exact_fit_gives_the_image_contiguous():
    image = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    strided = image[:, ::2]  # 20 x 15, not contiguous
    assert not strided.flags.c_contiguous
    for area in (None, (0, 10), (15, 20)):
        shown = scale_to_fit(strided, area)
        assert shown.flags.c_contiguous
        np.testing.assert_array_equal(shown, strided)


# -- bridge: the newest frame ---------------------------------------------------------------------

def test_newest_is_none_before_any_frame_and_then_only_the_newest_frame():
    bridge = ViewerBridge()
    assert bridge.newest() is None
    images = [samples.frame(index=i).image + i for i in range(3)]
    for i, image in enumerate(images):
        bridge.offer(image, index=10 + i, media_time=i / 30)
    shown = bridge.newest()
    assert shown is not None
    assert (shown.sequence, shown.index, shown.media_time) == (3, 12, pytest.approx(2 / 30))
    assert shown.image is images[2]
    assert bridge.newest(after=2) is shown
    assert bridge.newest(after=3) is None
    bridge.offer(images[0], index=13, media_time=None)
    newer = bridge.newest(after=3)
    assert newer is not None and (newer.sequence, newer.index, newer.media_time) == (4, 13, None)


def test_offered_frames_are_scaled_to_the_view_area_set_with_aspect_kept():
    bridge = ViewerBridge()
    image = samples.frame(size=(480, 640)).image
    bridge.offer(image, 0, None)
    first = bridge.newest()
    assert first is not None and first.view.shape == (480, 640, 3)  # no area known yet
    bridge.set_view_area(320, 320)
    bridge.offer(image, 1, None)
    second = bridge.newest()
    assert second is not None
    assert second.view.shape == (240, 320, 3)
    assert second.image.shape == (480, 640, 3)  # the full-size frame stays, for screenshots
    bridge.set_view_area(1000, 300)
    bridge.offer(image, 2, None)
    third = bridge.newest()
    assert third is not None and third.view.shape == (300, 400, 3)


# -- bridge: pause and step -----------------------------------------------------------------------

class WatchedCondition(threading.Condition):
    """The bridge's condition, counting the times a held thread waits on it: a thread seen waiting
    twice went round the hold loop and was still held, with no sleep in the test."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0
        self.observed = threading.Condition()

    def wait(self, timeout: float | None = None) -> bool:
        with self.observed:
            self.waits += 1
            self.observed.notify_all()
        return super().wait(timeout)

    def wait_for_waits(self, count: int) -> bool:
        with self.observed:
            return self.observed.wait_for(lambda: self.waits >= count, TIMEOUT)


class Holder:
    """A thread standing in for the viewer node: it calls ``hold`` ``times`` times, counting passes."""

    def __init__(self, bridge: ViewerBridge, stop: threading.Event, times: int = 1) -> None:
        self.passes = 0
        self.passed = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(bridge, stop, times), daemon=True)
        self.thread.start()

    def _run(self, bridge: ViewerBridge, stop: threading.Event, times: int) -> None:
        for _ in range(times):
            bridge.hold(stop)
            with self.passed:
                self.passes += 1
                self.passed.notify_all()

    def wait_for_passes(self, count: int) -> bool:
        with self.passed:
            return self.passed.wait_for(lambda: self.passes >= count, TIMEOUT)

    def finished(self) -> bool:
        self.thread.join(TIMEOUT)
        return not self.thread.is_alive()


def watched_bridge() -> tuple[ViewerBridge, WatchedCondition]:
    bridge = ViewerBridge()
    watched = WatchedCondition()
    bridge._lock = watched  # the same kind of object, instrumented
    return bridge, watched


def assert_held(holder: Holder, watched: WatchedCondition, passes: int) -> None:
    """The holder has waited twice more from now on and still has only ``passes`` passes."""
    with watched.observed:
        seen = watched.waits
    assert watched.wait_for_waits(seen + 2), f"the thread was not held (it passed {holder.passes} times)"
    assert holder.passes == passes and holder.thread.is_alive()


def test_hold_returns_at_once_while_playing():
    bridge, watched = watched_bridge()
    holder = Holder(bridge, threading.Event(), times=3)
    assert holder.finished()
    assert holder.passes == 3 and watched.waits == 0
    assert not bridge.paused


def test_while_paused_each_step_lets_exactly_one_frame_through():
    bridge, watched = watched_bridge()
    bridge.set_paused(True)
    assert bridge.paused
    holder = Holder(bridge, threading.Event(), times=3)
    assert_held(holder, watched, 0)
    bridge.step()
    assert holder.wait_for_passes(1)
    assert_held(holder, watched, 1)
    bridge.step()
    assert holder.wait_for_passes(2)
    assert_held(holder, watched, 2)
    bridge.set_paused(False)
    assert holder.finished() and holder.passes == 3


def test_two_steps_before_the_frames_arrive_let_two_frames_through():
    bridge, watched = watched_bridge()
    bridge.set_paused(True)
    bridge.step()
    bridge.step()
    holder = Holder(bridge, threading.Event(), times=3)
    assert holder.wait_for_passes(2)
    assert_held(holder, watched, 2)
    bridge.close()
    assert holder.finished()


def test_set_paused_drops_the_pending_steps_and_a_step_while_playing_counts_for_nothing():
    bridge, watched = watched_bridge()
    bridge.step()  # playing: ignored
    bridge.set_paused(True)
    bridge.step()
    bridge.step()
    bridge.set_paused(True)  # resets the two pending steps
    holder = Holder(bridge, threading.Event())
    assert_held(holder, watched, 0)
    bridge.set_paused(False)
    assert holder.finished() and holder.passes == 1
    bridge.set_paused(True)
    bridge.step()
    bridge.set_paused(False)  # resuming drops the pending step too
    bridge.set_paused(True)
    again = Holder(bridge, threading.Event())
    assert_held(again, watched, 0)
    bridge.close()
    assert again.finished()


@pytest.mark.parametrize("release", ["resume", "close", "stop"])
def test_a_held_thread_is_let_go_by_resuming_closing_or_the_stop_event(release):
    bridge, watched = watched_bridge()
    stop = threading.Event()
    bridge.set_paused(True)
    holder = Holder(bridge, stop, times=2)
    assert_held(holder, watched, 0)
    if release == "resume":
        bridge.set_paused(False)
    elif release == "close":
        bridge.close()
        assert bridge.closed
    else:
        stop.set()
    assert holder.finished()
    assert holder.passes == 2  # and nothing holds later frames either


# -- trace: choosing a landmark -------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("hand:INDEX_FINGER_TIP", TraceChoice("hand", HandLandmark.INDEX_FINGER_TIP)),
    ("face:NOSE_TIP", TraceChoice("face", FaceLandmark.NOSE_TIP)),
    ("face:152", TraceChoice("face", 152)),
    ("face:467", TraceChoice("face", 467)),
    ("hand:0", TraceChoice("hand", 0)),
    ("HAND:index_finger_tip", TraceChoice("hand", 8)),
    (" Face : Nose_Tip ", TraceChoice("face", 1)),
])
def test_parse_trace_accepts_names_and_indices_in_any_case(text, expected):
    choice = parse_trace(text)
    assert choice == expected
    assert type(choice.index) is int


@pytest.mark.parametrize("text, says", [
    ("foot:WRIST", "hand:NAME or face:NAME"),
    ("hand", "hand:NAME or face:NAME"),
    ("hand:", "hand:NAME or face:NAME"),
    ("", "hand:NAME or face:NAME"),
    ("hand:21", "0 to 20"),
    ("face:468", "0 to 467"),
    ("hand:NOSE_TIP", "INDEX_FINGER_TIP"),
    ("face:INDEX_FINGER_TIP", "NOSE_TIP"),
    ("face:-1", "CHIN"),
    ("face:\u00b2", "CHIN"),  # str.isdigit() is true for it, int() is not
])
def test_parse_trace_rejects_what_it_cannot_follow_and_says_what_it_accepts(text, says):
    with pytest.raises(ValueError) as caught:
        parse_trace(text)
    message = str(caught.value)
    assert repr(text) in message and says in message


def test_the_unknown_name_message_lists_every_name_of_that_kind():
    with pytest.raises(ValueError) as caught:
        parse_trace("hand:INDEX_TIP")
    assert all(mark.name in str(caught.value) for mark in HandLandmark)


def test_trace_choices_and_labels():
    choices = trace_choices()
    assert len(choices) == len(HandLandmark) + len(FaceLandmark)
    assert choices[0] == TraceChoice("hand", 0) and TraceChoice("face", 1) in choices
    assert TraceChoice("hand", 8).label == "hand INDEX_FINGER_TIP"
    assert TraceChoice("face", 152).label == "face CHIN"
    assert TraceChoice("face", 200).label == "face 200"  # a mesh point without a name


# -- trace: the points ----------------------------------------------------------------------------

def shifted_hand(dx: float, track_id: int):
    base = samples.open_hand_landmarks((320.0, 240.0), 200.0)
    return samples.hand(base + np.array([dx, 0.0, 0.0]), track_id=track_id)


def test_trace_point_follows_the_hand_with_the_lowest_track_id():
    far, near = shifted_hand(100.0, track_id=5), shifted_hand(-50.0, track_id=2)
    results = samples.frame(hands=[far, near]).results
    point = trace_point(results, parse_trace("hand:INDEX_FINGER_TIP"), 3.5)
    assert point is not None
    tip = near.landmarks[HandLandmark.INDEX_FINGER_TIP]
    assert point.time == 3.5 and point.track_id == 2
    assert point.raw == (pytest.approx(tip[0]), pytest.approx(tip[1]))
    assert point.smoothed is None  # no tracker smoothed them


def test_trace_point_gives_raw_and_smoothed_after_a_smoothing_tracker():
    smoothed = shifted_hand(0.0, track_id=1)
    raw = np.array(smoothed.landmarks) + np.array([3.0, -4.0, 0.0])
    tracked = dataclasses.replace(smoothed, raw_landmarks=raw)
    point = trace_point(samples.frame(hands=[tracked]).results, TraceChoice("hand", HandLandmark.WRIST), 0.0)
    assert point is not None
    wrist = smoothed.landmarks[HandLandmark.WRIST]
    assert point.raw == (pytest.approx(wrist[0] + 3.0), pytest.approx(wrist[1] - 4.0))
    assert point.smoothed == (pytest.approx(wrist[0]), pytest.approx(wrist[1]))


def test_trace_point_on_faces():
    first = samples.face(centre=(200.0, 240.0), track_id=4)
    second = samples.face(centre=(450.0, 240.0), track_id=7)
    raw = np.array(first.landmarks) + 1.0
    results = samples.frame(faces=[second, dataclasses.replace(first, raw_landmarks=raw)]).results
    point = trace_point(results, parse_trace("face:NOSE_TIP"), 1.0)
    assert point is not None and point.track_id == 4
    nose = first.landmarks[FaceLandmark.NOSE_TIP]
    assert point.raw == (pytest.approx(nose[0] + 1.0), pytest.approx(nose[1] + 1.0))
    assert point.smoothed == (pytest.approx(nose[0]), pytest.approx(nose[1]))


def test_trace_point_is_none_without_such_an_object():
    hand_only = samples.frame(hands=[samples.hand()]).results
    assert trace_point(hand_only, parse_trace("face:NOSE_TIP"), 0.0) is None
    assert trace_point(samples.frame().results, parse_trace("hand:WRIST"), 0.0) is None
    assert trace_point(samples.frame(hands=[]).results, parse_trace("hand:WRIST"), 0.0) is None
    assert trace_point({HANDS: None, FACES: ()}, parse_trace("hand:WRIST"), 0.0) is None


def test_landmark_trace_keeps_the_last_seconds_and_choose_starts_afresh():
    trace = LandmarkTrace(parse_trace("hand:THUMB_TIP"), seconds=1.0)
    with_hand = samples.frame(hands=[samples.hand(track_id=3)]).results
    for when in (0.0, 0.5, 1.0, 1.6):
        trace.add(with_hand, when)
    assert [p.time for p in trace.points()] == [1.0, 1.6]
    assert all(p.track_id == 3 for p in trace.points())
    trace.add(samples.frame().results, 1.8)  # no hand: nothing added, but time moves on
    assert [p.time for p in trace.points()] == [1.0, 1.6]
    trace.add(samples.frame().results, 2.7)
    assert [p.time for p in trace.points()] == []
    trace.add(with_hand, 3.0)
    assert len(trace.points()) == 1
    face_choice = parse_trace("face:CHIN")
    trace.choose(face_choice)
    assert trace.choice == face_choice and trace.points() == []
    trace.add(with_hand, 3.1)  # a hand only: the face landmark is not there
    assert trace.points() == []
    trace.add(samples.frame(faces=[samples.face()]).results, 3.2)
    assert [p.time for p in trace.points()] == [3.2]


def test_a_point_found_while_the_window_chooses_another_landmark_is_not_kept(monkeypatch):
    import livepose.viewer.trace as trace_module

    trace = LandmarkTrace(parse_trace("hand:WRIST"))
    real = trace_module.trace_point

    def interleaved(results, choice, time):
        point = real(results, choice, time)
        trace.choose(parse_trace("hand:PINKY_TIP"))  # the window's thread, between finding and keeping
        return point

    monkeypatch.setattr(trace_module, "trace_point", interleaved)
    trace.add(samples.frame(hands=[samples.hand()]).results, 1.0)
    assert trace.points() == []  # the new landmark's trace starts empty, not with a wrist point


# -- metrics: the readers the series use ----------------------------------------------------------

def test_sample_ring_since_gives_the_samples_added_after_a_count_oldest_first():
    ring = SampleRing(4)
    assert ring.count == 0 and len(ring.since(0)) == 0
    for value in (1.0, 2.0, 3.0):
        ring.add(value)
    assert ring.count == 3
    np.testing.assert_array_equal(ring.since(0), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ring.since(2), [3.0])
    for value in (4.0, 5.0, 6.0):
        ring.add(value)
    assert ring.count == 6 and len(ring) == 4
    np.testing.assert_array_equal(ring.since(0), [3.0, 4.0, 5.0, 6.0])  # only what the ring holds
    np.testing.assert_array_equal(ring.since(3), [4.0, 5.0, 6.0])
    assert len(ring.since(6)) == 0 and len(ring.since(9)) == 0
    taken = ring.since(4)
    taken[:] = -1.0  # a copy: the ring is untouched
    np.testing.assert_array_equal(ring.since(4), [5.0, 6.0])


def sink_metrics() -> PipelineMetrics:
    return PipelineMetrics(["src", "left", "right"], {}, ["src"], ["left", "right"])


def test_recent_latency_pools_every_sinks_last_second_in_milliseconds():
    metrics = sink_metrics()
    now = 100.0
    metrics.sink_finished(metrics.nodes["left"], now - 5.0 - 0.5, now - 5.0)  # too old
    for sink, latency, when in (("left", 0.010, now - 0.9), ("left", 0.030, now - 0.2),
                                ("right", 0.020, now), ("right", 0.040, now - 0.5)):
        metrics.sink_finished(metrics.nodes[sink], when - latency, when)
    p50, p95, top = metrics.recent_latency_ms(50, 95, 100, now=now)
    assert p50 == pytest.approx(25.0)
    assert p95 == pytest.approx(np.percentile([10, 20, 30, 40], 95))
    assert top == pytest.approx(40.0)
    (later,) = metrics.recent_latency_ms(50, now=now + 0.5)  # the frame at now - 0.9 has left the second
    assert later == pytest.approx(30.0)
    assert all(math.isnan(v) for v in metrics.recent_latency_ms(50, 95, now=now + LIVE_SECONDS + 0.1))


# -- series: a real run's metrics -----------------------------------------------------------------

PIPELINE = """\
    nodes:
      - {name: src, type: "pipeline_nodes:Counter", params: {count: 20}, outputs: a}
      - {name: tag, type: "pipeline_nodes:Tag", inputs: a, outputs: b}
      - {name: out, type: "pipeline_nodes:Collect", inputs: b}
"""


@pytest.fixture
def run_metrics() -> PipelineMetrics:
    outcome = run_pipeline(PIPELINE)
    assert outcome.exit_code == 0 and len(outcome.frames("out")) == 20
    return outcome.result.metrics


def all_series(run: RunSeries) -> list[Series]:
    return [*run.throughput.values(), *run.latency.values(), *run.processing.values(),
            *run.queue_fill.values(), *run.drops.values(), run.source_drops]


def test_a_real_runs_metrics_have_what_the_series_read(run_metrics):
    for name in ("src", "tag", "out"):
        ring = run_metrics.nodes[name].process_seconds
        assert ring.count == 20
        assert len(ring.since(0)) == 20 and (ring.since(0) > 0).all()
        assert len(ring.since(15)) == 5
    deliveries = list(run_metrics.nodes["out"].recent_latency)
    assert len(deliveries) == 20
    last = max(when for when, _ in deliveries)
    expected = np.percentile([lat for when, lat in deliveries if when >= last - LIVE_SECONDS], [50, 95]) * 1000
    assert run_metrics.recent_latency_ms(50, 95, now=last) == pytest.approx(list(expected))
    assert all(v > 0 for v in run_metrics.recent_latency_ms(50, 95, now=last))


def test_run_series_has_one_line_per_node_and_queue(run_metrics):
    run = RunSeries(run_metrics)
    assert set(run.processing) == {"src", "tag", "out"}
    assert set(run.queue_fill) == set(run.drops) == {"a -> tag", "b -> out"}
    assert set(run.throughput) == {"delivered", "captured"} and set(run.latency) == {"p50", "p95"}


def test_every_sample_adds_one_point_to_every_series(run_metrics):
    run = RunSeries(run_metrics)
    lines = all_series(run)
    assert len(lines) == 2 + 2 + 3 + 2 + 2 + 1
    for k in range(1, 4):
        run.sample(now=50.0 + k * 0.1)
        assert all(len(line.times) == len(line.values) == k for line in lines)
        assert all(line.times[-1] == pytest.approx(50.0 + k * 0.1) for line in lines)
    assert all(v == 0.0 for v in run.queue_fill["a -> tag"].values)  # the run is over: queues empty


def test_processing_is_the_median_since_the_previous_sample_and_nan_when_none(run_metrics):
    run = RunSeries(run_metrics)
    run.sample(now=1.0)  # the run's frames came before the series started
    assert all(math.isnan(run.processing[name].values[-1]) for name in ("src", "tag", "out"))
    tag = run_metrics.nodes["tag"]
    for seconds in (0.002, 0.030, 0.004):
        tag.processed(10.0, 10.0 + seconds)
    run.sample(now=1.1)
    assert run.processing["tag"].values[-1] == pytest.approx(4.0)
    assert math.isnan(run.processing["src"].values[-1])
    tag.processed(11.0, 11.5)
    tag.processed(12.0, 12.1)
    run.sample(now=1.2)
    assert run.processing["tag"].values[-1] == pytest.approx(300.0)  # median of 500 and 100 ms only
    run.sample(now=1.3)
    assert math.isnan(run.processing["tag"].values[-1])


def test_drops_and_queue_fill_are_read_from_the_runs_own_counters(run_metrics):
    run = RunSeries(run_metrics)
    run.sample(now=20.0)
    edge = next(edge for consumer, edge in run_metrics.edges() if consumer == "tag")
    edge.drops += 3
    run_metrics.nodes["src"].dropped += 2
    edge.items.extend([None] * edge.size)
    try:
        run.sample(now=20.5)
    finally:
        edge.items.clear()
    assert run.drops["a -> tag"].values[-1] == pytest.approx(6.0)  # 3 frames in half a second
    assert run.drops["b -> out"].values[-1] == 0.0
    assert run.source_drops.values[-1] == pytest.approx(4.0)
    assert run.queue_fill["a -> tag"].values[-1] == pytest.approx(100.0)
    run.sample(now=21.5)
    assert run.drops["a -> tag"].values[-1] == 0.0 and run.source_drops.values[-1] == 0.0
    assert run.queue_fill["a -> tag"].values[-1] == 0.0


def test_series_keep_only_their_window(run_metrics):
    run = RunSeries(run_metrics, seconds=1.0)
    for when in (100.0, 100.4, 100.9, 101.5):
        run.sample(now=when)
    for line in all_series(run):
        assert list(line.times) == [100.9, 101.5]
        assert len(line.values) == 2
    line = Series("x")
    for when, value in ((0.0, 1.0), (10.0, 2.0), (29.0, 3.0), (31.0, 4.0)):
        line.add(when, value)  # the default window: 30 s
    assert list(line.times) == [10.0, 29.0, 31.0] and list(line.values) == [2.0, 3.0, 4.0]
    ago, values = line.arrays(now=32.0)
    np.testing.assert_array_equal(ago, [-22.0, -3.0, -1.0])
    np.testing.assert_array_equal(values, [2.0, 3.0, 4.0])


# -- availability -----------------------------------------------------------------------------------

@pytest.fixture
def qt_found(monkeypatch):
    """Qt's packages look installed, whatever this environment has."""
    real = availability.importlib.util.find_spec
    monkeypatch.setattr(availability.importlib.util, "find_spec",
                        lambda name, *args: object() if name in ("PyQt5", "pyqtgraph") else real(name, *args))


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "offscreen:fontengine=freetype"])
def test_a_headless_qt_platform_needs_no_display(qt_found, monkeypatch, platform):
    monkeypatch.setenv("QT_QPA_PLATFORM", platform)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert availability.qt_unavailable_reason() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the X display is checked on Linux only")
def test_without_a_display_the_reason_names_DISPLAY(qt_found, monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    reason = availability.qt_unavailable_reason()
    assert reason is not None and "$DISPLAY" in reason
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert "$DISPLAY" in (availability.qt_unavailable_reason() or "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the X display is checked on Linux only")
def test_an_unreachable_display_is_named(qt_found, monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":9876")  # no X server has this number here
    reason = availability.qt_unavailable_reason()
    assert reason is not None and "':9876'" in reason


@pytest.mark.parametrize("missing, says", [
    ({"PyQt5"}, "PyQt5 is not installed"),
    ({"pyqtgraph"}, "pyqtgraph is not installed"),
    ({"PyQt5", "pyqtgraph"}, "PyQt5 and pyqtgraph are not installed"),
])
def test_a_missing_package_is_named_with_the_pip_command(monkeypatch, missing, says):
    real = availability.importlib.util.find_spec
    monkeypatch.setattr(availability.importlib.util, "find_spec",
                        lambda name, *args: None if name in missing else real(name, *args))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a display would not help
    reason = availability.qt_unavailable_reason()
    assert reason is not None
    assert says in reason and "pip install PyQt5 pyqtgraph" in reason
