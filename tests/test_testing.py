"""livepose.testing: the node harness runs nodes as a pipeline would and holds them to their contract."""

from __future__ import annotations

import numpy as np
import pytest

from livepose import Frame, Node, param, results
from livepose.results import Face, FaceLandmark, Hand, HandLandmark
from livepose.testing import (Collect, ContractError, NodeHarness, face, frame, frames_from, hand, run_node,
                              run_pipeline)
from media_paths import SHORT_CLIP, media_file


class Lifecycle(Node):
    """Records what the harness calls, in order."""

    inputs = ("frame",)
    outputs = ("frame",)
    writes = ("calls",)
    calls: list = []

    def setup(self) -> None:
        self.log = ["setup"]
        Lifecycle.calls = self.log

    def process(self, frame: Frame) -> Frame:
        self.log.append(f"process {frame.index}")
        return frame.with_results(calls=len(self.log))

    def close(self) -> None:
        self.log.append("close")


class Explodes(Lifecycle):
    def process(self, frame: Frame) -> Frame:
        raise RuntimeError("boom")


class Pairs(Node):
    inputs = ("frame", "other")
    outputs = ("frame", "echo")
    writes = {"frame": ("sum",), "echo": ()}

    def process(self, frame: Frame, other: Frame | None) -> dict:
        total = frame.index + (other.index if other is not None else 0)
        return {"frame": frame.with_results(sum=total), "echo": frame}


class CountingSource(Node):
    outputs = ("frame",)
    writes = ()
    count: int = param(3, "frames to make", ge=0)

    def setup(self) -> None:
        self.made = 0

    def process(self) -> Frame | None:
        if self.made == self.count:
            return None
        self.made += 1
        return Frame.capture(np.zeros((4, 4, 3), np.uint8), self.made - 1)


class Quitter(Node):
    inputs = ("frame",)
    keys = {"t": "toggle"}

    def setup(self) -> None:
        self.toggled = 0

    def toggle(self) -> None:
        self.toggled += 1

    def process(self, frame: Frame) -> None:
        self.ctx.press_key("x")
        self.ctx.request_stop(f"seen {frame.index}, overlay at {self.ctx.metrics.live().fps:.0f} fps")


def test_setup_each_frame_and_close_in_order():
    outputs = run_node(Lifecycle, [frame(index=i) for i in range(3)])
    assert Lifecycle.calls == ["setup", "process 0", "process 1", "process 2", "close"]
    assert [f.results["calls"] for f in outputs] == [2, 3, 4]


def test_close_is_called_when_a_frame_raises():
    with pytest.raises(RuntimeError, match="boom"):
        run_node(Explodes, [frame()])
    assert Lifecycle.calls == ["setup", "close"]


def test_bare_images_become_frames_numbered_in_order():
    outputs = run_node(Lifecycle, [np.zeros((8, 8, 3), np.uint8)] * 3)
    assert [f.index for f in outputs] == [0, 1, 2] and outputs[0].image.shape == (8, 8, 3)


def test_several_ports_by_name_with_a_missing_feedback_frame():
    first, second = run_node(Pairs, {"frame": [frame(index=1), frame(index=2)], "other": [None, frame(index=5)]})
    assert first["frame"].results["sum"] == 1 and second["frame"].results["sum"] == 7
    assert second["echo"].index == 2


def test_a_source_runs_until_it_ends_or_max_frames():
    assert [f.index for f in run_node(CountingSource)] == [0, 1, 2]
    assert len(run_node(CountingSource, params={"count": 10}, max_frames=4)) == 4


def test_keys_stop_requests_and_live_metrics_are_seen():
    with NodeHarness(Quitter) as harness:
        harness.press("t")
        assert harness.process(frame(index=4)) is None
        assert harness.node.toggled == 1
        assert harness.pressed == ["x"] and harness.stop_requests == ["seen 4, overlay at 30 fps"]
        assert harness.node.stopping
        with pytest.raises(ContractError, match="handles no key 'z'"):
            harness.press("z")


def test_params_are_checked_as_in_a_pipeline():
    with pytest.raises(Exception, match="count"):
        run_node(CountingSource, params={"count": -1})


class WritesUndeclared(Node):
    inputs = ("frame",)
    outputs = ("frame",)
    writes = ()

    def process(self, frame: Frame) -> Frame:
        return frame.with_results(gesture="fist")


class WritesWrongType(Node):
    inputs = ("frame",)
    outputs = ("frame",)
    writes = (results.HANDS,)

    def process(self, frame: Frame) -> Frame:
        return frame.with_results(hands=[np.zeros((21, 3))])


class ReturnsText(Node):
    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> str:
        return "done"


class NeedsHands(Node):
    inputs = ("frame",)
    outputs = ("frame",)
    requires = (results.HANDS,)

    def process(self, frame: Frame) -> Frame:
        return frame


class Undeclared(Node):
    inputs = ("frame",)
    outputs = ("frame",)

    def process(self, frame: Frame) -> Frame:
        return frame.with_results(anything=1)


@pytest.mark.parametrize("node, message", [
    (WritesUndeclared, "wrote result\\(s\\) gesture on port 'frame' but declares writes = \\(\\)"),
    (WritesWrongType, "result 'hands' must be tuple\\[Hand, ...\\], got list"),
    (ReturnsText, "returned str: it must return a Frame"),
    (NeedsHands, "requires result\\(s\\) hands, which the frames given lack"),
])
def test_a_broken_contract_is_named(node, message):
    with pytest.raises(ContractError, match=message):
        run_node(node, [frame()])


def test_passing_results_on_is_not_writing_them_and_undeclared_writes_are_not_checked():
    hands = (hand(),)
    assert run_node(WritesUndeclared, [frame(hands=hands)], check=False)[0].results["hands"] is hands
    assert run_node(NeedsHands, [frame(hands=hands)])[0].results["hands"] is hands
    assert run_node(Undeclared, [frame()])[0].results["anything"] == 1


def test_made_up_hands_and_faces_are_what_the_nodes_write():
    right, left = hand(), hand(handedness="Left", track_id=3)
    assert isinstance(right, Hand) and right.landmarks.shape == (21, 3) and not right.landmarks.flags.writeable
    # Palm to an unmirrored camera: a right hand's thumb is on the image's right, a left hand's on its left.
    wrist, thumb = HandLandmark.WRIST, HandLandmark.THUMB_TIP
    assert right.landmarks[thumb, 0] > right.landmarks[wrist, 0] > left.landmarks[thumb, 0]
    assert right.landmarks[HandLandmark.MIDDLE_FINGER_TIP, 1] < right.landmarks[wrist, 1], "fingers up"
    assert left.track_id == 3 and left.handedness == "Left" and 0 <= right.roi.x_center <= 1
    mesh = face(centre=(200, 150), size=100)
    assert isinstance(mesh, Face) and mesh.landmarks.shape == (468, 3)
    forehead, chin = mesh.landmarks[FaceLandmark.FOREHEAD], mesh.landmarks[FaceLandmark.CHIN]
    assert chin[1] - forehead[1] == pytest.approx(100)
    assert mesh.landmarks[FaceLandmark.RIGHT_EYE_OUTER, 0] < mesh.landmarks[FaceLandmark.LEFT_EYE_OUTER, 0]
    made = frame(hands=[right], faces=[mesh])
    assert all(results.type_problem(key, made.results[key]) is None for key in ("hands", "faces"))
    with pytest.raises(ValueError, match="21 landmarks"):
        hand(np.zeros((20, 2)))


def test_frames_from_a_clip_and_from_a_keypoint_file(tmp_path):
    clip = media_file(SHORT_CLIP)
    frames = frames_from(clip, max_frames=4)
    assert [f.index for f in frames] == [0, 1, 2, 3] and results.MEDIA_TIME in frames[0].results
    keypoints = tmp_path / "k.jsonl"
    keypoints.write_text(
        '{"frame": 0, "t": 0.0, "hands": [{"id": 2, "handedness": "Left", "score": 0.9, '
        '"landmarks": ' + str([[float(i), 2.0 * i, None] for i in range(21)]) .replace("None", "null") + '}], '
        '"faces": []}\n'
        '{"frame": 1, "t": 0.033, "hands": [], "faces": []}\n')
    on_black, on_clip = frames_from(keypoints, size=(100, 200)), frames_from(keypoints, video=str(clip))
    [loaded] = on_black[0].results["hands"]
    assert loaded.track_id == 2 and loaded.handedness == "Left" and loaded.landmarks[20, 1] == 40.0
    assert np.isnan(loaded.landmarks[0, 2]) and on_black[0].image.shape == (100, 200, 3)
    assert on_black[1].results["hands"] == () and on_black[1].results["media_time"] == 0.033
    assert np.array_equal(on_clip[1].image, frames[1].image)


def test_a_pipeline_runs_offline_and_its_sink_keeps_the_frames():
    outcome = run_pipeline("""
        nodes:
          - {name: src, type: "test_testing:CountingSource", params: {count: 5}}
          - {name: tag, type: "test_testing:Lifecycle", inputs: src}
          - {name: out, type: "livepose.testing:Collect", inputs: tag}
    """)
    assert outcome.exit_code == 0 and [f.index for f in outcome.frames("out")] == list(range(5))
    assert isinstance(outcome.nodes["out"], Collect)
    with pytest.raises(KeyError, match="keeps no frames"):
        outcome.frames("tag")
