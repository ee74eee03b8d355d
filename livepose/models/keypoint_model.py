"""A top-down keypoint model you bring: an ONNX file and its card, run on boxes of a frame.

:class:`KeypointModel` crops each box as the card says (``livepose.vision.topdown``), runs the crops as
batches of at most ``max_batch``, decodes the outputs (``livepose.vision.keypoint_decoders``) and returns
each box's points in frame pixels. The ``keypoints`` node and ``livepose eval`` both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import Any, Sequence

import numpy as np

from livepose.errors import UserError
from livepose.models.card import (HeatmapDecoder, Heatmap3dDecoder, ModelCard, RegressionDecoder, SimccDecoder,
                                  card_path, check_against_model, check_point_count, load_card)
from livepose.models.shared_calls import CameraBatching
from livepose.vision import keypoint_decoders as decoders
from livepose.vision.topdown import CropBox, crop_images, crop_matrix, normalise, to_frame


@dataclass(frozen=True)
class BoxPoints:
    """One box's decoded points in frame pixels (``(K, 2)`` or ``(K, 3)``) and their scores ``(K,)``."""

    points: np.ndarray
    scores: np.ndarray


class KeypointModel:
    """``model`` is an .onnx path with its card beside it (or at ``card``); ``session_options`` go to
    :class:`livepose.models.runtime.ModelSession` (provider, threads)."""

    def __init__(self, model: str | Path, card: str | Path | None = None, max_batch: int = 8,
                 padding: float | None = None, **session_options: Any) -> None:
        from livepose.models.runtime import ModelSession

        path = Path(model).expanduser()
        if path.suffix != ".onnx":
            raise UserError(f"model {model} is not an .onnx file: export a torch model with `livepose export`")
        if not path.is_file():
            raise UserError(f"no model file {path}: give the path of an .onnx file (`livepose export` makes one)")
        self.card_file = Path(card).expanduser() if card else card_path(path)
        self.card: ModelCard = load_card(self.card_file)
        self.session = ModelSession(path, **session_options)
        self.run: Callable[[np.ndarray], Mapping[str, np.ndarray]] = self.session.run
        """The model call: the session's, or one shared with other cameras (``share_calls``)."""
        check_against_model(self.card, str(self.card_file), str(path), self.session.inputs, self.session.outputs)
        fixed = self.session.max_batch
        self.max_batch = min(max_batch, fixed) if fixed else max_batch
        self.padding = self.card.padding if padding is None else padding
        self.name = self.card.name or path.stem
        self._checked = False

    def __call__(self, rgb: np.ndarray, boxes: Sequence[CropBox]) -> list[BoxPoints]:
        if not boxes:
            return []
        card = self.card
        udp = isinstance(card.decoder, HeatmapDecoder) and card.decoder.udp
        matrices = [crop_matrix(box, card.input_size, self.padding, udp=udp) for box in boxes]
        found: list[BoxPoints] = []
        for start in range(0, len(boxes), self.max_batch):
            chunk = matrices[start:start + self.max_batch]
            crops = crop_images(rgb, chunk, card.input_size)
            tensor = normalise(crops, card.input.mean, card.input.std, rgb=card.input.colour == "rgb",
                               channels_first=card.input.channels == "first")
            outputs = dict(self.run(tensor))
            if not self._checked:
                # Shapes the ONNX file leaves symbolic are known once it has run.
                check_point_count(self.card, str(self.session.path), tuple(next(iter(outputs.values())).shape))
                self._checked = True
            points, scores = self.decode(outputs)
            found += [BoxPoints(_read_only(to_frame(p, m)), _read_only(s)) for p, s, m in zip(points, scores, chunk)]
        return found

    def share_calls(self, camera_batching: CameraBatching) -> None:
        """Join this model's calls with the other cameras' copies' (when the model takes any batch)."""
        if self.session.max_batch is None:
            self.run = camera_batching.share(self.session.run, self.session.path.name, self.session.on_gpu)

    def decode(self, outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The model's outputs for a batch to points in input pixels and scores, as the card says."""
        decoder, names = self.card.decoder, list(outputs)

        def output(name: str | None, position: int = 0) -> np.ndarray:
            return outputs[name] if name else outputs[names[position]]

        size = self.card.input_size
        if isinstance(decoder, SimccDecoder):
            x_name, y_name = decoder.outputs or (names[0], names[1])
            return decoders.decode_simcc(outputs[x_name], outputs[y_name], decoder.split_ratio, decoder.dark_kernel)
        if isinstance(decoder, HeatmapDecoder):
            return decoders.decode_heatmap(output(decoder.output), size, decoder.refine, decoder.udp, decoder.dark_kernel)
        if isinstance(decoder, RegressionDecoder):
            return decoders.decode_regression(output(decoder.output), size)
        assert isinstance(decoder, Heatmap3dDecoder)
        points, scores, _ = decoders.decode_heatmap_3d(
            output(decoder.output), size, decoder.depth_bound,
            outputs.get(decoder.root_depth_output) if decoder.root_depth_output else None,
            decoder.root_heatmap_size, decoder.root_depth_bound,
            outputs.get(decoder.hand_type_output) if decoder.hand_type_output else None)
        return points, scores


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float64)
    array.flags.writeable = False
    return array
