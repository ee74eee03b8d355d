"""Draw livepose's face UV layout: writes assets/face_uv_template.png (1024 x 1024) to paint a texture over.

The layout is ``livepose.effects.face_paint.FACE_UV`` (the mean frontal face scaled into the unit
square, v down; see that module for why it is not MediaPipe's canonical layout). The template shows
the painted triangles as thin grey lines on white, the eyes and lips (left out of the paint) shaded,
the outer rim, eye and lip outlines in colour, and a few landmark numbers, so a texture drawn over
it lands where the face is. A texture of any size in the same square works; this one is 1024.

Run from the repository root: ``python tools/make_face_uv_template.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livepose.effects.face_paint import FACE_UV, PAINT_LOOPS, PAINT_TRIANGLES  # noqa: E402
from livepose.render.topology import LEFT_EYE, LIPS_OUTER, RIGHT_EYE  # noqa: E402

SIZE = 1024
OUTPUT = ROOT / "assets" / "face_uv_template.png"
LABELLED = (1, 10, 152, 33, 263, 61, 291, 234, 454)
"""Nose tip, forehead, chin, outer eye and mouth corners, cheeks: to tell left from right."""
_SHIFT = 4


def template(size: int = SIZE) -> np.ndarray:
    """The template as a BGR uint8 image ``size`` x ``size``."""
    image = np.full((size, size, 3), 255, np.uint8)
    # Texture pixel of a UV point: (u * size - 0.5, v * size - 0.5), as face_paint samples it.
    points = FACE_UV * size - 0.5
    fixed = np.round(points * (1 << _SHIFT)).astype(np.int32)
    for hole in (RIGHT_EYE, LEFT_EYE, LIPS_OUTER):
        cv2.fillPoly(image, [fixed[list(hole)]], (225, 225, 225), cv2.LINE_AA, _SHIFT)
    cv2.polylines(image, list(fixed[PAINT_TRIANGLES]), True, (150, 150, 150), 1, cv2.LINE_AA, _SHIFT)
    colours = ((40, 40, 200), (160, 60, 200), (200, 120, 30), (200, 120, 30))  # rim, lips, eyes
    for loop, colour in zip(PAINT_LOOPS, colours):
        cv2.polylines(image, [fixed[list(loop)]], True, colour, 2, cv2.LINE_AA, _SHIFT)
    for index in LABELLED:
        x, y = points[index]
        cv2.circle(image, (round(x), round(y)), 3, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.putText(image, str(index), (round(x) + 5, round(y) - 5), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "livepose face UV layout (person's right eye on the left, v down)", (12, size - 14),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (90, 90, 90), 1, cv2.LINE_AA)
    return image


def main() -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(OUTPUT), template()):
        sys.exit(f"could not write {OUTPUT}")
    print(f"{len(PAINT_TRIANGLES)} triangles -> {OUTPUT}")


if __name__ == "__main__":
    main()
