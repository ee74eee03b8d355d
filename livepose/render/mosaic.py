"""Several cameras' pictures tiled into one: a near-square grid, each picture fitted into its tile.

- ``grid_shape(count)`` → ``(rows, columns)``: the fewest rows for ``count`` tiles at most one column
  wider than tall (1 → 1x1, 2 → 1x2, 3-4 → 2x2, 5-6 → 2x3...).
- ``tile_images(images, captions, size)`` → one BGR image of ``size`` (width, height): tile ``i`` holds
  ``images[i]`` scaled to fit with its aspect kept (black bars), captioned; ``None`` is a black tile
  (a camera that has sent nothing yet).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from livepose.render.draw import LabelStyle, ink_on

_CAPTION_STYLE = LabelStyle()
_CAPTION_COLOR = (40, 40, 40)


def grid_shape(count: int) -> tuple[int, int]:
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    return rows, columns


def tile_images(images: Sequence[np.ndarray | None], captions: Sequence[str], size: tuple[int, int]) -> np.ndarray:
    width, height = size
    rows, columns = grid_shape(len(images))
    canvas = np.zeros((height, width, 3), np.uint8)
    for position, (image, caption) in enumerate(zip(images, captions, strict=True)):
        row, column = divmod(position, columns)
        left, right = column * width // columns, (column + 1) * width // columns
        top, bottom = row * height // rows, (row + 1) * height // rows
        cell = canvas[top:bottom, left:right]
        if image is not None:
            _fit_into(image, cell)
        _caption(cell, caption)
    return canvas


def _fit_into(image: np.ndarray, cell: np.ndarray) -> None:
    cell_height, cell_width = cell.shape[:2]
    scale = min(cell_width / image.shape[1], cell_height / image.shape[0])
    fitted_width, fitted_height = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    x, y = (cell_width - fitted_width) // 2, (cell_height - fitted_height) // 2
    # INTER_AREA for the usual shrinking: it averages, where linear interpolation would alias.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    cell[y:y + fitted_height, x:x + fitted_width] = cv2.resize(image, (fitted_width, fitted_height),
                                                               interpolation=interpolation)


def _caption(cell: np.ndarray, text: str) -> None:
    style = _CAPTION_STYLE
    (text_width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, style.scale, style.thickness)
    box_bottom = text_height + baseline + 2 * style.padding
    cv2.rectangle(cell, (0, 0), (text_width + 2 * style.padding, box_bottom), _CAPTION_COLOR, cv2.FILLED)
    cv2.putText(cell, text, (style.padding, box_bottom - style.padding - baseline), cv2.FONT_HERSHEY_SIMPLEX,
                style.scale, ink_on(_CAPTION_COLOR), style.thickness, cv2.LINE_AA)
