"""``livepose export``: a PyTorch keypoint model to an ONNX file with a dynamic batch axis and its model card.

The only code besides ``livepose.gpu`` that imports torch, and only when the command runs
(``command`` imports nothing heavy; ``onnx_export`` does the work).
"""
