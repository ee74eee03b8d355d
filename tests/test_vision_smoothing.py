"""One Euro landmark smoothing (livepose.vision.smoothing) against a scalar reference of the recurrence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from livepose.vision.smoothing import (
    IMAGE_LANDMARKS,
    WORLD_LANDMARKS,
    LandmarkSmoother,
    OneEuroFilter,
    OneEuroSettings,
)

FPS = 30.0


class _ScalarLowPass:
    """The low-pass filter for one value: the first call returns its input; keeps the last raw input."""

    def __init__(self) -> None:
        self.initialized = False
        self.raw = 0.0
        self.stored = 0.0

    def apply(self, value: float, alpha: float) -> float:
        if self.initialized:
            result = alpha * value + (1.0 - alpha) * self.stored
        else:
            result = value
            self.initialized = True
        self.raw = value
        self.stored = result
        return result


class _ScalarOneEuro:
    """A plain, one-value-at-a-time One Euro filter written straight from the recurrence."""

    def __init__(self, settings: OneEuroSettings, frequency: float = FPS) -> None:
        self.settings = settings
        self.frequency = frequency
        self.last_time: float | None = None
        self.x = _ScalarLowPass()
        self.dx = _ScalarLowPass()

    def alpha(self, cutoff: float) -> float:
        te = 1.0 / self.frequency
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    def apply(self, timestamp: float, value_scale: float, value: float) -> float:
        if self.last_time is not None:
            if timestamp <= self.last_time:
                return value
            self.frequency = 1.0 / (timestamp - self.last_time)
        self.last_time = timestamp
        dvalue = (value - self.x.raw) * value_scale * self.frequency if self.x.initialized else 0.0
        edvalue = self.dx.apply(dvalue, self.alpha(self.settings.derivate_cutoff))
        cutoff = self.settings.min_cutoff + self.settings.beta * abs(edvalue)
        return self.x.apply(value, self.alpha(cutoff))


def _reference(values: np.ndarray, timestamps, value_scales, settings: OneEuroSettings) -> np.ndarray:
    """Filter ``values`` (T, ...) element by element with independent scalar filters."""
    flat = values.reshape(len(values), -1)
    filters = [_ScalarOneEuro(settings) for _ in range(flat.shape[1])]
    out = np.empty_like(flat)
    for i, (t, scale) in enumerate(zip(timestamps, value_scales)):
        for j, f in enumerate(filters):
            out[i, j] = f.apply(t, scale, float(flat[i, j]))
    return out.reshape(values.shape)


def _vectorised(values: np.ndarray, timestamps, value_scales, settings: OneEuroSettings) -> np.ndarray:
    f = OneEuroFilter(settings)
    return np.stack([f(v, t, s) for v, t, s in zip(values, timestamps, value_scales)])


def _random_walk(rng, frames: int, shape, step: float, offset: float = 0.0) -> np.ndarray:
    steps = rng.normal(0.0, step, (frames, *shape))
    # Some still stretches and some jumps, so both small and large cutoffs occur.
    steps[frames // 3 : frames // 2] = 0.0
    steps[frames // 2] *= 20.0
    return offset + np.cumsum(steps, axis=0)


# -- settings ---------------------------------------------------------------------------------------


def test_mediapipe_parameters():
    assert IMAGE_LANDMARKS == OneEuroSettings(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)
    assert WORLD_LANDMARKS == OneEuroSettings(min_cutoff=0.1, beta=40.0, derivate_cutoff=1.0)


@pytest.mark.parametrize(
    "args, field",
    [
        ((0.0, 1.0, 1.0), "min_cutoff"),
        ((-1.0, 1.0, 1.0), "min_cutoff"),
        ((1.0, -0.1, 1.0), "beta"),
        ((1.0, 1.0, 0.0), "derivate_cutoff"),
        ((math.nan, 1.0, 1.0), "min_cutoff"),
        ((1.0, math.inf, 1.0), "beta"),
        ((1.0, "1", 1.0), "beta"),
    ],
)
def test_settings_validation(args, field):
    with pytest.raises(ValueError, match=field):
        OneEuroSettings(*args)


def test_settings_accept_zero_beta_and_ints():
    settings = OneEuroSettings(1, 0, 2)
    assert settings == OneEuroSettings(1.0, 0.0, 2.0)
    assert isinstance(settings.min_cutoff, float)


def test_filter_argument_validation():
    with pytest.raises(ValueError, match="frequency"):
        OneEuroFilter(IMAGE_LANDMARKS, frequency=0.0)
    with pytest.raises(TypeError):
        OneEuroFilter((0.05, 80.0, 1.0))
    f = OneEuroFilter(IMAGE_LANDMARKS)
    with pytest.raises(ValueError, match="timestamp"):
        f(np.zeros(3), math.nan)
    with pytest.raises(ValueError, match="value_scale"):
        f(np.zeros(3), 0.0, value_scale=-1.0)


# -- the filter -------------------------------------------------------------------------------------


def test_first_sample_passes_through():
    values = np.arange(12, dtype=np.float32).reshape(4, 3) * 1.5
    out = OneEuroFilter(IMAGE_LANDMARKS)(values, 5.0, 0.01)
    assert out.dtype == np.float64 and out.shape == values.shape
    np.testing.assert_array_equal(out, values)
    assert not np.shares_memory(out, values)


def test_constant_signal_stays_constant():
    values = np.random.default_rng(1).uniform(-500, 500, (21, 3))
    f = OneEuroFilter(IMAGE_LANDMARKS)
    for k in range(60):
        np.testing.assert_array_equal(f(values, k / FPS, 1 / 150), values)


def test_step_response_by_hand():
    """A 0 → 10 step at 32 fps (Δt exact in binary), min_cutoff 0.05, beta 80, value scale 1/100."""
    settings = IMAGE_LANDMARKS
    f = OneEuroFilter(settings)
    scale, freq = 0.01, 32.0
    te = 1.0 / freq

    def alpha(cutoff):
        return 1.0 / (1.0 + (1.0 / (2 * math.pi * cutoff)) / te)

    assert f(np.array([0.0]), 0.0, scale)[0] == 0.0
    # Frame 1: dx = 10 * 0.01 * 32 = 3.2; edx = alpha_d * 3.2; the output moves alpha(cutoff) of the way.
    alpha_d = alpha(1.0)
    edx1 = alpha_d * 3.2
    out1 = alpha(0.05 + 80 * edx1) * 10.0
    got1 = f(np.array([10.0]), 1 / 32, scale)[0]
    assert got1 == pytest.approx(out1, rel=1e-13)
    assert 5.0 < got1 < 10.0  # a fast step is followed most of the way at once
    # Frame 2: no motion, dx = 0, edx decays by (1 - alpha_d); the output closes more of the gap.
    edx2 = (1 - alpha_d) * edx1
    a2 = alpha(0.05 + 80 * edx2)
    out2 = a2 * 10.0 + (1 - a2) * out1
    assert f(np.array([10.0]), 2 / 32, scale)[0] == pytest.approx(out2, rel=1e-13)
    assert f.frequency == freq
    # Later frames converge to the step without overshoot.
    previous = out2
    for k in range(3, 60):
        current = f(np.array([10.0]), k / 32, scale)[0]
        assert previous <= current <= 10.0
        previous = current
    assert previous == pytest.approx(10.0, abs=1e-3)


@pytest.mark.parametrize(
    "settings",
    [IMAGE_LANDMARKS, WORLD_LANDMARKS, OneEuroSettings(1.0, 0.0, 1.0), OneEuroSettings(0.5, 3.0, 2.5)],
)
def test_matches_scalar_reference_on_random_sequences(settings):
    rng = np.random.default_rng(7)
    frames = 60
    values = _random_walk(rng, frames, (7, 5, 3), step=2.0, offset=300.0)
    timestamps = [k / FPS for k in range(frames)]
    scales = rng.uniform(1 / 400, 1 / 50, frames)  # the object's size changes from frame to frame
    got = _vectorised(values, timestamps, scales, settings)
    want = _reference(values, timestamps, scales, settings)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    assert not np.array_equal(got, values)  # it did filter


def test_variable_frame_rate_and_non_increasing_timestamps_match_reference():
    rng = np.random.default_rng(11)
    frames = 80
    values = _random_walk(rng, frames, (21, 3), step=3.0)
    timestamps = list(np.cumsum(rng.uniform(0.005, 0.1, frames)))
    timestamps[20] = timestamps[19]  # repeated
    timestamps[40] = timestamps[38] - 0.01  # backwards
    scales = [1 / 120] * frames
    f = OneEuroFilter(IMAGE_LANDMARKS)
    got = np.stack([f(v, t, s) for v, t, s in zip(values, timestamps, scales)])
    want = _reference(values, timestamps, scales, IMAGE_LANDMARKS)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    np.testing.assert_array_equal(got[20], values[20])
    np.testing.assert_array_equal(got[40], values[40])
    assert f.frequency == pytest.approx(1.0 / (timestamps[-1] - timestamps[-2]))
    # The same samples taken as if at a fixed 30 fps filter differently: the clock matters.
    fixed = _vectorised(values, [k / FPS for k in range(frames)], scales, IMAGE_LANDMARKS)
    assert np.abs(fixed - got).max() > 0.1


def test_non_increasing_timestamp_returns_input_and_keeps_state():
    rng = np.random.default_rng(3)
    values = rng.normal(100.0, 5.0, (4, 21, 3))
    f, clean = OneEuroFilter(IMAGE_LANDMARKS), OneEuroFilter(IMAGE_LANDMARKS)
    for k in range(2):
        f(values[k], k / FPS, 0.01)
        clean(values[k], k / FPS, 0.01)
    stray = rng.normal(0.0, 50.0, (21, 3))
    for t in (1 / FPS, 0.5 / FPS):  # equal, then earlier
        out = f(stray, t, 0.01)
        np.testing.assert_array_equal(out, stray)
        assert not np.shares_memory(out, stray)
    np.testing.assert_array_equal(f(values[2], 2 / FPS, 0.01), clean(values[2], 2 / FPS, 0.01))


def test_reset():
    rng = np.random.default_rng(4)
    values = rng.normal(0.0, 10.0, (6, 21, 3))
    f = OneEuroFilter(IMAGE_LANDMARKS, frequency=25.0)
    for k in range(3):
        f(values[k], k / FPS, 0.01)
    assert f.frequency == pytest.approx(FPS)
    f.reset()
    assert f.frequency == 25.0
    np.testing.assert_array_equal(f(values[3], 0.0, 0.01), values[3])  # an earlier clock is fine after reset
    fresh = OneEuroFilter(IMAGE_LANDMARKS)
    fresh(values[3], 0.0, 0.01)
    for k in (4, 5):
        np.testing.assert_array_equal(f(values[k], (k - 3) / FPS, 0.01), fresh(values[k], (k - 3) / FPS, 0.01))


def test_shape_change_resets():
    rng = np.random.default_rng(5)
    f = OneEuroFilter(IMAGE_LANDMARKS)
    f(rng.normal(size=(21, 3)), 0.0)
    f(rng.normal(size=(21, 3)), 1 / FPS)
    face = rng.normal(size=(468, 3))
    np.testing.assert_array_equal(f(face, 2 / FPS), face)
    fresh = OneEuroFilter(IMAGE_LANDMARKS)
    fresh(face, 2 / FPS)
    later = face + rng.normal(size=face.shape)
    np.testing.assert_array_equal(f(later, 3 / FPS), fresh(later, 3 / FPS))
    hand = rng.normal(size=(21, 3))
    np.testing.assert_array_equal(f(hand, 4 / FPS), hand)


def test_value_scale_affects_only_the_derivative():
    rng = np.random.default_rng(6)
    values = _random_walk(rng, 30, (21, 3), step=2.0)
    times = [k / FPS for k in range(30)]
    no_beta = OneEuroSettings(0.5, 0.0, 1.0)  # the derivative unused: the scale cannot matter
    np.testing.assert_array_equal(
        _vectorised(values, times, [1.0] * 30, no_beta), _vectorised(values, times, [1e-3] * 30, no_beta)
    )
    # With beta, scaling the values by k and the value scale by 1/k scales the output by k.
    base = _vectorised(values, times, [0.01] * 30, IMAGE_LANDMARKS)
    scaled = _vectorised(values * 3.0, times, [0.01 / 3.0] * 30, IMAGE_LANDMARKS)
    np.testing.assert_allclose(scaled, 3.0 * base, rtol=1e-12, atol=1e-12 * np.abs(base).max())


def test_output_is_independent_of_state_and_input():
    f = OneEuroFilter(IMAGE_LANDMARKS)
    values = np.ones((2, 3))
    out0 = f(values, 0.0)
    values[:] = 5.0
    out0[:] = -1.0  # neither the caller's input nor output is the filter's state
    out1 = f(values, 1 / FPS)
    assert np.all((out1 > 1.0) & (out1 < 5.0))


def test_accepts_lists_and_integers():
    f = OneEuroFilter(IMAGE_LANDMARKS)
    assert f([[1, 2, 3]], 0.0).dtype == np.float64
    assert f(np.array([[2, 3, 4]]), 1 / FPS).shape == (1, 3)


# -- the landmark smoother --------------------------------------------------------------------------


def _hand(rng, size: float = 150.0, origin=(300.0, 200.0)) -> np.ndarray:
    lm = rng.uniform(0.0, size, (21, 3))
    lm[:, 0] += origin[0]
    lm[:, 1] += origin[1]
    lm[:, 2] -= size / 2
    return lm


def _moving(rng, frames: int, lm: np.ndarray, step: float) -> np.ndarray:
    drift = np.cumsum(rng.normal(0.0, step, (frames, 1, 3)), axis=0)
    wobble = rng.normal(0.0, step / 3, (frames, *lm.shape))
    return lm + drift + wobble


def test_smoother_uses_the_bounding_box_scale():
    rng = np.random.default_rng(8)
    frames = _moving(rng, 20, _hand(rng), step=4.0)
    worlds = rng.normal(0.0, 0.05, (20, 21, 3))
    smoother = LandmarkSmoother()
    image_filter, world_filter = OneEuroFilter(IMAGE_LANDMARKS), OneEuroFilter(WORLD_LANDMARKS)
    for k, (lm, world) in enumerate(zip(frames, worlds)):
        t = k / FPS
        width = lm[:, 0].max() - lm[:, 0].min()
        height = lm[:, 1].max() - lm[:, 1].min()
        assert smoother.object_scale(lm) == pytest.approx((width + height) / 2)
        image, world_out = smoother(lm, t, world)
        np.testing.assert_allclose(image, image_filter(lm, t, 2.0 / (width + height)), rtol=1e-13)
        np.testing.assert_array_equal(world_out, world_filter(world, t, 1.0))


@pytest.mark.parametrize("factor", [2.0, 3.0])
def test_smoother_scale_invariance(factor):
    """The same motion of an object `factor` times as large, in pixels, is smoothed identically relative to its size."""
    rng = np.random.default_rng(9)
    frames = _moving(rng, 45, _hand(rng, size=100.0), step=3.0)
    small, large = LandmarkSmoother(), LandmarkSmoother()
    for k, lm in enumerate(frames):
        a, _ = small(lm, k / FPS)
        b, _ = large(lm * factor, k / FPS)
        np.testing.assert_allclose(b, factor * a, rtol=1e-12, atol=1e-12 * factor * np.abs(a).max())
    assert not np.allclose(a, frames[-1])  # it did filter


def test_jitter_reduction_and_lag():
    rng = np.random.default_rng(10)
    still = _hand(rng, size=150.0)
    smoother = LandmarkSmoother()
    raw, smoothed = [], []
    for k in range(120):
        lm = still + rng.normal(0.0, 1.0, still.shape)  # 1 px of jitter on a 150 px hand
        raw.append(lm)
        smoothed.append(smoother(lm, k / FPS)[0])

    def jitter(seq):
        return np.sqrt(np.mean(np.diff(np.stack(seq[30:]), n=2, axis=0) ** 2))

    assert jitter(smoothed) <= 0.5 * jitter(raw)

    # A fast linear motion, half the hand's size per second, lags by at most about a frame.
    smoother.reset()
    velocity = np.array([75.0, -40.0, 0.0]) / FPS  # pixels a frame
    for k in range(60):
        lm = still + k * velocity
        out, _ = smoother(lm, k / FPS)
    lag = (lm - out)[:, :2] / velocity[:2]
    assert np.all(lag >= 0.0) and lag.max() <= 1.0


def test_smoother_reset():
    rng = np.random.default_rng(12)
    frames = _moving(rng, 6, _hand(rng), step=5.0)
    worlds = rng.normal(0.0, 0.05, (6, 21, 3))
    smoother = LandmarkSmoother()
    for k in range(3):
        smoother(frames[k], k / FPS, worlds[k])
    smoother.reset()
    image, world = smoother(frames[3], 0.0, worlds[3])
    np.testing.assert_array_equal(image, frames[3])
    np.testing.assert_array_equal(world, worlds[3])


def test_smoother_shape_change_resets():
    rng = np.random.default_rng(13)
    smoother = LandmarkSmoother(world=None)
    smoother(_hand(rng), 0.0)
    smoother(_hand(rng), 1 / FPS)
    face = rng.uniform(0.0, 300.0, (468, 3))
    np.testing.assert_array_equal(smoother(face, 2 / FPS)[0], face)


def test_degenerate_scale_passes_through_without_state_change():
    rng = np.random.default_rng(14)
    frames = _moving(rng, 4, _hand(rng), step=5.0)
    smoother, clean = LandmarkSmoother(), LandmarkSmoother()
    for k in range(2):
        smoother(frames[k], k / FPS)
        clean(frames[k], k / FPS)
    point = np.tile([[320.0, 240.0, 0.0]], (21, 1))  # every landmark on one pixel: object scale 0
    image, _ = smoother(point, 2 / FPS)
    np.testing.assert_array_equal(image, point)
    nan = frames[2].copy()
    nan[3, 0] = math.nan
    np.testing.assert_array_equal(smoother(nan, 2.5 / FPS)[0], nan)
    np.testing.assert_array_equal(smoother(frames[3], 3 / FPS)[0], clean(frames[3], 3 / FPS)[0])


def test_smoother_world_landmarks():
    rng = np.random.default_rng(15)
    frames = _moving(rng, 4, _hand(rng), step=5.0)
    worlds = rng.normal(0.0, 0.05, (4, 21, 3))
    smoother = LandmarkSmoother()
    assert smoother(frames[0], 0.0)[1] is None
    smoother(frames[1], 1 / FPS, worlds[1])
    # A frame without world landmarks resets the world filter: the next world sample passes through.
    assert smoother(frames[2], 2 / FPS)[1] is None
    np.testing.assert_array_equal(smoother(frames[3], 3 / FPS, worlds[3])[1], worlds[3])
    # world=None: world landmarks come back unfiltered.
    unfiltered = LandmarkSmoother(world=None)
    for k in range(4):
        _, world = unfiltered(frames[k], k / FPS, worlds[k])
        np.testing.assert_array_equal(world, worlds[k])
        assert world.dtype == np.float64 and not world.flags.writeable


def test_smoother_outputs_are_read_only_copies():
    rng = np.random.default_rng(16)
    lm, world = _hand(rng), rng.normal(0.0, 0.05, (21, 3))
    smoother = LandmarkSmoother()
    for k in range(3):
        image, world_out = smoother(lm, k / FPS, world)
        assert not image.flags.writeable and not world_out.flags.writeable
        assert image.dtype == np.float64 and image.shape == (21, 3)
        assert not np.shares_memory(image, lm) and not np.shares_memory(world_out, world)
        with pytest.raises(ValueError):
            image[0, 0] = 0.0
    point = np.zeros((21, 3))
    assert not smoother(point, 5.0)[0].flags.writeable


def test_smoother_validates_landmarks():
    smoother = LandmarkSmoother()
    for bad in (np.zeros((0, 3)), np.zeros(3), np.zeros((21, 4))):
        with pytest.raises(ValueError, match="landmarks"):
            smoother(bad, 0.0)
    smoother(np.random.default_rng(0).uniform(0, 100, (21, 2)), 0.0)
