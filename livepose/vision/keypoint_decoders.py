"""Decoders of top-down keypoint models' outputs: pure numpy, from the output arrays to points in the model's
input pixels (x right, y down, origin at the input's top-left pixel centre) and a score per point.

The formulas are the ones MMPose's codecs define (``mmpose/codecs``: ``SimCCLabel``, ``MSRAHeatmap``,
``UDPHeatmap``, ``RegressionLabel``, ``Hand3DHeatmap``), so a model trained there decodes here as it
does there:

- :func:`decode_simcc`: one 1-D classification per axis, ``split_ratio`` bins per input pixel; argmax
  per axis, the score the smaller of the two maxima; optionally refined by a 1-D DARK step (a Newton
  step on the log of the blurred vector, with the step-2 second difference MMPose uses).
- :func:`decode_heatmap`: argmax of each joint's heatmap, then either the quarter-pixel shift towards
  the higher neighbour (``refine: shift``, MSRA), or DARK (``refine: dark``, a 2-D Newton step on the log
  of the blurred map); scaled by input/heatmap size. ``udp: true`` scales by (input-1)/(heatmap-1) and
  refines with the step-1 derivatives of UDP's DARK.
- :func:`decode_regression`: normalised coordinates times the input size; a ``(K, 4)`` output carries
  RLE's sigma, and the score is ``1 - mean(sigma)``.
- :func:`decode_heatmap_3d`: InterNet's per-joint volumes (argmax in depth, y, x), depth mapped to
  ``[-bound/2, bound/2]``, plus the root-depth and handedness heads.

Every function takes a batch (the crops of one frame) and returns ``(points (N, K, 2 or 3), scores (N, K))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["decode_simcc", "decode_heatmap", "decode_regression", "decode_heatmap_3d", "Hand3D"]


def _blur_1d(vectors: np.ndarray, kernel: int) -> np.ndarray:
    """Gaussian blur along the last axis, rescaled so each vector keeps its maximum (MMPose's rule)."""
    flat = vectors.reshape(-1, vectors.shape[-1]).astype(np.float32)
    peaks = flat.max(axis=1, keepdims=True)
    blurred = cv2.GaussianBlur(flat, (kernel, 1), 0, borderType=cv2.BORDER_REFLECT_101) if kernel > 1 else flat.copy()
    scale = np.divide(peaks, blurred.max(axis=1, keepdims=True), out=np.ones_like(peaks),
                      where=blurred.max(axis=1, keepdims=True) > 0)
    return (blurred * scale).reshape(vectors.shape)


def _blur_2d(maps: np.ndarray, kernel: int) -> np.ndarray:
    """Gaussian blur of each (H, W) map, rescaled to keep its maximum."""
    out = np.empty(maps.shape, np.float32)
    for index in np.ndindex(maps.shape[:-2]):
        heatmap = maps[index].astype(np.float32)
        peak = heatmap.max()
        blurred = cv2.GaussianBlur(heatmap, (kernel, kernel), 0) if kernel > 1 else heatmap.copy()
        top = blurred.max()
        out[index] = blurred * (peak / top) if top > 0 else blurred
    return out


def _newton_1d(log_vectors: np.ndarray, locs: np.ndarray) -> np.ndarray:
    """Sub-bin offsets at integer ``locs`` of the (M, L) ``log_vectors``: -f'/f'' from central differences
    (step 1 for f', step 2 for f''), edges padded by repetition."""
    padded = np.pad(log_vectors, ((0, 0), (2, 2)), mode="edge")
    at = locs.astype(np.intp)[:, None] + 2
    rows = np.arange(len(padded))[:, None]

    def f(step: int) -> np.ndarray:
        return padded[rows, at + step][:, 0]

    gradient = 0.5 * (f(1) - f(-1))
    curvature = 1e-9 + 0.25 * (f(2) - 2 * f(0) + f(-2))
    return gradient / curvature


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = 2.0,
                 dark_kernel: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """SimCC outputs ``(N, K, W * split_ratio)`` and ``(N, K, H * split_ratio)`` to points in input pixels.

    ``dark_kernel`` > 0 (odd) refines each axis by 1-D DARK on the vectors blurred with that kernel.
    Scores are ``min(max_x, max_y)``; a point whose score is not positive is put at -1 (MMPose's marker).
    """
    x, y = np.asarray(simcc_x, np.float32), np.asarray(simcc_y, np.float32)
    if x.ndim != 3 or y.ndim != 3 or x.shape[:2] != y.shape[:2]:
        raise ValueError(f"SimCC outputs must be (N, K, Wx) and (N, K, Wy); got {x.shape} and {y.shape}")
    locs = np.stack([x.argmax(axis=-1), y.argmax(axis=-1)], axis=-1).astype(np.float64)
    scores = np.minimum(x.max(axis=-1), y.max(axis=-1)).astype(np.float64)
    if dark_kernel > 0:
        for axis, vectors in enumerate((x, y)):
            flat = vectors.reshape(-1, vectors.shape[-1])
            logs = np.log(np.clip(_blur_1d(flat, dark_kernel), 1e-3, 50.0))
            locs[..., axis] -= _newton_1d(logs, locs[..., axis].reshape(-1)).reshape(locs.shape[:2])
    points = locs / split_ratio
    points[scores <= 0] = -1
    return points, scores


def _argmax_2d(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k, height, width = maps.shape
    flat = maps.reshape(n, k, -1)
    index = flat.argmax(axis=-1)
    points = np.stack([index % width, index // width], axis=-1).astype(np.float64)
    scores = flat.max(axis=-1).astype(np.float64)
    points[scores <= 0] = -1
    return points, scores


def _quarter_shift(maps: np.ndarray, points: np.ndarray) -> None:
    """Move each point a quarter pixel towards its higher neighbour, per axis, away from the border."""
    _, _, height, width = maps.shape
    for n, k in np.ndindex(points.shape[:2]):
        x, y = int(points[n, k, 0]), int(points[n, k, 1])
        heatmap = maps[n, k]
        if 1 < x < width - 1 and 0 < y < height:
            points[n, k, 0] += 0.25 * np.sign(heatmap[y, x + 1] - heatmap[y, x - 1])
        if 1 < y < height - 1 and 0 < x < width:
            points[n, k, 1] += 0.25 * np.sign(heatmap[y + 1, x] - heatmap[y - 1, x])


def _dark_2d(maps: np.ndarray, points: np.ndarray, kernel: int, step: int) -> None:
    """A Newton step on the log of each blurred map at its argmax; ``step`` 2 (DARK) or 1 (UDP) for the
    second derivatives."""
    logs = np.log(np.clip(_blur_2d(maps, kernel), 1e-10, None)) if step == 2 else \
        np.log(np.clip(_blur_2d(maps, kernel), 1e-3, 50.0))
    _, _, height, width = maps.shape
    margin = step
    for n, k in np.ndindex(points.shape[:2]):
        x, y = int(points[n, k, 0]), int(points[n, k, 1])
        if not (margin <= x < width - margin and margin <= y < height - margin):
            continue
        h = logs[n, k]
        dx = 0.5 * (h[y, x + 1] - h[y, x - 1])
        dy = 0.5 * (h[y + 1, x] - h[y - 1, x])
        if step == 2:
            dxx = 0.25 * (h[y, x + 2] - 2 * h[y, x] + h[y, x - 2])
            dyy = 0.25 * (h[y + 2, x] - 2 * h[y, x] + h[y - 2, x])
            dxy = 0.25 * (h[y + 1, x + 1] - h[y - 1, x + 1] - h[y + 1, x - 1] + h[y - 1, x - 1])
        else:
            # UDP's one-sided mixed difference, as its paper's DARK variant computes it.
            dxx = h[y, x + 1] - 2 * h[y, x] + h[y, x - 1]
            dyy = h[y + 1, x] - 2 * h[y, x] + h[y - 1, x]
            dxy = 0.5 * (h[y + 1, x + 1] - h[y, x + 1] - h[y + 1, x] + 2 * h[y, x] - h[y, x - 1] - h[y - 1, x]
                         + h[y - 1, x - 1])
        hessian = np.array([[dxx, dxy], [dxy, dyy]])
        if abs(np.linalg.det(hessian)) < 1e-12:
            continue
        points[n, k] -= np.linalg.solve(hessian, np.array([dx, dy]))


def decode_heatmap(heatmaps: np.ndarray, input_size: tuple[int, int], refine: str = "shift",
                   udp: bool = False, dark_kernel: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps ``(N, K, H, W)`` to points in input pixels (``input_size`` is ``(width, height)``).

    ``refine``: ``none``, ``shift`` (the quarter-pixel shift) or ``dark`` (blurred with ``dark_kernel``).
    ``udp``: the unbiased scale (input-1)/(heatmap-1), with UDP's DARK when ``refine`` is ``dark``.
    """
    maps = np.asarray(heatmaps, np.float32)
    if maps.ndim != 4:
        raise ValueError(f"heatmaps must be (N, K, H, W); got {maps.shape}")
    if refine not in ("none", "shift", "dark"):
        raise ValueError(f"refine must be none, shift or dark; got {refine!r}")
    points, scores = _argmax_2d(maps)
    found = scores > 0
    if refine == "shift":
        _quarter_shift(maps, points)
    elif refine == "dark":
        _dark_2d(maps, points, dark_kernel, step=1 if udp else 2)
    height, width = maps.shape[2:]
    if udp:
        scale = np.array([(input_size[0] - 1) / (width - 1), (input_size[1] - 1) / (height - 1)])
    else:
        scale = np.array([input_size[0] / width, input_size[1] / height])
    points = np.where(found[..., None], points * scale, -1.0)
    return points, scores


def decode_regression(outputs: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(N, K, 2)`` normalised coordinates, or ``(N, K, 4)`` coordinates and RLE's sigma (already through its
    sigmoid, as MMPose's RLE head outputs it), to input pixels; scores 1, or ``1 - mean(sigma)``."""
    values = np.asarray(outputs, np.float64)
    if values.ndim == 2:
        values = values.reshape(values.shape[0], -1, 2)
    if values.ndim != 3 or values.shape[-1] not in (2, 4):
        raise ValueError(f"regression output must be (N, K, 2) or (N, K, 4); got {np.shape(outputs)}")
    points = values[..., :2] * np.array(input_size, np.float64)
    scores = 1.0 - values[..., 2:4].mean(axis=-1) if values.shape[-1] == 4 else np.ones(values.shape[:2])
    return points, scores


@dataclass(frozen=True)
class Hand3D:
    """InterNet's extra heads for a batch: the right hand's depth relative to the left (same unit as the
    depth bound, usually mm) and whether each hand is there (``(N, 2)`` booleans: right, left)."""

    root_depth: np.ndarray
    hand_present: np.ndarray


def decode_heatmap_3d(heatmaps: np.ndarray, input_size: tuple[int, int], depth_bound: float = 400.0,
                      root_depth: np.ndarray | None = None, root_heatmap_size: int = 64,
                      root_depth_bound: float = 400.0, hand_type: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, Hand3D | None]:
    """Per-joint volumes ``(N, K, D, H, W)`` to ``(x, y)`` in input pixels and z relative to the volume's
    centre in ``[-depth_bound/2, depth_bound/2)``; with InterNet's ``root_depth`` (``(N, 1)``, in bins of
    ``root_heatmap_size``) and ``hand_type`` (``(N, 2)`` probabilities) heads, those too."""
    volumes = np.asarray(heatmaps, np.float32)
    if volumes.ndim != 5:
        raise ValueError(f"3D heatmaps must be (N, K, D, H, W); got {volumes.shape}")
    n, k, depth, height, width = volumes.shape
    flat = volumes.reshape(n, k, -1)
    index = flat.argmax(axis=-1)
    z, rest = np.divmod(index, height * width)
    y, x = np.divmod(rest, width)
    scores = flat.max(axis=-1).astype(np.float64)
    points = np.stack([x * input_size[0] / width, y * input_size[1] / height,
                       (z / depth - 0.5) * depth_bound], axis=-1).astype(np.float64)
    extra = None
    if root_depth is not None or hand_type is not None:
        rel = (np.asarray(root_depth, np.float64).reshape(n, -1)[:, 0] / root_heatmap_size - 0.5) * root_depth_bound \
            if root_depth is not None else np.zeros(n)
        present = np.asarray(hand_type, np.float64).reshape(n, -1) > 0.5 if hand_type is not None else np.ones((n, 2), bool)
        extra = Hand3D(rel, present)
    return points, scores, extra
