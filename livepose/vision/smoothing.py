"""Landmark smoothing with MediaPipe's One Euro filter, vectorised over whole landmark arrays.

Pure numpy, no threads, no files. One filter object filters a whole array: every element (each axis of
each landmark) has its own One Euro state, and all elements share one clock.

Public API
----------
- ``OneEuroSettings(min_cutoff, beta, derivate_cutoff)``: the filter's parameters.
- ``IMAGE_LANDMARKS`` / ``WORLD_LANDMARKS``: MediaPipe's parameters for image (pixel) and world landmarks;
  ``HAND_LANDMARKS`` / ``FACE_LANDMARKS``: livepose's defaults, measured on the shared clips.
- ``POSE_AUX_LANDMARKS``: MediaPipe's heavier filter for the pose's two auxiliary (ROI) landmarks.
- ``LowPassFilter(alpha)``: MediaPipe's exponential low-pass (its visibility smoothing):
  ``filter(values)`` returns ``alpha*v + (1-alpha)*previous``, the input itself on the first call; ``reset()``.
- ``OneEuroFilter(settings, frequency=30.0)``: ``filter(values, timestamp, value_scale=1.0)`` returns a new
  float64 array of ``values``' shape; ``reset()``.
- ``LandmarkSmoother(image=IMAGE_LANDMARKS, world=WORLD_LANDMARKS)``: one tracked object's image
  landmarks (value-scaled by the object's size, as MediaPipe does) and, optionally, world landmarks;
  ``smoother(landmarks, timestamp, world_landmarks=None)`` returns read-only arrays; ``reset()``.

The algorithm (MediaPipe's)
---------------------------
As ``mediapipe/util/filtering/one_euro_filter.cc`` and ``low_pass_filter.cc`` do it, per element:

- ``te = 1/freq``; ``freq`` is replaced by ``1/(t - t_last)`` on every accepted sample after the first
  (so the constructor's ``frequency`` is never used for an output: it only stands until the second sample
  replaces it, exactly as in MediaPipe).
- ``alpha(c) = 1 / (1 + (1/(2*pi*c)) / te)``.
- ``dx = (v - last_raw) * value_scale * freq``, 0 on the first sample; ``edx = LPF_dx(dx, alpha(derivate_cutoff))``;
  ``cutoff = min_cutoff + beta*|edx|``; ``out = LPF_x(v, alpha(cutoff))``.
- The low-pass filters return their input on their first call and keep the last raw input.
- A timestamp not later than the last accepted one returns the input unchanged and changes no state.
- ``value_scale`` enters only the derivative, never the filtered value.

``LandmarkSmoother`` adds what ``mediapipe/calculators/util/landmarks_smoothing_calculator.cc`` does
around it: ``value_scale = 1/object_scale`` with ``object_scale = (bbox_w + bbox_h)/2`` of the landmarks'
x, y in pixels, and the landmarks pass through unfiltered (no state change) when ``object_scale < 1e-6``
(the proto's ``min_allowed_object_scale``); world landmarks are filtered with value scaling disabled.

Differences from MediaPipe, all at the edges: MediaPipe's clock is integer (µs/ns) and treats a first
timestamp of exactly 0 as "no previous sample"; here timestamps are float seconds and the first sample is
always the first. MediaPipe fails when the landmark count of a stream changes; here a change of the
array's shape resets the filter (a different object). Inputs are expected finite: a NaN in an accepted
sample stays in that element's state until ``reset()`` (``LandmarkSmoother`` passes a frame whose
bounding box is NaN through untouched, like a degenerate one).

Parameters, and what MediaPipe smooths
--------------------------------------
The legacy ``mp.solutions.hands`` and ``face_mesh`` graphs contain no smoothing at all, and MediaPipe
smooths hands nowhere (legacy or Tasks; the Tasks ``HandLandmarker`` deduplicates hands instead). Where it
smooths with One Euro:

- Tasks ``FaceLandmarker`` (stream modes, one face;
  ``mediapipe/tasks/cc/vision/face_landmarker/face_landmarks_detector_graph.cc``
  ``ConfigureLandmarksSmoothingCalculator``) and pose landmarks
  (``mediapipe/modules/pose_landmark/pose_landmark_filtering.pbtxt``): ``min_cutoff 0.05``, ``beta 80``,
  ``derivate_cutoff 1.0``, value-scaled by the object's size → ``IMAGE_LANDMARKS``.
- Pose world landmarks (``mediapipe/modules/pose_landmark/pose_landmark_filtering.pbtxt``):
  ``min_cutoff 0.1``, ``beta 40``, ``derivate_cutoff 1.0``, ``disable_value_scaling`` → ``WORLD_LANDMARKS``.

For hands these are therefore not MediaPipe's hand settings (there are none): livepose applies the
face/pose image-landmark values to hand image landmarks and the pose world-landmark values to hand world
landmarks. A faithful port of the legacy solutions must not smooth at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "OneEuroSettings",
    "IMAGE_LANDMARKS",
    "WORLD_LANDMARKS",
    "HAND_LANDMARKS",
    "FACE_LANDMARKS",
    "POSE_AUX_LANDMARKS",
    "MIN_OBJECT_SCALE",
    "LowPassFilter",
    "OneEuroFilter",
    "LandmarkSmoother",
]

_TWO_PI = 2.0 * math.pi

#: Below this object scale (pixels) landmarks pass through unfiltered: ``min_allowed_object_scale`` of
#: ``mediapipe/calculators/util/landmarks_smoothing_calculator.proto``.
MIN_OBJECT_SCALE = 1e-6


@dataclass(frozen=True)
class OneEuroSettings:
    """One Euro parameters: ``min_cutoff`` (Hz, > 0), ``beta`` (>= 0), ``derivate_cutoff`` (Hz, > 0)."""

    min_cutoff: float
    beta: float
    derivate_cutoff: float

    def __post_init__(self) -> None:
        for name, strict in (("min_cutoff", True), ("beta", False), ("derivate_cutoff", True)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"OneEuroSettings.{name} must be a number, got {value!r}")
            ok = math.isfinite(value) and (value > 0 if strict else value >= 0)
            if not ok:
                bound = "> 0" if strict else ">= 0"
                raise ValueError(f"OneEuroSettings.{name} must be finite and {bound}, got {value!r}")
            object.__setattr__(self, name, float(value))


#: Image (pixel) landmarks, value-scaled by the object's size: MediaPipe's Tasks FaceLandmarker
#: (``mediapipe/tasks/cc/vision/face_landmarker/face_landmarks_detector_graph.cc``) and pose landmarks
#: (``mediapipe/modules/pose_landmark/pose_landmark_filtering.pbtxt``). MediaPipe does not smooth hands;
#: livepose uses these values for hand image landmarks too.
IMAGE_LANDMARKS = OneEuroSettings(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)

#: World landmarks, no value scaling: MediaPipe's pose world landmarks
#: (``mediapipe/modules/pose_landmark/pose_landmark_filtering.pbtxt``). MediaPipe does not smooth hand
#: world landmarks; livepose uses these values for them.
WORLD_LANDMARKS = OneEuroSettings(min_cutoff=0.1, beta=40.0, derivate_cutoff=1.0)

#: The pose's auxiliary landmarks, from which the next frame's ROI is computed: smoothed harder than the
#: landmarks so the crop stays still while the body does (``pose_landmark_filtering.pbtxt``; the same
#: values in MediaPipe 0.10.21's compiled PoseLandmarkFiltering).
POSE_AUX_LANDMARKS = OneEuroSettings(min_cutoff=0.01, beta=10.0, derivate_cutoff=1.0)

#: livepose's defaults for hand and face image landmarks: MediaPipe's ``min_cutoff`` and
#: ``derivate_cutoff`` with a lower ``beta``, chosen on the shared clips with
#: ``benchmarks/bench_tracker.py`` (``benchmarks/RESULTS.md``). With MediaPipe's ``beta 80`` the
#: filter opens at the slightest motion: the jitter of still hands fell 19 % and of still faces 38 %,
#: against the 50 % wanted. ``beta 5`` lowers a still hand's jitter 62 % and lags fast hands 0.12 of
#: a frame; ``beta 20`` lowers a still face's 64 % and lags 0.25 of a frame (``beta 5`` would lag
#: faces 1.6 frames: they move slowly, so the filter stays closed).
HAND_LANDMARKS = OneEuroSettings(min_cutoff=0.05, beta=5.0, derivate_cutoff=1.0)
FACE_LANDMARKS = OneEuroSettings(min_cutoff=0.05, beta=20.0, derivate_cutoff=1.0)


def _as_array(values) -> np.ndarray:
    return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=np.float64)


class OneEuroFilter:
    """MediaPipe's One Euro filter (see the module docstring) over every element of an array at once.

    ``filter(values, timestamp, value_scale=1.0)``: ``values`` any shape, ``timestamp`` in seconds,
    ``value_scale`` multiplies the derivative only. Returns a new float64 array of the same shape that
    the filter keeps no reference to. A shape different from the previous call's resets the filter first.
    State is preallocated per shape; a call allocates only its output.
    """

    __slots__ = (
        "_settings",
        "_initial_frequency",
        "_frequency",
        "_last_time",
        "_shape",
        "_raw",
        "_smoothed",
        "_derivative",
        "_work",
        "_work2",
    )

    def __init__(self, settings: OneEuroSettings, frequency: float = 30.0) -> None:
        if not isinstance(settings, OneEuroSettings):
            raise TypeError(f"settings must be a OneEuroSettings, got {type(settings).__name__}")
        frequency = float(frequency)
        if not (math.isfinite(frequency) and frequency > 0):
            raise ValueError(f"frequency must be finite and > 0, got {frequency!r}")
        self._settings = settings
        self._initial_frequency = frequency
        self._shape: tuple[int, ...] | None = None
        self.reset()

    @property
    def settings(self) -> OneEuroSettings:
        return self._settings

    @property
    def frequency(self) -> float:
        """The sampling frequency in use: the constructor's until the second sample, then 1/Δt."""
        return self._frequency

    def reset(self) -> None:
        """Forget the history: the next sample passes through, the frequency is the constructor's."""
        self._frequency = self._initial_frequency
        self._last_time: float | None = None

    def _allocate(self, shape: tuple[int, ...]) -> None:
        self._shape = shape
        self._raw = np.empty(shape, dtype=np.float64)
        self._smoothed = np.empty(shape, dtype=np.float64)
        self._derivative = np.empty(shape, dtype=np.float64)
        self._work = np.empty(shape, dtype=np.float64)
        self._work2 = np.empty(shape, dtype=np.float64)

    def __call__(self, values: np.ndarray, timestamp: float, value_scale: float = 1.0) -> np.ndarray:
        values = _as_array(values)
        t = float(timestamp)
        if not math.isfinite(t):
            raise ValueError(f"timestamp must be finite, got {timestamp!r}")
        if not (value_scale >= 0 and math.isfinite(value_scale)):
            raise ValueError(f"value_scale must be finite and >= 0, got {value_scale!r}")
        if values.shape != self._shape:
            self.reset()
            self._allocate(values.shape)
        last = self._last_time
        if last is None:
            # First sample: both low-pass filters return their input (dx = 0), and keep it.
            self._last_time = t
            np.copyto(self._raw, values)
            np.copyto(self._smoothed, values)
            self._derivative.fill(0.0)
            return np.array(values, dtype=np.float64)
        if t <= last:
            return np.array(values, dtype=np.float64)

        frequency = 1.0 / (t - last)
        self._frequency = frequency
        self._last_time = t
        te = 1.0 / frequency
        settings = self._settings
        work, work2, derivative, smoothed = self._work, self._work2, self._derivative, self._smoothed

        # dx = (v - last_raw) * value_scale * freq; edx = LPF(dx, alpha(derivate_cutoff)).
        alpha_d = 1.0 / (1.0 + (1.0 / (_TWO_PI * settings.derivate_cutoff)) / te)
        np.subtract(values, self._raw, out=work)
        work *= value_scale * frequency
        work -= derivative
        work *= alpha_d
        derivative += work
        # alpha(cutoff) = 1/(1 + tau/te) = a/(1 + a) with a = 2*pi*te*cutoff,
        # cutoff = min_cutoff + beta*|edx|.
        k = _TWO_PI * te
        np.abs(derivative, out=work)
        work *= k * settings.beta
        work += k * settings.min_cutoff
        np.add(work, 1.0, out=work2)
        work /= work2
        # out = LPF(v, alpha) = smoothed + alpha*(v - smoothed).
        out = np.subtract(values, smoothed, dtype=np.float64)
        out *= work
        out += smoothed
        np.copyto(smoothed, out)
        np.copyto(self._raw, values)
        return out


class LowPassFilter:
    """MediaPipe's ``LowPassFilter`` (``mediapipe/util/filtering/low_pass_filter.cc``) over whole arrays:
    ``stored = alpha * value + (1 - alpha) * stored``, the first value (or one of a new shape) kept as is."""

    def __init__(self, alpha: float) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        self.alpha = float(alpha)
        self._stored: np.ndarray | None = None

    def reset(self) -> None:
        self._stored = None

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self._stored is None or self._stored.shape != values.shape:
            self._stored = values.copy()
        else:
            self._stored = self.alpha * values + (1.0 - self.alpha) * self._stored
        return self._stored.copy()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class LandmarkSmoother:
    """Smooth one tracked object's landmarks as MediaPipe's ``LandmarksSmoothingCalculator`` does.

    ``smoother(landmarks, timestamp, world_landmarks=None)`` → ``(image, world)``:

    - ``landmarks``: ``(N, 3)`` (or ``(N, 2)``) in pixels: x, y, and z in the scale of x (``to_pixels``).
      Filtered with ``image`` settings and ``value_scale = 1/object_scale``, ``object_scale`` =
      (width + height)/2 of the raw landmarks' x, y bounding box; passed through unchanged, with no
      state change, when ``object_scale < 1e-6`` (or not a number).
    - ``world_landmarks``: any shape, filtered with ``world`` settings and value scale 1; ``None`` gives
      ``None`` and resets the world filter (MediaPipe resets a filter on a frame without landmarks).
      With ``world=None`` world landmarks are returned unfiltered.
    - ``timestamp``: seconds; not later than the last accepted one returns the inputs unchanged.

    Outputs are new float64 arrays, read-only. Call ``reset()`` (or use a new smoother) when the object
    is lost or replaced by another one.
    """

    __slots__ = ("_image", "_world", "_low", "_high")

    def __init__(
        self,
        image: OneEuroSettings = IMAGE_LANDMARKS,
        world: OneEuroSettings | None = WORLD_LANDMARKS,
    ) -> None:
        self._image = OneEuroFilter(image)
        self._world = None if world is None else OneEuroFilter(world)
        self._low = np.empty(2, dtype=np.float64)
        self._high = np.empty(2, dtype=np.float64)

    def reset(self) -> None:
        self._image.reset()
        if self._world is not None:
            self._world.reset()

    def object_scale(self, landmarks: np.ndarray) -> float:
        """(bbox width + bbox height)/2 of ``landmarks``' x, y, in their units (pixels)."""
        xy = _as_array(landmarks)[:, :2]
        low, high = self._low, self._high
        np.min(xy, axis=0, out=low)
        np.max(xy, axis=0, out=high)
        high -= low
        return float(high[0] + high[1]) / 2.0

    def __call__(
        self,
        landmarks: np.ndarray,
        timestamp: float,
        world_landmarks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        landmarks = _as_array(landmarks)
        if landmarks.ndim != 2 or landmarks.shape[0] < 1 or landmarks.shape[1] not in (2, 3):
            raise ValueError(f"landmarks must be (N, 3) or (N, 2) with N >= 1, got shape {landmarks.shape}")
        scale = self.object_scale(landmarks)
        if scale >= MIN_OBJECT_SCALE:  # False for NaN as well
            image = self._image(landmarks, timestamp, 1.0 / scale)
        else:
            image = np.array(landmarks, dtype=np.float64)

        if world_landmarks is None:
            if self._world is not None:
                self._world.reset()
            world = None
        elif self._world is None:
            world = _read_only(np.array(world_landmarks, dtype=np.float64))
        else:
            world = _read_only(self._world(world_landmarks, timestamp, 1.0))
        return _read_only(image), world
