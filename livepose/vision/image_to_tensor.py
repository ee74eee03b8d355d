"""Image → model tensor: MediaPipe's ``ImageToTensorCalculator`` (OpenCV converter), bit for bit.

Public API
----------
- ``letterbox_padding(roi_width, roi_height, tensor_width, tensor_height)`` → ``(new_width, new_height,
  (left, top, right, bottom))``: the ROI enlarged to the tensor's aspect ratio and the fractions of the
  tensor its padding fills (``PadRoi``); e.g. a 512x384 image into a square tensor gives
  ``(0, 0.125, 0, 0.125)``.
- ``TensorSpec(width, height, value_min, value_max, keep_aspect_ratio, border)``: the input of one model;
  ``PALM_DETECTOR_INPUT``, ``HAND_LANDMARK_INPUT``, ``FACE_DETECTOR_INPUT``, ``FACE_LANDMARK_INPUT``,
  ``POSE_DETECTOR_INPUT``, ``POSE_LANDMARK_INPUT``.
- ``crop_to_tensor(image, rect, spec)`` → ``(tensor (H, W, 3) float32, padding)``: sample a rotated ROI.
- ``crops_to_batch(image, rects, spec)`` → ``(tensors (B, H, W, 3) float32, paddings (B, 4))``.
- ``image_to_letterboxed_tensor(image, spec)``: the whole image (the detectors' input), same return.
- ``letterboxed_image_roi(image_width, image_height, spec)``: the pixel ROI that tensor was sampled from.
- ``sampled_roi(rect, image_size, spec)``: the same for a crop of ``rect`` (a detector run on a ROI).
- ``tensor_to_image_affine(rect, image_size, spec)`` → ``(2, 3)`` float64: the affine map from a crop's
  tensor pixels back to image pixels (to lay a model's ROI-sized mask over the frame).
- ``Cropper``: what the vision classes crop with, ``crops(image, rects, spec)`` and
  ``letterbox(image, spec)``; ``OPENCV_CROPPER`` is this module's functions. Another cropper returns its
  own tensor type for its own model callable (``livepose.gpu.pipeline``: torch tensors on the GPU, sampled
  from one upload of the frame), with the same paddings.

``image`` is always an RGB ``uint8`` array ``(H, W, 3)``. The recipe: ROI in pixels, enlarged by
``PadRoi`` when ``keep_aspect_ratio``; its corners (as OpenCV's ``boxPoints`` gives them) mapped to the tensor corners
``(0,H) (0,0) (W,0) (W,H)`` (corner to corner, not pixel centre to pixel centre); ``warpPerspective``
bilinear on the uint8 image, done as OpenCV's classic fixed-point warp whatever the installed OpenCV
version (see ``_fixed_point_maps``); then ``v * (max - min) / 255 + min``. All ROI arithmetic is float32
as in MediaPipe, because a crop that moves by one 1/32-pixel step changes the landmarks measurably.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol, Sequence

import cv2
import numpy as np

from livepose.vision._float32 import F32
from livepose.vision.rects import NormalizedRect

__all__ = [
    "Cropper",
    "OPENCV_CROPPER",
    "Padding",
    "TensorSpec",
    "PALM_DETECTOR_INPUT",
    "HAND_LANDMARK_INPUT",
    "FACE_DETECTOR_INPUT",
    "FACE_LANDMARK_INPUT",
    "POSE_DETECTOR_INPUT",
    "POSE_LANDMARK_INPUT",
    "letterbox_padding",
    "crop_to_tensor",
    "crops_to_batch",
    "image_to_letterboxed_tensor",
    "letterboxed_image_roi",
    "sampled_roi",
    "tensor_to_image_affine",
]

Padding = tuple[float, float, float, float]  # left, top, right, bottom, fractions of the tensor
NO_PADDING: Padding = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class TensorSpec:
    """How one model's input tensor is sampled from the image."""

    width: int
    height: int
    value_min: float
    value_max: float
    keep_aspect_ratio: bool
    # "zero": pixels outside the image are 0 before value scaling; "replicate": edge pixels repeat.
    border: Literal["zero", "replicate"]


PALM_DETECTOR_INPUT = TensorSpec(192, 192, 0.0, 1.0, keep_aspect_ratio=True, border="zero")
FACE_DETECTOR_INPUT = TensorSpec(128, 128, -1.0, 1.0, keep_aspect_ratio=True, border="zero")
HAND_LANDMARK_INPUT = TensorSpec(224, 224, 0.0, 1.0, keep_aspect_ratio=True, border="replicate")
FACE_LANDMARK_INPUT = TensorSpec(192, 192, 0.0, 1.0, keep_aspect_ratio=False, border="replicate")
# MediaPipe 0.10.21's pose_detection_cpu and pose_landmark_by_roi_cpu graphs (the wheel's binarypb).
POSE_DETECTOR_INPUT = TensorSpec(224, 224, -1.0, 1.0, keep_aspect_ratio=True, border="zero")
POSE_LANDMARK_INPUT = TensorSpec(256, 256, 0.0, 1.0, keep_aspect_ratio=True, border="replicate")

_BORDER_MODES = {"zero": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}


def letterbox_padding(
    roi_width: float, roi_height: float, tensor_width: int, tensor_height: int
) -> tuple[float, float, Padding]:
    """Enlarge a ``roi_width`` x ``roi_height`` pixel ROI to the tensor's aspect ratio, centred.

    Returns the enlarged ``(width, height)`` and the symmetric padding as fractions of the tensor, in
    float32 like MediaPipe's ``PadRoi`` (a square ROI gets exactly zero padding only if its float sides
    are exactly equal; the tiny padding otherwise matters for a bit-exact crop).
    """
    width, height = F32(roi_width), F32(roi_height)
    tensor_aspect = F32(tensor_height) / F32(tensor_width)
    roi_aspect = height / width
    one, two = F32(1), F32(2)
    if tensor_aspect > roi_aspect:
        vertical = (one - roi_aspect / tensor_aspect) / two
        return float(width), float(width * tensor_aspect), (0.0, float(vertical), 0.0, float(vertical))
    horizontal = (one - tensor_aspect / roi_aspect) / two
    return float(height / tensor_aspect), float(height), (float(horizontal), 0.0, float(horizontal), 0.0)


def _roi_pixels(rect: NormalizedRect, image_width: int, image_height: int, spec: TensorSpec):
    cx, cy, w, h, angle = rect.to_pixels(image_width, image_height)
    padding = NO_PADDING
    if spec.keep_aspect_ratio:
        w, h, padding = letterbox_padding(w, h, spec.width, spec.height)
    return ((cx, cy), (w, h), angle), padding


# OpenCV's classic warpPerspective (before 4.11) maps each output pixel to the source in fixed point:
# 1/32 pixel steps and 15-bit bilinear weights. MediaPipe's bundled OpenCV works that way; newer OpenCV
# interpolates in float, which changes ~2% of the crop's values by 1 and moves landmarks by up to a pixel.
# So the source coordinates are computed here exactly as the classic code does and handed to
# ``cv2.remap`` in its fixed-point map format, which every OpenCV version interpolates the classic way.
_SUBPIXEL_BITS = 5
_SUBPIXELS = 1 << _SUBPIXEL_BITS
# The classic code walks the output in tiles of up to 32*32 pixels, 16 rows high, and evaluates each
# row of a tile from the tile's first column; keeping that evaluation order keeps the rounding (and
# hence the 1/32 steps) identical.
_TILE_PIXELS = 32 * 32
_TILE_ROWS = 16


# Source coordinates beyond +-32768 pixels (a degenerate ROI) are clipped there: both neighbours of
# such a sample are border pixels, so the clipped value samples the same as the exact one.
_COORDINATE_LIMIT = 32768.0 * _SUBPIXELS


@lru_cache(maxsize=8)
def _output_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tile_width = min(_TILE_PIXELS // min(_TILE_ROWS, height), width)
    xs = np.arange(width)
    block_start = ((xs // tile_width) * tile_width).astype(np.float64)
    in_block = (xs - block_start).astype(np.float64)
    rows = np.arange(height, dtype=np.float64)
    return block_start, in_block, rows


def _projective_row(a: float, b: float, c: float, out: np.ndarray) -> np.ndarray:
    """``a*x + b*y + c`` over the output grid of ``out``'s shape, into ``out``, summed in OpenCV's order:
    ``((a*x_block + b*y) + c) + a*x_in_block``."""
    height, width = out.shape
    block_start, in_block, rows = _output_grid(width, height)
    np.add.outer(b * rows, a * block_start, out=out)
    out += c
    out += a * in_block
    return out


class _MapWorkspace:
    """Scratch and output arrays for the maps of one tensor size, reused crop after crop on one thread:
    fresh ones (five of 200-400 kB per crop) cost more in page faults than the arithmetic itself."""

    def __init__(self, width: int, height: int) -> None:
        self.scale = np.empty((height, width), np.float64)
        self.coordinate = np.empty((height, width), np.float64)
        self.fixed_x = np.empty((height, width), np.int32)
        self.fixed_y = np.empty((height, width), np.int32)
        self.coords = np.empty((height, width, 2), np.int16)
        self.table = np.empty((height, width), np.uint16)


_workspaces = threading.local()


def _workspace(width: int, height: int) -> _MapWorkspace:
    spaces = getattr(_workspaces, "by_size", None)
    if spaces is None:
        spaces = _workspaces.by_size = {}
    space = spaces.get((width, height))
    if space is None:
        space = spaces[(width, height)] = _MapWorkspace(width, height)
    return space


def _fixed_point_maps(
    matrix: np.ndarray, width: int, height: int, workspace: _MapWorkspace | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Source-pixel maps of a forward ``matrix`` (source → tensor) in ``cv2.remap``'s fixed-point format:
    integer coordinates ``(H, W, 2)`` int16 and sub-pixel table indices ``(H, W)`` uint16. With a
    ``workspace`` the maps are written into (and overwrite) its arrays; without, they are new arrays."""
    space = workspace if workspace is not None else _MapWorkspace(width, height)
    m = cv2.invert(matrix, flags=cv2.DECOMP_LU)[1].ravel()
    scale = _projective_row(m[6], m[7], m[8], space.scale)
    with np.errstate(divide="ignore"):
        np.divide(float(_SUBPIXELS), scale, out=scale)
    finite = np.isfinite(scale)
    if not finite.all():
        scale[~finite] = 0.0
    coordinate = space.coordinate
    for (a, b, c), fixed in (((m[0], m[1], m[2]), space.fixed_x), ((m[3], m[4], m[5]), space.fixed_y)):
        _projective_row(a, b, c, coordinate)
        coordinate *= scale
        np.clip(coordinate, -_COORDINATE_LIMIT, _COORDINATE_LIMIT - 1, out=coordinate)
        np.rint(coordinate, out=coordinate)  # round half to even, like cvRound
        np.copyto(fixed, coordinate, casting="unsafe")  # exact: the values are whole numbers
    x, y = space.fixed_x, space.fixed_y
    coords, table = space.coords, space.table
    np.right_shift(x, _SUBPIXEL_BITS, out=coords[..., 0], casting="unsafe")
    np.right_shift(y, _SUBPIXEL_BITS, out=coords[..., 1], casting="unsafe")
    y &= _SUBPIXELS - 1
    y <<= _SUBPIXEL_BITS
    x &= _SUBPIXELS - 1
    y |= x
    np.copyto(table, y, casting="unsafe")
    return coords, table


@lru_cache(maxsize=16)
def _cached_maps(matrix_bytes: bytes, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    # The detectors sample the same letterbox ROI on every frame of a stream: reuse its maps.
    matrix = np.frombuffer(matrix_bytes, dtype=np.float64).reshape(3, 3)
    coords, table = _fixed_point_maps(matrix, width, height)
    coords.flags.writeable = False
    table.flags.writeable = False
    return coords, table


def _box_corners(roi_px) -> np.ndarray:
    """Corners of an OpenCV ``RotatedRect`` the way OpenCV computed them before 5.0 (bottom-left,
    top-left, top-right, bottom-right for angle 0): newer ``cv2.boxPoints`` rounds differently, and the
    crop is sensitive to the last bit of its corners."""
    (cx, cy), (w, h), angle = roi_px
    cx, cy, w, h = F32(cx), F32(cy), F32(w), F32(h)
    radians = float(F32(angle)) * math.pi / 180.0
    half_cos = F32(math.cos(radians)) * F32(0.5)
    half_sin = F32(math.sin(radians)) * F32(0.5)
    x0 = cx - half_sin * h - half_cos * w
    y0 = cy + half_cos * h - half_sin * w
    x1 = cx + half_sin * h - half_cos * w
    y1 = cy - half_cos * h - half_sin * w
    two = F32(2)
    return np.array([[x0, y0], [x1, y1], [two * cx - x0, two * cy - y0], [two * cx - x1, two * cy - y1]], F32)


def _warp_into(image: np.ndarray, roi_px, spec: TensorSpec, out: np.ndarray, repeated: bool) -> None:
    target = np.array(
        [[0, spec.height], [0, 0], [spec.width, 0], [spec.width, spec.height]], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(_box_corners(roi_px), target)
    if repeated:
        coords, table = _cached_maps(matrix.tobytes(), spec.width, spec.height)
    else:
        coords, table = _fixed_point_maps(matrix, spec.width, spec.height, _workspace(spec.width, spec.height))
    cv2.remap(
        image,
        coords,
        table,
        cv2.INTER_LINEAR,
        dst=out,
        borderMode=_BORDER_MODES[spec.border],
        borderValue=(0, 0, 0, 0),
    )


@lru_cache(maxsize=8)
def _value_table(value_min: float, value_max: float) -> np.ndarray:
    # MediaPipe's value transform: scale = (max - min) / 255 and offset = min, both float32, applied by
    # OpenCV's convertTo, which uses a fused multiply-add (one rounding). In float64 the product and sum
    # are exact, so rounding once to float32 gives the fused result. A uint8 pixel has 256 values:
    # tabulate them once.
    scale = (F32(value_max) - F32(value_min)) / F32(255)
    table = (np.arange(256, dtype=np.float64) * float(scale) + float(F32(value_min))).astype(F32)
    table.flags.writeable = False
    return table


def _to_float(pixels: np.ndarray, spec: TensorSpec) -> np.ndarray:
    batch, height, width, channels = pixels.shape
    tensor = np.empty(pixels.shape, F32)
    cv2.LUT(pixels.reshape(batch * height, width, channels), _value_table(spec.value_min, spec.value_max),
            dst=tensor.reshape(batch * height, width, channels))
    return tensor


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")


def crops_to_batch(
    image: np.ndarray, rects: Sequence[NormalizedRect], spec: TensorSpec, *, repeated: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Sample each ROI into one batch ``(B, H, W, 3)`` float32; paddings ``(B, 4)``.

    ``repeated=True`` keeps the sampling maps for the next call with the same ROI and image size (the
    detectors' whole-image letterbox); tracked ROIs change every frame and are not kept."""
    _check_image(image)
    image_height, image_width = image.shape[:2]
    pixels = np.empty((len(rects), spec.height, spec.width, 3), dtype=np.uint8)
    paddings = np.zeros((len(rects), 4), dtype=np.float64)
    for index, rect in enumerate(rects):
        roi_px, padding = _roi_pixels(rect, image_width, image_height, spec)
        _warp_into(image, roi_px, spec, pixels[index], repeated)
        paddings[index] = padding
    return _to_float(pixels, spec), paddings


def crop_to_tensor(image: np.ndarray, rect: NormalizedRect, spec: TensorSpec) -> tuple[np.ndarray, Padding]:
    """Sample one ROI into an ``(H, W, 3)`` float32 tensor; also returns its letterbox padding."""
    tensors, paddings = crops_to_batch(image, [rect], spec)
    left, top, right, bottom = (float(v) for v in paddings[0])
    return tensors[0], (left, top, right, bottom)


def image_to_letterboxed_tensor(image: np.ndarray, spec: TensorSpec) -> tuple[np.ndarray, Padding]:
    """The whole image as the detector sees it (letterboxed when ``spec.keep_aspect_ratio``)."""
    tensors, paddings = crops_to_batch(image, [NormalizedRect(0.5, 0.5, 1.0, 1.0, 0.0)], spec, repeated=True)
    left, top, right, bottom = (float(v) for v in paddings[0])
    return tensors[0], (left, top, right, bottom)


class Cropper(Protocol):
    """How a vision class turns the frame and its ROIs into a model's input batch."""

    def crops(self, image: np.ndarray, rects: Sequence[NormalizedRect], spec: TensorSpec) -> tuple[Any, np.ndarray]:
        """``crops_to_batch``: a batch ``(B, H, W, 3)`` of the cropper's tensor type and paddings ``(B, 4)``."""
        ...

    def letterbox(self, image: np.ndarray, spec: TensorSpec) -> tuple[Any, Padding]:
        """``image_to_letterboxed_tensor``: the whole image as a batch of one ``(1, H, W, 3)``, and its padding."""
        ...


class _OpenCvCropper:
    """This module's functions (MediaPipe's OpenCV converter) as a ``Cropper``."""

    def crops(self, image: np.ndarray, rects: Sequence[NormalizedRect], spec: TensorSpec) -> tuple[np.ndarray, np.ndarray]:
        return crops_to_batch(image, rects, spec)

    def letterbox(self, image: np.ndarray, spec: TensorSpec) -> tuple[np.ndarray, Padding]:
        tensor, padding = image_to_letterboxed_tensor(image, spec)
        return tensor[None], padding


OPENCV_CROPPER: Cropper = _OpenCvCropper()


def sampled_roi(rect: NormalizedRect, image_size: tuple[int, int], spec: TensorSpec
                ) -> tuple[float, float, float, float, float]:
    """The pixel ROI ``(cx, cy, w, h, rotation in radians)`` that ``crops_to_batch`` samples for ``rect``
    (enlarged by the letterbox); ``detection.project_detections`` maps a detector's output back through it."""
    (cx, cy), (w, h), _ = _roi_pixels(rect, image_size[0], image_size[1], spec)[0]
    return cx, cy, w, h, rect.rotation


def letterboxed_image_roi(
    image_width: int, image_height: int, spec: TensorSpec
) -> tuple[float, float, float, float, float]:
    """The pixel ROI ``(cx, cy, w, h, rotation)`` that ``image_to_letterboxed_tensor`` samples (the whole
    image enlarged to the tensor's aspect ratio); ``detection.project_detections`` maps back through it."""
    (cx, cy), (w, h), _ = _roi_pixels(NormalizedRect(0.5, 0.5, 1.0, 1.0, 0.0), image_width, image_height, spec)[0]
    return cx, cy, w, h, 0.0


def tensor_to_image_affine(rect: NormalizedRect, image_size: tuple[int, int], spec: TensorSpec) -> np.ndarray:
    """The ``(2, 3)`` affine map from ``spec``'s tensor pixels (corner-aligned, as the crop samples them)
    to pixels of an image of ``image_size`` (W, H); the letterbox padding is part of the sampled box."""
    roi_px, _ = _roi_pixels(rect, image_size[0], image_size[1], spec)
    tensor_corners = np.array([[0, spec.height], [0, 0], [spec.width, 0]], dtype=np.float32)
    return cv2.getAffineTransform(tensor_corners, _box_corners(roi_px)[:3])
