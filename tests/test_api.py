"""The Python API: a pipeline as an iterator of frames, and hands/faces of one image, on real media."""

from __future__ import annotations

import threading

import av
import cv2
import numpy as np
import pytest

import livepose
from evaluation.reference import load_reference
from livepose.api import PipelineFailed
from livepose.errors import UserError
from media_paths import MEDIA, SHORT_CLIP, media_file

COUNTER = {"nodes": [
    {"name": "src", "type": "pipeline_nodes:Counter", "params": {"count": 0, "fps": 0}, "outputs": "frames"},
    {"name": "tag", "type": "pipeline_nodes:Tag", "inputs": "frames", "outputs": "tagged", "params": {"factor": 2}},
]}


def _livepose_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("livepose:")]


def test_a_pipeline_built_in_code_yields_its_output_frames_and_stops_when_the_loop_ends():
    seen = []
    for frame in livepose.run(COUNTER, settings={"tag.factor": 3}):
        seen.append((frame.index, frame.results["tag"]))
        if len(seen) == 25:
            break
    assert seen == [(i, 3 * i) for i in range(25)]
    assert not _livepose_threads(), "leaving the loop stopped every node"


def test_the_packaged_hands_pipeline_runs_a_file_offline(models_ready):
    clip = media_file(SHORT_CLIP)
    frames = list(livepose.run("hands", source=clip))
    assert [f.index for f in frames] == list(range(58)), "files run offline: every frame"
    with_hands = [f for f in frames if f.results.get("hands")]
    reference = load_reference(media_file("reference/test_video.mediapipe.json.gz"))
    counts = [len(f.results.get("hands", ())) for f in frames]
    same = sum(ours == len(theirs.hands) for ours, theirs in zip(counts, reference.frames))
    assert with_hands and same >= 0.9 * len(frames), "MediaPipe's hand counts, frame by frame"
    hand = with_hands[0].results["hands"][0]
    assert np.asarray(hand.landmarks).shape == (21, 3) and hand.handedness in ("Left", "Right")
    assert frames[0].image.shape == (720, 540, 3)


def test_leaving_early_finalizes_a_recording(tmp_path, models_ready):
    clip = media_file(SHORT_CLIP)
    out = tmp_path / "early.mp4"
    pipeline = {"nodes": [
        {"name": "camera", "type": "capture", "outputs": "frames"},
        {"name": "rec", "type": "record", "inputs": "frames", "params": {"path": str(out)}},
    ], "output": "frames"}
    with livepose.run(pipeline, source=clip) as frames:
        for frame in frames:
            if frame.index == 20:
                break
    assert not _livepose_threads()
    with av.open(str(out)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert 20 <= decoded <= 58


def test_mistakes_raise_before_anything_runs_and_failures_at_the_end():
    with pytest.raises(UserError, match="no node named 'tg'"):
        livepose.run(COUNTER, settings=["tg.factor=3"])
    with pytest.raises(UserError, match="hands_fcae"):
        livepose.run("hands_fcae")
    failing = {"mode": "offline", "nodes": [
        {"name": "src", "type": "pipeline_nodes:Counter", "params": {"count": 20}, "outputs": "frames"},
        {"name": "bad", "type": "pipeline_nodes:Fail", "inputs": "frames", "outputs": "out",
         "params": {"fail_on": [5]}},
    ]}
    got = []
    with pytest.raises(PipelineFailed) as failed:
        for frame in livepose.run(failing):
            got.append(frame.index)
    assert got == [0, 1, 2, 3, 4] and failed.value.exit_code == 1


def _hands_of_reference_images(limit: int):
    recording = load_reference(media_file("reference/images.mediapipe.json.gz"))
    frames = [f for f in recording.frames if f.hands and (MEDIA / f.name).exists()]
    return frames[:limit]


def test_hands_of_one_image_match_mediapipe(models_ready):
    checked = 0
    errors = []
    for reference in _hands_of_reference_images(8):
        image = cv2.imread(str(MEDIA / reference.name))
        found = livepose.hands(image, max_num_hands=2)
        assert len(found) == len(reference.hands), reference.name
        for expected in reference.hands:
            nearest = min(found, key=lambda h: np.abs(np.asarray(h.landmarks)[0, :2] - expected.landmarks[0, :2]).sum())
            errors.append(np.linalg.norm(np.asarray(nearest.landmarks)[:, :2] - expected.landmarks[:, :2], axis=1))
        checked += 1
    assert checked >= 4
    assert float(np.median(np.concatenate(errors))) < 1.0
    path_result = livepose.hands(str(MEDIA / _hands_of_reference_images(1)[0].name))
    assert len(path_result) >= 1, "a path works as well as an array"


def test_faces_of_one_image_and_bad_images(models_ready):
    recording = load_reference(media_file("reference/images.mediapipe.json.gz"))
    reference = next(f for f in recording.frames if f.faces and (MEDIA / f.name).exists())
    faces = livepose.faces(cv2.imread(str(MEDIA / reference.name)))
    assert len(faces) == 1 and np.asarray(faces[0].landmarks).shape == (468, 3)
    error = np.linalg.norm(np.asarray(faces[0].landmarks)[:, :2] - reference.faces[0][:, :2], axis=1)
    assert float(np.median(error)) < 1.0
    with pytest.raises(UserError, match="BGR image"):
        livepose.hands(np.zeros((10, 10), np.float32))
    with pytest.raises(UserError, match="cannot read an image"):
        livepose.hands("/no/such/image.png")
