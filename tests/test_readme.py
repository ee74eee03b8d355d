"""The README's promises, tested as a user meets them: every command and example it shows is run
exactly as written, with the real ``livepose`` console script, in a fresh folder, never imported.

Commands that open the camera run twice where it matters: as written, on a machine without a camera
(they must say what to try and exit 2 in well under the time a user waits), and with the camera
replaced by a real clip through ``LIVEPOSE_SOURCE``, the variable every packaged pipeline reads.
``clip.mp4`` in the README is a real clip linked into the folder under that name.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from media_paths import SHORT_CLIP, media_file

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def example(name: str) -> str:
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w+\n(.*?)```", README, re.S)
    assert match, f"README has no example block for {name}"
    return match.group(1)


def readme_commands() -> list[str]:
    """Every ``livepose ...`` command of the README's bash blocks, as typed (comments removed)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                command = re.sub(r"\s+#.*$", "", part).strip()
                command = " ".join(command.split())
                typed = re.sub(r"^([A-Z_]+=\S+ )+", "", command)  # after VAR=value prefixes
                if typed.startswith(("livepose ", "python my_script.py", "python -m pytest test_my",
                                     "python tools/")):
                    commands.append(command)
    return commands


def no_camera() -> bool:
    return not glob.glob("/dev/video*")


def livepose(command: str, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a README command line in ``cwd`` as a shell would, with the venv's ``livepose`` first on PATH."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LIVEPOSE_SOURCE")}
    environment.update(PATH=f"{BIN}{os.pathsep}{environment.get('PATH', '')}", **env)
    return subprocess.run(shlex.split(command), cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A fresh folder with the README's ``clip.mp4``: a real clip of a signer's hands and face."""
    (tmp_path / "clip.mp4").symlink_to(media_file(SHORT_CLIP))
    return tmp_path


def test_ci_runs_the_readme_test_command():
    match = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", README, re.S)
    assert match
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert match.group(1) in ci_lines


TESTED = {
    "livepose models prepare": "test_model_commands",
    "livepose models list": "test_model_commands",
    "livepose doctor": "test_model_commands",
    "livepose run hands_face": "test_the_demo_without_a_camera_says_what_to_try / test_the_demo_on_a_clip",
    "livepose run hands --source clip.mp4 --offline --headless --record out.mp4 --keypoints out.jsonl "
    "--metrics metrics.json": "test_offline_run_of_a_clip_writes_all_its_outputs",
    "livepose run face --set face_detector.max_num_faces=2": "test_the_set_example",
    "livepose run face --source clip.mp4 --offline --headless --set face_mesh.refine_landmarks=true "
    "--keypoints irises.jsonl": "test_the_refined_face_example_writes_478_points",
    "livepose run hands_face --source clip.mp4 --offline --headless --keypoints gpu.jsonl --set palms.preprocess=torch "
    "--set hands.preprocess=torch --set hands.max_batch=2": "test_the_gpu_path_example_gives_the_default_keypoints",
    "livepose run cameras": "test_the_cameras_examples",
    "LEFT=clip.mp4 RIGHT=other.mp4 livepose run cameras --offline --headless --keypoints out.jsonl":
        "test_the_cameras_examples",
    "LEFT=clip.mp4 RIGHT=other.mp4 livepose run cameras --offline --headless --set batch_cameras=true":
        "test_the_cameras_examples",
    "livepose run hands_face --source synthetic": "test_synthetic_source_runs_without_a_camera",
    "livepose run hands_face --source synthetic --set window.trace=face:NOSE_TIP":
        "test_viewer_cli.py::test_the_readme_trace_command_opens_the_viewer_following_the_nose",
    "QT_QPA_PLATFORM=offscreen livepose run hands_face --source synthetic --max-frames 90":
        "test_viewer_cli.py::test_the_readme_offscreen_command",
    "python tools/make_viewer_screenshot.py": "test_viewer_cli.py::test_the_screenshot_tool_makes_the_readme_picture",
    "livepose run effects --source synthetic": "test_the_effects_demo_runs",
    "livepose run background --source synthetic": "test_the_background_demo_runs",
    "livepose run hands --source clip.mp4 --offline --headless --keypoints keys.jsonl":
        "test_effects_on_replayed_keypoints_reload_when_the_file_is_saved",
    "livepose run my_replay.yaml --reload": "test_effects_on_replayed_keypoints_reload_when_the_file_is_saved",
    "livepose run pose --source clip.mp4 --offline --headless --keypoints body.jsonl": "test_the_pose_example",
    "livepose run pose --source clip.mp4 --offline --headless --set pose.enable_segmentation=true "
    "--keypoints body.jsonl --set keypoints_cli.masks=masks": "test_the_pose_masks_example",
    "livepose run holistic --source clip.mp4 --offline --headless --keypoints all.jsonl": "test_the_holistic_example",
    "livepose batch pose clips --out keypoints --workers 2": "test_the_batch_example",
    "livepose batch pose clips --out keypoints-ray --ray": "test_the_batch_example",
    "livepose validate hands": "test_listing_commands",
    "livepose pipelines": "test_listing_commands",
    "livepose nodes": "test_listing_commands",
    "livepose results": "test_listing_commands",
    "livepose validate my_pipeline.yaml": "test_custom_node_pipeline_validates_and_a_missing_hand_node_is_named",
    "livepose run my_pipeline.yaml": "test_custom_node_example_runs_with_the_plain_command",
    "livepose run my_pipeline.yaml --source clip.mp4 --record dots.mp4":
        "test_custom_node_example_runs_with_the_plain_command",
    "python my_script.py": "test_python_api_example_runs",
    "livepose export hand_net:build hand.onnx --layout onehand10k --input-size 128x128 --decoder simcc":
        "test_bring_your_own_model_in_three_commands",
    "HAND_MODEL=hand.onnx livepose run hand_model --source clip.mp4 --offline --headless --keypoints mine.jsonl":
        "test_bring_your_own_model_in_three_commands",
    "livepose run hand_model --set hand.model=hand.onnx": "test_bring_your_own_model_in_three_commands",
    "livepose eval hand.onnx onehand10k/test_onehand10k.json": "test_bring_your_own_model_in_three_commands",
    "livepose eval mediapipe_hands onehand10k/test_onehand10k.json": "test_bring_your_own_model_in_three_commands",
    "python -m pytest test_my_effects.py": "test_custom_node_test_example_passes",
}


def test_every_readme_command_has_a_test():
    commands = readme_commands()
    assert len(commands) >= 10
    untested = [c for c in commands if c not in TESTED]
    assert not untested, f"README commands no test runs: {untested}"
    assert "python my_script.py" in commands and "python -m pytest test_my_effects.py" in commands


@pytest.mark.skipif(not no_camera(), reason="this machine has a camera")
def test_the_demo_without_a_camera_says_what_to_try(folder, models_ready):
    started = time.monotonic()
    result = livepose("livepose run hands_face", folder)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    err = result.stderr
    assert "Traceback" not in err and "WARN" not in err, err
    assert err.count("cannot open camera 0") == 1 and "--source synthetic" in err
    assert "left behind" not in err and "node  " not in err, "no table of zeros"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 3, err
    assert elapsed < 10, "a generous bound; the start-up benchmark measures it"


def test_the_demo_on_a_clip(folder, models_ready):
    result = livepose("livepose run hands_face", folder, LIVEPOSE_SOURCE=str(folder / "clip.mp4"))
    assert result.returncode == 0, result.stderr
    delivered = re.search(r"delivered: (\d+) of (\d+) frames", result.stderr)
    assert delivered, result.stderr
    assert int(delivered.group(2)) == 58 and int(delivered.group(1)) > 0


def test_offline_run_of_a_clip_writes_all_its_outputs(folder, models_ready):
    command = next(c for c in readme_commands() if "--keypoints out.jsonl" in c)
    result = livepose(command, folder)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    assert [row["frame"] for row in rows] == list(range(58))
    assert sum(len(row["hands"]) for row in rows) > 20
    with av.open(str(folder / "out.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 58
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["delivered"] == metrics["captured"] == 58 and metrics["total_drops"] == 0


def test_the_set_example(folder, models_ready):
    command = next(c for c in readme_commands() if "--set face_detector" in c)
    checked = livepose(command.replace("livepose run", "livepose validate"), folder)
    assert checked.returncode == 0, checked.stderr
    result = livepose(command, folder, LIVEPOSE_SOURCE=str(folder / "clip.mp4"))
    assert result.returncode == 0, result.stderr


def test_the_gpu_path_example_gives_the_default_keypoints(folder, models_ready):
    pytest.importorskip("torch", reason="preprocess: torch needs the optional torch")
    command = next(c for c in readme_commands() if "preprocess=torch" in c)
    result = livepose(command, folder)
    assert result.returncode == 0, result.stderr
    default = livepose("livepose run hands_face --source clip.mp4 --offline --headless --keypoints default.jsonl",
                       folder)
    assert default.returncode == 0, default.stderr
    rows = (folder / "gpu.jsonl").read_text().splitlines()
    assert len(rows) == 58 and sum(len(json.loads(row)["hands"]) for row in rows) > 20
    assert rows == (folder / "default.jsonl").read_text().splitlines()


def test_the_cameras_examples(folder, models_ready):
    (folder / "other.mp4").symlink_to(media_file("sign-language-processing_pose/videos/FOOTBALL.mp4"))
    live = next(c for c in readme_commands() if c == "livepose run cameras")
    if no_camera():
        result = livepose(live, folder, timeout=60)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "cannot open camera 0" in result.stderr and "give camera 'left' another source under cameras:" \
            in result.stderr
    command = next(c for c in readme_commands() if c.startswith("LEFT="))
    assignments = dict(word.split("=", 1) for word in command.split()[:2])
    result = livepose(command.split(" ", 2)[2], folder, **assignments)
    assert result.returncode == 0, result.stderr
    for camera, frames in (("left", 58), ("right", 62)):
        rows = [json.loads(line) for line in (folder / f"out-{camera}.jsonl").read_text().splitlines()]
        assert [row["frame"] for row in rows] == list(range(frames))
        assert {row["camera"] for row in rows} == {camera}
    assert "delivered: 120 of 120 frames" in result.stderr
    assert "batched across cameras" not in result.stderr  # auto, on a CPU: each camera calls its models itself
    shared = next(c for c in readme_commands() if c.startswith("LEFT=") and "batch_cameras=true" in c)
    result = livepose(shared.split(" ", 2)[2], folder, **assignments)
    assert result.returncode == 0, result.stderr
    assert "delivered: 120 of 120 frames" in result.stderr
    counts = re.search(r"batched across cameras: hands \(hand_landmark_full\.batch\.onnx\): (\d+) calls for (\d+) "
                       r"requests \(\S+ per call, (\d+) calls shared\)", result.stderr)
    assert counts, result.stderr
    calls, requests, shared_calls = map(int, counts.groups())
    assert requests > 58 and calls == requests - shared_calls  # two cameras per shared call


def test_the_refined_face_example_writes_478_points(folder, models_ready):
    command = next(c for c in readme_commands() if "refine_landmarks" in c)
    result = livepose(command, folder)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (folder / "irises.jsonl").read_text().splitlines()]
    faces = [face for line in lines for face in line["faces"]]
    assert faces and all(len(face["landmarks"]) == 478 for face in faces)


def test_the_pose_example(folder, models_ready, pose_models_ready):
    command = next(c for c in readme_commands() if c.startswith("livepose run pose"))
    result = livepose(command, folder)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (folder / "body.jsonl").read_text().splitlines()]
    assert [row["frame"] for row in rows] == list(range(58))
    poses = [pose for row in rows for pose in row["poses"]]
    assert len(poses) >= 55, "the signer is found on (nearly) every frame"
    for pose in poses:
        assert np.shape(pose["landmarks"]) == (33, 3) and np.shape(pose["world_landmarks"]) == (33, 3)
        assert all(0.0 <= v <= 1.0 for v in pose["visibility"] + pose["presence"])
    # The signer's shoulders are in the frame and visible; metres, not pixels, in the world landmarks.
    assert np.median([pose["visibility"][11] for pose in poses]) > 0.9
    assert 0.2 < np.median([abs(p["world_landmarks"][11][0] - p["world_landmarks"][12][0]) for p in poses]) < 0.6


def test_the_pose_masks_example(folder, models_ready, pose_models_ready):
    command = next(c for c in readme_commands() if "keypoints_cli.masks=masks" in c)
    result = livepose(command, folder)
    assert result.returncode == 0, result.stderr
    masks = sorted((folder / "masks").glob("*.png"))
    assert [p.name for p in masks] == [f"{i:06d}.png" for i in range(58)]
    rows = [json.loads(line) for line in (folder / "body.jsonl").read_text().splitlines()]
    import cv2

    for path, row in zip(masks[::10], rows[::10]):
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (720, 540) and mask.dtype == np.uint8
        if row["poses"]:
            x, y, _ = row["poses"][0]["landmarks"][11]  # the left shoulder lies on the person
            assert mask[int(y), int(x)] > 127
            assert 0.05 < (mask > 127).mean() < 0.9


def test_the_holistic_example(folder, models_ready, holistic_models_ready):
    command = next(c for c in readme_commands() if c.startswith("livepose run holistic"))
    result = livepose(command, folder)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (folder / "all.jsonl").read_text().splitlines()]
    assert [row["frame"] for row in rows] == list(range(58))
    assert sum(len(row["poses"]) for row in rows) >= 55 and sum(len(row["faces"]) for row in rows) >= 55
    hands = [hand for row in rows for hand in row["hands"]]
    assert hands and {hand["handedness"] for hand in hands} <= {"Left", "Right"}
    assert all(len(row["faces"][0]["landmarks"]) == 468 for row in rows if row["faces"])


def test_the_batch_example(folder, models_ready, pose_models_ready):
    clips = folder / "clips"
    clips.mkdir()
    (clips / "signer.mp4").symlink_to(folder / "clip.mp4")
    (clips / "more").mkdir()
    (clips / "more" / "soup.mp4").symlink_to(media_file("sign-language-processing_pose/videos/SOUP.mp4"))
    command = next(c for c in readme_commands() if c.startswith("livepose batch"))
    result = livepose(command, folder)
    assert result.returncode == 0, result.stderr
    assert "2 done, 0 already complete, 0 failed" in result.stderr
    assert len((folder / "keypoints" / "signer" / "keypoints.jsonl").read_text().splitlines()) == 58
    assert len((folder / "keypoints" / "more" / "soup" / "keypoints.jsonl").read_text().splitlines()) == 41
    again = livepose(command, folder)
    assert again.returncode == 0 and "0 done, 2 already complete" in again.stderr, again.stderr
    on_ray = next(c for c in readme_commands() if c.startswith("livepose batch") and "--ray" in c)
    result = livepose(on_ray, folder)
    assert result.returncode == 0 and "2 done" in result.stderr, result.stderr
    assert ((folder / "keypoints-ray" / "more" / "soup" / "keypoints.jsonl").read_text()
            == (folder / "keypoints" / "more" / "soup" / "keypoints.jsonl").read_text())


def test_synthetic_source_runs_without_a_camera(folder, models_ready):
    # An endless test pattern: Ctrl-C would stop it; --max-frames does here.
    result = livepose("livepose run hands_face --source synthetic --max-frames 15", folder)
    assert result.returncode == 0, result.stderr
    assert "delivered:" in result.stderr


def test_listing_commands(folder):
    pipelines = livepose("livepose pipelines", folder)
    assert pipelines.returncode == 0 and {"hands", "face", "hands_face"} <= set(pipelines.stdout.split())
    validated = livepose("livepose validate hands", folder)
    assert validated.returncode == 0 and "ok (" in validated.stdout, validated.stderr
    nodes = livepose("livepose nodes", folder)
    assert nodes.returncode == 0 and "palm_detector" in nodes.stdout and "max_num_hands" in nodes.stdout
    assert "results: requires hand_rois   reads rgb   writes frame: hands; tracked: hand_tracks" in nodes.stdout
    listed = livepose("livepose results", folder)
    assert listed.returncode == 0 and ("hands: tuple[Hand, ...]  (written by hand_landmarks, holistic, hand_keypoints; updated by "
                                       "tracker; replayed from a file by replay)") in listed.stdout
    assert "poses: tuple[Pose, ...]  (written by pose_landmarks, holistic; replayed from a file by replay)" in listed.stdout


def test_model_commands(folder, models_ready):
    for command in ("livepose models prepare", "livepose models list", "livepose doctor"):
        result = livepose(command, folder)
        assert result.returncode == 0, (command, result.stderr)
    listed = livepose("livepose models list", folder).stdout
    assert "mediapipe/hand_landmark_full" in listed


def _write_custom_node_files(folder: Path) -> None:
    (folder / "my_effects.py").write_text(example("my_effects.py"))
    (folder / "my_pipeline.yaml").write_text(example("my_pipeline.yaml"))


def _yellow_pixels(image: np.ndarray) -> int:
    b, g, r = image[..., 0].astype(int), image[..., 1].astype(int), image[..., 2].astype(int)
    return int(((b < 60) & (g > 200) & (r > 200)).sum())


def test_custom_node_example_is_short():
    assert len(example("my_effects.py").strip().splitlines()) <= 30


@pytest.mark.skipif(not no_camera(), reason="this machine has a camera")
def test_custom_node_example_runs_with_the_plain_command(folder, models_ready):
    _write_custom_node_files(folder)
    plain = livepose("livepose run my_pipeline.yaml", folder)
    assert plain.returncode == 2 and "cannot open camera 0" in plain.stderr, plain.stderr
    assert "cannot import" not in plain.stderr and "Traceback" not in plain.stderr
    result = livepose("livepose run my_pipeline.yaml --source clip.mp4 --record dots.mp4", folder)
    assert result.returncode == 0, result.stderr
    with av.open(str(folder / "dots.mp4")) as recorded, av.open(str(folder / "clip.mp4")) as original:
        dotted = [_yellow_pixels(f.to_ndarray(format="bgr24")) for f in recorded.decode(video=0)]
        plain_frames = [_yellow_pixels(f.to_ndarray(format="bgr24")) for f in original.decode(video=0)]
    # Realtime on a loaded machine, any number of frames may be left out; those that reach the
    # recorder with a hand carry the dots.
    assert dotted and sum(d > 50 for d in dotted) >= 1, "the effect drew its dots on the fingertips"
    assert max(plain_frames) < 50, "the clip itself has no such yellow"


def test_custom_node_pipeline_validates_and_a_missing_hand_node_is_named(folder, models_ready):
    _write_custom_node_files(folder)
    result = livepose("livepose validate my_pipeline.yaml", folder)
    assert result.returncode == 0 and "ok (5 nodes" in result.stdout, result.stderr
    # The user forgets the hand nodes: the effect requires hands, and the validator says who writes them.
    kept = [line for line in (folder / "my_pipeline.yaml").read_text().splitlines()
            if not any(word in line for word in ("palm_detector", "hand_landmarks", "streams:"))]
    without_hands = "\n".join(kept).replace("inputs: hands", "inputs: frames") + "\n"
    (folder / "no_hands.yaml").write_text(without_hands)
    refused = livepose("livepose validate no_hands.yaml", folder)
    line = next(number for number, text in enumerate(kept, 1) if "name: dots" in text)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert f"no_hands.yaml:{line}" in refused.stderr and "'dots'" in refused.stderr, refused.stderr
    assert "hands" in refused.stderr and "hand_landmarks" in refused.stderr, refused.stderr


def test_custom_node_runs_from_another_folder(tmp_path, models_ready):
    # The module lives beside the pipeline file; the user runs it from elsewhere.
    project = tmp_path / "project"
    project.mkdir()
    _write_custom_node_files(project)
    result = livepose("livepose validate project/my_pipeline.yaml", tmp_path)
    assert result.returncode == 0, result.stderr
    (project / "my_effects.py").unlink()
    missing = livepose("livepose validate project/my_pipeline.yaml", tmp_path)
    assert missing.returncode == 2 and "there is no my_effects.py" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_python_api_example_runs(folder, models_ready):
    (folder / "my_script.py").write_text(example("my_script.py"))
    result = subprocess.run([sys.executable, "my_script.py"], cwd=folder, capture_output=True, text=True,
                            timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(re.match(r"frame \d+: \d hand", line) for line in lines), result.stdout
    assert lines[-1].startswith("one image:"), result.stdout


def test_custom_node_test_example_passes(folder, models_ready):
    tmp_path = folder
    _write_custom_node_files(tmp_path)
    (tmp_path / "test_my_effects.py").write_text(example("test_my_effects.py"))
    record = next(c for c in readme_commands() if "--keypoints keys.jsonl" in c)
    assert livepose(record, tmp_path).returncode == 0
    result = subprocess.run(shlex.split("python -m pytest test_my_effects.py"), cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                                                         "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
    # The issue asks the harness-based test to run in under a second: its own call, not Python's start-up.
    timed = subprocess.run([sys.executable, "-m", "pytest", "test_my_effects.py", "--durations=0", "-vv"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    call = re.search(r"([0-9.]+)s call\s+test_my_effects.py::", timed.stdout)
    assert call and float(call.group(1)) < 1.0, timed.stdout


def _started(command: str, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """A README command started as a shell would, to be stopped as the user stops it (Ctrl-C)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LIVEPOSE_SOURCE")}
    environment.update(PATH=f"{BIN}{os.pathsep}{environment.get('PATH', '')}", QT_QPA_PLATFORM="offscreen", **env)
    return subprocess.Popen(shlex.split(command), cwd=cwd, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_until(proc: subprocess.Popen[str], text: str, seen: list[str], timeout: float = 120) -> None:
    """Read the command's stderr until a line holds ``text`` (event-driven, with a generous bound)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return
    proc.kill()
    pytest.fail(f"never printed {text!r}:\n{''.join(seen)}")


def _interrupted(proc: subprocess.Popen[str], seen: list[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=30)
    err = "".join(seen) + rest
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    return err


def test_the_effects_demo_runs(folder, models_ready):
    command = next(c for c in readme_commands() if c.startswith("livepose run effects"))
    proc = _started(command, folder)
    seen: list[str] = []
    read_until(proc, "running: Ctrl-C stops", seen)
    err = _interrupted(proc, seen)
    assert "delivered:" in err and "glasses" in err and "eyes" in err


def test_effects_on_replayed_keypoints_reload_when_the_file_is_saved(folder, models_ready):
    _write_custom_node_files(folder)
    (folder / "my_replay.yaml").write_text(example("my_replay.yaml"))
    record = next(c for c in readme_commands() if "--keypoints keys.jsonl" in c)
    recorded = livepose(record, folder)
    assert recorded.returncode == 0, recorded.stderr
    replay = next(c for c in readme_commands() if c.startswith("livepose run my_replay.yaml --reload"))
    proc = _started(replay, folder)
    seen: list[str] = []
    read_until(proc, "running: Ctrl-C stops", seen)
    assert any("watching my_effects.py" in line for line in seen), "".join(seen)
    effect = folder / "my_effects.py"
    effect.write_text(effect.read_text().replace('param(12, "dot radius', 'param(20, "dot radius'))
    later = time.time() + 2  # a modification time the watcher cannot take for the old one
    os.utime(effect, (later, later))
    read_until(proc, "reloaded my_effects.py", seen)
    _interrupted(proc, seen)


def test_the_background_demo_runs(folder, models_ready):
    command = next(c for c in readme_commands() if c.startswith("livepose run background"))
    proc = _started(command, folder)
    seen: list[str] = []
    read_until(proc, "running: Ctrl-C stops", seen)
    err = _interrupted(proc, seen)
    assert "delivered:" in err and "segmentation" in err


def test_bring_your_own_model_in_three_commands(folder, models_ready):
    pytest.importorskip("torch", reason="livepose export needs torch (the README installs it)")
    (folder / "hand_net.py").write_text(example("hand_net.py"))
    (folder / "onehand10k").symlink_to(media_file("mmpose/tests/data/onehand10k"))
    export, check, live, *evals = [c for c in readme_commands() if "hand.onnx" in c or "hand_model" in c
                                   or c.startswith("livepose eval")]
    exported = livepose(export, folder)
    assert exported.returncode == 0, exported.stderr
    assert "largest difference from torch" in exported.stdout
    assert (folder / "hand.onnx").exists() and "decoder: {type: simcc" in (folder / "hand.card.yaml").read_text()
    env = dict(word.split("=", 1) for word in check.split()[:1])
    ran = livepose(check.split(" ", 1)[1], folder, **env)
    assert ran.returncode == 0, ran.stderr
    rows = [json.loads(line) for line in (folder / "mine.jsonl").read_text().splitlines()]
    assert len(rows) == 58
    found = [item for row in rows for item in row.get("keypoints", ())]
    assert len(found) > 20 and all(item["layout"] == "onehand10k" and len(item["points"]) == 21 for item in found)
    if no_camera():
        result = livepose(live, folder, timeout=60)
        assert result.returncode == 2 and "cannot open camera 0" in result.stderr and "Traceback" not in result.stderr
    result = livepose(live, folder, LIVEPOSE_SOURCE=str(folder / "clip.mp4"))
    assert result.returncode == 0 and "delivered:" in result.stderr, result.stderr
    for command in evals:
        scored = livepose(command, folder)
        assert scored.returncode == 0 and "test_onehand10k" in scored.stdout and "PCK@0.2" in scored.stdout, \
            scored.stderr
