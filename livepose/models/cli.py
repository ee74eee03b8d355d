"""``livepose models ...`` and ``livepose doctor``.

Every ``livepose`` command imports this file to list these commands, so it imports only what
defining them needs; each command imports the cache, metadata or numpy when it runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from livepose.errors import LiveposeError, UserError
from livepose.models.zoo import DEFAULT_MODELS, KNOWN_MODELS, ZOO, get_model


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Print livepose errors as one message: user mistakes exit 2, other failures exit 1."""
    try:
        yield
    except UserError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except LiveposeError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@click.group("models")
def models_group() -> None:
    """List, prepare and inspect the model zoo (MediaPipe models converted to ONNX)."""


@models_group.command("list")
def list_models() -> None:
    """Every zoo model, whether it is prepared, and its input."""
    from livepose.models.cache import ModelCache

    cache = ModelCache()
    with _reported_errors():
        column = max(len(name) for name in KNOWN_MODELS)
        for name, model in KNOWN_MODELS.items():
            state = "prepared" if cache.is_prepared(name) else "not prepared"
            height, width = model.input_shape[1:3]
            default = "default" if model.default else ""
            click.echo(f"{name:{column}} {state:13} {width:>3}x{height:<3} {default:7} {model.description}")


@models_group.command("prepare")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Download-check and convert again even if the cache is intact.")
@click.option("--dynamic-batch", is_flag=True,
              help="Also convert each with a dynamic batch axis (what max_batch > 1 loads; for machines offline).")
def prepare_models(names: tuple[str, ...], force: bool, dynamic_batch: bool) -> None:
    """Download, verify and convert the named models (all zoo models when no NAME is given)."""
    from livepose.models.cache import ModelCache

    with _reported_errors():
        selected = [get_model(name).name for name in names] or list(ZOO)
        cache = ModelCache()
        for name, path in zip(selected, cache.prepare(selected, force=force), strict=True):
            click.echo(f"{name}: {path}")
        if dynamic_batch:
            for name, path in zip(selected, cache.prepare(selected, force=force, dynamic_batch=True), strict=True):
                click.echo(f"{name} (dynamic batch): {path}")


@models_group.command("path")
@click.argument("name")
def model_path(name: str) -> None:
    """Print the .onnx path of a zoo model, preparing it first if needed."""
    from livepose.models.cache import ModelCache

    with _reported_errors():
        click.echo(str(ModelCache().path(name)))


@models_group.command("info")
@click.argument("name")
def model_info(name: str) -> None:
    """Show a zoo model's metadata: input, normalization, outputs, keypoints, source, cache state."""
    from livepose.models.cache import ModelCache

    with _reported_errors():
        model = get_model(name)
        cache = ModelCache()
        entry = cache.entry(model.name)
        problem = cache.problem(model.name)
        low, high = model.input_range
        lines = [
            f"name:          {model.name}",
            f"task:          {model.task}",
            f"description:   {model.description}",
            f"input:         {model.input_name} {list(model.input_shape)} float32 {model.input_layout}, "
            f"{model.color_order}, pixels 0..255 mapped to [{low:g}, {high:g}]",
            "outputs:",
            *(f"  {o.name:32} {list(o.shape)}  {o.meaning}" for o in model.outputs),
            f"keypoints:     {model.keypoint_count}"
            + (f" ({', '.join(model.keypoint_names)})" if model.keypoint_names else " (unnamed mesh vertices)"),
            f"source:        {model.source_member} in mediapipe==0.10.21 (sha256 {model.source_sha256})",
            f"cache:         {entry.onnx_path} ({problem or 'prepared'})",
        ]
        click.echo("\n".join(lines))


def _median_latency_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # the first run allocates buffers and is not representative
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


@click.command("doctor")
@click.option("--repeats", default=20, show_default=True, help="Timed runs per model for the latency figure.")
def doctor(repeats: int) -> None:
    """Versions, GPU, execution providers, the GPU libraries found, and each default model's latency per provider."""
    import platform
    from importlib import metadata

    import numpy as np

    from livepose.models.cache import ModelCache, livepose_home
    from livepose.models.runtime import ModelSession, check_providers, gpu_libraries, gpu_name

    with _reported_errors():
        click.echo(f"python          {platform.python_version()} ({sys.platform}, {platform.machine()})")
        for package in ("livepose", "onnxruntime-gpu", "onnxruntime", "onnx", "numpy", "opencv-python", "torch"):
            try:
                click.echo(f"{package:15} {metadata.version(package)}")
            except metadata.PackageNotFoundError:
                continue
        click.echo(f"gpu             {gpu_name() or 'none found'}")
        click.echo(f"cache           {livepose_home()}")
        click.echo("providers:")
        working = []
        for status in check_providers():
            mark = "working" if status.working else ("unusable" if status.built_in else "not built in")
            click.echo(f"  {status.name:9} {mark:12} {'' if status.working else status.detail}")
            if status.working:
                working.append(status.name)
        click.echo("gpu libraries:")
        for label, path in gpu_libraries():
            click.echo(f"  {label:13} {path or 'not found'}")
        click.echo(f"latency (batch 1, median of {repeats}):")
        cache = ModelCache()
        for name in DEFAULT_MODELS:
            if not cache.is_prepared(name):
                click.echo(f"  {name:38} not prepared (run `livepose models prepare`)")
                continue
            model = KNOWN_MODELS[name]
            image = np.random.default_rng(0).uniform(*model.input_range, size=model.input_shape).astype(np.float32)
            figures = []
            for provider in working:
                session = ModelSession(name, provider=provider)  # type: ignore[arg-type]
                latency = _median_latency_ms(lambda: session.run(image), repeats)
                figures.append(f"{provider} {latency:6.2f} ms")
            click.echo(f"  {name:38} {'   '.join(figures)}")
