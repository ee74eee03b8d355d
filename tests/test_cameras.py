"""Several cameras in one pipeline (``cameras:``): the per-camera graph repeated, the mosaic gathering them.

Pure pieces first (the expansion, the gathering inbox, the tiling), then the real ``livepose`` command:
two clips as two cameras give each clip's single-camera keypoints; a camera that drops out is retried
while the other and the mosaic go on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from cli_runs import no_processes_left, no_run_outlives_its_test, start, wait_for_line  # noqa: F401
from livepose.graph.cameras import expand_cameras, shared_nodes
from livepose.graph.frame import Frame
from livepose.graph.queues import END, Edge, GatherInbox, Skip
from livepose.graph.spec import parse_pipeline
from livepose.render.mosaic import grid_shape, tile_images
from media_paths import media_file
from test_stream_faults import _free_port, _serve, _stop, jpeg_frames  # noqa: F401

LIVEPOSE = Path(sys.executable).parent / "livepose"
VIDEOS = "sign-language-processing_pose/videos"

TWO_CAMERAS = """\
cameras:
  left: a.mp4
  right: {source: b.mp4, mirror: true}
streams:
  hand_tracks: {feedback: true}
nodes:
  - {name: camera, type: capture, outputs: frames}
  - {name: palms, type: palm_detector, inputs: {frame: frames, tracked: hand_tracks}, outputs: hand_rois}
  - {name: hands, type: hand_landmarks, inputs: hand_rois, outputs: {frame: hands, tracked: hand_tracks}}
  - {name: keys, type: export_keypoints, inputs: hands, params: {path: out.jsonl}}
  - {name: shots, type: export_keypoints, inputs: hands, params: {path: "{camera}/keys.jsonl"}}
  - {name: tiles, type: mosaic, inputs: hands, outputs: tiled}
  - {name: window, type: viewer, inputs: tiled}
"""


def test_the_graph_up_to_the_mosaic_is_repeated_per_camera() -> None:
    spec = parse_pipeline(TWO_CAMERAS)
    names = [n.name for n in spec.nodes]
    assert names[:5] == ["left.camera", "left.palms", "left.hands", "left.keys", "left.shots"]
    assert names[5:10] == ["right.camera", "right.palms", "right.hands", "right.keys", "right.shots"]
    assert names[10:] == ["tiles", "window"]
    nodes = {n.name: n for n in spec.nodes}
    assert nodes["left.camera"].params["source"] == "a.mp4" and nodes["left.camera"].params["camera"] == "left"
    assert nodes["right.camera"].params["source"] == "b.mp4" and nodes["right.camera"].params["mirror"] is True
    assert nodes["right.palms"].inputs == {"frame": "right.frames", "tracked": "right.hand_tracks"}
    assert spec.streams["right.hand_tracks"].feedback and spec.streams["left.hand_tracks"].feedback
    assert nodes["left.keys"].params["path"] == "out-left.jsonl"  # two cameras never write one file
    assert nodes["right.shots"].params["path"] == "right/keys.jsonl"
    assert nodes["tiles"].inputs == {"frame@left": "left.hands", "frame@right": "right.hands"}
    assert nodes["tiles"].params["cameras"] == "left,right"
    assert nodes["window"].inputs == {"frame": "tiled"}


def test_shared_nodes_are_the_gathering_ones_and_what_follows() -> None:
    spec = parse_pipeline(TWO_CAMERAS.replace("cameras:\n  left: a.mp4\n  right: {source: b.mp4, mirror: true}\n", ""))
    assert shared_nodes(spec.nodes) == {"tiles", "window"}
    one, streams = expand_cameras(spec.nodes, spec.streams, {"only": {"source": "c.mp4"}})
    assert {n.name for n in one} >= {"only.camera", "only.keys", "tiles"}
    assert next(n for n in one if n.name == "only.keys").params["path"] == "out.jsonl"  # one camera: as written
    assert "only.frames" in streams and "frames" not in streams


@pytest.mark.parametrize(("cameras", "message"), [
    ("cameras: [a.mp4, b.mp4]", "cameras must map camera names"),
    ("cameras: {left.top: a.mp4}", "camera name 'left.top' must be letters, digits"),
    ("cameras: {left: {source: a.mp4, zoom: 2}}", "camera 'left' sets zoom, which the capture node has no parameter"),
    ("cameras: {left: {source: a.mp4, fps: fast}}", "camera 'left': fps:"),
])
def test_a_wrong_cameras_section_is_reported_with_its_line(tmp_path: Path, cameras: str, message: str) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(TWO_CAMERAS.replace("cameras:\n  left: a.mp4\n  right: {source: b.mp4, mirror: true}", cameras))
    done = subprocess.run([str(LIVEPOSE), "validate", str(pipeline)], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr and "p.yaml:1: error" in done.stderr, done.stderr


@pytest.mark.parametrize(("setting", "message"), [
    ("batch_cameras: sometimes", "batch_cameras must be auto, true or false, got 'sometimes'"),
    ("batch_wait_ms: 500", "batch_wait_ms must be a number of milliseconds from 0 to 100, got 500"),
    ("batch_wait_ms: yes", "batch_wait_ms must be a number of milliseconds"),
])
def test_a_wrong_batch_setting_is_reported_with_its_line(tmp_path: Path, setting: str, message: str) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"{setting}\n{TWO_CAMERAS}")
    done = subprocess.run([str(LIVEPOSE), "validate", str(pipeline)], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr and "p.yaml:1: error" in done.stderr, done.stderr


def test_batch_settings_without_cameras_are_a_warning(tmp_path: Path) -> None:
    one_camera = "\n".join(line for line in TWO_CAMERAS.splitlines()[3:] if "mosaic" not in line and "viewer" not in line)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"batch_cameras: true\n{one_camera}\n")
    done = subprocess.run([str(LIVEPOSE), "validate", str(pipeline)], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "p.yaml:1: warning: batch_cameras applies only to a pipeline with cameras:" in done.stderr + done.stdout


def test_batch_settings_reach_the_spec_and_default_to_auto() -> None:
    assert (parse_pipeline(TWO_CAMERAS).batch_cameras, parse_pipeline(TWO_CAMERAS).batch_wait_s) == ("auto", 0.005)
    spec = parse_pipeline(f"batch_cameras: true\nbatch_wait_ms: 20\n{TWO_CAMERAS}")
    assert (spec.batch_cameras, spec.batch_wait_s) == ("true", 0.02)
    assert {n.camera for n in spec.nodes} == {"left", "right", None}
    assert next(n for n in spec.nodes if n.name == "right.palms").name_in_file == "palms"


def test_source_on_the_command_line_is_refused_for_cameras(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(TWO_CAMERAS)
    done = subprocess.run([str(LIVEPOSE), "run", "p.yaml", "--source", "0", "--headless"], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 2 and "--source does not apply to a pipeline with cameras" in done.stderr


def _frame(index: int) -> Frame:
    return Frame(np.zeros((2, 2, 3), np.uint8), index, 0.0)


def test_the_gathering_inbox_serves_streams_in_turn_and_alone() -> None:
    left, right = Edge("left.s", "frame@left", 8, "block", False), Edge("right.s", "frame@right", 8, "block", False)
    inbox = GatherInbox([left, right], realtime=False)
    for index in range(3):
        inbox.put(left, _frame(index))
    inbox.put(right, _frame(0))
    inbox.put(right, Skip(1))
    got = [inbox.get() for _ in range(5)]
    assert [(d.origin, d.index, d.skipped) for d in got] == [
        (("frame@left", 0), 0, False), (("frame@right", 0), 1, False), (("frame@left", 1), 2, False),
        (("frame@right", 1), 3, True), (("frame@left", 2), 3, False)]
    assert set(got[0].frames) == {"frame"}  # handed over under the declared port
    inbox.put(right, END)
    ended = inbox.get()
    assert ended is not None and ended.origin == ("frame@right", None) and ended.skipped
    threading.Timer(0.05, inbox.put, (left, END)).start()  # the other stream ends later: get waits for it
    assert inbox.get().origin == ("frame@left", None)
    assert inbox.get() is None


def test_tiles_keep_each_pictures_aspect_and_name_it() -> None:
    assert [grid_shape(n) for n in (1, 2, 3, 4, 5, 7)] == [(1, 1), (1, 2), (2, 2), (2, 2), (2, 3), (3, 3)]
    wide = np.full((90, 160, 3), 200, np.uint8)
    tall = np.full((160, 90, 3), 100, np.uint8)
    tiled = tile_images([wide, tall, None], ["left", "right", "back (waiting)"], (640, 360))
    assert tiled.shape == (360, 640, 3)
    assert tiled[90, 160].tolist() == [200, 200, 200]  # the wide picture fills its tile's width
    assert tiled[90, 320 + 10].tolist() == [0, 0, 0]  # the tall one has bars at its sides
    assert tiled[90, 480].tolist() == [100, 100, 100]
    assert tiled[270, 160].tolist() == [0, 0, 0]  # nothing from the third camera yet
    assert tiled[5:15, 5:40].std() > 0  # a caption is written on the tile


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_clips_as_two_cameras_give_each_clips_own_results(models_ready, tmp_path: Path) -> None:
    soup, football = media_file(f"{VIDEOS}/SOUP.mp4"), media_file(f"{VIDEOS}/FOOTBALL.mp4")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(LIVEPOSE), "run", "cameras", "--offline", "--headless", "--keypoints", "out.jsonl",
                           "--metrics", "metrics.json"], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={**env, "LEFT": str(soup), "RIGHT": str(football)}, timeout=300)
    assert done.returncode == 0, done.stderr
    for camera, clip in (("left", soup), ("right", football)):
        single = tmp_path / f"{camera}-alone.jsonl"
        alone = subprocess.run([str(LIVEPOSE), "run", "hands_face", "--source", str(clip), "--offline", "--headless",
                                "--keypoints", str(single)], cwd=tmp_path, capture_output=True, text=True,
                               check=False, env=env, timeout=300)
        assert alone.returncode == 0, alone.stderr
        rows = _rows(tmp_path / f"out-{camera}.jsonl")
        assert rows and all(row.pop("camera") == camera for row in rows)
        assert rows == _rows(single)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # Every frame of both files reached the mosaic: the shorter clip ending did not end the other.
    assert metrics["nodes"]["tiles"]["frames_in"] == 41 + 62 == metrics["delivered"] == metrics["captured"]


def test_cameras_sharing_model_calls_get_the_same_keypoints_however_the_calls_were_shared(models_ready,
                                                                                          tmp_path: Path) -> None:
    soup, football = media_file(f"{VIDEOS}/SOUP.mp4"), media_file(f"{VIDEOS}/FOOTBALL.mp4")
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "LEFT": str(soup), "RIGHT": str(football)}

    def run(name: str, *settings: str) -> tuple[dict, str]:
        sets = [arg for setting in settings for arg in ("--set", setting)]
        done = subprocess.run([str(LIVEPOSE), "run", "cameras", "--offline", "--headless", "--keypoints",
                               f"{name}.jsonl", "--metrics", f"{name}.json", *sets], cwd=tmp_path, capture_output=True,
                              text=True, check=False, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads((tmp_path / f"{name}.json").read_text()), done.stdout + done.stderr

    waiting, told = run("waiting", "batch_cameras=true", "batch_wait_ms=100")
    never, _ = run("never", "batch_cameras=true", "batch_wait_ms=0")
    plain, _ = run("plain", "batch_cameras=false")
    hands = next(st for label, st in waiting["batched_across_cameras"].items() if label.startswith("hands ("))
    assert hands["requests"] == waiting["nodes"]["left.hands"]["frames_in"] + waiting["nodes"]["right.hands"]["frames_in"]
    assert hands["shared"] >= 5 and hands["calls"] < hands["requests"]  # calls served both cameras
    assert f"calls for {hands['requests']} requests" in told
    assert "batched_across_cameras" not in plain
    for camera in ("left", "right"):
        shared_rows, apart_rows = _rows(tmp_path / f"waiting-{camera}.jsonl"), _rows(tmp_path / f"never-{camera}.jsonl")
        assert shared_rows == apart_rows  # a call's rows are each camera's own, however they were put together
        # The batch conversions differ from MediaPipe's fixed-batch ones by float rounding (3e-5 in the palm
        # detector's raw boxes), which the tracking loop carries on: the same hands, within a pixel.
        plain_rows = _rows(tmp_path / f"plain-{camera}.jsonl")
        assert [len(r["hands"]) for r in shared_rows] == [len(r["hands"]) for r in plain_rows]
        gaps = [np.abs(np.array(a["landmarks"])[:, :2] - np.array(b["landmarks"])[:, :2]).max()
                for ra, rb in zip(shared_rows, plain_rows) for a, b in zip(ra["hands"], rb["hands"])]
        assert gaps and float(np.median(gaps)) < 1.0


def test_a_camera_that_drops_out_is_retried_while_the_other_goes_on(models_ready, tmp_path: Path, jpeg_frames) -> None:
    port = _free_port()
    camera = _serve(port, jpeg_frames)
    # The palm detector's calls are shared between the cameras, waiting as long as the setting allows: the
    # camera that stays must not wait for the one that is gone.
    (tmp_path / "p.yaml").write_text(textwrap.dedent(f"""\
        cameras:
          ip: http://127.0.0.1:{port}/video.mjpg
          pattern: {{source: synthetic, width: 320, height: 240, fps: 25}}
        batch_cameras: true
        batch_wait_ms: 100
        streams:
          hand_tracks: {{feedback: true}}
        nodes:
          - {{name: camera, type: capture, outputs: frames, params: {{reconnect_timeout: 30}}}}
          - {{name: palms, type: palm_detector, inputs: {{frame: frames, tracked: hand_tracks}}, outputs: hand_rois}}
          - {{name: hands, type: hand_landmarks, inputs: hand_rois, outputs: {{frame: hands, tracked: hand_tracks}}}}
          - {{name: out, type: "pipeline_nodes:Collect", inputs: hands,
              params: {{announce_after: 10, done_file: "{tmp_path}/{{camera}}.count"}}}}
          - {{name: tiles, type: mosaic, inputs: frames, outputs: tiled, params: {{width: 640, height: 240}}}}
          - {{name: shown, type: "pipeline_nodes:Collect", inputs: tiled, params: {{announce_after: 10}}}}
    """))
    proc, marker = start("run", "p.yaml", cwd=tmp_path)
    try:
        log = wait_for_line(proc, "ip.out: collected 10 frames")
        _stop(camera)
        log += wait_for_line(proc, "retrying")
        # While the IP camera is away, the pattern camera and the mosaic keep delivering.
        log += wait_for_line(proc, "pattern.out: collected")
        log += wait_for_line(proc, "shown: collected")
        camera = _serve(port, jpeg_frames)
        log += wait_for_line(proc, "is back after")
        log += wait_for_line(proc, "ip.out: collected 20 frames")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        _stop(camera)
        if proc.poll() is None:
            proc.kill()
    log += err
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    assert int((tmp_path / "ip.count").read_text()) >= 20
    assert int((tmp_path / "pattern.count").read_text()) > 0
    assert "batched across cameras: palms (palm_detection_full.batch.onnx)" in log
    assert no_processes_left(marker)
