"""Single-precision arithmetic as MediaPipe's C++ does it.

MediaPipe computes ROIs and landmarks in ``float``. Crops are sampled on a 1/32-pixel grid, so an ROI that
differs in the 7th digit can move a few samples to the next grid step, and the landmark models amplify
that into differences of a tenth of a pixel that then feed back through tracking. The geometry in
``livepose.vision`` therefore keeps every stored value a float32 and does each operation in float32, in
MediaPipe's order. NumPy float32 operations are IEEE single precision, like C++ ``float`` on x86-64 (no
FMA contraction). Transcendentals are evaluated in double and rounded once, i.e. correctly rounded.
"""

from __future__ import annotations

import math

import numpy as np

F32 = np.float32


def f32(value: float) -> np.float32:
    return np.float32(value)


def cosf(angle: np.float32) -> np.float32:
    return np.float32(math.cos(float(angle)))


def sinf(angle: np.float32) -> np.float32:
    return np.float32(math.sin(float(angle)))


def atan2f(y: np.float32, x: np.float32) -> np.float32:
    return np.float32(math.atan2(float(y), float(x)))


def normalize_radians(angle: float) -> np.float32:
    """Map into [-pi, pi): MediaPipe takes a float, computes in double and returns a float."""
    angle = float(angle)
    return np.float32(angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi)))


FLOAT_MIN = np.finfo(np.float32).tiny


def running_bounds(values: np.ndarray) -> tuple[np.float32, np.float32]:
    """``(min, max)`` of float32 values the way MediaPipe's landmark loops find them: the running maximum
    starts at FLT_MIN (the smallest positive float) rather than at -FLT_MAX, so it never drops below it."""
    return values.min(), max(values.max(), FLOAT_MIN)
