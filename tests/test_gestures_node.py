"""The gestures node (each hand's gesture in results["gestures"], with hysteresis) and the visualizer's gesture labels."""

from __future__ import annotations

import numpy as np
import pytest

from livepose import results
from livepose.nodes import BUILTIN_NODES
from livepose.nodes.gestures import Gestures
from livepose.nodes.visualize import Visualize
from livepose.render.gestures import gesture_labels, gesture_text
from livepose.testing import NodeHarness, frame, hand, run_node
from livepose.vision.gestures import FIST, NONE, OPEN_PALM, PINCH
from test_vision_gestures import CURLED, HALF, posed_hand, reference_hand, transformed

OPEN = transformed(posed_hand(), at=(200.0, 300.0))
CLOSED = transformed(posed_hand((CURLED,) * 4, "folded"), at=(450.0, 300.0))
PINCHING = transformed(posed_hand((HALF, CURLED, CURLED, CURLED), "pinch"), at=(450.0, 300.0))


def two_hands(index: int, second=CLOSED, **extra) -> object:
    return frame(index=index, timestamp=index / 30, media_time=index / 30, **extra,
                 hands=[hand(OPEN, track_id=4), hand(second, handedness="Left", track_id=7)])


def names(made) -> list[tuple[str, ...]]:
    return [tuple(g.name for g in f.results[results.GESTURES]) for f in made]


def test_it_is_a_built_in_node_that_declares_its_results():
    assert BUILTIN_NODES["gestures"] == "livepose.nodes.gestures:Gestures"
    assert Gestures.requires == (results.HANDS,) and Gestures.written_on("frame") == (results.GESTURES,)
    assert results.WELL_KNOWN[results.GESTURES].writers == ("gestures",)
    assert results.GESTURES in Visualize.reads


def test_each_hand_gets_its_gesture_in_the_order_of_hands_once_it_has_lasted():
    # run_node checks that the node writes what it declares, with the types livepose.results gives.
    made = run_node(Gestures, [two_hands(i) for i in range(4)], params={"min_frames": 3})
    assert names(made) == [(NONE, NONE), (NONE, NONE), (OPEN_PALM, FIST), (OPEN_PALM, FIST)]
    last = made[-1].results[results.GESTURES]
    assert [g.track_id for g in last] == [4, 7] and all(0 < g.score <= 1 for g in last)


def test_a_one_frame_flicker_does_not_change_a_held_gesture():
    frames = [two_hands(i, PINCHING if i == 5 else CLOSED) for i in range(8)]
    assert [n[1] for n in names(run_node(Gestures, frames, params={"min_frames": 2}))] == \
        [NONE, FIST, FIST, FIST, FIST, FIST, FIST, FIST]
    assert names(run_node(Gestures, frames, params={"min_frames": 1}))[5] == (OPEN_PALM, PINCH)


def test_min_seconds_waits_in_frame_time():
    made = run_node(Gestures, [two_hands(i) for i in range(5)], params={"min_frames": 1, "min_seconds": 0.1})
    assert [n[0] for n in names(made)] == [NONE, NONE, NONE, OPEN_PALM, OPEN_PALM]


def test_stills_are_classified_each_on_its_own_and_no_hands_give_none():
    stills = [two_hands(i, still_image=True) for i in range(2)]
    assert names(run_node(Gestures, stills)) == [(OPEN_PALM, FIST)] * 2
    [bare] = run_node(Gestures, [frame(index=0, hands=[])])
    assert bare.results[results.GESTURES] == ()


def test_a_real_open_hand_held_over_frames_reads_open_palm():
    # hands5 frames 84-99: the presenter's open hand held out, fingers spread (labelled by eye,
    # as in test_vision_gestures), its MediaPipe landmarks fed frame by frame.
    frames = [frame(index=i, timestamp=i / 25, size=(360, 640),
                    hands=[hand(reference_hand("hands5", i, 0), track_id=0, image_size=(360, 640))])
              for i in range(84, 100)]
    assert [n for (n,) in names(run_node(Gestures, frames))][2:] == [OPEN_PALM] * 14


@pytest.mark.parametrize("bad", [{"min_frames": 0}, {"min_seconds": -1.0}, {"forget_after": "1"}])
def test_bad_settings_are_refused_when_the_node_is_built(bad):
    with pytest.raises(Exception):
        Gestures(**bad)


def test_the_visualizer_writes_each_hands_gesture_above_it():
    item = run_node(Gestures, [two_hands(0, still_image=True)])[0]
    params = {"overlay": False, "boxes": False, "labels": False}
    with NodeHarness(Visualize, params) as visualize:
        labelled = visualize.process(item).image
        plain = visualize.process(item.with_results(gestures=())).image
    changed = np.argwhere(np.any(labelled != plain, axis=2))
    assert len(changed), "the gesture labels were drawn"
    # Two labels, one just above each hand, left-aligned to it.
    for points in (OPEN, CLOSED):
        left, top = points[:, 0].min(), points[:, 1].min()
        near = changed[(changed[:, 1] >= left - 10) & (changed[:, 1] <= points[:, 0].max())]
        assert len(near) and near[:, 0].max() < top and near[:, 0].min() > top - 40
    assert (labelled[changed[:, 0], changed[:, 1]] == 255).all(axis=1).mean() > 0.5
    with NodeHarness(Visualize, {**params, "gestures": False}) as visualize:
        assert np.array_equal(visualize.process(item).image, plain)


def test_gesture_labels_pair_by_track_id_and_leave_none_out():
    hands = [hand(OPEN, track_id=4), hand(CLOSED, track_id=7)]
    swapped = (results.HandGesture(7, FIST, 0.9), results.HandGesture(4, NONE, 0.0))
    labels = gesture_labels(hands, swapped)
    assert [label.text for label in labels] == ["fist"]
    assert labels[0].item.left <= CLOSED[:, 0].min() and gesture_text("thumbs_up", 0.72, True) == "thumbs up  72%"
