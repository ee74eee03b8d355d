"""From a PyTorch model to ``model.onnx`` and ``model.card.yaml``, checked against torch.

The model comes as ``module:factory`` (a function or class in an importable module or a ``.py`` file,
returning an ``nn.Module``), a saved TorchScript file (``torch.jit.save``, ``.pt``/``.ts``) or a saved
ExportedProgram (``torch.export.save``, ``.pt2``). A module or TorchScript goes through torch's
TorchScript-based exporter (quick, no extra package); an ExportedProgram, or ``exporter="dynamo"``,
through torch's ``torch.export``-based one (needs ``onnxscript``). The batch axis is dynamic either way.

The check runs the ONNX file with ONNX Runtime and the model with torch on the same random inputs
(batch 1 and 3) and fails when any output differs by more than ``tolerance``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from livepose.errors import UserError
from livepose.models.card import ModelCard

CHECK_BATCHES = (1, 3)


@dataclass(frozen=True)
class ExportReport:
    onnx_path: Path
    card_path: Path
    outputs: dict[str, tuple[int, ...]]
    """Each output's shape for a batch of 1."""
    max_difference: float


def load_model(spec: str) -> Any:
    """The model ``spec`` names: a TorchScript or ExportedProgram file, or ``module:factory``."""
    path = Path(spec).expanduser()
    if path.suffix == ".pt2":
        if not path.is_file():
            raise UserError(f"no file {path}: give a file saved with torch.export.save")
        try:
            return torch.export.load(str(path))
        except Exception as error:  # torch raises many types for a file that is not a saved program
            raise UserError(f"torch cannot load {path} as an ExportedProgram: {error}") from None
    if path.suffix in (".pt", ".pth", ".ts", ".jit"):
        if not path.is_file():
            raise UserError(f"no file {path}: give a file saved with torch.jit.save")
        try:
            return torch.jit.load(str(path), map_location="cpu")
        except Exception as error:
            raise UserError(f"torch cannot load {path} as TorchScript ({error}); a state_dict is not a model: "
                            "give module:factory, a function that builds the network and loads its weights") from None
    if ":" not in spec:
        raise UserError(f"cannot tell what model {spec!r} is: give module:factory (a function returning an "
                        "nn.Module), a TorchScript file (.pt) or an ExportedProgram (.pt2)")
    module_name, factory_name = spec.rsplit(":", 1)
    module = _import(module_name)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise UserError(f"{module_name} has no function or class {factory_name!r}")
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise UserError(f"{spec}() returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _import(name: str) -> Any:
    """A module by dotted name (the current folder first on the path) or a .py file."""
    if name.endswith(".py"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise UserError(f"no file {path}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            raise UserError(f"no module {name!r} here or on the path: run from the folder holding {name}.py, "
                            f"or give the file, {name}.py:factory") from None
        raise


OUTPUT_NAMES = {"simcc": ("simcc_x", "simcc_y"), "heatmap": ("heatmaps",), "regression": ("coordinates",),
                "heatmap_3d": ("heatmaps_3d", "root_depth", "hand_type")}


def _output_names(decoder: str, count: int) -> list[str]:
    known = OUTPUT_NAMES.get(decoder, ())
    return [known[i] if i < len(known) else f"output_{i}" for i in range(count)]


def _to_onnx(model: Any, sample: torch.Tensor, out: Path, exporter: str, opset: int, names: list[str]) -> None:
    is_program = isinstance(model, torch.export.ExportedProgram)
    if is_program or exporter == "dynamo":
        try:
            import onnxscript  # noqa: F401  (torch's exporter needs it; a clear message beats its ImportError)
        except ImportError:
            raise UserError("exporting an ExportedProgram (or --exporter dynamo) needs onnxscript: "
                            "pip install onnxscript") from None
        kwargs: dict[str, Any] = {}
        if not is_program:
            kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
        program = torch.onnx.export(model, (sample,), None, dynamo=True, input_names=["image"], output_names=names,
                                    opset_version=max(opset, 18), verbose=False, **kwargs)
        program.save(str(out))
        return
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated in favour of the dynamo one, which is ten times
        # slower to export these small networks and needs onnxscript; both give the same graph here.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (sample,), str(out), dynamo=False, input_names=["image"], output_names=names,
                          opset_version=opset, dynamic_axes={"image": {0: "batch"}, **{n: {0: "batch"} for n in names}},
                          do_constant_folding=True)


def _torch_outputs(model: Any, batch: torch.Tensor) -> list[np.ndarray]:
    with torch.no_grad():
        result = model.module()(batch) if isinstance(model, torch.export.ExportedProgram) else model(batch)
    items = result if isinstance(result, (tuple, list)) else (result,)
    if not all(isinstance(item, torch.Tensor) for item in items):
        raise UserError("the model must return a tensor or a tuple of tensors (for SimCC: x, then y)")
    return [item.detach().cpu().numpy() for item in items]


def _compare(model: Any, card: ModelCard, onnx_file: Path, shape: tuple[int, ...], generator: torch.Generator,
             shown_as: str) -> tuple[dict[str, tuple[int, ...]], float]:
    """Run the ONNX file and torch on the same random batches; each output's shape (batch 1) and the largest
    difference."""
    from livepose.models.card import check_against_model, check_point_count
    from livepose.models.runtime import ModelSession

    session = ModelSession(onnx_file, provider="cpu")
    check_against_model(card, "the card", shown_as, session.inputs, session.outputs)
    worst = 0.0
    shapes: dict[str, tuple[int, ...]] = {}
    for size in CHECK_BATCHES:
        batch = torch.randn((size, *shape), generator=generator)
        expected = _torch_outputs(model, batch)
        got = session.run(batch.numpy())
        if len(got) != len(expected):
            raise UserError(f"the ONNX model has {len(got)} outputs, torch's {len(expected)}")
        for name, reference in zip(session.output_names, expected):
            value = got[name]
            if value.shape != reference.shape:
                raise UserError(f"output {name}: ONNX gives {value.shape} for a batch of {size}, torch {reference.shape}")
            worst = max(worst, float(np.abs(value.astype(np.float64) - reference).max()))
            if size == 1:
                shapes[name] = tuple(value.shape)
    check_point_count(card, shown_as, next(iter(shapes.values())))
    return shapes, worst


def export_model(model_spec: str, card: ModelCard, out: Path, tolerance: float = 1e-4, exporter: str = "auto",
                 opset: int = 17, seed: int = 0) -> ExportReport:
    """Export, check and write the card beside the ONNX file (see the module docstring)."""
    from livepose.models.card import card_path

    model = load_model(model_spec)
    if isinstance(model, torch.nn.Module):
        model = model.eval().float()
    spec = card.input
    shape = (3, spec.height, spec.width) if spec.channels == "first" else (spec.height, spec.width, 3)
    generator = torch.Generator().manual_seed(seed)
    sample = torch.randn((2, *shape), generator=generator)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.stem + ".partial.onnx")
    try:
        count = len(_torch_outputs(model, sample))  # a wrong input size fails here, with torch's own message
    except UserError:
        raise
    except Exception as error:
        raise UserError(f"the model fails on a {list(sample.shape)} input (card input {spec.width}x{spec.height}): "
                        f"{error}; give --input-size the size it was trained for") from None
    _to_onnx(model, sample, partial, exporter, opset, _output_names(card.decoder.type, count))
    try:
        shapes, worst = _compare(model, card, partial, shape, generator, str(out))
    except BaseException:
        partial.unlink(missing_ok=True)  # no half-checked model is left where a pipeline would find it
        raise
    if worst > tolerance:
        partial.unlink(missing_ok=True)
        raise UserError(f"the ONNX model differs from torch by up to {worst:.3g} (tolerance {tolerance:g}): "
                        "an operator exports differently; try --exporter dynamo, or raise --tolerance if expected")
    partial.replace(out)
    card_file = card_path(out)
    card_file.write_text(f"# livepose model card for {out.name}, written by `livepose export` from {model_spec}\n"
                         + card.to_yaml(), encoding="utf-8")
    return ExportReport(out, card_file, shapes, worst)
