"""Scoring a model on a :class:`Dataset`: its points for every sample, in the dataset's layout, then PCK or NME.

A predictor takes an image and the samples annotated in it, and returns for each sample the points it
found (``(K, 2)`` in its own layout) or ``None``:

- :class:`TopDownPredictor`: a model you bring (``KeypointModel``), run on each sample's annotated box,
  the top-down protocol MMPose reports.
- :class:`MediaPipePredictor`: MediaPipe's hands or face mesh as livepose runs them on a still (palm or face
  detection, then landmarks: no annotated box is given), each found object matched to the annotated one
  whose points it is nearest; an object not found counts as a miss.

Points are carried into the dataset's layout by :func:`livepose.vision.layouts.correspondence`: all of them
where the names match, the eye and mouth corners, nose tip and chin between face layouts otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import cv2
import numpy as np

from livepose.accuracy.datasets import Dataset, Sample
from livepose.accuracy.metrics import nme, pck
from livepose.errors import UserError
from livepose.vision.layouts import correspondence, get_layout
from livepose.vision.topdown import box_from_xywh


class Predictor(Protocol):
    name: str
    layout: str
    kind: str

    def __call__(self, image: np.ndarray, samples: Sequence[Sample], layout: str) -> list[np.ndarray | None]: ...


@dataclass(frozen=True)
class Score:
    dataset: str
    model: str
    metric: str
    value: float
    samples: int
    found: int
    points: int
    """How many of the dataset's points each sample is scored on (fewer where only some correspond)."""
    value_found: float
    """The metric over the samples the model found (for NME, the same as ``value``)."""


class TopDownPredictor:
    def __init__(self, model: object) -> None:
        self.model = model
        self.name = model.name  # type: ignore[attr-defined]
        self.layout = model.card.layout  # type: ignore[attr-defined]
        self.kind = get_layout(self.layout).kind

    def __call__(self, image: np.ndarray, samples: Sequence[Sample], layout: str) -> list[np.ndarray | None]:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        found = self.model(rgb, [box_from_xywh(*sample.box) for sample in samples])  # type: ignore[operator]
        return [item.points for item in found]


class MediaPipePredictor:
    """``kind`` hand: MediaPipe Hands (full model); face: Face Mesh."""

    def __init__(self, kind: str, find: Callable[[np.ndarray, int], Sequence[object]] | None = None) -> None:
        import livepose

        self.kind = kind
        self.name = "mediapipe_hands" if kind == "hand" else "mediapipe_face_mesh"
        self.layout = "mediapipe_hand" if kind == "hand" else "mediapipe_face_mesh"
        if find is None:
            find = ((lambda image, n: livepose.hands(image, max_num_hands=n)) if kind == "hand"
                    else (lambda image, n: livepose.faces(image, max_num_faces=n)))
        self._find = find

    def __call__(self, image: np.ndarray, samples: Sequence[Sample], layout: str) -> list[np.ndarray | None]:
        found = [np.asarray(item.landmarks)[:, :2] for item in self._find(image, max(2, len(samples)))]  # type: ignore[attr-defined]
        return match_to_samples(found, samples, correspondence(self.layout, layout))


def match_to_samples(found: list[np.ndarray], samples: Sequence[Sample],
                     pairs: list[tuple[int, int]]) -> list[np.ndarray | None]:
    """Give each sample the found object nearest to it (mean distance of the corresponding points ``pairs``,
    greedy, each object used once), when nearer than the sample's box size."""
    matched: list[np.ndarray | None] = [None] * len(samples)
    if not pairs:
        return matched
    src, dst = (np.array(side) for side in zip(*pairs))
    costs = []
    for s, sample in enumerate(samples):
        seen = sample.visible[dst]
        for f, points in enumerate(found):
            if seen.any():
                cost = float(np.linalg.norm(points[src[seen]] - sample.points[dst[seen]], axis=1).mean())
                costs.append((cost, s, f))
    used: set[int] = set()
    for cost, s, f in sorted(costs):
        if matched[s] is None and f not in used and cost <= samples[s].box_size:
            matched[s] = found[f]
            used.add(f)
    return matched


def score(predictor: Predictor, dataset: Dataset, read_image: Callable[[str], np.ndarray | None] = cv2.imread) -> Score | None:
    """The predictor's PCK@0.2 (hands) or NME (faces) on ``dataset``; ``None`` when their points do not
    correspond (a hand model on faces)."""
    pairs = correspondence(predictor.layout, dataset.layout)
    if not pairs or get_layout(predictor.layout).kind not in (dataset.kind, "wholebody"):
        return None
    src, dst = (np.array(side) for side in zip(*pairs))
    by_image: dict[str, list[int]] = {}
    for index, sample in enumerate(dataset.samples):
        by_image.setdefault(str(sample.image), []).append(index)
    count = len(get_layout(dataset.layout).points)
    predicted = np.full((len(dataset.samples), count, 2), np.inf)
    found = 0
    for image_path, indices in by_image.items():
        image = read_image(image_path)
        if image is None:
            raise UserError(f"cannot read the image {image_path}")
        for index, points in zip(indices, predictor(image, [dataset.samples[i] for i in indices], dataset.layout)):
            if points is not None:
                predicted[index, dst] = np.asarray(points)[src, :2]
                found += 1
    truth = np.stack([s.points for s in dataset.samples])
    visible = np.stack([s.visible for s in dataset.samples])
    scored = np.zeros_like(visible)
    scored[:, dst] = visible[:, dst]
    hit = np.isfinite(predicted[:, dst[0], 0])
    if dataset.kind == "hand":
        sizes = np.array([s.box_size for s in dataset.samples])
        value = pck(predicted, truth, scored, sizes)
        value_found = pck(predicted[hit], truth[hit], scored[hit], sizes[hit])
    else:
        corners = get_layout(dataset.layout).roles["eye_outer"]
        norms = np.linalg.norm(truth[:, corners[0]] - truth[:, corners[1]], axis=1)
        # NME is over the samples the model found: a miss has no error to average.
        value = value_found = nme(predicted[hit], truth[hit], scored[hit], norms[hit])
    return Score(dataset.name, predictor.name, dataset.metric, value, len(dataset.samples), found, len(pairs),
                 value_found)
