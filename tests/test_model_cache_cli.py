"""`livepose models ...` and `livepose doctor` through click's test runner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from livepose.cli import main
from livepose.models.zoo import ZOO


@pytest.fixture
def runner(tmp_path: Path, mediapipe_wheel: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LIVEPOSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LIVEPOSE_MODELS_SOURCE", str(mediapipe_wheel))
    return CliRunner()


def test_list_shows_every_zoo_model_and_its_state(runner: CliRunner) -> None:
    result = runner.invoke(main, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert all(name in result.output for name in ZOO)
    assert "prepared" not in result.output.replace("not prepared", "")


def test_prepare_then_path_and_info(runner: CliRunner, tmp_path: Path) -> None:
    prepared = runner.invoke(main, ["models", "prepare", "face_detection_short_range", "mediapipe/face_landmark"])
    assert prepared.exit_code == 0, prepared.output
    path = tmp_path / "home" / "models" / "mediapipe" / "face_landmark.onnx"
    assert f"mediapipe/face_landmark: {path}" in prepared.output

    located = runner.invoke(main, ["models", "path", "mediapipe/face_landmark"])
    assert located.exit_code == 0 and located.output.strip() == str(path)

    info = runner.invoke(main, ["models", "info", "face_landmark"])
    assert info.exit_code == 0, info.output
    for fact in ("input_1 [1, 192, 192, 3] float32 NHWC", "[0, 1]", "conv2d_21", "conv2d_31", "(prepared)"):
        assert fact in info.output

    listing = runner.invoke(main, ["models", "list"])
    assert re.search(r"^mediapipe/face_landmark +prepared ", listing.output, re.MULTILINE), listing.output


def test_unknown_model_exits_2_with_the_known_names(runner: CliRunner) -> None:
    result = runner.invoke(main, ["models", "info", "mediapipe/nope"])
    assert result.exit_code == 2
    assert "unknown model 'mediapipe/nope'" in result.output and "mediapipe/hand_landmark_full" in result.output


def test_doctor_reports_versions_providers_and_latency(runner: CliRunner) -> None:
    assert runner.invoke(main, ["models", "prepare", "face_detection_short_range"]).exit_code == 0
    result = runner.invoke(main, ["doctor", "--repeats", "2"])
    assert result.exit_code == 0, result.output
    assert "onnxruntime" in result.output and "providers:" in result.output
    assert "cpu       working" in result.output
    libraries = result.output.split("gpu libraries:\n")[1].split("latency")[0].splitlines()
    assert [line.split()[0] for line in libraries] == ["CUDA", "CUDA", "cuBLAS", "cuBLASLt", "cuFFT", "cuRAND", "cuDNN",
                                                       "TensorRT"]
    assert all(line.endswith("not found") or ".so" in line for line in libraries)
    latency_line = next(line for line in result.output.splitlines() if "face_detection_short_range" in line)
    assert " ms" in latency_line
    assert "not prepared" in next(line for line in result.output.splitlines() if "face_landmark " in line)
