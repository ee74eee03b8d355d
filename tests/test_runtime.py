"""The onnxruntime session wrapper: provider choice and fallback, options, IO binding, inputs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import livepose.logs
from livepose.errors import UserError
from livepose.models.runtime import ModelSession, check_providers, provider_problem

GPU_WORKS = provider_problem("cuda") is None


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-input model, y = relu(a @ w + b), saved as an .onnx file."""
    weights = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["a", "w"], ["product"]),
            helper.make_node("Add", ["product", "b"], ["sum"]),
            helper.make_node("Relu", ["sum"], ["y"]),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("runtime") / "tiny.onnx"
    onnx.save(model, path)
    return path


def expected_output(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    weights = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5
    return np.maximum(a @ weights + b, 0)


@pytest.fixture
def feeds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"a": rng.normal(size=(1, 4)).astype(np.float32), "b": rng.normal(size=(1, 3)).astype(np.float32)}


def test_cpu_session_runs_and_names_outputs(tiny_model: Path, feeds: dict[str, np.ndarray]) -> None:
    session = ModelSession(tiny_model, provider="cpu")
    assert session.provider == "cpu" and not session.on_gpu
    assert session.input_names == ("a", "b") and session.output_names == ("y",)
    assert session.inputs[0].shape == (1, 4)
    outputs = session.run(feeds)
    np.testing.assert_allclose(outputs["y"], expected_output(**feeds), rtol=1e-6)


def test_session_options_are_applied(tiny_model: Path) -> None:
    session = ModelSession(tiny_model, provider="cpu", intra_op_threads=1, inter_op_threads=1, optimization="basic")
    options = session.session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC


def test_io_binding_keeps_outputs_as_device_values(tiny_model: Path, feeds: dict[str, np.ndarray]) -> None:
    session = ModelSession(tiny_model)
    on_device = session.run_on_device(feeds)
    assert isinstance(on_device["y"], ort.OrtValue)
    assert on_device["y"].device_name().lower() == session.device_type
    np.testing.assert_allclose(on_device["y"].numpy(), session.run(feeds)["y"])
    # A device value feeds the next run directly, as chained model nodes do.
    chained = session.run_on_device({"a": feeds["a"], "b": on_device["y"]})
    np.testing.assert_allclose(chained["y"].numpy(), expected_output(feeds["a"], on_device["y"].numpy()), rtol=1e-6)


@pytest.mark.skipif(GPU_WORKS, reason="this machine has a working CUDA provider, so auto does not fall back")
def test_auto_falls_back_to_cpu_with_one_line_reason(
    tiny_model: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(livepose.logs, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="livepose.models.runtime"):
        first = ModelSession(tiny_model, provider="auto")
        ModelSession(tiny_model, provider="auto")
    assert first.provider == "cpu"
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1, "the same reason is reported once per process"
    assert warnings[0].startswith("running models on the CPU: ") and "\n" not in warnings[0]
    assert warnings[0].removeprefix("running models on the CPU: ") == provider_problem("cuda")


@pytest.mark.skipif(GPU_WORKS, reason="this machine has a working CUDA provider")
@pytest.mark.parametrize("provider", ["cuda", "tensorrt"])
def test_explicit_gpu_provider_that_cannot_work_is_a_user_error(tiny_model: Path, provider: str) -> None:
    with pytest.raises(UserError, match=f"provider '{provider}' cannot run on this machine: .+ Use provider 'auto'"):
        ModelSession(tiny_model, provider=provider)  # type: ignore[arg-type]


@pytest.mark.skipif(not GPU_WORKS, reason="needs a working CUDA provider")
def test_auto_uses_the_gpu_when_it_works(tiny_model: Path, feeds: dict[str, np.ndarray]) -> None:
    session = ModelSession(tiny_model, provider="auto")
    assert session.on_gpu
    np.testing.assert_allclose(session.run(feeds)["y"], expected_output(**feeds), rtol=1e-4, atol=1e-5)
    assert session.run_on_device(feeds)["y"].device_name().lower() == "cuda"


def test_provider_problem_diagnosis_is_specific() -> None:
    assert provider_problem("cpu") is None
    problem = provider_problem("cuda")
    if problem is not None:
        assert any(
            hint in problem for hint in ("no NVIDIA GPU driver", "libraries missing", "no cuda support")
        ), problem


def test_check_providers_reports_every_provider() -> None:
    statuses = {status.name: status for status in check_providers()}
    assert set(statuses) == {"tensorrt", "cuda", "cpu"}
    assert statuses["cpu"].working and statuses["cpu"].detail == "ok"
    assert statuses["cuda"].working == GPU_WORKS
    if not statuses["cuda"].working:
        assert statuses["cuda"].detail == provider_problem("cuda")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"provider": "gpu"}, "unknown provider 'gpu'"),
        ({"optimization": "max"}, "unknown optimization level 'max'"),
        ({"intra_op_threads": -1}, "thread counts"),
    ],
)
def test_bad_settings_are_user_errors(tiny_model: Path, settings: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        ModelSession(tiny_model, **settings)  # type: ignore[arg-type]


def test_wrong_inputs_are_user_errors(tiny_model: Path, feeds: dict[str, np.ndarray]) -> None:
    session = ModelSession(tiny_model, provider="cpu")
    with pytest.raises(UserError, match=r"takes inputs \['a', 'b'\]; got \['a', 'c'\]"):
        session.run({"a": feeds["a"], "c": feeds["b"]})
    with pytest.raises(UserError, match="pass a dict"):
        session.run(feeds["a"])


def test_single_input_model_takes_a_bare_array(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Sigmoid", ["x"], ["y"])],
        "single",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "single.onnx")
    outputs = ModelSession(tmp_path / "single.onnx", provider="cpu").run(np.zeros(2, np.float32))
    np.testing.assert_allclose(outputs["y"], [0.5, 0.5])


def test_unloadable_model_file_is_a_user_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    with pytest.raises(UserError, match="onnxruntime cannot load"):
        ModelSession(broken, provider="cpu")


def test_missing_model_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        ModelSession(tmp_path / "absent.onnx")


def test_a_model_is_loaded_once_per_process_for_the_same_file_and_settings(tiny_model: Path, tmp_path: Path) -> None:
    import os
    import shutil

    model = tmp_path / "tiny.onnx"
    shutil.copyfile(tiny_model, model)
    first = ModelSession(model, provider="cpu", intra_op_threads=1)
    again = ModelSession(model, provider="cpu", intra_op_threads=1)
    other_threads = ModelSession(model, provider="cpu", intra_op_threads=2)
    assert again.session is first.session and other_threads.session is not first.session
    os.utime(model, ns=(1, 1))  # the file rewritten (a new conversion): loaded afresh
    assert ModelSession(model, provider="cpu", intra_op_threads=1).session is not first.session


def test_a_callers_cuda_stream_goes_to_the_gpu_providers_only() -> None:
    from livepose.models.runtime import _provider_options

    for provider in ("cuda", "tensorrt"):
        name, options = _provider_options(provider, 0, cuda_stream=140023)
        assert options["has_user_compute_stream"] == "1" and options["user_compute_stream"] == "140023"
        assert "user_compute_stream" not in _provider_options(provider, 0)[1]
    assert _provider_options("cpu", 0, cuda_stream=140023) == ("CPUExecutionProvider", {})


def test_a_session_on_the_cpu_keeps_no_stream(tiny_model) -> None:
    assert ModelSession(tiny_model, provider="cpu", cuda_stream=140023).cuda_stream == 0
