"""Background effects from a person mask: the background blurred, or replaced by a colour or an image.

``mask`` is a segmentation probability per pixel (``results["segmentation_mask"]``: float32 in [0, 1]
at frame size). It becomes the person's opacity through a ramp from ``threshold - softness / 2`` to
``threshold + softness / 2``, so the outline is soft where the model is unsure and the person and the
background are untouched (bit for bit) where it is sure: sure background is copied under an 8-bit
mask and only the uncertain band is blended. The blur is computed on a picture shrunk eight times: a
blurred background keeps no detail that a full-size Gaussian would, at a small fraction of the cost.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

Mode = Literal["blur", "colour", "image"]
# The blur is computed at 1/8 of the frame: sigmas of several pixels there are tens at full size.
_HALVINGS = 3


def person_weights(mask: np.ndarray, threshold: float = 0.5, softness: float = 0.2) -> np.ndarray:
    """The person's opacity per pixel, float32 in [0, 1]: 0 up to ``threshold - softness / 2``, 1 from
    ``threshold + softness / 2``, linear between (``softness`` 0: a hard cut at ``threshold``)."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    mask = np.asarray(mask, np.float32)
    if softness <= 0:
        return (mask >= threshold).astype(np.float32)
    weights = (mask - np.float32(threshold - softness / 2)) * np.float32(1.0 / softness)
    np.clip(weights, 0.0, 1.0, out=weights)
    return weights


def blurred_background(image: np.ndarray, strength: float = 0.02) -> np.ndarray:
    """``image`` blurred with a Gaussian whose sigma is ``strength`` times the frame's height."""
    height, width = image.shape[:2]
    small = image
    for _ in range(_HALVINGS):
        if min(small.shape[:2]) < 2:
            break
        # Halving with INTER_LINEAR averages each 2x2 block (half-pixel centres): three halvings are
        # the 8x8 box INTER_AREA would take, within a level of rounding, in a third of its time.
        small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    sigma = max(strength * small.shape[0], 0.3)
    small = cv2.GaussianBlur(small, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def fitted_background(background: np.ndarray, width: int, height: int) -> np.ndarray:
    """A BGR ``background`` image scaled to cover ``width`` x ``height`` and centre-cropped, so a picture
    of another aspect ratio is not distorted."""
    bg_height, bg_width = background.shape[:2]
    scale = max(width / bg_width, height / bg_height)
    scaled_w, scaled_h = max(width, round(bg_width * scale)), max(height, round(bg_height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(background[:, :, :3], (scaled_w, scaled_h), interpolation=interpolation)
    x0, y0 = (scaled_w - width) // 2, (scaled_h - height) // 2
    return np.ascontiguousarray(scaled[y0:y0 + height, x0:x0 + width])


def replace_background(image: np.ndarray, mask: np.ndarray, mode: Mode = "blur", *, strength: float = 0.02,
                       colour: tuple[int, int, int] = (0, 255, 0), background: np.ndarray | None = None,
                       threshold: float = 0.5, softness: float = 0.2) -> None:
    """Blur (``"blur"``) or replace (``"colour"``, ``"image"``) the background of the BGR ``image``, in place.

    ``mask``: the person probability, ``(H, W)`` like ``image``. ``strength``: the blur's sigma as a
    fraction of the frame's height. ``colour``: BGR. ``background``: a BGR image of the frame's size
    (:func:`fitted_background` makes one from any picture); with ``"colour"`` it may be given too, as
    :func:`solid_background` made once, to save filling a frame each call. ``threshold``,
    ``softness``: as in :func:`person_weights`.
    """
    height, width = image.shape[:2]
    if mask.shape != (height, width):
        raise ValueError(f"mask shape {mask.shape} does not match the image's {(height, width)}")
    if mode == "blur":
        behind = blurred_background(image, strength)
    elif background is not None and mode in ("colour", "image"):
        if background.shape != image.shape:
            raise ValueError(f"background shape {background.shape} does not match the image's {image.shape}")
        behind = background
    elif mode == "colour":
        behind = solid_background(colour, width, height)
    elif mode == "image":
        raise ValueError("mode 'image' needs a background of the frame's size (see fitted_background)")
    else:
        raise ValueError(f"mode must be 'blur', 'colour' or 'image', got {mode!r}")
    _composite(image, behind, np.asarray(mask, np.float32), threshold, softness)


def solid_background(colour: tuple[int, int, int], width: int, height: int) -> np.ndarray:
    """A ``height`` x ``width`` BGR frame of one colour (a node keeps one and reuses it)."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.asarray(colour, np.uint8)
    return frame


def _composite(image: np.ndarray, behind: np.ndarray, mask: np.ndarray, threshold: float, softness: float) -> None:
    """``image`` over ``behind`` with :func:`person_weights` as its opacity, in place.

    Sure background is copied under an 8-bit mask and only the uncertain band (a few percent of the
    pixels) is blended one by one: blending every pixel with float weights took 4-5 ms at 720p, this
    about a tenth of that, and sure person pixels are never touched.
    """
    if not image.flags.c_contiguous:
        # OpenCV writes into a numpy destination in place only when it is contiguous.
        work = np.ascontiguousarray(image)
        _composite(work, behind, mask, threshold, softness)
        image[:] = work
        return
    behind = np.ascontiguousarray(behind)
    low = threshold - softness / 2 if softness > 0 else threshold
    background = cv2.compare(mask, low, cv2.CMP_LE if softness > 0 else cv2.CMP_LT)
    cv2.copyTo(behind, background, image)
    if softness <= 0:
        return
    band = cv2.compare(mask, low, cv2.CMP_GT)
    cv2.bitwise_and(band, cv2.compare(mask, low + softness, cv2.CMP_LT), dst=band)
    points = cv2.findNonZero(band)
    if points is None:
        return
    points = points.reshape(-1, 2)  # OpenCV gives (N, 1, 2)
    weight = ((mask[points[:, 1], points[:, 0]] - np.float32(low)) * np.float32(1.0 / softness))[:, None]
    # One flat index is markedly cheaper than a pair of (y, x) index arrays over the band.
    flat = points[:, 1].astype(np.intp) * image.shape[1] + points[:, 0]
    pixels, behind_pixels = image.reshape(-1, 3), behind.reshape(-1, 3)
    front = np.take(pixels, flat, axis=0).astype(np.float32)
    back = np.take(behind_pixels, flat, axis=0).astype(np.float32)
    pixels[flat] = (back + (front - back) * weight + 0.5).astype(np.uint8)
