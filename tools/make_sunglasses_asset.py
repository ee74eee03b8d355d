"""Write livepose's own sunglasses image: ``python tools/make_sunglasses_asset.py [OUT.png] [--width N]``.

The picture is ``livepose.effects.make_sunglasses`` (drawn with OpenCV, nothing copied in), saved as
an RGBA PNG (default ``assets/sunglasses.png``): a starting point to edit and give back to the
``sunglasses`` node as its ``image``. The node itself draws the same pair in code when given none,
so an installed livepose needs no file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from livepose.effects import ASSET_ANCHORS, ASSET_SIZE, make_sunglasses

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "assets" / "sunglasses.png")
    parser.add_argument("--width", type=int, default=ASSET_SIZE[0], help="width in pixels (at least 32)")
    args = parser.parse_args()
    image = make_sunglasses(args.width)
    if not cv2.imwrite(str(args.out), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise SystemExit(f"could not write {args.out}")
    x0, y0, x1, y1 = ASSET_ANCHORS
    print(f"wrote {args.out}: {image.shape[1]}x{image.shape[0]} RGBA; eye anchors (fractions) "
          f"{x0:.4f}, {y0:.4f} and {x1:.4f}, {y1:.4f}")


if __name__ == "__main__":
    main()
