"""livepose.gpu.preprocess against the OpenCV path (livepose.vision.image_to_tensor) on real frames.

``method="exact"`` must be bit-equal; ``method="float"`` (grid_sample) within the tolerance its module
docstring states: max abs difference < 4.5/255 and mean < 0.25/255 of the value range ([0, 1] units).
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is the optional extra livepose[torch] that livepose.gpu needs")
cv2 = pytest.importorskip("cv2")

from livepose.gpu import preprocess as gpu
from livepose.vision import image_to_tensor as cpu
from livepose.vision.rects import NormalizedRect
from tests.media_paths import HD_CLIP, SHORT_CLIP, media_file

SPECS = (cpu.PALM_DETECTOR_INPUT, cpu.HAND_LANDMARK_INPUT, cpu.FACE_DETECTOR_INPUT, cpu.FACE_LANDMARK_INPUT)
FLOAT_MAX_LEVELS = 4.5  # of 255, see the preprocess docstring for why
FLOAT_MEAN_LEVELS = 0.25


def _first_frame(clip: str) -> np.ndarray:
    capture = cv2.VideoCapture(str(media_file(clip)))
    ok, frame = capture.read()
    capture.release()
    assert ok, clip
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module", params=[SHORT_CLIP, HD_CLIP, "mmpose/tests/data/freihand/00000355.jpg"],
                ids=["540x720", "1280x720", "freihand"])
def image(request: pytest.FixtureRequest) -> np.ndarray:
    if request.param.endswith(".jpg"):
        return cv2.cvtColor(cv2.imread(str(media_file(request.param))), cv2.COLOR_BGR2RGB)
    return _first_frame(request.param)


def _rects(seed: int, count: int = 12) -> list[NormalizedRect]:
    # Rotated, small and large, partly or wholly outside the image: every border case of the warp.
    rng = np.random.default_rng(seed)
    rects = [NormalizedRect(float(rng.uniform(-0.2, 1.2)), float(rng.uniform(-0.2, 1.2)),
                            float(rng.uniform(0.03, 1.3)), float(rng.uniform(0.03, 1.3)),
                            float(rng.uniform(-math.pi, math.pi))) for _ in range(count)]
    return rects + [NormalizedRect(0.5, 0.5, 0.3, 0.3, 0.0), NormalizedRect(0.4, 0.6, 0.25, 0.4, math.pi / 2)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.width}x{s.height}/{s.border}/{s.value_min:g}")
def test_exact_crops_equal_the_opencv_path_bit_for_bit(image: np.ndarray, spec: cpu.TensorSpec) -> None:
    rects = _rects(spec.width)
    expected, expected_paddings = cpu.crops_to_batch(image, rects, spec)
    tensors, paddings = gpu.crops_to_batch(gpu.upload_frame(image), rects, spec)
    assert tensors.dtype == torch.float32 and tuple(tensors.shape) == expected.shape
    np.testing.assert_array_equal(tensors.numpy(), expected)
    np.testing.assert_array_equal(paddings, expected_paddings)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.width}x{s.height}/{s.border}/{s.value_min:g}")
def test_float_crops_are_within_the_stated_tolerance(image: np.ndarray, spec: cpu.TensorSpec) -> None:
    rects = _rects(spec.height + 1)
    expected, _ = cpu.crops_to_batch(image, rects, spec)
    tensors, _ = gpu.crops_to_batch(gpu.upload_frame(image), rects, spec, method="float")
    levels = np.abs(tensors.numpy() - expected) / (spec.value_max - spec.value_min) * 255
    assert levels.max() < FLOAT_MAX_LEVELS
    assert levels.mean() < FLOAT_MEAN_LEVELS


@pytest.mark.parametrize("method", ["exact", "float"])
def test_letterboxed_detector_inputs(image: np.ndarray, method: gpu.Method) -> None:
    frame = gpu.upload_frame(image)
    for spec in (cpu.PALM_DETECTOR_INPUT, cpu.FACE_DETECTOR_INPUT):
        expected, expected_padding = cpu.image_to_letterboxed_tensor(image, spec)
        for _ in range(2):  # the second call uses the kept plan
            tensor, padding = gpu.image_to_letterboxed_tensor(frame, spec, method=method)
            assert padding == expected_padding
            difference = np.abs(tensor.numpy() - expected) / (spec.value_max - spec.value_min) * 255
            assert difference.max() == 0 if method == "exact" else difference.max() < FLOAT_MAX_LEVELS


def test_inputs_as_numpy_or_torch_and_the_empty_batch(image: np.ndarray) -> None:
    rects = _rects(3, 2)
    spec = cpu.HAND_LANDMARK_INPUT
    from_frame, _ = gpu.crops_to_batch(gpu.upload_frame(image), rects, spec)
    from_numpy, _ = gpu.crops_to_batch(image, rects, spec)
    from_torch, _ = gpu.crops_to_batch(torch.from_numpy(image), rects, spec)
    assert torch.equal(from_frame, from_numpy) and torch.equal(from_frame, from_torch)
    empty, paddings = gpu.crops_to_batch(image, [], spec)
    assert tuple(empty.shape) == (0, 224, 224, 3) and paddings.shape == (0, 4)
    with pytest.raises(ValueError, match="RGB uint8"):
        gpu.upload_frame(image.astype(np.float32))
    with pytest.raises(ValueError, match="unknown method"):
        gpu.crops_to_batch(image, rects, spec, method="nearest")  # type: ignore[arg-type]


def test_nothing_but_livepose_gpu_imports_torch() -> None:
    # Every other module of the package, imported in a fresh interpreter, leaves torch unloaded; the one
    # other module that needs torch is livepose export's exporter, which only that command imports.
    code = (
        "import importlib, pathlib, sys, livepose\n"
        "root = pathlib.Path(livepose.__file__).parent\n"
        "names = sorted('.'.join(('livepose', *p.relative_to(root).with_suffix('').parts)).removesuffix('.__init__')\n"
        "               for p in root.rglob('*.py'))\n"
        "names = [n for n in names if not n.startswith('livepose.gpu') and n not in "
        "         ('livepose.__main__', 'livepose.torch_export.onnx_export')]\n"
        "for name in names: importlib.import_module(name)\n"
        "assert 'livepose.gpu' not in sys.modules\n"
        "print(len(names), 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    count, loaded = result.stdout.split()
    assert int(count) > 20 and loaded == "False", result.stdout
