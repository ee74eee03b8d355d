"""Model cards: the YAML file beside a keypoint model's ONNX file that says how to feed it and read it.

``hand.onnx`` has its card in ``hand.card.yaml``::

    name: my-hand-model
    layout: onehand10k              # livepose.vision.layouts: what each output point is
    input:
      width: 256
      height: 256
      colour: rgb                   # the channel order it was trained on (rgb or bgr)
      mean: [123.675, 116.28, 103.53]   # per channel, in that order, on 0-255 pixels
      std: [58.395, 57.12, 57.375]
    padding: 1.25                   # the box is enlarged by this before the crop (MMPose's bbox padding)
    decoder:
      type: simcc                   # simcc | heatmap | regression | heatmap_3d
      split_ratio: 2.0

``livepose export`` writes one; :func:`load_card` reads and checks it, every fault located by line, as
a pipeline file's are. :func:`check_against_model` compares it with the ONNX file's inputs and outputs.
Mean and std default to ImageNet's on 0-255 RGB (MMPose's ``data_preprocessor`` defaults).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Sequence, Union

import pydantic
import yaml

from livepose.errors import UserError
from livepose.graph.problems import Problem, ProblemReport, cut, did_you_mean, shown
from livepose.graph.yamlsource import LocatedDict, load_yaml
from livepose.vision.layouts import LAYOUTS

CARD_SUFFIX = ".card.yaml"
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
MAX_CARD_BYTES = 1 << 20

_Strict = pydantic.ConfigDict(extra="forbid")
PositiveInt = Annotated[int, pydantic.Field(gt=0, le=8192)]
Triple = tuple[float, float, float]


class InputSpec(pydantic.BaseModel):
    model_config = _Strict
    width: PositiveInt
    height: PositiveInt
    colour: Literal["rgb", "bgr"] = "rgb"
    mean: Triple = IMAGENET_MEAN
    std: Triple = IMAGENET_STD
    channels: Literal["first", "last"] = "first"

    @pydantic.field_validator("std")
    @classmethod
    def _positive(cls, std: Triple) -> Triple:
        if any(value <= 0 for value in std):
            raise ValueError("every std must be positive")
        return std


class SimccDecoder(pydantic.BaseModel):
    model_config = _Strict
    type: Literal["simcc"]
    split_ratio: Annotated[float, pydantic.Field(gt=0, le=16)] = 2.0
    dark_kernel: Annotated[int, pydantic.Field(ge=0, le=31)] = 0
    outputs: tuple[str, str] | None = None
    """The model's output names for x and y (default: its first two outputs)."""


class HeatmapDecoder(pydantic.BaseModel):
    model_config = _Strict
    type: Literal["heatmap"]
    refine: Literal["none", "shift", "dark"] = "shift"
    udp: pydantic.StrictBool = False
    dark_kernel: Annotated[int, pydantic.Field(ge=1, le=31)] = 11
    output: str | None = None


class RegressionDecoder(pydantic.BaseModel):
    model_config = _Strict
    type: Literal["regression"]
    output: str | None = None


class Heatmap3dDecoder(pydantic.BaseModel):
    model_config = _Strict
    type: Literal["heatmap_3d"]
    depth_bound: Annotated[float, pydantic.Field(gt=0)] = 400.0
    root_heatmap_size: PositiveInt = 64
    root_depth_bound: Annotated[float, pydantic.Field(gt=0)] = 400.0
    output: str | None = None
    root_depth_output: str | None = None
    hand_type_output: str | None = None


Decoder = Annotated[Union[SimccDecoder, HeatmapDecoder, RegressionDecoder, Heatmap3dDecoder],
                    pydantic.Field(discriminator="type")]


class ModelCard(pydantic.BaseModel):
    """A checked model card (see the module docstring)."""

    model_config = _Strict
    name: str = ""
    layout: str
    input: InputSpec
    decoder: Decoder
    padding: Annotated[float, pydantic.Field(gt=0, le=10)] = 1.25

    @pydantic.field_validator("layout")
    @classmethod
    def _known_layout(cls, layout: str) -> str:
        if layout not in LAYOUTS:
            hint = did_you_mean(layout, LAYOUTS)
            raise ValueError(f"unknown layout '{cut(layout)}'{f' ({hint})' if hint else ''}; known: {', '.join(LAYOUTS)}")
        return layout

    @property
    def input_size(self) -> tuple[int, int]:
        return self.input.width, self.input.height

    @property
    def points(self) -> int:
        return LAYOUTS[self.layout].size

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json", exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def card_path(model: str | Path) -> Path:
    """Where the card of ``model`` (an .onnx path) lies: ``x.onnx`` -> ``x.card.yaml``."""
    path = Path(model)
    return path.with_name(path.stem + CARD_SUFFIX)


def _line_at(data: Any, loc: Sequence[Any]) -> int:
    """The line of the deepest key of ``loc`` present in the loaded YAML."""
    line = getattr(data, "line", 0)
    for key in loc:
        if isinstance(data, LocatedDict) and key in data:
            line = data.line_of(key)
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            line = getattr(data, "item_lines", [line] * len(data))[key]
            data = data[key]
    return line


_FIXES = {
    "layout": "name the layout the model was trained on, one of those above (livepose.vision.layouts)",
    "input": "give input: {width, height} and, if the model was trained so, colour, mean, std",
    "decoder": "give decoder: {type: simcc | heatmap | regression | heatmap_3d, ...}",
}


def _fix_for(loc: Sequence[Any], kind: str) -> str:
    if kind == "extra_forbidden":
        return "remove it; a card has name, layout, input, decoder and padding"
    return _FIXES.get(str(loc[0]) if loc else "", "see livepose.models.card for a card's keys")


def parse_card(data: Any, path: str) -> ModelCard:
    """Check loaded YAML as a card; a ProblemReport with every fault, each at its line."""
    if not isinstance(data, dict):
        raise ProblemReport([Problem(path, getattr(data, "line", 0), None,
                                     f"a model card is a mapping of keys, got {shown(data)}",
                                     "start from the card `livepose export` writes")])
    try:
        return ModelCard.model_validate(dict(data))
    except pydantic.ValidationError as error:
        problems = []
        for fault in error.errors():
            # A discriminated union puts the chosen type in the location: not a key of the file.
            loc = [part for part in fault["loc"] if part not in ("simcc", "heatmap", "regression", "heatmap_3d")]
            where = ".".join(str(part) for part in loc) or "card"
            message = fault["msg"].removeprefix("Value error, ")
            if fault["type"] == "extra_forbidden":
                message = "unknown key"
            elif "input" in fault and fault["type"] not in ("missing", "value_error"):
                message += f" (got {shown(fault['input'])})"
            problems.append(Problem(path, _line_at(data, loc), None, f"{where}: {message}",
                                    _fix_for(loc, fault["type"])))
        raise ProblemReport(problems) from None


def load_card(path: str | Path) -> ModelCard:
    """Read and check the card at ``path``; faults (no file, not text, bad YAML, bad keys) are a ProblemReport."""
    file = Path(path)
    try:
        raw = file.read_bytes()[:MAX_CARD_BYTES + 1]
    except OSError as error:
        fix = ("write one with `livepose export`, or beside the model by hand (see livepose.models.card)"
               if isinstance(error, FileNotFoundError) else "check the path and its permissions")
        raise ProblemReport([Problem(str(path), 0, None, f"cannot read the model card: {error.strerror}", fix)]) from None
    if len(raw) > MAX_CARD_BYTES:
        raise ProblemReport([Problem(str(path), 0, None, "the model card is larger than 1 MiB", "a card is a few lines")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemReport([Problem(str(path), 0, None, "the model card is not UTF-8 text",
                                     "give the .card.yaml file, not the model")]) from None
    return parse_card(load_yaml(text, str(path)), str(path))


def check_against_model(card: ModelCard, card_file: str, model_file: str, inputs: Sequence[Any],
                        outputs: Sequence[Any]) -> None:
    """Compare the card with the ONNX model's inputs and outputs (``TensorSpec``-like: name, shape); a
    UserError saying which disagrees, and how to fix it."""
    if len(inputs) != 1:
        raise UserError(f"{model_file} has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); a keypoint "
                        "model takes one image batch")
    shape = tuple(inputs[0].shape)
    if len(shape) != 4:
        raise UserError(f"{model_file} takes an input of shape {list(shape)}; a keypoint model takes a batch of "
                        "images, (N, 3, H, W) or (N, H, W, 3)")
    spec = card.input
    expected = (3, spec.height, spec.width) if spec.channels == "first" else (spec.height, spec.width, 3)
    fixed = [(got, want) for got, want in zip(shape[1:], expected) if isinstance(got, int)]
    if any(got != want for got, want in fixed):
        layout = "3 x height x width" if spec.channels == "first" else "height x width x 3"
        raise UserError(
            f"{model_file} takes input {inputs[0].name} of shape {list(shape)}, but its card {card_file} says "
            f"{layout} = {list(expected)}: set input.width, input.height (and input.channels) in the card to "
            f"the model's, or export the model for {spec.width}x{spec.height}")
    names = {o.name for o in outputs}
    decoder = card.decoder
    wanted = [getattr(decoder, key) for key in ("output", "root_depth_output", "hand_type_output")
              if getattr(decoder, key, None)] + list(getattr(decoder, "outputs", None) or ())
    missing = [name for name in wanted if name not in names]
    if missing:
        raise UserError(f"{card_file} names output(s) {', '.join(missing)}, but {model_file} has "
                        f"{', '.join(sorted(names))}: correct the decoder's output names")
    if isinstance(decoder, SimccDecoder) and len(outputs) < 2:
        raise UserError(f"{card_file} says simcc, which needs two outputs (x and y), but {model_file} has one: "
                        "use the decoder type the model was trained with")
    if outputs:
        check_point_count(card, model_file, tuple(outputs[0].shape))


def check_point_count(card: ModelCard, model_file: str, first_output: tuple[Any, ...]) -> None:
    """The points the model's first output holds (its second axis, where known) against the card's layout."""
    counted = len(first_output) == 3 if isinstance(card.decoder, RegressionDecoder) else len(first_output) >= 2
    if counted and isinstance(first_output[1], int) and first_output[1] != card.points:
        raise UserError(f"{model_file} outputs {first_output[1]} points, but its card's layout {card.layout} has "
                        f"{card.points}: set layout to the one the model was trained on")
