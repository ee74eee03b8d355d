"""A pipeline file read as text: size bounded, UTF-8 or BOM-marked UTF-16 decoded, faults located.

Encoding: a pipeline file is UTF-8. A byte-order mark is unambiguous, so a UTF-8 file with one,
and a UTF-16 file with one (what Windows editors and PowerShell's ``>`` write), are decoded too.
Anything else that is not valid UTF-8 (Latin-1, UTF-16 without a mark, binary data) is reported
with the line and column of the first bad byte.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from livepose.graph.problems import Problem, ProblemReport

MAX_FILE_BYTES = 1 << 20
"""Pipeline files are a few kilobytes; anything over a MiB is some other file given by mistake (a
video), and is not read into memory whole just to say so."""

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
"""Line breaks as YAML counts them, so that positions found here agree with YAML's own marks."""


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]``."""
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    return len(breaks) + 1, index - (breaks[-1].end() if breaks else 0) + 1


def decode_text(data: bytes, path: str) -> str:
    """The text of a pipeline file's bytes: UTF-8, or UTF-8 or UTF-16 with a byte-order mark."""
    codec, body = "utf-8", data
    for bom, name in _BOMS:
        if data.startswith(bom):
            codec, body = name, data[len(bom):]
            break
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        before = body[:exc.start].decode(codec, errors="replace")
        line, column = position(before, len(before))
        label = "UTF-8" if codec == "utf-8" else "UTF-16"
        problem = (f"byte 0x{body[exc.start]:02x}" if codec == "utf-8"
                   else f"bytes {body[exc.start:exc.end].hex(' ')}")
        raise ProblemReport([Problem(
            path, line, None, f"not {label} text: {problem} at line {line}, column {column}",
            "save the file as UTF-8 text (a video or image is a --source, not a pipeline file)")]) from None


def read_text_file(path: str | Path) -> str:
    """The pipeline file's text; any fault (no file, a folder, too large, not text) is a ProblemReport."""
    file = Path(path)
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        if file.is_dir():
            problem, fix = "it is a folder", "give the .yaml file itself (the packaged ones are in pipelines/)"
        elif isinstance(exc, PermissionError):
            problem, fix = "permission denied", "make the file readable (chmod u+r), or run as its owner"
        elif isinstance(exc, FileNotFoundError):
            problem, fix = "no such file", "check the path (pipelines live in pipelines/*.yaml)"
        else:
            problem, fix = exc.strerror or str(exc), "check the path (pipelines live in pipelines/*.yaml)"
        raise ProblemReport([Problem(str(path), 0, None, f"cannot read the pipeline file: {problem}", fix)]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ProblemReport([Problem(str(path), 0, None, f"the file is over {MAX_FILE_BYTES >> 20} MiB, too large "
                                     "for a pipeline file", "give the pipeline's .yaml file (a video is a --source)")])
    return decode_text(data, str(path))
