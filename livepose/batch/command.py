"""``livepose batch``: the command line around ``livepose.batch.runner``.

Every ``livepose`` command imports this file to list the command, so it imports click only; the batch
code (and through it the graph) is imported when the command runs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from livepose.errors import UserError

EPILOG = ("PIPELINE is a packaged pipeline's name (see `livepose pipelines`) or a YAML file. INPUTS are video "
          "files, folders (their videos, recursively), globs, or list files (.txt, one input per line). Each "
          "input's outputs go to OUT/<its path relative to the folder or glob>/: keypoints.jsonl, "
          "metrics.json (and recording.mp4 with --record); OUT/summary.json lists every input. Inputs whose "
          "outputs are complete are skipped, so running the same command again finishes an interrupted batch.")


def _table(rows: list, width: int = 100) -> str:  # type: ignore[type-arg]
    name_width = min(max((len(row.name) for row in rows), default=4), 40)
    lines = [f"{'input':{name_width}}  status   frames  seconds  error"]
    for row in rows:
        error = row.error.splitlines()[0] if row.error else ""
        line = f"{row.name[:name_width]:{name_width}}  {row.status:7}  {row.frames:6}  {row.seconds:7.1f}  {error}"
        lines.append(line[:width] if len(line) > width else line)
    return "\n".join(lines)


@click.command(epilog=EPILOG)
@click.argument("pipeline")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for every output.")
@click.option("--workers", type=click.IntRange(min=1), default=max(1, (os.cpu_count() or 2) // 2), show_default=True,
              help="Inputs processed at once, each in its own process.")
@click.option("--set", "settings", multiple=True, metavar="NODE.PARAM=VALUE",
              help="Override a node parameter (or a top-level setting); repeatable.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="Run an input again this many times when its worker process dies under it.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run the inputs as Ray tasks: on a local Ray started for the batch (--ray), or on the cluster "
                   "at ADDRESS. Needs pip install 'livepose[ray]'.")
@click.option("--record", is_flag=True, help="Also record each input's output stream (recording.mp4).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop each input after N frames.")
@click.option("--progress/--no-progress", default=True, help="A progress bar over the inputs.")
def batch(pipeline: str, inputs: tuple[str, ...], out: str, workers: int, settings: tuple[str, ...], retries: int,
          ray_address: str | None, record: bool, max_frames: int | None, progress: bool) -> None:
    """Run a pipeline offline over many videos, resumably."""
    from tqdm import tqdm

    from livepose.batch.inputs import expand_inputs
    from livepose.batch.runner import BatchOptions, BatchRow, run_batch
    from livepose.graph.spec import Overrides, load_pipeline
    from livepose.pipelines import find

    try:
        items = expand_inputs(inputs)
        pipeline_file = find(pipeline).resolve()  # absolute: Ray's workers run in folders of their own
        # A mistake in the file or a --set is said once, before any worker starts.
        load_pipeline(pipeline_file, Overrides(mode="offline", source=str(items[0].path), settings=list(settings)))
        if ray_address is not None:
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                raise UserError("--ray needs Ray: pip install 'livepose[ray]' (or pip install ray)")
    except UserError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    options = BatchOptions(str(pipeline_file), Path(out).resolve(), tuple(settings), record, max_frames)
    bar = tqdm(total=len(items), unit="video", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    frames = [0]
    started = time.monotonic()

    def advance(row: BatchRow) -> None:
        frames[0] += row.frames
        elapsed = time.monotonic() - started
        bar.set_postfix_str(f"{frames[0]} frames, {frames[0] / elapsed:.1f} frames/s")
        bar.update(1)

    rows = run_batch(items, options, workers, advance, retries, ray_address)
    bar.close()
    click.echo(_table(rows), err=True)
    done = sum(row.status == "done" for row in rows)
    skipped = sum(row.status == "skipped" for row in rows)
    failed = [row for row in rows if row.status == "failed"]
    click.echo(f"batch: {done} done, {skipped} already complete, {len(failed)} failed; summary in "
               f"{Path(out) / 'summary.json'}", err=True)
    sys.exit(1 if failed else 0)
