"""What ``livepose batch`` runs on: the inputs a user names, expanded to video files.

- ``expand_inputs(arguments) -> list[BatchInput]``: each argument is a video file, a folder (its videos,
  recursively), a glob, or a list file (``.txt``/``.lst``: one of those per line, ``#`` comments; relative
  paths are taken from the list's folder). Order is kept, duplicates dropped; an argument that names
  nothing is a ``UserError`` saying so.
- ``BatchInput(path, name)``: ``name`` is the input's path relative to the folder or glob root it came
  from (the file name for a file named directly), without its suffix: where its outputs go under ``--out``.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from livepose.errors import UserError

__all__ = ["VIDEO_SUFFIXES", "BatchInput", "expand_inputs"]

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
LIST_SUFFIXES = frozenset({".txt", ".lst"})


@dataclass(frozen=True)
class BatchInput:
    path: Path
    name: str


def _videos_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def _glob_root(pattern: str) -> Path:
    """The part of a glob before its first wildcard: what names are relative to."""
    parts = Path(pattern).parts
    fixed = [part for part in parts[: next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))]]
    return Path(*fixed) if fixed else Path(".")


def _expand_one(argument: str, base: Path) -> list[BatchInput]:
    path = Path(argument).expanduser()
    if not path.is_absolute():
        path = base / path
    if glob.has_magic(argument):
        root = _glob_root(str(path))
        found = sorted(Path(p) for p in glob.glob(str(path), recursive=True)
                       if Path(p).is_file() and Path(p).suffix.lower() in VIDEO_SUFFIXES)
        return [BatchInput(p, p.relative_to(root).with_suffix("").as_posix()) for p in found]
    if path.is_dir():
        return [BatchInput(p, p.relative_to(path).with_suffix("").as_posix()) for p in _videos_under(path)]
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"cannot read the list of inputs {path}: {error}") from None
        items: list[BatchInput] = []
        for line in lines:
            entry = line.split("#", 1)[0].strip()
            if entry:
                items.extend(_expand_one(entry, path.parent))
        return items
    if path.is_file():
        return [BatchInput(path, path.stem)]
    raise UserError(f"batch input {argument!r} is neither a video file, a folder, a glob with matches nor a "
                    "list file (.txt, one input per line)")


def expand_inputs(arguments: list[str] | tuple[str, ...]) -> list[BatchInput]:
    """The videos ``arguments`` name, in order, each once (see module docstring)."""
    seen: set[Path] = set()
    names: dict[str, Path] = {}
    expanded: list[BatchInput] = []
    for argument in arguments:
        found = _expand_one(argument, Path.cwd())
        if not found:
            raise UserError(f"batch input {argument!r} holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
        for item in found:
            resolved = item.path.resolve()
            if resolved in seen:
                continue
            if item.name in names:
                raise UserError(f"two inputs would write to the same outputs '{item.name}': {names[item.name]} "
                                f"and {item.path}; name them through different folders")
            seen.add(resolved)
            names[item.name] = item.path
            expanded.append(item)
    return expanded
