"""Run one pipeline over many inputs, each offline, with per-input outputs that are never left half written.

- ``BatchOptions(pipeline, out, settings=(), record=False, max_frames=None)``.
- ``outputs_of(item, options) -> dict[str, Path]``: where an input's outputs go: ``<out>/<name>/``
  ``keypoints.jsonl`` and ``metrics.json`` (and ``recording.mp4`` with ``record``).
- ``is_complete(item, options)``: all of them exist. They are written under temporary names and renamed
  into place only after the run succeeded, so an input killed half way is never taken for done.
- ``run_input(item, options) -> BatchRow``: one input, in this process (what each worker does).
- ``run_batch(items, options, workers=1, progress=None, retries=1) -> list[BatchRow]``: the inputs not
  complete yet, ``workers`` at a time in separate processes (each input in a fresh pipeline, so results
  equal a single run's); a failing input is reported in its row and the others go on; an input whose
  worker process died is run again up to ``retries`` times; ``<out>/summary.json`` holds every row.
  ``ray_address`` (``""``: a local Ray started for the batch) runs the inputs as Ray tasks instead
  (``livepose.batch.on_ray``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

from livepose.batch.inputs import BatchInput
from livepose.errors import UserError

__all__ = ["BatchOptions", "BatchRow", "is_complete", "outputs_of", "run_batch", "run_input"]

PART = ".part"


@dataclass(frozen=True)
class BatchOptions:
    pipeline: str
    out: Path
    settings: tuple[str, ...] = ()
    record: bool = False
    max_frames: int | None = None


@dataclass
class BatchRow:
    """One input's outcome: ``status`` is ``done``, ``skipped`` (complete from an earlier run) or ``failed``."""

    input: str
    name: str
    status: str
    frames: int = 0
    seconds: float = 0.0
    error: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    """How many processes ran it: more than one when a worker died under it (and it was run again)."""


def outputs_of(item: BatchInput, options: BatchOptions) -> dict[str, Path]:
    folder = options.out / item.name
    outputs = {"keypoints": folder / "keypoints.jsonl", "metrics": folder / "metrics.json"}
    if options.record:
        outputs["recording"] = folder / "recording.mp4"
    return outputs


def _temporary(path: Path) -> Path:
    # The recorder wants an .mp4 name: the marker goes before the suffix.
    return path.with_name(f"{path.stem}{PART}{path.suffix}")


def is_complete(item: BatchInput, options: BatchOptions) -> bool:
    return all(path.is_file() for path in outputs_of(item, options).values())


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class _FirstErrors(logging.Handler):
    """The error messages a run logs (a node's reason for failing), for the input's row."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_input(item: BatchInput, options: BatchOptions) -> BatchRow:
    """Run the pipeline on one input (see module docstring); never raises for a bad input."""
    from livepose.graph.runner import Runner
    from livepose.graph.spec import Overrides, load_pipeline
    from livepose.pipelines import find

    outputs = outputs_of(item, options)
    temporary = {kind: _temporary(path) for kind, path in outputs.items()}
    row = BatchRow(str(item.path), item.name, "failed")
    started = time.monotonic()
    errors = _FirstErrors()
    logger = logging.getLogger("livepose")
    logger.addHandler(errors)
    try:
        outputs["keypoints"].parent.mkdir(parents=True, exist_ok=True)
        sinks = [{"name": "keypoints_batch", "type": "export_keypoints", "inputs": "$output",
                  "params": {"path": str(temporary["keypoints"])}}]
        if options.record:
            sinks.append({"name": "record_batch", "type": "record", "inputs": "$output",
                          "params": {"path": str(temporary["recording"])}})
        spec = load_pipeline(find(options.pipeline), Overrides(mode="offline", source=str(item.path),
                                                               settings=list(options.settings), extra_nodes=sinks))
        result = Runner(spec, headless=True, max_frames=options.max_frames, install_signal_handlers=False).run()
        row.frames = result.metrics.captured() if result.started else 0
        if result.exit_code != 0:
            row.error = "; ".join(errors.messages[:1] + [result.reason])
        elif row.frames == 0:
            row.error = "no frame could be read"
        else:
            result.metrics.write_json(temporary["metrics"])
            for kind, path in outputs.items():
                os.replace(temporary[kind], path)
            row.status = "done"
            row.outputs = {kind: str(path) for kind, path in outputs.items()}
    except UserError as error:
        row.error = str(error)
    except Exception as error:  # a bug in a node must not end the whole batch: reported in its row
        row.error = f"{type(error).__name__}: {error}"
    finally:
        logger.removeHandler(errors)
        row.seconds = round(time.monotonic() - started, 3)
        if row.status != "done":
            _remove(list(temporary.values()))
            folder = outputs["keypoints"].parent
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return row


def _write_summary(rows: list[BatchRow], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.json"
    partial = _temporary(summary)
    partial.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n", encoding="utf-8")
    os.replace(partial, summary)


def _in_processes(items: Sequence[BatchInput], pending: list[int], options: BatchOptions, workers: int,
                  retries: int) -> Iterator[tuple[int, BatchRow]]:
    """The pending inputs' rows as they end, ``workers`` processes at a time."""
    attempts = dict.fromkeys(pending, 0)
    while pending:
        # Worker processes even for one worker: a node that crashes its process costs that input, not the
        # batch. spawn: fresh interpreters, not forks of this one and whatever threads it holds.
        with ProcessPoolExecutor(min(workers, len(pending)), mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_input, items[index], options): index for index in pending}
            pending = []
            for future in as_completed(futures):
                index = futures[future]
                try:
                    row = future.result()
                except Exception as error:  # a worker process died (killed, out of memory, a crash in C)
                    # The pool is then broken and every input it held comes here: run them again in a new one.
                    attempts[index] += 1
                    if attempts[index] <= retries:
                        pending.append(index)
                        continue
                    item = items[index]
                    row = BatchRow(str(item.path), item.name, "failed",
                                   error=f"its worker process died {attempts[index]} times: {error}")
                row.attempts = attempts[index] + 1
                yield index, row
        pending.sort()


def run_batch(items: Sequence[BatchInput], options: BatchOptions, workers: int = 1,
              progress: Callable[[BatchRow], None] | None = None, retries: int = 1,
              ray_address: str | None = None) -> list[BatchRow]:
    """Every input's row, in input order (see module docstring); ``progress`` is told of each as it ends."""
    rows: dict[int, BatchRow] = {}
    pending: list[int] = []
    for index, item in enumerate(items):
        if is_complete(item, options):
            rows[index] = BatchRow(str(item.path), item.name, "skipped",
                                   outputs={k: str(p) for k, p in outputs_of(item, options).items()})
            if progress:
                progress(rows[index])
        else:
            pending.append(index)
    if ray_address is None:
        finished = _in_processes(items, pending, options, workers, retries)
    else:
        from livepose.batch.on_ray import run_on_ray

        finished = run_on_ray(items, pending, options, ray_address or None, workers, retries)
    for index, row in finished:
        rows[index] = row
        if progress:
            progress(row)
    ordered = [rows[index] for index in range(len(items))]
    _write_summary(ordered, options.out)
    return ordered
