"""Run a pipeline on a clip (or MediaPipe's image set) and compare its keypoints with MediaPipe's answers.

The comparison goes through the product's own path: the pipeline file, run offline with the
``export_keypoints`` sink, and the JSON Lines it writes; ``compare.compare_sequences`` does the
matching and statistics.

Public API
----------
- ``THRESHOLDS``: the acceptance figures of the accuracy checks.
- ``REFERENCE_SETTINGS``: ``--set`` overrides that make ``pipelines/hands_face.yaml`` run as the
  reference was made.
- ``run_keypoints(pipeline, source, out, settings=())``: run a pipeline file offline, headless,
  writing keypoints to ``out``; returns the run's ``RunResult``.
- ``image_set_folder(recording, media_root, folder)``: a folder of links to the images of an image
  reference, named so that a folder source reads them in the reference's order.
- ``compare_keypoints(jsonl, recording, mirrored=False) -> ClipComparison``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from evaluation.compare import ComparisonStats, FrameObjects, compare_sequences, flip_handedness
from evaluation.reference import ReferenceRecording
from livepose.graph.runner import RunResult, Runner
from livepose.graph.spec import Overrides, load_pipeline

THRESHOLDS = {"min_count_agreement": 0.97, "max_median_px": 1.0, "max_p95_px": 3.0, "min_label_agreement": 0.99}
"""Same count on 97% of frames, median landmark error <= 1 px, p95 <= 3 px, handedness 99%."""

REFERENCE_SETTINGS = ("face.max_num_faces=2", "camera.color_matrix=bt601", "track.smoothing=false")
"""The reference ran FaceMesh with ``max_num_faces=2`` on frames decoded by OpenCV 4, which converts
YUV with BT.601 whatever the video's tag says. One shared clip (short_hamilton_clip) is tagged
BT.709; decoded as tagged, its pixels differ by up to 8 levels and MediaPipe's answers with them.
MediaPipe's legacy solutions do not smooth, so neither does the comparison."""


@dataclass(frozen=True)
class ClipComparison:
    hands: ComparisonStats
    faces: ComparisonStats

    def passes(self) -> bool:
        return self.hands.passes(**THRESHOLDS) and self.faces.passes(**THRESHOLDS)


def run_keypoints(pipeline: str | Path, source: str | Path, out: str | Path,
                  settings: Sequence[str] = ()) -> RunResult:
    """Run ``pipeline`` offline and headless on ``source``, writing JSON Lines keypoints to ``out``."""
    sink = {"name": "keypoints_check", "type": "export_keypoints", "inputs": "$output", "params": {"path": str(out)}}
    spec = load_pipeline(pipeline, Overrides(mode="offline", source=str(source), settings=list(settings),
                                             extra_nodes=[sink]))
    return Runner(spec, headless=True, install_signal_handlers=False).run()


def image_set_folder(recording: ReferenceRecording, media_root: Path, folder: Path) -> Path:
    """Links ``00000.<ext>``, ``00001.<ext>``... to the reference's images, in its order."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(recording.frames):
        target = (media_root / frame.name).resolve()
        link = folder / f"{i:05d}{target.suffix.lower()}"
        if not link.exists():
            link.symlink_to(target)
    return folder


def read_keypoints(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _frames_by_index(records: Iterable[dict], count: int) -> list[dict]:
    by_index = {record["frame"]: record for record in records}
    return [by_index.get(i, {"hands": [], "faces": []}) for i in range(count)]


def compare_keypoints(jsonl: str | Path, recording: ReferenceRecording, mirrored: bool = False) -> ClipComparison:
    """Our keypoints file against MediaPipe's answers, frame by frame.

    The reference labels assume a mirrored image; for frames that were not mirrored the
    physically correct label, which livepose gives, is the opposite one.
    """
    ours = _frames_by_index(read_keypoints(jsonl), len(recording.frames))
    our_hands = [FrameObjects(tuple(np.asarray(h["landmarks"]) for h in r["hands"]),
                              tuple(h["handedness"] for h in r["hands"])) for r in ours]
    our_faces = [FrameObjects(tuple(np.asarray(f["landmarks"]) for f in r["faces"])) for r in ours]
    ref_hands = [FrameObjects(tuple(h.landmarks for h in f.hands),
                              tuple(h.handedness if mirrored else flip_handedness(h.handedness) for h in f.hands))
                 for f in recording.frames]
    ref_faces = [FrameObjects(tuple(f.faces)) for f in recording.frames]
    return ClipComparison(compare_sequences(our_hands, ref_hands), compare_sequences(our_faces, ref_faces))
