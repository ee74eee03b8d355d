"""Finger paint (``livepose.effects.finger_paint`` and the ``finger_paint`` node): made-up hands that
pinch and open, in frame time, and MediaPipe's own hands making the OK sign on example_2."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from evaluation.reference import load_reference
from livepose import results
from livepose.effects.finger_paint import (COLOUR_SCHEMES, INDEX_TIP, FingerPaint, Stroke, StrokeCanvas,
                                           draw_strokes, palm_size)
from livepose.nodes.effects import FingerPaint as FingerPaintNode
from livepose.nodes.gestures import Gestures
from livepose.results import HandGesture
from livepose.testing import NodeHarness, frame, frames_from, hand, open_hand_landmarks, run_node
from media_paths import HD_CLIP, MEDIA, media_file

SIZE = (480, 640)
FPS = 30.0
THICKNESS = 6
BRIGHT = COLOUR_SCHEMES["bright"]


@cache
def background(size: tuple[int, int] = SIZE) -> np.ndarray:
    """A textured picture, so "unchanged" means every pixel kept its own value (read-only: shared)."""
    picture = np.random.default_rng(7).integers(40, 200, (*size, 3), dtype=np.uint8)
    picture.flags.writeable = False
    return picture


def open_at(x: float, y: float = 260.0) -> np.ndarray:
    return open_hand_landmarks((x, y), 200.0)


def pinch_at(x: float, y: float = 260.0) -> np.ndarray:
    """The open hand with its thumb tip moved onto its index tip."""
    points = open_at(x, y).copy()
    points[4] = points[INDEX_TIP]
    return points


def paint_frame(index: int, *hands: tuple[int, np.ndarray], image: np.ndarray | None = None,
                gestures: tuple[str, ...] | None = None, mirrored: bool = False):  # type: ignore[no-untyped-def]
    image = background() if image is None else image
    made = [hand(points, track_id=track_id, image_size=image.shape[:2]) for track_id, points in hands]
    extra = {}
    if gestures is not None:
        extra[results.GESTURES] = tuple(HandGesture(h.track_id, name, 1.0) for h, name in zip(made, gestures))
    return frame(image, index=index, hands=made, media_time=index / FPS, mirrored=mirrored, **extra)


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=2)


def near(mask: np.ndarray, x: float, y: float, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[:mask.shape[0], :mask.shape[1]]
    return mask & ((xs - x) ** 2 + (ys - y) ** 2 <= radius ** 2)


def test_finger_paint_draws_only_while_pinching():
    # Open hand moving right (frames 0-9), pinching while it moves on (10-39), released and moving
    # on (40-47: a quarter second, too short to clear).
    xs = np.linspace(150, 500, 48)
    sequence = [paint_frame(i, (0, (pinch_at if 10 <= i < 40 else open_at)(x))) for i, x in enumerate(xs)]
    drawn = run_node(FingerPaintNode, sequence, params={"thickness": THICKNESS})
    picture = background()
    for before in drawn[:10]:
        assert np.array_equal(before.image, picture)  # nothing before the pinch
    final = changed(picture, drawn[-1].image)
    tip_y = open_at(0)[INDEX_TIP, 1]
    start_x, end_x = (pinch_at(xs[i])[INDEX_TIP, 0] for i in (10, 39))
    # Every pixel of the path between the pinch and the release is painted...
    for x in np.linspace(start_x + 2, end_x - 20, 40):  # the smoothed tip trails the last few px
        assert final[int(round(tip_y)), int(round(x))]
    # ... in the hand's colour, and nothing else is.
    ys, xs_changed = np.nonzero(final)
    assert np.abs(ys - tip_y).max() <= THICKNESS / 2 + 2
    assert xs_changed.min() >= start_x - THICKNESS / 2 - 2 and xs_changed.max() <= end_x + THICKNESS / 2 + 2
    assert tuple(drawn[-1].image[int(round(tip_y)), int(round((start_x + end_x) / 2))]) == BRIGHT[0]
    # After the release the hand moves on and nothing more is drawn.
    for after in drawn[41:]:
        assert np.array_equal(after.image, drawn[40].image)


@pytest.mark.parametrize("with_gestures", [False, True], ids=["own-pinch-test", "gestures-result"])
def test_an_open_palm_held_half_a_second_clears(with_gestures):
    frames = [paint_frame(i, (3, pinch_at(200 + 8 * i)), gestures=("pinch",) if with_gestures else None)
              for i in range(10)]
    frames += [paint_frame(10 + i, (3, open_at(300)), gestures=("open_palm",) if with_gestures else None)
               for i in range(20)]
    drawn = run_node(FingerPaintNode, frames)
    picture = background()
    # Open from frame 10 (t = 0.333 s): still painted at 0.467 s held (frame 24), cleared at 0.5 s (25).
    assert changed(picture, drawn[24].image).sum() > 100
    assert np.array_equal(drawn[25].image, picture)
    assert all(np.array_equal(later.image, picture) for later in drawn[25:])


def test_the_held_palm_counts_frame_time_not_frames():
    # At 120 frames a second, 20 open frames are a sixth of a second: not enough to clear.
    paint = FingerPaint()
    for i in range(10):
        paint.update([(0, pinch_at(200 + 8 * i), None)], i / 120)
    for i in range(10, 30):
        paint.update([(0, open_at(300), None)], i / 120)
    assert len(paint.strokes) == 1
    for i in range(30, 70):  # held 59/120 s by frame 69
        paint.update([(0, open_at(300), None)], i / 120)
    assert len(paint.strokes) == 1
    paint.update([(0, open_at(300), None)], 70 / 120)  # held half a second
    assert paint.strokes == ()


def test_strokes_belong_to_their_hand_id_and_a_returning_hand_keeps_its_colour():
    picture = background()
    frames = [paint_frame(i, (1, pinch_at(150 + 4 * i, 200)), (2, pinch_at(420 + 4 * i, 380))) for i in range(10)]
    # Both hands leave for a second and a half (a tracker forgets no id that fast; the painter
    # forgets the hand, not its strokes).
    frames += [paint_frame(10 + i) for i in range(45)]
    # Hand 1 comes back with the same id and draws lower down.
    frames += [paint_frame(55 + i, (1, pinch_at(150 + 4 * i, 300))) for i in range(10)]
    drawn = run_node(FingerPaintNode, frames)
    final = drawn[-1].image
    first_y, second_y, other_y = (pinch_at(0, y)[INDEX_TIP, 1] for y in (200, 300, 380))
    x1, x2 = pinch_at(170)[INDEX_TIP, 0], pinch_at(440)[INDEX_TIP, 0]
    assert tuple(final[int(round(first_y)), int(round(x1))]) == BRIGHT[1]   # hand 1's first stroke, kept
    assert tuple(final[int(round(second_y)), int(round(x1))]) == BRIGHT[1]  # its second, same colour
    assert tuple(final[int(round(other_y)), int(round(x2))]) == BRIGHT[2]   # hand 2's, its own colour
    assert BRIGHT[1] != BRIGHT[2]
    # Hand 2's open palm held long clears its stroke only.
    clearing = [paint_frame(65 + i, (2, open_at(450, 380))) for i in range(20)]
    with NodeHarness(FingerPaintNode) as node:
        for item in frames + clearing:
            out = node.process(item)
    assert tuple(out.image[int(round(first_y)), int(round(x1))]) == BRIGHT[1]
    assert np.array_equal(out.image[int(round(other_y)) - 10:int(round(other_y)) + 10, 400:600],
                          picture[int(round(other_y)) - 10:int(round(other_y)) + 10, 400:600])


def test_a_flicker_does_not_break_a_stroke_but_a_release_does():
    paint = FingerPaint()
    for i in range(30):
        points = pinch_at(200 + 5 * i)
        if i == 10:
            # The tips drift apart to 0.4 palm sizes, between pinch_on and pinch_off, for one frame.
            points = points.copy()
            points[4, 0] -= 0.4 * palm_size(points)
        hands = [] if i == 20 else [(0, points, None)]  # and no hand at all on frame 20
        paint.update(hands, i / FPS)
    assert len(paint.strokes) == 1
    for i in range(30, 40):
        paint.update([(0, open_at(400), None)], i / FPS)
    for i in range(40, 45):
        paint.update([(0, pinch_at(300), None)], i / FPS)
    assert len(paint.strokes) == 2  # released for a third of a second: a new stroke


def test_a_mirrored_frame_gives_the_mirrored_strokes():
    width = SIZE[1]
    picture = background()

    def mirrored(points: np.ndarray) -> np.ndarray:
        flipped = points.copy()
        flipped[:, 0] = width - 1 - flipped[:, 0]
        return flipped

    path = [(180 + 6 * i, 200 + 3 * i) for i in range(25)]
    plain = run_node(FingerPaintNode, [paint_frame(i, (0, pinch_at(x, y)), image=picture)
                                       for i, (x, y) in enumerate(path)])[-1].image
    flipped_picture = np.ascontiguousarray(picture[:, ::-1])
    flipped = run_node(FingerPaintNode, [paint_frame(i, (0, mirrored(pinch_at(x, y))), image=flipped_picture,
                                                     mirrored=True) for i, (x, y) in enumerate(path)])[-1].image
    painted = changed(picture, plain)
    assert painted.sum() > 500
    assert (changed(flipped_picture, flipped)[:, ::-1] != painted).sum() <= 0.01 * painted.sum()
    # Anti-aliasing may round a rim pixel differently: the pictures agree to a level or two.
    assert np.abs(flipped[:, ::-1].astype(int) - plain.astype(int)).max() <= 8


def test_no_hands_leaves_the_frame_as_it_is_and_strokes_stay_when_the_hand_goes():
    picture = background()
    [untouched] = run_node(FingerPaintNode, [paint_frame(0, image=picture)])
    assert untouched.image is not None and np.array_equal(untouched.image, picture)
    frames = [paint_frame(i, (0, pinch_at(200 + 6 * i))) for i in range(10)]
    frames += [paint_frame(10 + i) for i in range(90)]  # three seconds without a hand
    drawn = run_node(FingerPaintNode, frames)
    assert changed(picture, drawn[-1].image).sum() > 100
    assert np.array_equal(drawn[-1].image, drawn[10].image)


def test_a_new_frame_size_starts_a_new_canvas():
    frames = [paint_frame(i, (0, pinch_at(200 + 6 * i))) for i in range(10)]
    small = background((360, 640))
    frames += [paint_frame(10 + i, (0, open_at(300)), image=small) for i in range(3)]
    drawn = run_node(FingerPaintNode, frames)
    assert changed(background(), drawn[9].image).sum() > 100
    assert all(np.array_equal(later.image, small) for later in drawn[10:])


def test_the_cached_canvas_draws_what_a_fresh_drawing_does():
    paint = FingerPaint()
    canvas = StrokeCanvas()
    picture = background()
    for i in range(40):
        hands = [(0, pinch_at(150 + 7 * i, 220 + 2 * i), None), (1, (pinch_at if i < 25 else open_at)(450, 100 + 9 * i), None)]
        paint.update(hands, i / FPS)
        cached = picture.copy()
        draw_strokes(cached, paint.strokes, canvas=canvas)
        fresh = picture.copy()
        draw_strokes(fresh, paint.strokes)
        assert np.array_equal(cached, fresh), f"frame {i}"
    paint.clear(0)
    cached = picture.copy()
    draw_strokes(cached, paint.strokes, canvas=canvas)
    fresh = picture.copy()
    draw_strokes(fresh, paint.strokes)
    assert np.array_equal(cached, fresh) and not np.array_equal(cached, picture)
    # A view that is not laid out plainly (flipped) is drawn on all the same.
    flipped = picture.copy()[:, ::-1]
    draw_strokes(flipped, paint.strokes)
    expected = np.ascontiguousarray(picture[:, ::-1])
    draw_strokes(expected, paint.strokes)
    assert np.array_equal(flipped, expected) and not np.array_equal(flipped, picture[:, ::-1])
    # Another size: the canvas starts over at it.
    other = background((240, 320)).copy()
    draw_strokes(other, [Stroke(0, [(10.0, 10.0), (100.0, 50.0)])], canvas=canvas)
    assert canvas.box is not None and canvas.box[2] <= 320 and canvas.box[3] <= 240


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        FingerPaint(pinch_on=0.5, pinch_off=0.4)
    with pytest.raises(ValueError):
        draw_strokes(np.zeros((10, 10), np.uint8), [])
    with pytest.raises(Exception):
        FingerPaintNode(pinch_on=0.5, pinch_off=0.4)


# --- MediaPipe's hands on example_2 (1280x720, 25 fps): both hands make the OK sign ------------------
# The gestures tests label frames 32 and 36 "pinch" by eye; the pinch lasts from about frame 31 to 44
# (the thumb-index distance falls below 0.35 palm sizes at 31-32 and rises past 0.45 at 45-46), and
# before it (frames 24-28) the hands are open or point, away from where they then pinch. (Frames 21-22
# hold a brief pinch of their own, with both hands labelled Left: left out.)

FIRST, LAST = 24, 52


@cache
def example_2() -> tuple[tuple[np.ndarray, ...], tuple]:
    media_file(HD_CLIP)
    reference = load_reference(media_file(f"reference/{Path(HD_CLIP).stem}.mediapipe.json.gz"))
    images = tuple(f.image for f in frames_from(MEDIA / HD_CLIP, max_frames=LAST + 1))
    return images, reference.frames


def example_2_frames(images, reference, fps: float):  # type: ignore[no-untyped-def]
    made = []
    for i in range(FIRST, LAST + 1):
        image = images[i]
        # The reference's handedness is stable through these frames: it stands in for a tracker's ids.
        hands = [hand(h.landmarks, track_id=0 if h.handedness == "Right" else 1, image_size=image.shape[:2])
                 for h in reference[i].hands]
        made.append(frame(image, index=i, hands=hands, media_time=i / fps))
    return made


@pytest.mark.parametrize("with_gestures", [False, True], ids=["own-pinch-test", "gestures-node"])
def test_real_ok_signs_paint_where_the_index_tips_went_while_pinched(with_gestures):
    images, reference = example_2()
    frames = example_2_frames(images, reference, 25.0)
    if with_gestures:
        frames = run_node(Gestures, frames)
    drawn = run_node(FingerPaintNode, frames, params={"thickness": THICKNESS})
    final = changed(images[LAST], drawn[-1].image)
    tips = {i: {0 if h.handedness == "Right" else 1: h.landmarks[INDEX_TIP, :2] for h in reference[i].hands}
            for i in range(FIRST, LAST + 1)}
    # Both hands painted, each in its colour, where their index tips were in the middle of the pinch.
    for track_id in (0, 1):
        for i in range(34, 39):
            x, y = tips[i][track_id]
            assert near(final, x, y, THICKNESS).any(), f"hand {track_id} frame {i}"
        colours = {tuple(drawn[-1].image[y, x]) for y, x in zip(*np.nonzero(final))}
        assert BRIGHT[track_id] in colours
    # Nothing where the tips were before the pinch, far from every pinched position.
    pinched = [tip for i in range(31, 46) for tip in tips[i].values()]
    for i in range(FIRST, 29):  # the hands before the pinch
        for track_id, (x, y) in tips[i].items():
            if min(np.hypot(*(np.array([x, y]) - p)) for p in pinched) > 3 * THICKNESS:
                assert not near(final, x, y, THICKNESS).any(), f"hand {track_id} frame {i}"
    # The painted pixels lie along the pinched tips' path only.
    ys, xs = np.nonzero(final)
    path = np.array(pinched)
    distance = np.min(np.hypot(xs[:, None] - path[None, :, 0], ys[:, None] - path[None, :, 1]), axis=1)
    assert np.percentile(distance, 99) < 25
    # Before the pinch the frames are the clip's own.
    assert all(np.array_equal(out.image, images[FIRST + k]) for k, out in enumerate(drawn[:31 - FIRST]))
