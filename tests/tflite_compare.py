"""One check shared by the converter's operator tests: a TFLite graph and its ONNX conversion agree."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from livepose.converters.tflite.convert import convert_tflite


def assert_converted_matches_tflite(content: bytes, image: np.ndarray, name: str) -> None:
    """Run ``content`` (a .tflite) with ai-edge-litert and its conversion with onnxruntime on ``image``
    (input ``t0``): every output of the same shape, within 1e-5 relative and 1e-5 of its range.
    The callers skip, saying why, when ai-edge-litert (a test extra) is missing."""
    from ai_edge_litert import interpreter as litert

    interpreter = litert.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    expected = {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}

    session = ort.InferenceSession(convert_tflite(content, f"{name}.tflite").SerializeToString())
    actual = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"t0": image}), strict=True))
    for output, reference in expected.items():
        assert actual[output].shape == reference.shape
        np.testing.assert_allclose(actual[output], reference, rtol=1e-5, atol=1e-5 * max(np.ptp(reference), 1.0))
