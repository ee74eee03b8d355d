"""Models you bring: tiny torch models exported with the real ``livepose export`` command, run by the
``keypoints`` and ``hand_keypoints`` nodes on real frames and in a pipeline on a real clip; bad model
cards and mismatched ONNX files get clear, located errors."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="livepose export needs torch (pip install torch==2.13.0)")

from livepose import results  # noqa: E402
from livepose.nodes.keypoints import HandKeypointsNode, KeypointsNode  # noqa: E402
from livepose.testing import frame, frames_from, run_node  # noqa: E402
from livepose.vision.rects import NormalizedRect, TrackedRoi  # noqa: E402

from byo_models import INPUT, POINTS, expected_frame_points  # noqa: E402
from media_paths import SHORT_CLIP, media_file  # noqa: E402

TESTS = Path(__file__).parent
BIN = Path(sys.executable).parent


def livepose(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    return subprocess.run([str(BIN / "livepose"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def export(cwd: Path, model: str, out: str, *options: str) -> Path:
    done = livepose("export", model, out, *options, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert "largest difference from torch" in done.stdout
    return cwd / out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixed-output models, exported once each through the three ways in: module:factory, TorchScript
    and ExportedProgram."""
    import torch

    from byo_models import FixedHeatmap, FixedRegression

    folder = tmp_path_factory.mktemp("models")
    torch.jit.save(torch.jit.trace(FixedRegression().eval(), torch.zeros(1, 3, INPUT, INPUT)), str(folder / "regression.pt"))
    sample = torch.zeros(2, 3, 256, 256)
    program = torch.export.export(FixedHeatmap().eval(), (sample,),
                                  dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=64)},))
    torch.export.save(program, str(folder / "heatmap.pt2"))
    return {
        "simcc": export(folder, "byo_models:FixedSimCC", "simcc.onnx", "--layout", "onehand10k",
                        "--input-size", f"{INPUT}x{INPUT}", "--decoder", "simcc", "--padding", "1.0"),
        "regression": export(folder, "regression.pt", "regression.onnx", "--layout", "interhand",
                             "--input-size", f"{INPUT}x{INPUT}", "--decoder", "regression", "--padding", "1.0"),
        "heatmap": export(folder, "heatmap.pt2", "heatmap.onnx", "--layout", "freihand", "--input-size", "256x256",
                          "--decoder", "heatmap", "--decoder-param", "refine=dark", "--decoder-param", "dark_kernel=1",
                          "--padding", "1.0", "--colour", "bgr"),
    }


ROI = NormalizedRect(0.5, 0.45, 0.4, 0.3, rotation=0.5)


def _frame_with_roi():
    [first] = frames_from(media_file(SHORT_CLIP), max_frames=1)
    return first.with_results(**{results.HAND_ROIS: (TrackedRoi(ROI, 7, True), TrackedRoi(ROI, 8, False))})


@pytest.mark.parametrize("kind, scale", [("simcc", 1.0), ("regression", 1.0), ("heatmap", 2.0)])
def test_points_land_where_the_crop_puts_them(exported: dict[str, Path], kind: str, scale: float) -> None:
    """A model whose outputs peak at known input pixels: its points in the frame are the box's, by trigonometry."""
    source = _frame_with_roi()
    [out] = run_node(KeypointsNode, [source], params={"model": str(exported[kind]), "max_batch": 2})
    found = out.results[results.KEYPOINTS]
    assert [k.track_id for k in found] == [7, 8]
    width, height = source.width, source.height
    # The ROI is 0.4 x 0.3 of a 540x720 frame: 216 x 216 pixels, a square, as MediaPipe's are.
    side = ROI.width * width
    assert side == pytest.approx(ROI.height * height)
    expected = np.array(expected_frame_points((ROI.x_center * width, ROI.y_center * height), side, ROI.rotation,
                                              input_size=int(INPUT * scale), scale=scale))
    for item in found:
        assert item.points.shape == (21, 2) and not item.points.flags.writeable
        assert np.abs(item.points - expected).max() < 0.01
    if kind == "regression":
        assert found[0].scores == pytest.approx(np.full(21, 0.9))


def test_hand_keypoints_reorders_into_mediapipe_hands(exported: dict[str, Path]) -> None:
    # The regression model's card says interhand: tips first, wrist last. As hands, MediaPipe's order.
    source = _frame_with_roi()
    [out] = run_node(HandKeypointsNode, [source], params={"model": str(exported["regression"]), "min_score": 0.5})
    [first, _] = out["frame"].results[results.KEYPOINTS]
    hands = out["frame"].results[results.HANDS]
    assert len(hands) == 2 and hands[0].track_id == 7
    assert np.array_equal(hands[0].landmarks[0, :2], first.points[20])  # the wrist
    assert np.array_equal(hands[0].landmarks[4, :2], first.points[0])  # the thumb tip
    assert np.array_equal(hands[0].landmarks[1, :2], first.points[3])  # the thumb's base
    tracks = out["tracked"].results[results.HAND_TRACKS]
    assert [t.track_id for t in tracks] == [7, 8] and not tracks[0].from_detection
    [out] = run_node(HandKeypointsNode, [source], params={"model": str(exported["regression"]), "min_score": 0.95})
    assert out["frame"].results[results.HANDS] == () and out["tracked"].results[results.HAND_TRACKS] == ()


def test_hand_keypoints_refuses_a_face_layout(tmp_path: Path) -> None:
    model = export(tmp_path, "byo_models:face_regression", "face.onnx", "--layout", "face68", "--input-size",
                   f"{INPUT}x{INPUT}", "--decoder", "regression")
    with pytest.raises(Exception, match="needs a 21-point hand layout"):
        run_node(HandKeypointsNode, [frame()], params={"model": str(model)})
    [out] = run_node(KeypointsNode, [_frame_with_roi()], params={"model": str(model), "rois": "hand_rois"})
    assert [k.points.shape for k in out.results[results.KEYPOINTS]] == [(68, 2), (68, 2)]


PIPELINE = """\
name: my_hand_model
mode: offline
source: {clip}
streams:
  hand_tracks: {{feedback: true}}
nodes:
  - {{name: camera, type: capture, outputs: frames}}
  - name: palms
    type: palm_detector
    inputs: {{frame: frames, tracked: hand_tracks}}
    outputs: rois
  - name: hand
    type: hand_keypoints
    inputs: rois
    params: {{model: random.onnx, padding: 1.0, min_score: 0.0}}
    outputs: {{frame: hands, tracked: hand_tracks}}
  - {{name: track, type: tracker, inputs: hands, outputs: tracked}}
  - {{name: draw, type: visualize, inputs: tracked, outputs: annotated}}
  - {{name: out, type: export_keypoints, inputs: annotated, params: {{path: out.jsonl}}}}
"""


def test_an_exported_random_model_runs_live_on_a_clip(tmp_path: Path, models_ready: None) -> None:
    """The user's path: export a torch model, name it in a pipeline, run it on a real clip with the tracker."""
    export(tmp_path, "byo_models:RandomSimCC", "random.onnx", "--layout", "freihand", "--input-size", "128x128",
           "--decoder", "simcc", "--decoder-param", "dark_kernel=3")
    (tmp_path / "my_hand_model.yaml").write_text(PIPELINE.format(clip=media_file(SHORT_CLIP)))
    done = livepose("run", "my_hand_model.yaml", "--headless", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(records) == 58
    with_points = [r for r in records if r.get("keypoints")]
    assert len(with_points) > 20  # the palm detector finds the signer's hands on most frames
    for record in with_points:
        assert len(record["hands"]) == len(record["keypoints"])
        for item in record["keypoints"]:
            assert item["layout"] == "freihand" and item["model"] == "random"
            points = np.array(item["points"], dtype=float)
            assert points.shape == (21, 2) and np.isfinite(points).all()
        # After the tracker, the hands carry lasting ids, and their points are the model's (smoothed).
        assert all(isinstance(hand["id"], int) for hand in record["hands"])


def test_export_checks_the_input_size_and_the_model(tmp_path: Path) -> None:
    done = livepose("export", "byo_models:RandomSimCC", "x.onnx", "--layout", "freihand", "--input-size", "96x96",
                    "--decoder", "simcc", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "fails on a [2, 3, 96, 96] input" in done.stderr and not (tmp_path / "x.onnx").exists()
    done = livepose("export", "byo_models:RandomSimCC", "x.onnx", "--layout", "hand21", "--input-size", "128x128",
                    "--decoder", "simcc", cwd=tmp_path)
    assert done.returncode == 2 and "unknown layout 'hand21'" in done.stderr and "Traceback" not in done.stderr
    done = livepose("export", "nowhere:build", "x.onnx", "--layout", "freihand", "--input-size", "128x128",
                    "--decoder", "simcc", cwd=tmp_path)
    assert done.returncode == 2 and "no module 'nowhere'" in done.stderr
    done = livepose("export", "byo_models:RandomSimCC", "x.onnx", "--layout", "face68", "--input-size", "128x128",
                    "--decoder", "simcc", cwd=tmp_path)
    assert done.returncode == 2 and "outputs 21 points, but its card's layout face68 has 68" in done.stderr


BAD_CARDS = [
    ("name: x\nlayout: onehand10k\ninput: {width: 128, height: 128}\ndecoder: {type: simcc, split: 2}\n",
     ":4: error: decoder.split: unknown key"),
    ("name: x\nlayout: onehand11k\ninput: {width: 128, height: 128}\ndecoder: {type: simcc}\n",
     ":2: error: layout: unknown layout 'onehand11k' (did you mean 'onehand10k'?)"),
    ("name: x\nlayout: onehand10k\ndecoder: {type: simcc}\n", "error: input: Field required"),
    ("name: x\nlayout: onehand10k\ninput:\n  width: 128\n  height: -4\ndecoder: {type: simcc}\n",
     ":5: error: input.height: Input should be greater than 0"),
    ("name: x\nlayout: onehand10k\ninput: {width: 128, height: 128}\ndecoder: {type: argmax}\n",
     ":4: error: decoder: Input tag 'argmax' found using 'type' does not match"),
    ("name: x\nlayout: onehand10k\ninput: {width: 256, height: 256}\ndecoder: {type: simcc}\n",
     "its card", ),
]


@pytest.mark.parametrize("card, message", BAD_CARDS)
def test_bad_cards_get_located_errors(tmp_path: Path, exported: dict[str, Path], card: str, message: str) -> None:
    (tmp_path / "m.onnx").write_bytes(exported["simcc"].read_bytes())
    (tmp_path / "m.card.yaml").write_text(card)
    with pytest.raises(Exception) as raised:
        run_node(KeypointsNode, [frame()], params={"model": str(tmp_path / "m.onnx")})
    assert message in str(raised.value)
    if "its card" in message:
        assert "shape ['batch', 3, 128, 128]" in str(raised.value) and "set input.width, input.height" in str(raised.value)


def test_a_card_that_is_not_text_or_missing(tmp_path: Path, exported: dict[str, Path]) -> None:
    (tmp_path / "m.onnx").write_bytes(exported["simcc"].read_bytes())
    with pytest.raises(Exception, match="cannot read the model card.*\n.*livepose export"):
        run_node(KeypointsNode, [frame()], params={"model": str(tmp_path / "m.onnx")})
    (tmp_path / "m.card.yaml").write_bytes(exported["simcc"].read_bytes()[:200])
    with pytest.raises(Exception, match="not UTF-8 text"):
        run_node(KeypointsNode, [frame()], params={"model": str(tmp_path / "m.onnx")})


def test_a_bad_card_stops_the_run_with_one_clear_message(tmp_path: Path, exported: dict[str, Path]) -> None:
    (tmp_path / "random.onnx").write_bytes(exported["simcc"].read_bytes())
    (tmp_path / "random.card.yaml").write_text("layout: onehand10k\ninput: {width: 128, height: 128}\n"
                                                "decoder: {type: simcc, split_ratio: 0}\n")
    (tmp_path / "p.yaml").write_text(PIPELINE.format(clip=media_file(SHORT_CLIP)))
    done = livepose("run", "p.yaml", "--headless", "--no-progress", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("random.card.yaml:3: error: decoder.split_ratio: Input should be greater than 0") == 1


def test_rotation_is_clockwise_on_screen() -> None:
    # The helper's own convention, checked once: a quarter turn takes the box's x axis down the image.
    [(x, y)] = expected_frame_points((100.0, 100.0), 128.0, math.pi / 2)[:1]
    assert (x, y) == pytest.approx((100 - (POINTS[0][1] - 64), 100 + (POINTS[0][0] - 64)))
