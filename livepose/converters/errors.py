"""Errors raised while converting a model to ONNX."""

from __future__ import annotations

from livepose.errors import LiveposeError


class ConversionError(LiveposeError):
    """The source model cannot be converted (unreadable, quantized activations, odd shapes...)."""


class UnsupportedOperatorError(ConversionError):
    """The source model uses an operator the converter does not implement."""

    def __init__(self, operator: str, model: str, position: int, supported: list[str]) -> None:
        self.operator = operator
        self.model = model
        super().__init__(
            f"{model}: TFLite operator {operator} (operator #{position}) is not supported by "
            f"livepose's TFLite-to-ONNX converter. Supported operators: {', '.join(supported)}."
        )
