"""Pure algorithms of MediaPipe's legacy Hands and FaceMesh solutions, reproduced to the pixel.

No threads, no files: numpy/OpenCV functions and small classes that graph nodes wrap.

Modules
-------
- ``anchors``: SSD anchor centres. ``detection``: decoding, score activation, letterbox removal.
- ``nms``: weighted non-maximum suppression. ``image_to_tensor``: letterboxed and rotated crops.
- ``rects``: ``NormalizedRect``/``TrackedRoi``, detection→ROI, ROI transformation, association.
- ``landmarks``: projection of crop landmarks to the image, world landmarks.
- ``hands`` / ``face``: the per-model steps (``PalmDetector``, ``HandLandmarker``, ``FaceDetector``,
  ``FaceLandmarker``), results (``Hand``, ``Face``) and single-thread trackers.
- ``tracking``: the model-call convention (``ModelFn``) and the detect-or-track loop split into a
  detection step and a landmark step joined by feedback ROIs.
"""
