"""livepose's own TFLite-to-ONNX converter for float models such as MediaPipe's."""

from livepose.converters.errors import ConversionError, UnsupportedOperatorError
from livepose.converters.tflite.convert import SUPPORTED_OPERATORS, convert_tflite

__all__ = ["SUPPORTED_OPERATORS", "ConversionError", "UnsupportedOperatorError", "convert_tflite"]
