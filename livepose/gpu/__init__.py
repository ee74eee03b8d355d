"""The GPU path's torch side: pre-processing on the device and the zero-copy hand-off to onnxruntime.

- ``livepose.gpu.preprocess``: ``image_to_tensor``'s crops, letterbox and normalisation done with torch on
  a frame uploaded once (``upload_frame``); every ROI of every model is sampled from that one tensor, all
  ROIs of a call in one batched kernel launch sequence. ``method="exact"`` reproduces the OpenCV path
  bit for bit (MediaPipe's fixed-point warp done in integer arithmetic); ``method="float"`` uses
  ``torch.nn.functional.grid_sample`` (float bilinear) and differs by a stated tolerance.
- ``livepose.gpu.binding``: ``TorchBinding`` runs a ``ModelSession`` (or an onnxruntime
  ``InferenceSession``) on torch tensors through IO binding, outputs written into preallocated torch
  tensors on the same device, so nothing goes through the host between pre-processing and the model.

torch is an optional extra (``pip install livepose[torch]``). It is imported only by the modules of this
package, and only when one of them is imported: nothing else in livepose imports ``livepose.gpu``, so
commands that do not use the GPU path never load torch (``tests/test_cli_startup.py`` checks that).
This ``__init__`` itself imports nothing, so ``import livepose.gpu`` stays free.
"""
