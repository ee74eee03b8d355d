"""The ``livepose export`` command line; torch is imported when the command runs, never to list it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml

from livepose.errors import UserError

DECODERS = ("simcc", "heatmap", "regression", "heatmap_3d")
EPILOG = ("MODEL is module:factory (a function or class returning an nn.Module, from a module in the current "
          "folder or a .py file: hand_net.py:build), a TorchScript file (.pt) or an ExportedProgram (.pt2). "
          "Decoder parameters: simcc: split_ratio, dark_kernel; heatmap: refine (none, shift, dark), udp, "
          "dark_kernel; heatmap_3d: depth_bound, root_heatmap_size, root_depth_bound and the output names.")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not WIDTHxHEIGHT, like 256x256") from None
    return width, height


def _triple(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not three numbers, like 123.675,116.28,103.53") from None
    if len(values) != 3:
        raise click.BadParameter(f"{text!r} has {len(values)} numbers; give one per colour channel")
    return values


def _decoder_params(items: tuple[str, ...]) -> dict[str, Any]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--decoder-param")
        params[key.strip()] = yaml.safe_load(value)
    return params


@click.command("export", epilog=EPILOG)
@click.argument("model")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--layout", required=True, help="The layout of the model's points (livepose.vision.layouts): "
              "onehand10k, freihand, interhand, mediapipe_hand, face68, wflw98, lapa106, coco_wholebody...")
@click.option("--input-size", "input_size", required=True, metavar="WxH", help="The model's input, e.g. 256x256.")
@click.option("--decoder", required=True, type=click.Choice(DECODERS), help="How the outputs are read.")
@click.option("--decoder-param", "decoder_params", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--colour", "--color", "colour", type=click.Choice(("rgb", "bgr")), default="rgb", show_default=True,
              help="The channel order the model was trained on.")
@click.option("--mean", help="Per-channel mean on 0-255 pixels (default ImageNet's: 123.675,116.28,103.53).")
@click.option("--std", help="Per-channel std (default ImageNet's: 58.395,57.12,57.375).")
@click.option("--padding", type=float, default=1.25, show_default=True, help="Box enlargement before the crop.")
@click.option("--name", default="", help="The model's name in results (default: OUT's file name).")
@click.option("--tolerance", type=float, default=1e-4, show_default=True,
              help="Largest difference allowed between ONNX Runtime's and torch's outputs.")
@click.option("--exporter", type=click.Choice(("auto", "torchscript", "dynamo")), default="auto", show_default=True,
              help="torch's ONNX exporter: auto takes dynamo for an ExportedProgram, torchscript otherwise.")
def export(model: str, out: str, layout: str, input_size: str, decoder: str, decoder_params: tuple[str, ...],
           colour: str, mean: str | None, std: str | None, padding: float, name: str, tolerance: float,
           exporter: str) -> None:
    """Export a PyTorch keypoint model to ONNX (dynamic batch), check it, and write its model card."""
    from livepose.models.card import parse_card

    width, height = _size(input_size)
    out_path = Path(out)
    card_data: dict[str, Any] = {
        "name": name or out_path.stem, "layout": layout,
        "input": {"width": width, "height": height, "colour": colour},
        "decoder": {"type": decoder, **_decoder_params(decoder_params)}, "padding": padding}
    for key, text in (("mean", mean), ("std", std)):
        if (values := _triple(text)) is not None:
            card_data["input"][key] = values
    if out_path.suffix != ".onnx":
        raise click.BadParameter(f"{out} must end in .onnx", param_hint="OUT")
    try:
        card = parse_card(card_data, "livepose export")
        from livepose.torch_export.onnx_export import export_model

        report = export_model(model, card, out_path, tolerance=tolerance, exporter=exporter)
    except ImportError as error:
        if error.name == "torch":
            click.echo("livepose export needs torch: pip install torch", err=True)
            sys.exit(2)
        raise
    except UserError as error:
        click.echo(f"livepose export: {error}", err=True)
        sys.exit(2)
    shapes = ", ".join(f"{key} {list(shape)}" for key, shape in report.outputs.items())
    click.echo(f"wrote {report.onnx_path} (outputs for a batch of 1: {shapes}; largest difference from torch "
               f"{report.max_difference:.2g})")
    click.echo(f"wrote {report.card_path}")
