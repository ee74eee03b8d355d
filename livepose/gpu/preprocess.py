"""``livepose.vision.image_to_tensor`` on torch: rotated ROI crops, letterbox and normalisation on the device.

Public API
----------
- ``DeviceFrame(image, device)``: one RGB ``uint8`` frame ``(H, W, 3)`` uploaded once
  (``torch.from_numpy(image).to(device)``); every crop of every model of that frame samples this tensor.
  ``upload_frame(image, device)`` makes one.
- ``crops_to_batch(frame, rects, spec, *, method="exact", repeated=False)`` → ``(tensors (B, H, W, 3)
  float32 on the frame's device, paddings (B, 4) float64 numpy)``: the same arguments and values as
  ``image_to_tensor.crops_to_batch``; ``frame`` is a ``DeviceFrame``, a torch ``uint8`` tensor or a numpy
  image (uploaded to the CPU device).
- ``image_to_letterboxed_tensor(frame, spec, *, method="exact")`` → ``(tensor (H, W, 3), padding)``.

Mapping convention (the one ``image_to_tensor`` documents): the ROI's corners, as OpenCV's classic
``boxPoints`` gives them, go to the tensor corners ``(0,H) (0,0) (W,0) (W,H)``: corner to corner, so the
tensor's pixel ``(x, y)`` samples the source at ``M^-1 (x, y, 1)`` with source pixel centres at integer
coordinates (OpenCV's ``warpPerspective`` convention), not at ``M^-1 (x + 0.5, y + 0.5, 1) - 0.5``.

Two methods:

- ``"exact"`` (default): OpenCV's classic fixed-point warp, in the same arithmetic: the source coordinates
  in float64 summed in OpenCV's order, rounded to 1/32 pixel; bilinear weights ``(32 - fx)(32 - fy) * 32``
  etc. (15-bit, exact for 1/32 steps), the weighted sum rounded half up to a ``uint8`` level as
  ``cv2.remap`` does; then the same float32 value table. All of it is integer or IEEE-exact float64
  elementwise work, so the result equals the OpenCV path bit for bit on any device. Its only costs are
  float64 over ``B*H*W`` points (cheap at these sizes, even on GPUs with slow float64) and four gathers.
- ``"float"``: ``torch.nn.functional.grid_sample`` (float32 bilinear, all ROIs of a call stacked into one
  grid over the one frame tensor). It differs from OpenCV for two reasons: OpenCV snaps each source
  coordinate to the 1/32-pixel grid (an error of up to 1/64 pixel, i.e. up to 255/64 ≈ 4 levels across a
  sharp 0→255 edge, typically far less), and rounds each sample to a ``uint8`` level (up to 0.5 level);
  float bilinear does neither. Measured on real frames (``tests/test_gpu_preprocess.py``): max abs
  difference under 4.5/255 in [0, 1] units, mean under 0.2/255.

Borders: ``"zero"`` is ``grid_sample``'s ``padding_mode="zeros"`` (outside neighbours count as 0, as with
OpenCV's constant border); ``"replicate"`` is ``padding_mode="border"``, which clamps the coordinate
rather than the neighbour indices: for bilinear sampling the two give the same value.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from livepose.vision.image_to_tensor import (
    Padding,
    TensorSpec,
    _box_corners,
    _roi_pixels,
    _value_table,
)
from livepose.vision.rects import NormalizedRect

__all__ = ["DeviceFrame", "Method", "crops_to_batch", "image_to_letterboxed_tensor", "upload_frame"]

Method = Literal["exact", "float"]

# The constants of OpenCV's classic warp (see image_to_tensor): 1/32-pixel steps, 15-bit weights, and the
# 32*32 tiles, 16 rows high, whose first column each row's coordinates are evaluated from.
_SUBPIXEL_BITS = 5
_SUBPIXELS = 1 << _SUBPIXEL_BITS
_WEIGHT_BITS = 15
_TILE_PIXELS = 32 * 32
_TILE_ROWS = 16
_COORDINATE_LIMIT = 32768.0 * _SUBPIXELS


class DeviceFrame:
    """One RGB uint8 frame on a torch device, uploaded once; the float planar copy that
    ``method="float"`` samples is made on first use and then shared by every model of the frame."""

    def __init__(self, image: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> None:
        if isinstance(image, np.ndarray):
            _check_image(image.dtype == np.uint8, image.shape)
            # from_numpy shares the host buffer; .to() is then the one upload (a no-op on the CPU). The
            # pipeline's frames are read-only arrays, which torch warns about: the crops only read them.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The given NumPy array is not writable", UserWarning)
                pixels = torch.from_numpy(np.ascontiguousarray(image)).to(device, non_blocking=True)
        else:
            _check_image(image.dtype == torch.uint8, tuple(image.shape))
            pixels = image.to(device).contiguous()
        self.pixels: torch.Tensor = pixels
        self._planar: torch.Tensor | None = None

    @property
    def device(self) -> torch.device:
        return self.pixels.device

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def planar_float(self) -> torch.Tensor:
        """``(1, 3, H, W)`` float32, the layout ``grid_sample`` takes."""
        if self._planar is None:
            self._planar = self.pixels.permute(2, 0, 1).unsqueeze(0).float()
        return self._planar


def upload_frame(image: np.ndarray, device: torch.device | str = "cpu") -> DeviceFrame:
    """Upload ``image`` (RGB uint8 ``(H, W, 3)``) once, for all of its crops."""
    return DeviceFrame(image, device)


def _check_image(is_uint8: bool, shape: tuple[int, ...]) -> None:
    if not is_uint8 or len(shape) != 3 or shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got shape {shape}")


def _as_frame(frame: DeviceFrame | np.ndarray | torch.Tensor) -> DeviceFrame:
    return frame if isinstance(frame, DeviceFrame) else DeviceFrame(frame, "cpu" if isinstance(frame, np.ndarray) else frame.device)


def _inverse_matrices(
    rects: Sequence[NormalizedRect], spec: TensorSpec, image_width: int, image_height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per ROI, the tensor → source matrix (float64 ``(B, 9)``, computed exactly as the OpenCV path:
    same corners, ``getPerspectiveTransform`` and LU inverse) and the padding ``(B, 4)``. This is host
    work on 3x3 matrices; only these 72 bytes per ROI go to the device, never the image again."""
    target = np.array([[0, spec.height], [0, 0], [spec.width, 0], [spec.width, spec.height]], dtype=np.float32)
    inverses = np.empty((len(rects), 9), np.float64)
    paddings = np.zeros((len(rects), 4), np.float64)
    for index, rect in enumerate(rects):
        roi_px, padding = _roi_pixels(rect, image_width, image_height, spec)
        matrix = cv2.getPerspectiveTransform(_box_corners(roi_px), target)
        inverses[index] = cv2.invert(matrix, flags=cv2.DECOMP_LU)[1].ravel()
        paddings[index] = padding
    return inverses, paddings


@lru_cache(maxsize=16)
def _output_grid(width: int, height: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # As image_to_tensor._output_grid: each row of a tile is evaluated from the tile's first column.
    tile_width = min(_TILE_PIXELS // min(_TILE_ROWS, height), width)
    xs = torch.arange(width, dtype=torch.int64)
    block_start = ((xs // tile_width) * tile_width).to(torch.float64)
    in_block = (xs - block_start.to(torch.int64)).to(torch.float64)
    rows = torch.arange(height, dtype=torch.float64)
    return block_start.to(device), in_block.to(device), rows.to(device)


def _projective(m: torch.Tensor, a: int, b: int, c: int, width: int, height: int) -> torch.Tensor:
    """``m[a]*x + m[b]*y + m[c]`` for every ROI over the output grid, ``(B, H, W)`` float64, summed in
    OpenCV's order ``((b*y + a*x_block) + c) + a*x_in_block`` so that every rounding is the same."""
    block_start, in_block, rows = _output_grid(width, height, m.device)
    ma, mb, mc = (m[:, i].view(-1, 1, 1) for i in (a, b, c))
    value = mb * rows.view(1, -1, 1) + ma * block_start.view(1, 1, -1)
    value = value + mc
    return value + ma * in_block.view(1, 1, -1)


def _fixed_point_coordinates(m: torch.Tensor, width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Source coordinates in 1/32 pixels, int32 ``(B, H, W)`` each, as the classic warp rounds them."""
    scale = torch.div(float(_SUBPIXELS), _projective(m, 6, 7, 8, width, height))
    scale = torch.where(torch.isfinite(scale), scale, torch.zeros((), dtype=scale.dtype, device=scale.device))
    fixed = []
    for a, b, c in ((0, 1, 2), (3, 4, 5)):
        coordinate = _projective(m, a, b, c, width, height) * scale
        coordinate = coordinate.clamp_(-_COORDINATE_LIMIT, _COORDINATE_LIMIT - 1)
        fixed.append(torch.round(coordinate).to(torch.int32))  # round half to even, like cvRound
    return fixed[0], fixed[1]


def _sampling_plan(
    m: torch.Tensor, spec: TensorSpec, image_width: int, image_height: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The four neighbours of every sample as flat pixel indices ``(4, B, H, W)`` int64 and their 15-bit
    weights ``(4, B, H, W)`` int32 (0 for a neighbour outside the image under the zero border)."""
    fixed_x, fixed_y = _fixed_point_coordinates(m, spec.width, spec.height)
    x0, y0 = fixed_x >> _SUBPIXEL_BITS, fixed_y >> _SUBPIXEL_BITS  # arithmetic shift: floor
    fx, fy = fixed_x & (_SUBPIXELS - 1), fixed_y & (_SUBPIXELS - 1)
    # OpenCV's bilinear table entry for (fx, fy) is (1 - fx/32)(1 - fy/32) * 2^15 and so on: multiples
    # of 32 for 1/32 steps, hence exact integers summing to 2^15.
    unit = 1 << (_WEIGHT_BITS - 2 * _SUBPIXEL_BITS)
    gx, gy = _SUBPIXELS - fx, _SUBPIXELS - fy
    weights = [gx * gy * unit, fx * gy * unit, gx * fy * unit, fx * fy * unit]
    indices = []
    for k, (dx, dy) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
        x, y = x0 + dx, y0 + dy
        if spec.border == "zero":
            inside = (x >= 0) & (x < image_width) & (y >= 0) & (y < image_height)
            weights[k] = weights[k] * inside
        x, y = x.clamp(0, image_width - 1), y.clamp(0, image_height - 1)
        indices.append(y.to(torch.int64) * image_width + x.to(torch.int64))
    return torch.stack(indices), torch.stack(weights).to(torch.int32)


@lru_cache(maxsize=16)
def _kept_plan(
    matrix_bytes: bytes, spec: TensorSpec, image_width: int, image_height: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    # The detectors sample the same letterbox ROI every frame: keep its plan on the device.
    m = torch.from_numpy(np.frombuffer(matrix_bytes, np.float64).reshape(-1, 9).copy()).to(device)
    return _sampling_plan(m, spec, image_width, image_height)


@lru_cache(maxsize=16)
def _device_value_table(value_min: float, value_max: float, device: torch.device) -> torch.Tensor:
    # The OpenCV path's exact float32 table for the 256 uint8 levels.
    return torch.from_numpy(_value_table(value_min, value_max).copy()).to(device)


def _exact(frame: DeviceFrame, inverses: np.ndarray, spec: TensorSpec, repeated: bool) -> torch.Tensor:
    if repeated:
        indices, weights = _kept_plan(inverses.tobytes(), spec, frame.width, frame.height, frame.device)
    else:
        m = torch.from_numpy(inverses).to(frame.device)
        indices, weights = _sampling_plan(m, spec, frame.width, frame.height)
    flat = frame.pixels.view(-1, 3)
    total = torch.zeros((*indices.shape[1:], 3), dtype=torch.int32, device=frame.device)
    for k in range(4):
        total += flat[indices[k]].to(torch.int32) * weights[k].unsqueeze(-1)
    levels = (total + (1 << (_WEIGHT_BITS - 1))) >> _WEIGHT_BITS  # cv2.remap's rounding: half up
    return _device_value_table(spec.value_min, spec.value_max, frame.device)[levels.to(torch.int64)]


def _float(frame: DeviceFrame, inverses: np.ndarray, spec: TensorSpec) -> torch.Tensor:
    device = frame.device
    m = torch.from_numpy(inverses.astype(np.float32)).to(device).view(-1, 3, 3)
    ys, xs = torch.meshgrid(
        torch.arange(spec.height, dtype=torch.float32, device=device),
        torch.arange(spec.width, dtype=torch.float32, device=device),
        indexing="ij",
    )
    points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)  # (H, W, 3): corner-to-corner pixels
    source = torch.einsum("bij,hwj->bhwi", m, points)
    source = source[..., :2] / source[..., 2:]
    # grid_sample's normalised coordinates with align_corners=False: pixel centre i is at (2i + 1)/n - 1.
    size = torch.tensor([frame.width, frame.height], dtype=torch.float32, device=device)
    grid = (2 * source + 1) / size - 1
    batch = len(inverses)
    # All ROIs stacked along the grid's rows: one grid_sample over the one frame tensor.
    grid = grid.reshape(1, batch * spec.height, spec.width, 2)
    sampled = F.grid_sample(
        frame.planar_float(), grid, mode="bilinear",
        padding_mode="zeros" if spec.border == "zero" else "border", align_corners=False,
    )
    pixels = sampled[0].permute(1, 2, 0).reshape(batch, spec.height, spec.width, 3)
    scale = (spec.value_max - spec.value_min) / 255.0
    return pixels * scale + spec.value_min


def crops_to_batch(
    frame: DeviceFrame | np.ndarray | torch.Tensor,
    rects: Sequence[NormalizedRect],
    spec: TensorSpec,
    *,
    method: Method = "exact",
    repeated: bool = False,
) -> tuple[torch.Tensor, np.ndarray]:
    """Sample each ROI into one batch ``(B, H, W, 3)`` float32 on the frame's device; paddings ``(B, 4)``
    (host float64, as ``image_to_tensor.crops_to_batch``). ``repeated=True`` keeps the sampling plan of
    an ROI seen again on every frame (the detectors' letterbox); it applies to ``method="exact"``."""
    frame = _as_frame(frame)
    inverses, paddings = _inverse_matrices(rects, spec, frame.width, frame.height)
    if not rects:
        return torch.empty((0, spec.height, spec.width, 3), dtype=torch.float32, device=frame.device), paddings
    if method == "exact":
        return _exact(frame, inverses, spec, repeated), paddings
    if method == "float":
        return _float(frame, inverses, spec), paddings
    raise ValueError(f"unknown method {method!r}; choose 'exact' or 'float'")


def image_to_letterboxed_tensor(
    frame: DeviceFrame | np.ndarray | torch.Tensor, spec: TensorSpec, *, method: Method = "exact"
) -> tuple[torch.Tensor, Padding]:
    """The whole image as the detector sees it (letterboxed when ``spec.keep_aspect_ratio``)."""
    tensors, paddings = crops_to_batch(frame, [NormalizedRect(0.5, 0.5, 1.0, 1.0, 0.0)], spec, method=method,
                                       repeated=True)
    left, top, right, bottom = (float(v) for v in paddings[0])
    return tensors[0], (left, top, right, bottom)
