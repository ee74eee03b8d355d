"""The ``livepose`` command line.

Exit codes: 0 ok, 1 a runtime failure, 2 a user error (bad file or arguments, missing model or
camera), 130 interrupted (Ctrl-C or SIGTERM before a pipeline runs). User errors print what to
do, never a traceback.

Every command imports this module, so it imports only click and what defining the commands needs:
each command imports the graph, the models or onnxruntime when it runs (``--help`` stays instant,
``validate`` never loads the converter).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import Any, Callable

import click

from livepose import interrupts
from livepose.errors import UserError
from livepose.batch.command import batch
from livepose.models.cli import doctor, models_group
from livepose.accuracy.command import evaluate
from livepose.torch_export.command import export

log = logging.getLogger("livepose")

PIPELINE_HELP = "PIPELINE is a packaged pipeline's name (see `livepose pipelines`) or a YAML file."


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("livepose: %(message)s"))
    root = logging.getLogger("livepose")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def _user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a UserError into its message on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)

    return wrapper


class _Livepose(click.Group):
    """The top-level group: a KeyboardInterrupt from any command ends it with one line, status 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # click would print "Aborted!" and exit 1; a traceback would hide where it stopped.
            click.echo("livepose: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Livepose, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="livepose")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """livepose: real-time hand and face keypoint pipelines."""
    # First, before any command imports something slow: Ctrl-C from now on is handled.
    interrupts.install()
    _setup_logging(verbose)


@main.command(epilog=PIPELINE_HELP)
@click.argument("pipeline")
@click.option("--source", help="Replace the pipeline's source: camera index, file, folder, URL or 'synthetic'.")
@click.option("--set", "settings", multiple=True, metavar="NODE.PARAM=VALUE",
              help="Override a node parameter (or a top-level setting); repeatable.")
@click.option("--realtime/--offline", "realtime", default=None,
              help="Realtime: sources pace themselves, slow nodes see the newest frame. "
                   "Offline: every frame is processed.")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop each source after N frames.")
@click.option("--metrics", "metrics_path", type=click.Path(dir_okay=False), help="Write run metrics as JSON.")
@click.option("--headless", is_flag=True, help="Open no window.")
@click.option("--record", "record_path", type=click.Path(dir_okay=False),
              help="Record the pipeline's output stream to this MP4.")
@click.option("--keypoints", "keypoints_path", type=click.Path(dir_okay=False),
              help="Write the hands, faces and body poses of every frame to this JSON Lines file.")
@click.option("--progress/--no-progress", default=True, help="Progress bar in offline runs of a file.")
@click.option("--reload", is_flag=True, help="Swap in your own nodes (module:Class) when their file changes.")
@_user_errors
def run(pipeline: str, source: str | None, settings: tuple[str, ...], realtime: bool | None,
        max_frames: int | None, metrics_path: str | None, headless: bool, record_path: str | None,
        keypoints_path: str | None, progress: bool, reload: bool) -> None:
    """Run a pipeline."""
    # A signal during the imports and set-up below is kept for the runner, which stops in order.
    interrupts.defer()
    from livepose.graph.prestart import prestart_workers
    from livepose.pipelines import find

    pipeline_file = find(pipeline)
    prestart_workers(pipeline_file)  # their interpreters start up while the rest loads here
    from livepose.graph.runner import Runner
    from livepose.graph.spec import Overrides, load_pipeline

    extra_nodes = []
    if record_path:
        extra_nodes.append({"name": "record_cli", "type": "record", "inputs": "$output",
                            "params": {"path": record_path}})
    if keypoints_path:
        extra_nodes.append({"name": "keypoints_cli", "type": "export_keypoints", "inputs": "$output",
                            "params": {"path": keypoints_path}})
    mode = None if realtime is None else ("realtime" if realtime else "offline")
    spec = load_pipeline(pipeline_file, Overrides(mode=mode, source=source, settings=list(settings),
                                                  extra_nodes=extra_nodes))
    for warning in spec.warnings:
        click.echo(str(warning), err=True)
    result = Runner(spec, headless=headless, max_frames=max_frames, progress=progress, reload=reload).run()
    if result.started:  # a run that never got going has no figures, only its reason below
        click.echo(result.metrics.summary_table(), err=True)
    if metrics_path:
        result.metrics.write_json(metrics_path)
    if result.exit_code and (result.started or result.exit_code != 2):
        # A node that could not start (exit 2) has said so, with what to try; once is enough.
        click.echo(f"livepose: {result.reason}", err=True)
    if result.still_setting_up:
        # Their threads (a model session still loading) would delay the exit, or abort it from C++.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(result.exit_code)
    sys.exit(result.exit_code)


@main.command(epilog=PIPELINE_HELP)
@click.argument("pipeline")
@click.option("--set", "settings", multiple=True, metavar="NODE.PARAM=VALUE", help="Check with these overrides.")
@_user_errors
def validate(pipeline: str, settings: tuple[str, ...]) -> None:
    """Check a pipeline without running it."""
    from livepose.graph.spec import Overrides, load_pipeline
    from livepose.pipelines import find

    spec = load_pipeline(find(pipeline), Overrides(settings=list(settings)))
    for warning in spec.warnings:
        click.echo(str(warning), err=True)
    streams = len(spec.streams)
    click.echo(f"{pipeline}: ok ({len(spec.nodes)} nodes, {streams} streams, {spec.mode} mode)")


@main.command()
@click.argument("names", nargs=-1)
def nodes(names: tuple[str, ...]) -> None:
    """List node types with their ports and parameters."""
    from livepose.graph.registry import NodeTypeError, known_node_types, resolve_node_type

    types = known_node_types()
    for type_name in names or sorted(types):
        try:
            cls = resolve_node_type(type_name)
        except (NodeTypeError, ImportError) as exc:
            click.echo(f"{type_name}: unavailable ({exc})\n")
            continue
        click.echo(f"{type_name}  ({types.get(type_name, type_name)})")
        if cls.summary():
            click.echo(f"  {cls.summary()}")
        click.echo(f"  inputs: {', '.join(cls.inputs) or '-'}   outputs: {', '.join(cls.outputs) or '-'}")
        click.echo(f"  results: requires {', '.join(cls.requires) or '-'}   reads {', '.join(cls.reads) or '-'}   "
                   f"writes {_written(cls)}")
        for key, method in cls.keys.items():
            click.echo(f"  key '{key}': {method}")
        for p in cls.param_info():
            constraint = f" [{p.constraint}]" if p.constraint else ""
            default = "required" if p.required else f"= {p.default!r}"
            click.echo(f"  {p.name}: {p.type_name} {default}{constraint}  {p.doc}")
        click.echo("")


def _written(cls: Any) -> str:
    """A node's declared writes for ``livepose nodes``: per port when they differ."""
    if not cls.outputs:
        return "-"
    if cls.writes is None:
        return "(not declared)"
    by_port = {port: cls.written_on(port) for port in cls.outputs}
    if len(set(by_port.values())) <= 1:
        return ", ".join(next(iter(by_port.values()), cls.writes)) or "-"
    return "; ".join(f"{port}: {', '.join(keys) or '-'}" for port, keys in by_port.items())


@main.command("results")
def list_results() -> None:
    """List the well-known results nodes pass each other (livepose.results)."""
    from livepose.results import WELL_KNOWN

    for key in WELL_KNOWN.values():
        updated = f"; updated by {', '.join(key.updated_by)}" if key.updated_by else ""
        updated += f"; replayed from a file by {', '.join(key.replayed_by)}" if key.replayed_by else ""
        click.echo(f"{key.name}: {key.type_name}  (written by {', '.join(key.writers)}{updated})")
        click.echo(f"  {key.doc}")


@main.command("pipelines")
def list_pipelines() -> None:
    """List the packaged pipelines.

    `livepose run NAME` runs one from any folder.
    """
    from livepose.pipelines import description, folder, names

    packaged = names()
    width = max(map(len, packaged), default=0)
    for name in packaged:
        click.echo(f"{name:{width}}  {description(name)}")
    click.echo(f"\nfiles in {folder()} (copy one to make a variant)")


main.add_command(models_group)
main.add_command(doctor)
main.add_command(batch)
main.add_command(export)
main.add_command(evaluate)
