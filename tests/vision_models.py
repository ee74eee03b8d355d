"""Model and media access for the vision tests (a helper module, not a conftest).

Models are ``livepose.vision.tracking.ModelFn`` callables (NHWC float32 batch in, outputs by name).
``load_model`` gives the product's models: the project's model cache, when
``livepose.models.resolve_model(zoo_name)`` yields an ONNX file (run with onnxruntime on the CPU), else the
TFLite originals. ``load_tflite_model`` gives MediaPipe's own ``.tflite`` models, run with
``ai_edge_litert``: unpacked from the mediapipe 0.10.21 wheel under ``$LIVEPOSE_MEDIAPIPE_MODELS``
(default ``/tmp/mp_models``), or read from the wheel the project's model cache keeps. Tests that need a
model skip with the reason when it is unavailable.

Media come from ``$LIVEPOSE_MEDIA`` or ``<repo>/../shared/media``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pytest

ModelFn = Callable[[np.ndarray], Mapping[str, np.ndarray]]

TFLITE_ROOT = Path(os.environ.get("LIVEPOSE_MEDIAPIPE_MODELS", "/tmp/mp_models"))
MODEL_THREADS = 2


def _onnx_model(zoo_name: str) -> ModelFn | None:
    try:
        from livepose import models
    except ImportError:
        return None
    resolve = getattr(models, "resolve_model", None)
    if resolve is None:
        return None
    try:
        path = Path(resolve(zoo_name))
    except Exception:  # not downloaded/converted in this environment: fall back to TFLite
        return None
    if path.suffix != ".onnx" or not path.exists():
        return None
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = MODEL_THREADS
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    model_input = session.get_inputs()[0]
    channels_first = model_input.shape[1] == 3
    output_names = [output.name for output in session.get_outputs()]

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        tensor = np.ascontiguousarray(batch.transpose(0, 3, 1, 2)) if channels_first else batch
        fixed_batch = model_input.shape[0] == 1
        if fixed_batch and batch.shape[0] > 1:
            results = [session.run(output_names, {model_input.name: tensor[i : i + 1]}) for i in range(len(tensor))]
            return {name: np.concatenate([r[k] for r in results]) for k, name in enumerate(output_names)}
        return dict(zip(output_names, session.run(output_names, {model_input.name: tensor})))

    return run


def _tflite_bytes(zoo_name: str) -> bytes | None:
    stem = zoo_name.rsplit("/", 1)[-1]
    matches = sorted(TFLITE_ROOT.glob(f"**/{stem}.tflite"))
    if matches:
        return matches[0].read_bytes()
    try:
        from livepose.models.cache import ModelCache
        from livepose.models.zoo import get_model

        return ModelCache().read_tflite(get_model(zoo_name))
    except Exception:  # no cache module, no wheel and no network: the caller skips
        return None


def _tflite_model(zoo_name: str) -> ModelFn | None:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return None
    content = _tflite_bytes(zoo_name)
    if content is None:
        return None
    interpreter = Interpreter(model_content=content, num_threads=MODEL_THREADS)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    outputs = [(detail["name"], detail["index"]) for detail in interpreter.get_output_details()]

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        # The TFLite models have a fixed batch of 1.
        collected: dict[str, list[np.ndarray]] = {name: [] for name, _ in outputs}
        for item in batch:
            interpreter.set_tensor(input_index, np.ascontiguousarray(item[None], dtype=np.float32))
            interpreter.invoke()
            for name, index in outputs:
                collected[name].append(interpreter.get_tensor(index).copy())
        return {name: np.concatenate(values) for name, values in collected.items()}

    return run


def load_model(zoo_name: str) -> ModelFn:
    """``zoo_name`` like ``mediapipe/palm_detection_full``; skips the calling test when unavailable."""
    model = _onnx_model(zoo_name) or _tflite_model(zoo_name)
    if model is None:
        pytest.skip(
            f"model {zoo_name} unavailable: livepose.models.resolve_model gave no ONNX file and no .tflite under "
            f"{TFLITE_ROOT} (unzip mediapipe/modules/**/*.tflite of the mediapipe 0.10.21 wheel there)"
        )
    return model


def load_tflite_model(zoo_name: str) -> ModelFn:
    """MediaPipe's own TFLite model; skips the calling test when unavailable."""
    model = _tflite_model(zoo_name)
    if model is None:
        pytest.skip(
            f"TFLite model {zoo_name} unavailable: need ai_edge_litert and either {TFLITE_ROOT}/**/"
            f"{zoo_name.rsplit('/', 1)[-1]}.tflite or the mediapipe wheel in the project's model cache"
        )
    return model
