"""``livepose batch``: the inputs it expands, and the real command over real clips: outputs equal to single
runs, a broken video reported while the others finish, an interrupted batch finished by running it again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from livepose.batch.inputs import expand_inputs
from livepose.batch.runner import BatchOptions, is_complete
from livepose.errors import UserError
from media_paths import media_file

LIVEPOSE = str(Path(sys.executable).parent / "livepose")
CLIPS = ("sign-language-processing_pose/videos/SOUP.mp4", "sign-language-processing_pose/videos/FOOTBALL.mp4")


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_inputs_from_files_folders_globs_and_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _touch(tmp_path / "set" / "a.mp4")
    b = _touch(tmp_path / "set" / "deep" / "b.webm")
    _touch(tmp_path / "set" / "notes.txt.bak")
    c = _touch(tmp_path / "other" / "c.MOV")
    listing = tmp_path / "inputs.txt"
    listing.write_text("# a corpus\nother/c.MOV\n\nset/a.mp4  # again: kept once\n")
    monkeypatch.chdir(tmp_path)
    found = expand_inputs(["set", str(listing)])
    assert [(item.path.resolve(), item.name) for item in found] == [
        (a.resolve(), "a"), (b.resolve(), "deep/b"), (c.resolve(), "c")]
    assert [item.name for item in expand_inputs([str(tmp_path / "set" / "**" / "*.webm")])] == ["deep/b"]


def test_inputs_that_name_nothing_or_collide_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="neither a video file"):
        expand_inputs([str(tmp_path / "missing.mp4")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no video files"):
        expand_inputs([str(tmp_path / "empty")])
    one, two = _touch(tmp_path / "x" / "clip.mp4"), _touch(tmp_path / "y" / "clip.mp4")
    with pytest.raises(UserError, match="same outputs 'clip'"):
        expand_inputs([str(one), str(two)])


def test_an_input_is_complete_only_when_every_output_is_in_place(tmp_path: Path) -> None:
    item = expand_inputs([str(_touch(tmp_path / "v.mp4"))])[0]
    options = BatchOptions("pose", tmp_path / "out")
    _touch(tmp_path / "out" / "v" / "keypoints.jsonl")
    _touch(tmp_path / "out" / "v" / "metrics.part.json")  # killed before the rename
    assert not is_complete(item, options)
    _touch(tmp_path / "out" / "v" / "metrics.json")
    assert is_complete(item, options)
    assert not is_complete(item, BatchOptions("pose", tmp_path / "out", record=True))


def _livepose(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LIVEPOSE, *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture()
def corpus(tmp_path: Path, pose_models_ready: None) -> Path:
    folder = tmp_path / "corpus"
    for clip in CLIPS:
        source = media_file(clip)
        (folder / "signs").mkdir(parents=True, exist_ok=True)
        (folder / "signs" / source.name).symlink_to(source)
    (folder / "signs" / "broken.mp4").write_text("not a video\n")
    return tmp_path


def test_batch_equals_single_runs_reports_a_broken_video_and_resumes(corpus: Path) -> None:
    batch = _livepose("batch", "pose", "corpus", "--out", "out", "--workers", "2", "--max-frames", "20",
                      "--no-progress", cwd=corpus)
    assert batch.returncode == 1, batch.stderr  # one input failed; the others are done
    assert "Traceback" not in batch.stderr
    summary = {row["name"]: row for row in json.loads((corpus / "out" / "summary.json").read_text())}
    # Outputs keep each input's path relative to the folder named: out/signs/SOUP/...
    assert {name: row["status"] for name, row in summary.items()} == {
        "signs/FOOTBALL": "done", "signs/SOUP": "done", "signs/broken": "failed"}
    assert "broken.mp4" in summary["signs/broken"]["error"] and summary["signs/SOUP"]["frames"] == 20
    assert not (corpus / "out" / "signs" / "broken").exists(), "no outputs, not even a folder, for a failed input"

    single = _livepose("run", "pose", "--source", "corpus/signs/SOUP.mp4", "--offline", "--headless",
                       "--max-frames", "20", "--keypoints", "single.jsonl", cwd=corpus)
    assert single.returncode == 0, single.stderr
    assert (corpus / "out" / "signs" / "SOUP" / "keypoints.jsonl").read_text() == (corpus / "single.jsonl").read_text()

    # As if killed while FOOTBALL was being written: its outputs gone, a temporary file left.
    football = corpus / "out" / "signs" / "FOOTBALL"
    for path in football.iterdir():
        path.unlink()
    (football / "keypoints.part.jsonl").write_text('{"frame": 0')
    soup_written = (corpus / "out" / "signs" / "SOUP" / "keypoints.jsonl").stat().st_mtime_ns
    again = _livepose("batch", "pose", "corpus", "--out", "out", "--max-frames", "20", "--no-progress", cwd=corpus)
    summary = {row["name"]: row["status"] for row in json.loads((corpus / "out" / "summary.json").read_text())}
    assert summary == {"signs/FOOTBALL": "done", "signs/SOUP": "skipped", "signs/broken": "failed"}, again.stderr
    assert (corpus / "out" / "signs" / "SOUP" / "keypoints.jsonl").stat().st_mtime_ns == soup_written
    assert sorted(p.name for p in football.iterdir()) == ["keypoints.jsonl", "metrics.json"]
    assert len((football / "keypoints.jsonl").read_text().splitlines()) == 20


def test_a_mistake_in_the_settings_is_said_once_before_any_work(corpus: Path) -> None:
    result = _livepose("batch", "pose", "corpus", "--out", "out", "--set", "pose.smooth_landmark=false",
                       "--no-progress", cwd=corpus)
    assert result.returncode == 2 and "smooth_landmarks" in result.stderr and "Traceback" not in result.stderr
    assert not (corpus / "out").exists()


DIE_ONCE = '''
import os
from pathlib import Path

from livepose.graph.node import Node


class DieOnce(Node):
    """Kills its own process on the first frame it ever sees (a marker file remembers), like a crash in C."""

    inputs = ("frame",)
    outputs = ("frame",)
    writes = ()

    def process(self, frame):
        marker = Path(__file__).with_name("died-once")
        if not marker.exists():
            marker.write_text("1")
            os._exit(9)
        return frame
'''


def test_an_input_whose_worker_dies_is_run_again(corpus: Path) -> None:
    (corpus / "crashy.py").write_text(DIE_ONCE)
    (corpus / "crashy.yaml").write_text(
        "nodes:\n"
        "  - {name: camera, type: capture, outputs: frames}\n"
        "  - {name: crash, type: 'crashy:DieOnce', inputs: frames, outputs: out}\n")
    result = _livepose("batch", "crashy.yaml", "corpus/signs/SOUP.mp4", "corpus/signs/FOOTBALL.mp4", "--out", "out",
                       "--workers", "2", "--max-frames", "5", "--no-progress", cwd=corpus)
    assert result.returncode == 0, result.stderr
    rows = json.loads((corpus / "out" / "summary.json").read_text())
    assert [row["status"] for row in rows] == ["done", "done"]
    assert max(row["attempts"] for row in rows) == 2, "the input under the dead worker ran twice"
    assert all(len((corpus / "out" / row["name"] / "keypoints.jsonl").read_text().splitlines()) == 5 for row in rows)
    (corpus / "died-once").unlink()
    result = _livepose("batch", "crashy.yaml", "corpus/signs/SOUP.mp4", "--out", "again", "--retries", "0",
                       "--no-progress", cwd=corpus)
    assert result.returncode == 1 and "died" in json.loads((corpus / "again" / "summary.json").read_text())[0]["error"]


def test_the_same_batch_on_a_local_ray_equals_the_local_one_and_survives_a_dead_worker(corpus: Path) -> None:
    pytest.importorskip("ray", reason="Ray (the ray extra, in the test extra) is not installed")
    local = _livepose("batch", "pose", "corpus/signs/SOUP.mp4", "--out", "local", "--max-frames", "10",
                      "--no-progress", cwd=corpus)
    assert local.returncode == 0, local.stderr
    (corpus / "crashy.py").write_text(DIE_ONCE)
    (corpus / "crashy.yaml").write_text(
        "nodes:\n"
        "  - {name: camera, type: capture, outputs: frames}\n"
        "  - {name: crash, type: 'crashy:DieOnce', inputs: frames, outputs: out}\n"
        "  - {name: pose_detector, type: pose_detector, inputs: {frame: out, tracked: pose_tracks}, outputs: rois}\n"
        "  - {name: pose, type: pose_landmarks, inputs: rois, outputs: {frame: poses, tracked: pose_tracks}}\n"
        "streams:\n"
        "  pose_tracks: {feedback: true}\n")
    on_ray = _livepose("batch", "crashy.yaml", "corpus/signs/SOUP.mp4", "corpus/signs/broken.mp4", "--out", "ray",
                       "--ray", "--workers", "2", "--max-frames", "10", "--no-progress", cwd=corpus)
    rows = {row["name"]: row for row in json.loads((corpus / "ray" / "summary.json").read_text())}
    assert rows["SOUP"]["status"] == "done" and rows["broken"]["status"] == "failed", on_ray.stderr
    assert (corpus / "died-once").exists(), "a worker died under a task, and Ray ran the task again"
    assert (corpus / "ray" / "SOUP" / "keypoints.jsonl").read_text() == \
        (corpus / "local" / "SOUP" / "keypoints.jsonl").read_text()
