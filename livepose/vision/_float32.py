"""Single-precision arithmetic as MediaPipe's C++ does it.

MediaPipe computes ROIs and landmarks in ``float``. Crops are sampled on a 1/32-pixel grid, so an ROI that
differs in its last bit can move a few samples to the next grid step, and the landmark models amplify
that into differences of a tenth of a pixel that then feed back through tracking. The geometry in
``livepose.vision`` therefore keeps every stored value a float32 and does each operation in float32, in
MediaPipe's order. NumPy float32 operations are IEEE single precision, like C++ ``float`` on x86-64 (no
FMA contraction).

``std::cos(float)`` and friends call the C library's ``cosf``/``sinf``/``atan2f``, which are not always
correctly rounded; calling the same functions (through ctypes) is what makes tracked hands agree with
MediaPipe bit for bit over long runs. Where the C math library cannot be loaded, the double-precision
result rounded to float32 is used (correct in all but rare last-bit cases).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from typing import Callable

import numpy as np

F32 = np.float32
FLOAT_MIN = np.finfo(np.float32).tiny


def _load_c_math() -> ctypes.CDLL | None:
    for name in ("libm.so.6", ctypes.util.find_library("m")):
        if not name:
            continue
        try:
            library = ctypes.CDLL(name)
            for function, arity in (("cosf", 1), ("sinf", 1), ("atan2f", 2)):
                getattr(library, function).restype = ctypes.c_float
                getattr(library, function).argtypes = [ctypes.c_float] * arity
        except (OSError, AttributeError):
            continue
        return library
    return None


_C_MATH = _load_c_math()


def _unary(c_name: str, fallback: Callable[[float], float]) -> Callable[[float], np.float32]:
    if _C_MATH is not None:
        c_function = getattr(_C_MATH, c_name)
        return lambda angle: np.float32(c_function(float(angle)))
    return lambda angle: np.float32(fallback(float(angle)))


cosf = _unary("cosf", math.cos)
sinf = _unary("sinf", math.sin)


def atan2f(y: float, x: float) -> np.float32:
    if _C_MATH is not None:
        return np.float32(_C_MATH.atan2f(float(y), float(x)))
    return np.float32(math.atan2(float(y), float(x)))


def normalize_radians(angle: float) -> np.float32:
    """Map into [-pi, pi): MediaPipe takes a float, computes in double and returns a float."""
    angle = float(angle)
    return np.float32(angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi)))


def running_bounds(values: np.ndarray) -> tuple[np.float32, np.float32]:
    """``(min, max)`` of float32 values the way MediaPipe's landmark loops find them: the running maximum
    starts at FLT_MIN (the smallest positive float) rather than at -FLT_MAX, so it never drops below it."""
    return values.min(), max(values.max(), FLOAT_MIN)
