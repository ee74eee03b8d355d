"""The pipelines shipped in the package: found by name from any folder, listed, and built into the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from livepose.errors import UserError
from livepose.pipelines import description, find, folder, names

ROOT = Path(__file__).resolve().parents[1]
LIVEPOSE = shutil.which("livepose", path=str(Path(sys.executable).parent))
DEMOS = ("face", "hands", "hands_face")


def livepose(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert LIVEPOSE, f"no livepose console script beside {sys.executable}; pip install -e . first"
    return subprocess.run([LIVEPOSE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_names_are_the_repository_pipelines() -> None:
    assert names() == sorted(p.stem for p in (ROOT / "pipelines").glob("*.yaml"))
    assert set(DEMOS) <= set(names())
    for name in DEMOS:
        assert find(name).read_bytes() == (ROOT / "pipelines" / f"{name}.yaml").read_bytes()
        assert find(name).parent == folder()


def test_livepose_pipelines_lists_each_with_its_first_comment(tmp_path: Path) -> None:
    result = livepose("pipelines", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in DEMOS:
        first_comment = (ROOT / "pipelines" / f"{name}.yaml").read_text().splitlines()[0].lstrip("# ")
        assert description(name) == first_comment
        assert any(line.split()[:1] == [name] and line.endswith(first_comment) for line in lines), result.stdout


@pytest.mark.parametrize("name", ["hands_face", "hands_face.yaml"])
def test_validate_by_name_from_another_folder(tmp_path: Path, name: str) -> None:
    result = livepose("validate", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{name}: ok (")


def test_a_wrong_name_exits_2_and_lists_the_names(tmp_path: Path) -> None:
    result = livepose("validate", "hand", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "did you mean 'hands'?" in result.stderr
    assert ", ".join(names()) in result.stderr and "livepose pipelines" in result.stderr


def test_find_prefers_an_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hands.yaml").write_text("nodes: []\n")
    (tmp_path / "face").write_text("nodes: []\n")
    assert find("hands.yaml") == Path("hands.yaml")
    assert find(tmp_path / "hands.yaml") == tmp_path / "hands.yaml"
    assert find("face") == Path("face")
    assert find("hands") == folder() / "hands.yaml", "no file called 'hands': the packaged one"
    (tmp_path / "hands_face").mkdir()
    assert find("hands_face") == folder() / "hands_face.yaml", "a folder is not a pipeline file"


def test_find_of_a_missing_path_names_the_packaged_pipelines(tmp_path: Path) -> None:
    with pytest.raises(UserError) as error:
        find(tmp_path / "missing.yaml")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'missing.yaml'}: error: cannot read the pipeline file: no such file")
    assert "packaged pipeline has that name" not in message, "a path with folders is never a name"
    assert ", ".join(names()) in message


def test_the_wheel_holds_every_package_and_the_pipelines(tmp_path: Path) -> None:
    # Built from a copy, so the build leaves nothing in the working tree; offline, with this
    # environment's setuptools.
    source = tmp_path / "source"
    for part in ("livepose", "pipelines"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300, check=False, env=dict(os.environ, PIP_NO_INPUT="1"),
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("livepose-*.whl")
    members = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted(str(p.relative_to(ROOT).as_posix()) for p in (ROOT / "livepose").rglob("__init__.py")
                      if "__pycache__" not in p.parts)
    missing = [p for p in packages if p not in members]
    assert missing == [], "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert "livepose/py.typed" in members
    assert {f"livepose/pipelines/{p.name}" for p in (ROOT / "pipelines").iterdir()
            if p.suffix == ".yaml" or p.name == "__init__.py"} <= members
