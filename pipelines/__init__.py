"""The ready-made pipelines, installed as ``livepose.pipelines``: ``livepose run hands_face``.

This folder stays at the repository root (where the project layout puts the pipelines) and is
shipped inside the package by ``[tool.setuptools.package-dir]`` in pyproject.toml, so a name works
from any folder in both regular and editable installs.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from livepose.errors import UserError
from livepose.graph.problems import did_you_mean

_SUFFIXES = (".yaml", ".yml")


def folder() -> Path:
    """The folder the packaged pipelines are installed in (copy one from here to make a variant)."""
    # pip installs the package as plain files, never zipped, so its resources are real files.
    return Path(str(files(__name__)))


def _packaged() -> dict[str, Path]:
    """Packaged name -> file."""
    return {path.stem: path for path in folder().iterdir() if path.suffix in _SUFFIXES and path.is_file()}


def names() -> list[str]:
    """The names of the packaged pipelines, sorted (``hands``, ``face``, ``hands_face``...)."""
    return sorted(_packaged())


def description(name: str) -> str:
    """The first comment line of the packaged pipeline ``name`` (what it does), or "" when it has none."""
    with _packaged()[name].open(encoding="utf-8") as stream:
        for line in stream:
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return ""


def find(name_or_path: str | os.PathLike[str]) -> Path:
    """The pipeline file a user means: an existing file, else a packaged pipeline's name.

    The name may end in ``.yaml``. A file that exists wins, so a local ``hands.yaml`` is run instead
    of the packaged one. Raises UserError, naming the packaged pipelines, when neither matches.
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    packaged = _packaged()
    stem = text.removesuffix(path.suffix) if path.suffix in _SUFFIXES else text
    if stem in packaged and not (path.is_dir() and path.suffix in _SUFFIXES):
        return packaged[stem]
    if path.exists():
        return path  # a folder named like a pipeline file: the loader says what is wrong with it
    # Worded as the loader words an unreadable file: "file: error: ...", then the fix.
    if path.parent != Path("."):
        problem = "no such file"  # a path with folders is never a name
    else:
        hint = did_you_mean(stem, packaged)
        problem = f"no such file, and no packaged pipeline has that name{f' ({hint})' if hint else ''}"
    raise UserError(
        f"{text}: error: cannot read the pipeline file: {problem}\n    fix: give a pipeline file or a "
        f"packaged name: {', '.join(sorted(packaged))} (`livepose pipelines` lists them)"
    )
