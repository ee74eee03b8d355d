"""Ground truth for ``livepose eval``: annotated images as :class:`Dataset` objects.

Reads
- COCO-style JSON (``images``, ``annotations`` with ``keypoints`` as x, y, visibility triples and a
  ``bbox``), as MMPose ships OneHand10K, FreiHAND, Panoptic, 300W and WFLW: the layout comes from the point
  count (21: a hand, named by the file when it says onehand10k, freihand or panoptic; 68: face68; 98: wflw98;
  106: lapa106), the images lie beside the file;
- COCO-WholeBody JSON (``lefthand_kpts``, ``righthand_kpts``, ``face_kpts`` with their boxes and ``*_valid``
  flags): two datasets, its hands and its faces;
- iBUG ``.pts`` files (a file or a folder of them), 68 face points, the image beside each with the same
  name; ``.pts`` counts pixels from 1 (Matlab's convention, which the 300W annotations follow), so 1 is
  subtracted; the box is the points' bounding box.

How each is scored: hands by PCK@0.2 of the box's longer side, faces by NME over the outer eye corners'
distance (each dataset's own definition, as MMPose evaluates them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from livepose.errors import UserError
from livepose.vision.layouts import get_layout

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp")
_FACE_LAYOUTS_BY_COUNT = {68: "face68", 98: "wflw98", 106: "lapa106"}
_HAND_NAMES = (("onehand10k", "onehand10k"), ("freihand", "freihand"), ("panoptic", "panoptic_hand"))


@dataclass(frozen=True)
class Sample:
    """One annotated object: its image, box (x, y, w, h pixels), points ``(K, 2)`` and which are visible."""

    image: Path
    box: tuple[float, float, float, float]
    points: np.ndarray = field(repr=False)
    visible: np.ndarray = field(repr=False)

    @property
    def box_size(self) -> float:
        return float(max(self.box[2], self.box[3]))


@dataclass(frozen=True)
class Dataset:
    name: str
    layout: str
    samples: tuple[Sample, ...]

    @property
    def kind(self) -> str:
        return get_layout(self.layout).kind

    @property
    def metric(self) -> str:
        return "PCK@0.2" if self.kind == "hand" else "NME"


def _triples(values: list[float], count: int) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(values, np.float64).reshape(count, 3)
    return array[:, :2].copy(), array[:, 2] > 0


def _hand_layout(path: Path) -> str:
    lowered = str(path).lower()
    return next((layout for word, layout in _HAND_NAMES if word in lowered), "mediapipe_hand")


def _read_json(path: Path) -> dict:  # type: ignore[type-arg]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"cannot read annotations {path}: {error}") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise UserError(f"{path} is not COCO-style annotations (no images and annotations lists)")
    return data


def _coco(path: Path) -> list[Dataset]:
    data = _read_json(path)
    images = {image["id"]: path.parent / image["file_name"] for image in data["images"]}
    annotations = data["annotations"]
    if annotations and "lefthand_kpts" in annotations[0]:
        return _wholebody(path, images, annotations)
    groups: dict[int, list[Sample]] = {}
    for item in annotations:
        count = len(item["keypoints"]) // 3
        points, visible = _triples(item["keypoints"], count)
        if visible.any():
            groups.setdefault(count, []).append(Sample(images[item["image_id"]], tuple(item["bbox"]), points, visible))
    datasets = []
    for count, samples in groups.items():
        layout = _hand_layout(path) if count == 21 else _FACE_LAYOUTS_BY_COUNT.get(count)
        if layout is None:
            raise UserError(f"{path}: annotations of {count} points, which no layout livepose scores has "
                            "(21 hand, 68, 98 or 106 face points)")
        datasets.append(Dataset(path.stem, layout, tuple(samples)))
    return datasets


def _wholebody(path: Path, images: dict, annotations: list) -> list[Dataset]:  # type: ignore[type-arg]
    hands, faces = [], []
    for item in annotations:
        image = images[item["image_id"]]
        for side in ("lefthand", "righthand"):
            if item.get(f"{side}_valid"):
                points, visible = _triples(item[f"{side}_kpts"], 21)
                hands.append(Sample(image, tuple(item[f"{side}_box"]), points, visible))
        if item.get("face_valid"):
            points, visible = _triples(item["face_kpts"], 68)
            faces.append(Sample(image, tuple(item["face_box"]), points, visible))
    return [Dataset(f"{path.stem} hands", "coco_wholebody_hand", tuple(hands)),
            Dataset(f"{path.stem} faces", "coco_wholebody_face", tuple(faces))]


def _pts_sample(path: Path) -> Sample:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        start, end = lines.index("{") + 1, lines.index("}")
        points = np.array([[float(v) for v in line.split()] for line in lines[start:end]]) - 1.0
    except ValueError:
        raise UserError(f"{path} is not an iBUG .pts file (points between {{ and }})") from None
    image = next((path.with_suffix(s) for s in IMAGE_SUFFIXES if path.with_suffix(s).exists()), None)
    if image is None:
        raise UserError(f"no image beside {path} ({', '.join(IMAGE_SUFFIXES)})")
    low, high = points.min(axis=0), points.max(axis=0)
    return Sample(image, (low[0], low[1], high[0] - low[0], high[1] - low[1]), points, np.ones(len(points), bool))


def load_datasets(path: str | Path) -> list[Dataset]:
    """The datasets an annotation file or folder holds (see the module docstring)."""
    source = Path(path).expanduser()
    if source.is_dir():
        files = sorted(source.glob("*.pts"))
        if not files:
            raise UserError(f"{source} holds no .pts files; give a COCO-style .json or a folder of .pts faces")
        samples = [_pts_sample(file) for file in files]
        counts = {len(s.points) for s in samples}
        if counts != {68}:
            raise UserError(f"{source}: .pts faces of {sorted(counts)} points; livepose scores 68-point .pts faces")
        return [Dataset(f"{source.parent.name}/{source.name}", "face68", tuple(samples))]
    if source.suffix == ".pts":
        return [Dataset(source.stem, "face68", (_pts_sample(source),))]
    if source.suffix == ".json":
        return _coco(source)
    raise UserError(f"cannot read ground truth from {source}: give a COCO-style .json, a .pts file or a folder of them")
