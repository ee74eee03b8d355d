"""Mutated pipeline files either validate or fail as a located UserError, never with a traceback.

The files are the shipped pipelines (``pipelines/*.yaml``) put through seeded random mutations:
lines deleted, duplicated or swapped, keys and values changed to wrong types and extremes,
indentation broken, files truncated, junk characters and bytes, deep nesting, other encodings.
They are validated in-process (1,000 subprocesses would take minutes); a few also go through
the real ``livepose validate`` command, which must exit 0 or 2 and print no traceback.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from livepose.errors import UserError
from livepose.graph.problems import ProblemReport
from livepose.graph.spec import load_pipeline

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {path.name: path.read_text(encoding="utf-8") for path in sorted((ROOT / "pipelines").glob("*.yaml"))}
SEED = 14  # the number; any fixed seed makes a failure reproducible
COUNT = 1200
CLI_SAMPLE = 20

LONG = "x" * 5000
VALUES = [
    # integers: huge, negative, zero, other bases; floats and their YAML spellings
    "99999999999999999999999", "-1", "-99999999999999999999", "0", "1", "65", "100000", "0x1F", "0o17",
    "1_000", "9" * 5000, "0x" + "f" * 100, "1.5", "1e9", "1.0e+9", "-0.0", ".inf", "-.inf", ".nan",
    # other types
    "[]", "[1, 2]", "[a, b]", "{}", "{a: 1}", "{size: 2}", "null", "~", "", "true", "false", "yes", "off",
    "2024-01-01", "2024-02-30", "!!binary aGVsbG8=", "!!set {a, b}", "!!python/object:os.system x", "!!omap [a: 1]",
    "&anchor [*anchor]", "*undefined_alias", "<<: 1",
    # strings: long, unicode, quotes, YAML punctuation
    LONG, f"'{LONG}'", "ünïcødé ✋ 🙂", "\"\\u0000\"", "\"\\x01\"", "'", "\"", ": :", "- -", "|", ">", "{", "[",
    "]", "}", "#", "@", "`", "%YAML 1.1", "---", "...",
    # environment references: unterminated, unset, nested, empty
    "${", "${LIVEPOSE_SOURCE", "${LIVEPOSE_SOURCE:-0", "${UNSET_FUZZ_VARIABLE}", "${A:-${B}}", "${LIVEPOSE_SOURCE:-}",
    "${1BAD}", "$LIVEPOSE_SOURCE",
    # node types and stream names that exist elsewhere, so mutations reach the later checks
    "capture", "display", "merge", "visualize", "palm_detector", "face_tracker", "frames", "annotated",
    "hand_tracks", "livepose.graph.node:NodeContext", "json:loads", "no_such_module_fuzz:Node", "livepose:nothing",
    "realtime", "offline", "block", "latest", "drop_oldest", "stop", "skip_frame",
]
KEYS = [
    "name", "description", "mode", "max_in_flight", "source", "output", "queue", "streams", "nodes",
    "type", "inputs", "outputs", "params", "hotkey", "enabled", "on_error", "process", "nice",
    "size", "policy", "feedback", "frame", "tracked", "other", "max_num_faces", "nmae", "[a]", "{a: 1}",
    "? x", "null", "1", "ünï", "<<", "'quoted'", LONG,
]
JUNK_CHARS = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\ufeff", "\ufffe", "é", "\u2028", "\t", "\r", ":", "-"]
KEY_LINE = re.compile(r"^(\s*(?:- )?)([^\s:#][^:#]*):(\s*)(.*)$")


@dataclass
class Mutant:
    name: str
    content: bytes
    mutations: list[str]


# -- text mutations: each takes the lines and the random generator, and changes the lines in place ----
def _delete_line(lines: list[str], rng: random.Random) -> None:
    del lines[rng.randrange(len(lines))]


def _duplicate_line(lines: list[str], rng: random.Random) -> None:
    i = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[i])


def _swap_lines(lines: list[str], rng: random.Random) -> None:
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]


def _keyed(lines: list[str], rng: random.Random) -> tuple[int, re.Match[str]] | None:
    candidates = [(i, m) for i, line in enumerate(lines) if (m := KEY_LINE.match(line))]
    return rng.choice(candidates) if candidates else None


def _change_value(lines: list[str], rng: random.Random) -> None:
    found = _keyed(lines, rng)
    if found:
        i, m = found
        lines[i] = f"{m.group(1)}{m.group(2)}: {rng.choice(VALUES)}"


def _change_key(lines: list[str], rng: random.Random) -> None:
    found = _keyed(lines, rng)
    if found:
        i, m = found
        lines[i] = f"{m.group(1)}{rng.choice(KEYS)}:{m.group(3)}{m.group(4)}"


def _change_flow_value(lines: list[str], rng: random.Random) -> None:
    """A value inside ``{frame: frames, tracked: hand_tracks}`` or ``{feedback: true}``."""
    candidates = [(i, m) for i, line in enumerate(lines) for m in re.finditer(r"\b(\w+): ([\w.]+)(?=[,}])", line)]
    if candidates:
        i, m = rng.choice(candidates)
        line = lines[i]
        lines[i] = f"{line[:m.start(2)]}{rng.choice(VALUES)}{line[m.end(2):]}"


def _add_setting(lines: list[str], rng: random.Random) -> None:
    """A setting with an extreme value at the top level, in a node, or in a queue or stream."""
    value = rng.choice(VALUES)
    key = rng.choice(KEYS)
    line = rng.choice([
        f"{key}: {value}",
        f"    {key}: {value}",
        f"queue: {{size: {value}}}",
        f"queue: {{size: 2, policy: {value}}}",
        f"max_in_flight: {value}",
        f"source: {value}",
        f"name: {value}",
        f"    params: {{{key}: {value}}}",
        f"    process: {value}",
        f"    process: {{nice: {value}}}",
        f"    hotkey: {value}",
        f"    enabled: {value}",
        f"    on_error: {value}",
    ])
    if rng.random() < 0.3 and any(line.startswith("streams:") for line in lines):
        at = next(i for i, line in enumerate(lines) if line.startswith("streams:")) + 1
        lines.insert(at, f"  {rng.choice(['hand_tracks', 'face_tracks', 'frames', 'annotated'])}: "
                         f"{{{rng.choice(['size', 'feedback', 'policy', key])}: {value}}}")
    else:
        lines.insert(rng.randrange(len(lines) + 1), line)


def _break_indentation(lines: list[str], rng: random.Random) -> None:
    i = rng.randrange(len(lines))
    change = rng.choice(["more", "less", "tab"])
    if change == "more":
        lines[i] = " " * rng.randint(1, 3) + lines[i]
    elif change == "less":
        lines[i] = lines[i][rng.randint(1, 3):]
    else:
        lines[i] = "\t" + lines[i].lstrip(" ")


def _junk_chars(lines: list[str], rng: random.Random) -> None:
    i = rng.randrange(len(lines))
    at = rng.randint(0, len(lines[i]))
    lines[i] = lines[i][:at] + "".join(rng.choices(JUNK_CHARS, k=rng.randint(1, 3))) + lines[i][at:]


def _deep_nesting(lines: list[str], rng: random.Random) -> None:
    depth = rng.choice([30, 100, 500, 5000])
    opener, closer = rng.choice([("[", "]"), ("{a: ", "}"), ("- ", "")])
    nested = opener * depth + "1" + closer * depth if rng.random() < 0.7 else opener * depth
    if opener == "- ":  # block sequences nest by indentation, one item per line: the file grows as depth²
        nested = "\n" + "\n".join("  " * k + "- " for k in range(min(depth, 300))) + "1"
    found = _keyed(lines, rng)
    if found:
        i, m = found
        lines[i] = f"{m.group(1)}{m.group(2)}: {nested}"


def _truncate(lines: list[str], rng: random.Random) -> None:
    text = "\n".join(lines)
    lines[:] = text[:rng.randrange(len(text) + 1)].split("\n")


def _break_env(lines: list[str], rng: random.Random) -> None:
    found = [i for i, line in enumerate(lines) if "${" in line]
    if found:
        i = rng.choice(found)
        lines[i] = lines[i].replace("${LIVEPOSE_SOURCE:-0}", rng.choice(
            ["${LIVEPOSE_SOURCE", "${LIVEPOSE_SOURCE:-0", "${", "${}", "${LIVEPOSE_SOURCE:-}", "${ LIVEPOSE_SOURCE }",
             "${UNSET_FUZZ_VARIABLE}", "${A:-${B}}", "$${LIVEPOSE_SOURCE}", "${LIVEPOSE_SOURCE:-0}}"]))


TEXT_MUTATIONS: list[Callable[[list[str], random.Random], None]] = [
    _delete_line, _duplicate_line, _swap_lines, _change_value, _change_value, _change_key, _change_flow_value,
    _change_flow_value, _add_setting, _add_setting, _add_setting, _break_indentation, _junk_chars, _deep_nesting,
    _truncate, _break_env,
]


# -- byte mutations: the whole file's encoding, or binary content ---------------------------------
def _encode(text: str, rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choices(["utf-8", "latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "junk bytes",
                        "binary file", "empty"], weights=[70, 5, 4, 3, 2, 4, 6, 3, 1])[0]
    if kind == "latin-1":
        # Latin-1 differs from UTF-8 only beyond ASCII: put a non-ASCII letter in.
        at = rng.randrange(len(text) + 1)
        return (text[:at] + "é" + text[at:]).encode("latin-1", errors="replace"), kind
    if kind == "junk bytes":
        data = bytearray(text.encode("utf-8"))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) + 1)
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        return bytes(data), kind
    if kind == "binary file":
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000))), kind
    if kind == "empty":
        return rng.choice([b"", b"\n", b"# only a comment\n", b"   \n\n"]), kind
    return text.encode(kind, errors="surrogatepass"), kind


def mutants(count: int, seed: int) -> list[Mutant]:
    rng = random.Random(seed)
    shipped = sorted(SHIPPED)
    result = []
    for index in range(count):
        base = rng.choice(shipped)
        lines = SHIPPED[base].split("\n")
        applied = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            if not lines:
                break
            mutation = rng.choice(TEXT_MUTATIONS)
            mutation(lines, rng)
            applied.append(mutation.__name__.lstrip("_"))
        content, encoding = _encode("\n".join(lines), rng)
        applied.append(encoding)
        result.append(Mutant(f"m{index:04}_{base}", content, applied))
    return result


@pytest.fixture(scope="module")
def mutated_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Mutant]]:
    folder = tmp_path_factory.mktemp("fuzz")
    files = []
    for mutant in mutants(COUNT, SEED):
        path = folder / mutant.name
        path.write_bytes(mutant.content)
        files.append((path, mutant))
    return files


def _shown(mutant: Mutant, error: str) -> str:
    content = mutant.content if len(mutant.content) < 2000 else mutant.content[:2000] + b"..."
    return f"--- {mutant.name} ({', '.join(mutant.mutations)})\n{error}\n--- content:\n{content!r}"


def _line_count(content: bytes) -> int:
    """Lines as YAML counts them (it also breaks lines at \\r, NEL and U+2028), in any of the encodings."""
    utf16 = content.startswith((b"\xff\xfe", b"\xfe\xff"))
    text = content.decode("utf-16" if utf16 else "utf-8", errors="replace")
    return len(re.findall("\r\n|[\n\r\x85\u2028\u2029]", text)) + 1


def _check_report(path: Path, mutant: Mutant, exc: UserError) -> str | None:
    """What is wrong with a UserError's report, or None: it names the file, and lines within it."""
    message = str(exc)
    if not message.startswith(str(path)):
        return f"the message does not start with the file's name:\n{message}"
    if isinstance(exc, ProblemReport):
        last_line = _line_count(mutant.content)
        for problem in exc.problems:
            if problem.file != str(path):
                return f"a problem names another file: {problem}"
            if not 0 <= problem.line <= last_line:
                return f"line {problem.line} is outside the file (1 to {last_line}): {problem}"
            if not problem.warning and not problem.fix:
                return f"an error without a fix: {problem}"
    return None


def test_every_mutated_pipeline_validates_or_fails_as_a_located_user_error(
        mutated_files: list[tuple[Path, Mutant]]) -> None:
    failures = []
    outcomes = {"ok": 0, "user error": 0}
    started = time.perf_counter()
    for path, mutant in mutated_files:
        try:
            load_pipeline(path)
            outcomes["ok"] += 1
        except UserError as exc:
            outcomes["user error"] += 1
            wrong = _check_report(path, mutant, exc)
            if wrong:
                failures.append(_shown(mutant, wrong))
        except BaseException:  # noqa: BLE001 - a crash of any kind (RecursionError too) is what we look for
            failures.append(_shown(mutant, traceback.format_exc(limit=-6)))
    elapsed = time.perf_counter() - started
    assert not failures, f"{len(failures)} of {len(mutated_files)} files:\n\n" + "\n\n".join(failures[:8])
    # Both outcomes occur, or the mutations have stopped testing anything.
    assert outcomes["ok"] > 20 and outcomes["user error"] > COUNT // 2, outcomes
    assert elapsed < 30, f"validating {COUNT} files took {elapsed:.1f} s"


def test_the_livepose_command_exits_0_or_2_without_a_traceback(mutated_files: list[tuple[Path, Mutant]]) -> None:
    script = Path(sys.executable).parent / "livepose"
    assert script.exists(), f"no livepose console script beside {sys.executable}; pip install -e . first"
    sample = mutated_files[::len(mutated_files) // CLI_SAMPLE][:CLI_SAMPLE]

    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), "validate", str(path)], cwd=path.parent, capture_output=True,
                              text=True, timeout=120, check=False)

    # A run is mostly interpreter start-up and imports: two at a time keep two cores busy without thrashing.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(validate, [path for path, _ in sample]))
    failures = [_shown(mutant, f"exit {run.returncode}\nstdout: {run.stdout}\nstderr: {run.stderr}")
                for (_, mutant), run in zip(sample, results)
                if run.returncode not in (0, 2) or "Traceback" in run.stderr]
    assert not failures, "\n\n".join(failures)
