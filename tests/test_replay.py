"""The replay node (issue 18): a video's frames with the keypoints a run wrote for it, and no model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from livepose.io.keypoints import KeypointWriter
from livepose.testing import face, frames_from, hand, run_pipeline
from media_paths import SHORT_CLIP, media_file

LIVEPOSE = shutil.which("livepose", path=str(Path(sys.executable).parent))
FRAMES = 20


def replay_pipeline(clip: Path, keypoints: Path) -> str:
    return textwrap.dedent(f"""\
        nodes:
          - {{name: replay, type: replay, outputs: frames, params: {{source: "{clip}", keypoints: "{keypoints}"}}}}
          - {{name: out, type: "pipeline_nodes:Collect", inputs: frames}}
        """)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, models_ready):
    """The first frames of a real clip through hands_face, and the keypoints that run wrote."""
    folder = tmp_path_factory.mktemp("replay")
    clip = folder / "clip.mp4"
    clip.symlink_to(media_file(SHORT_CLIP))
    keypoints = folder / "out.jsonl"
    result = subprocess.run([LIVEPOSE, "run", "hands_face", "--source", str(clip), "--offline", "--headless",
                             "--max-frames", str(FRAMES), "--keypoints", str(keypoints)],
                            cwd=folder, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return clip, keypoints


def test_replay_gives_the_frames_and_results_of_the_original_run(recorded):
    clip, keypoints = recorded
    records = [json.loads(line) for line in keypoints.read_text().splitlines()]
    assert sum(len(r["hands"]) for r in records) > 0 and sum(len(r["faces"]) for r in records) > 0
    replayed = run_pipeline(replay_pipeline(clip, keypoints)).frames("out")
    originals = frames_from(clip, max_frames=FRAMES)
    assert [f.index for f in replayed] == [r["frame"] for r in records] == list(range(FRAMES))
    for frame, original, record in zip(replayed, originals, records):
        assert np.array_equal(frame.image, original.image)
        hands, faces = frame.results["hands"], frame.results["faces"]
        assert [h.track_id for h in hands] == [h["id"] for h in record["hands"]]
        assert [h.handedness for h in hands] == [h["handedness"] for h in record["hands"]]
        for mine, theirs in zip(hands + faces, record["hands"] + record["faces"]):
            assert np.allclose(mine.landmarks, theirs["landmarks"], atol=1e-9)
        assert all(np.isnan(h.world_landmarks).all() for h in hands)  # not in the file: not invented


def test_keypoints_of_another_video_are_refused_before_the_first_frame(tmp_path, caplog):
    clip = media_file(SHORT_CLIP)  # 58 frames
    keypoints = tmp_path / "long.jsonl"
    with KeypointWriter(keypoints) as writer:
        for index in range(0, 200, 50):
            writer.write(index, index / 30, hands=[hand()])
    ran = run_pipeline(replay_pipeline(clip, keypoints))
    assert ran.exit_code == 2 and not ran.frames("out")
    assert "up to frame 150, but" in caplog.text and "has 58 frames: these keypoints were not made" in caplog.text


def test_landmarks_far_outside_the_video_are_refused(tmp_path, caplog):
    clip = media_file(SHORT_CLIP)
    keypoints = tmp_path / "big.jsonl"
    with KeypointWriter(keypoints) as writer:
        writer.write(0, 0.0, hands=[hand(image_size=(4000, 6000))])
    ran = run_pipeline(replay_pipeline(clip, keypoints))
    assert ran.exit_code == 2 and not ran.frames("out")
    assert "far outside" in caplog.text and "made on another video" in caplog.text


def test_frames_without_keypoints_are_skipped_and_the_replay_ends_with_the_file(tmp_path, caplog):
    clip = media_file(SHORT_CLIP)
    keypoints = tmp_path / "gaps.jsonl"
    with KeypointWriter(keypoints) as writer:
        for index in (0, 1, 4, 9):  # a realtime recording that dropped frames, then stopped
            writer.write(index, index / 30, hands=[hand(track_id=index)])
    caplog.set_level("INFO", logger="livepose")
    ran = run_pipeline(replay_pipeline(clip, keypoints))
    assert ran.exit_code == 0
    assert [f.index for f in ran.frames("out")] == [0, 1, 4, 9]
    assert [f.results["hands"][0].track_id for f in ran.frames("out")] == [0, 1, 4, 9]
    assert "6 frames of" in caplog.text and "were skipped" in caplog.text


def test_refined_faces_of_478_points_are_replayed(tmp_path):
    keypoints = tmp_path / "refined.jsonl"
    refined = face(centre=(160, 120))
    irises = np.repeat(refined.landmarks[:1], 10, axis=0)
    with KeypointWriter(keypoints) as writer:
        writer.write(0, 0.0, faces=[face(np.vstack([refined.landmarks, irises]))])
    ran = run_pipeline(replay_pipeline(media_file(SHORT_CLIP), keypoints))
    assert ran.exit_code == 0
    (replayed,) = ran.frames("out")[0].results["faces"]
    assert replayed.landmarks.shape == (478, 3)


@pytest.mark.parametrize("content, says", [
    ("not json\n", "1: this line is not JSON"),
    ('{"frame": 0, "hands": [], "faces": []}\n{"frame": 0, "hands": [], "faces": []}\n',
     "2: this line has frame 0 after frame 0"),
    ('{"frame": 0, "hands": [{"landmarks": [[1, 2, 3]]}], "faces": []}\n', "1: this line has \"hands\" that are not"),
    ('{"t": 0}\n', "1: this line has no integer \"frame\""),
])
def test_a_file_that_is_not_keypoints_is_named_with_its_line(tmp_path, caplog, content, says):
    keypoints = tmp_path / "bad.jsonl"
    keypoints.write_text(content)
    ran = run_pipeline(replay_pipeline(media_file(SHORT_CLIP), keypoints))
    assert ran.exit_code == 2
    assert f"{keypoints}:{says}" in caplog.text


def test_the_command_says_where_the_file_is_wrong(tmp_path):
    keypoints = tmp_path / "bad.jsonl"
    keypoints.write_bytes(b"\xff\xfe binary \x00\x01")
    pipeline = tmp_path / "replay.yaml"
    pipeline.write_text(replay_pipeline(media_file(SHORT_CLIP), keypoints).replace(
        '"pipeline_nodes:Collect"', "visualize, outputs: shown").replace("inputs: frames}", "inputs: frames}") +
        "  - {name: window, type: display, inputs: shown}\n")
    result = subprocess.run([LIVEPOSE, "run", str(pipeline), "--headless"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"{keypoints}:1: this line is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_looping_replay_starts_again_with_rising_frame_indices(tmp_path):
    clip = media_file(SHORT_CLIP)
    keypoints = tmp_path / "three.jsonl"
    with KeypointWriter(keypoints) as writer:
        for index in (0, 1, 2):
            writer.write(index, index / 30, hands=[hand(track_id=7 + index)])
    pipeline = replay_pipeline(clip, keypoints).replace('keypoints: "', 'loop: true, keypoints: "')
    ran = run_pipeline(pipeline, max_frames=8)
    assert ran.exit_code == 0
    frames = ran.frames("out")
    assert [f.index for f in frames] == list(range(8))
    assert [f.results["hands"][0].track_id for f in frames] == [7, 8, 9, 7, 8, 9, 7, 8]
    first = frames_from(clip, max_frames=1)[0].image
    assert np.array_equal(frames[3].image, first) and np.array_equal(frames[6].image, first)
