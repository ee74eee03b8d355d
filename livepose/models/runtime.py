"""The one onnxruntime session wrapper every livepose model node uses.

``provider="auto"`` picks TensorRT, then CUDA, and keeps a GPU provider only if the created session
really runs on it (onnxruntime silently falls back to the CPU otherwise); when it ends up on the CPU
a single-line warning says why: no GPU driver, missing CUDA/cuDNN/TensorRT libraries, or an
onnxruntime build without GPU support. Asking for ``tensorrt`` or ``cuda`` explicitly turns the
same diagnosis into an error instead of a silent slowdown.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import onnxruntime as ort

from livepose.errors import UserError
from livepose.logs import warn_once
from livepose.models.cache import livepose_home, resolve_model
from livepose.models.in_use import record_provider

Provider = Literal["auto", "tensorrt", "cuda", "cpu"]
OptimizationLevel = Literal["disable", "basic", "extended", "all"]

PROVIDERS: tuple[str, ...] = get_args(Provider)
EXECUTION_PROVIDERS: dict[str, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_SHORT_NAMES = {long: short for short, long in EXECUTION_PROVIDERS.items()}
_OPTIMIZATION_LEVELS: dict[str, ort.GraphOptimizationLevel] = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}

logger = logging.getLogger(__name__)

@cache
def _preload_pip_cuda_libraries() -> None:
    """Let onnxruntime find CUDA and cuDNN installed as ``nvidia-*`` pip packages.

    Without this, libraries from ``pip install onnxruntime-gpu[cuda,cudnn]`` are only found when they
    are on LD_LIBRARY_PATH. Skipped when no such package exists, since the call then only prints noise.
    """
    if importlib.util.find_spec("nvidia") is not None and hasattr(ort, "preload_dlls"):
        ort.preload_dlls()


@cache
def provider_problem(provider: str) -> str | None:
    """Why ``provider`` ("tensorrt", "cuda" or "cpu") cannot run here, or None when it should work.

    Diagnoses without creating a session: an onnxruntime build lacking the provider, no NVIDIA
    driver, or a provider library whose CUDA, cuDNN or TensorRT dependencies do not load (the
    loader's message names the missing library).
    """
    if provider == "cpu":
        return None
    if EXECUTION_PROVIDERS[provider] not in ort.get_available_providers():
        return f"this onnxruntime build has no {provider} support (install onnxruntime-gpu)"
    driver = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        ctypes.CDLL(driver)
    except OSError:
        return f"no NVIDIA GPU driver found ({driver} does not load)"
    _preload_pip_cuda_libraries()
    capi = Path(ort.__file__).parent / "capi"
    libraries = {p.name.split(".")[0].removeprefix("lib"): p for p in capi.glob("*onnxruntime_providers_*")}
    try:
        if "onnxruntime_providers_shared" in libraries:
            ctypes.CDLL(str(libraries["onnxruntime_providers_shared"]), mode=ctypes.RTLD_GLOBAL)
        library = libraries.get(f"onnxruntime_providers_{provider}")
        if library is not None:
            ctypes.CDLL(str(library))
    except OSError as error:
        what = "TensorRT/CUDA" if provider == "tensorrt" else "CUDA/cuDNN"
        return f"{what} libraries missing: {error}"
    return None


# What the GPU providers load, by soname stem; the majors tried cover CUDA 11-13, cuDNN 8-9, TensorRT 8-10.
_GPU_LIBRARIES = {"CUDA driver": ("cuda", (1,)), "CUDA runtime": ("cudart", (13, 12, 11)),
                  "cuBLAS": ("cublas", (13, 12, 11)), "cuBLASLt": ("cublasLt", (13, 12, 11)),
                  "cuFFT": ("cufft", (12, 11, 10)), "cuRAND": ("curand", (10,)), "cuDNN": ("cudnn", (9, 8)),
                  "TensorRT": ("nvinfer", (10, 9, 8))}


def gpu_libraries() -> list[tuple[str, str | None]]:
    """Each library the CUDA and TensorRT providers need, with the file the loader finds (None: not
    found), after the pip ``nvidia-*`` packages are preloaded as a session would. Linux names."""
    _preload_pip_cuda_libraries()
    found: list[tuple[str, str | None]] = []
    for label, (stem, majors) in _GPU_LIBRARIES.items():
        path = None
        for major in majors:
            soname = f"lib{stem}.so.{major}"
            try:
                ctypes.CDLL(soname)
            except OSError:
                continue
            path = _loaded_path(soname) or soname
            break
        found.append((label, path))
    return found


def _loaded_path(soname: str) -> str | None:
    """Where the loader took ``soname`` from, read from this process's memory map (Linux)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if Path(path).name.startswith(soname):
            return path
    return None


def gpu_name(device_id: int = 0) -> str | None:
    """The NVIDIA GPU's name from the CUDA driver, or None without a usable driver and GPU."""
    driver_name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        driver = ctypes.CDLL(driver_name)
    except OSError:
        return None
    device = ctypes.c_int()
    name = ctypes.create_string_buffer(256)
    if driver.cuInit(0) != 0 or driver.cuDeviceGet(ctypes.byref(device), device_id) != 0:
        return None
    if driver.cuDeviceGetName(name, len(name), device) != 0:
        return None
    return name.value.decode(errors="replace")


def _provider_options(provider: str, device_id: int, cuda_stream: int = 0) -> tuple[str, dict[str, str]]:
    # A caller's CUDA stream (the torch path's, one per model node): the provider computes on it, so
    # crops written there need no wait before the model reads them.
    stream = {"has_user_compute_stream": "1", "user_compute_stream": str(cuda_stream)} if cuda_stream else {}
    if provider == "tensorrt":
        engines = livepose_home() / "tensorrt"
        return EXECUTION_PROVIDERS[provider], {
            **stream,
            "device_id": str(device_id),
            # Building TensorRT engines takes minutes; cache them next to the converted models.
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": str(engines),
            "trt_timing_cache_enable": "True",
            "trt_timing_cache_path": str(engines),
        }
    if provider == "cuda":
        return EXECUTION_PROVIDERS[provider], {**stream, "device_id": str(device_id)}
    return EXECUTION_PROVIDERS["cpu"], {}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | str | None, ...]
    type: str  # onnxruntime's type string, e.g. "tensor(float)"


class ModelSession:
    """An onnxruntime session for one model, on the best (or requested) execution provider.

    ``model`` is a zoo name (prepared on first use) or a path to an .onnx file. ``provider`` is
    ``auto | tensorrt | cuda | cpu``; ``self.provider`` tells which one the session really uses.
    Thread counts of 0 leave onnxruntime's defaults. ``optimization`` is the graph optimization level.
    ``dynamic_batch`` loads a zoo model's variant with a dynamic batch axis; ``max_batch`` says how many
    items one call of the loaded model takes (None: any number). ``cuda_stream`` (a ``cudaStream_t`` as
    an integer) makes the GPU providers compute on that stream; ``self.cuda_stream`` keeps it (0: their own).
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        provider: Provider = "auto",
        intra_op_threads: int = 0,
        inter_op_threads: int = 0,
        optimization: OptimizationLevel = "all",
        device_id: int = 0,
        dynamic_batch: bool = False,
        cuda_stream: int = 0,
    ) -> None:
        if provider not in PROVIDERS:
            raise UserError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        if optimization not in _OPTIMIZATION_LEVELS:
            raise UserError(
                f"unknown optimization level {optimization!r}; choose one of {', '.join(_OPTIMIZATION_LEVELS)}"
            )
        if intra_op_threads < 0 or inter_op_threads < 0:
            raise UserError("thread counts must be 0 (onnxruntime's default) or positive")
        self.path = resolve_model(model, dynamic_batch=dynamic_batch)
        self.requested_provider = provider
        self.device_id = device_id

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.graph_optimization_level = _OPTIMIZATION_LEVELS[optimization]

        candidates = ["tensorrt", "cuda"] if provider == "auto" else [provider]
        problems = {p: provider_problem(p) for p in candidates}
        if provider != "auto" and problems[provider]:
            raise UserError(
                f"provider {provider!r} cannot run on this machine: {problems[provider]}. "
                "Use provider 'auto' (falls back to the CPU) or 'cpu'"
            )
        usable = [p for p in candidates if problems[p] is None]
        # TensorRT hands the nodes it cannot run to the next providers, so CUDA follows it when usable.
        chain = [*usable, *(["cuda"] if provider == "tensorrt" and provider_problem("cuda") is None else []), "cpu"]
        providers = [_provider_options(p, device_id, cuda_stream) for p in dict.fromkeys(chain)]
        stat = self.path.stat()
        key = (str(self.path.resolve()), stat.st_mtime_ns, stat.st_size, repr(providers), intra_op_threads,
               inter_op_threads, optimization)
        try:
            self.session = _shared_session(key, lambda: ort.InferenceSession(str(self.path), options,
                                                                             providers=providers))
        except Exception as error:  # onnxruntime raises its own exception types for invalid models
            raise UserError(f"onnxruntime cannot load {self.path}: {error}") from None
        self.provider: str = _SHORT_NAMES[self.session.get_providers()[0]]
        self.cuda_stream = cuda_stream if self.provider in ("tensorrt", "cuda") else 0
        record_provider(self.path.name, self.provider)

        if provider != "auto" and self.provider != provider:
            raise UserError(
                f"provider {provider!r} failed to initialize for {self.path} (see onnxruntime's log above); "
                "use provider 'auto' or 'cpu'"
            )
        if provider == "auto" and self.provider == "cpu":
            reason = (
                f"the {usable[0]} provider failed to initialize (see onnxruntime's log above)"
                if usable
                else problems["cuda"]
            )
            warn_once(logger, f"running models on the CPU: {reason}")

        self.inputs = tuple(TensorSpec(i.name, tuple(i.shape), i.type) for i in self.session.get_inputs())
        self.outputs = tuple(TensorSpec(o.name, tuple(o.shape), o.type) for o in self.session.get_outputs())
        self.input_names = tuple(spec.name for spec in self.inputs)
        first_axis = self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else None
        self.max_batch: int | None = first_axis if isinstance(first_axis, int) else None
        self.output_names = tuple(spec.name for spec in self.outputs)

    @property
    def on_gpu(self) -> bool:
        return self.provider in ("tensorrt", "cuda")

    @property
    def device_type(self) -> str:
        """onnxruntime's device name for tensors that stay with this session: "cuda" or "cpu"."""
        return "cuda" if self.on_gpu else "cpu"

    def _feeds(self, inputs: Mapping[str, object] | np.ndarray | ort.OrtValue) -> Mapping[str, object]:
        if not isinstance(inputs, Mapping):
            if len(self.input_names) != 1:
                raise UserError(f"{self.path.name} has inputs {list(self.input_names)}; pass a dict of them")
            return {self.input_names[0]: inputs}
        unknown = set(inputs) - set(self.input_names)
        missing = set(self.input_names) - set(inputs)
        if unknown or missing:
            raise UserError(
                f"{self.path.name} takes inputs {list(self.input_names)}; got {sorted(inputs)}"
            )
        return inputs

    def run(self, inputs: Mapping[str, np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
        """Run on host arrays; returns every output by name as a host array."""
        feeds = self._feeds(inputs)
        if not self.on_gpu:
            return dict(zip(self.output_names, self.session.run(None, dict(feeds)), strict=True))
        binding = self._bind(feeds)
        self.session.run_with_iobinding(binding)
        return dict(zip(self.output_names, binding.copy_outputs_to_cpu(), strict=True))

    def run_on_device(
        self, inputs: Mapping[str, np.ndarray | ort.OrtValue] | np.ndarray | ort.OrtValue
    ) -> dict[str, ort.OrtValue]:
        """Run with IO binding; outputs stay on the session's device (GPU memory on CUDA/TensorRT).

        Inputs may be host arrays (copied to the device once) or OrtValues already on the device,
        such as another session's outputs, so chained models never round-trip through the host.
        Call ``.numpy()`` on an output to fetch it.
        """
        binding = self._bind(self._feeds(inputs))
        self.session.run_with_iobinding(binding)
        return dict(zip(self.output_names, binding.get_outputs(), strict=True))

    def _bind(self, feeds: Mapping[str, object]) -> ort.IOBinding:
        binding = self.session.io_binding()
        for name, value in feeds.items():
            if isinstance(value, ort.OrtValue):
                binding.bind_ortvalue_input(name, value)
            else:
                array = np.ascontiguousarray(value)
                if self.on_gpu:
                    binding.bind_ortvalue_input(
                        name, ort.OrtValue.ortvalue_from_numpy(array, self.device_type, self.device_id)
                    )
                else:
                    binding.bind_cpu_input(name, array)
        for name in self.output_names:
            binding.bind_output(name, self.device_type, self.device_id)
        return binding


@dataclass(frozen=True)
class ProviderStatus:
    name: str  # "tensorrt" | "cuda" | "cpu"
    built_in: bool  # present in this onnxruntime build
    working: bool  # a session really ran on it
    detail: str  # why not, or "ok"


_SESSIONS: dict[tuple[object, ...], ort.InferenceSession] = {}
_SESSION_LOCKS: dict[tuple[object, ...], threading.Lock] = {}
_SESSIONS_LOCK = threading.Lock()


def _shared_session(key: tuple[object, ...], create: Callable[[], ort.InferenceSession]) -> ort.InferenceSession:
    """One onnxruntime session per model file (as it is on disk) and settings, for the life of the process:
    a second pipeline in the same process (a batch worker's next video, ``livepose.run`` again) starts
    without loading and optimizing the model again. onnxruntime sessions may run from several threads."""
    with _SESSIONS_LOCK:
        lock = _SESSION_LOCKS.setdefault(key, threading.Lock())
    # One lock per model: nodes loading different models at start-up still load them in parallel.
    with lock:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = create()
        return session


def check_providers() -> list[ProviderStatus]:
    """Which execution providers this onnxruntime has and which really work, with reasons."""
    probe = _probe_model()
    statuses = []
    for name, execution_provider in EXECUTION_PROVIDERS.items():
        built_in = execution_provider in ort.get_available_providers()
        problem = provider_problem(name)
        if problem is None:
            try:
                chain = [name] if name == "cpu" else [name, "cpu"]
                session = ort.InferenceSession(probe, providers=[_provider_options(p, 0) for p in chain])
                session.run(None, {"x": np.ones((1, 4), np.float32)})
                if session.get_providers()[0] != execution_provider:
                    problem = "failed to initialize (see onnxruntime's log above)"
            except Exception as error:  # report any provider failure instead of aborting the check
                problem = f"failed: {error}"
        statuses.append(ProviderStatus(name, built_in, problem is None, problem or "ok"))
    return statuses


def _probe_model() -> bytes:
    # onnx takes a second to import (ml_dtypes): only a provider check that needs the probe pays it.
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "provider_probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()
