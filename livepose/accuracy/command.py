"""The ``livepose eval`` command line; the models and datasets load when it runs."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from livepose.errors import UserError

MEDIAPIPE = {"mediapipe_hands": "hand", "mediapipe_face_mesh": "face"}
EPILOG = ("MODEL is an .onnx file with its card beside it (run on each annotated box, the top-down protocol), "
          "or mediapipe_hands / mediapipe_face_mesh (MediaPipe's own detection, then landmarks). ANNOTATIONS are "
          "COCO-style .json files (OneHand10K, FreiHAND, Panoptic, 300W, WFLW, COCO-WholeBody, as MMPose ships "
          "them), .pts faces or folders of them. Hands: PCK@0.2 of the box's longer side (higher is better); "
          "faces: NME over the outer eye corners' distance (lower is better), over the faces found. 'on found': the "
          "metric over the objects the model found (a missed hand fails all its points in 'value').")


def _table(rows: list) -> str:  # type: ignore[type-arg]
    def shown(value: float) -> str:
        return f"{value:.4f}" if value == value else "-"

    lines = [f"{'dataset':28} {'model':20} {'metric':8} {'value':>7} {'found':>9} {'on found':>8} {'points':>6}"]
    for row in rows:
        lines.append(f"{row.dataset[:28]:28} {row.model[:20]:20} {row.metric:8} {shown(row.value):>7} "
                     f"{row.found:>4}/{row.samples:<4} {shown(row.value_found):>8} {row.points:>6}")
    return "\n".join(lines)


@click.command("eval", epilog=EPILOG)
@click.argument("model")
@click.argument("annotations", nargs=-1, required=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the scores as JSON.")
@click.option("--provider", default="cpu", show_default=True, help="ONNX Runtime execution provider.")
def evaluate(model: str, annotations: tuple[str, ...], json_path: str | None, provider: str) -> None:
    """Score a keypoint model on annotated images: PCK@0.2 for hands, NME for faces."""
    from livepose.accuracy.datasets import load_datasets
    from livepose.accuracy.evaluate import MediaPipePredictor, TopDownPredictor, score

    try:
        datasets = [dataset for path in annotations for dataset in load_datasets(path)]
        if model in MEDIAPIPE:
            predictors = [MediaPipePredictor(MEDIAPIPE[model])]
        else:
            from livepose.models.keypoint_model import KeypointModel

            predictors = [TopDownPredictor(KeypointModel(model, provider=provider))]
        rows, skipped = [], []
        for dataset in datasets:
            for predictor in predictors:
                result = score(predictor, dataset)
                if result is None:
                    skipped.append(f"{dataset.name} ({dataset.layout}): no points in common with {predictor.layout}")
                else:
                    rows.append(result)
    except UserError as error:
        click.echo(f"livepose eval: {error}", err=True)
        sys.exit(2)
    click.echo(_table(rows))
    for line in skipped:
        click.echo(f"skipped {line}", err=True)
    if json_path:
        with open(json_path, "w", encoding="utf-8") as out:
            json.dump([asdict(row) for row in rows], out, indent=1)
