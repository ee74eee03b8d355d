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

Fidelity
--------
With MediaPipe's own TFLite models these functions reproduce MediaPipe's landmarks to the reference's
last digit (0.01 px) over most whole clips. Tracking feeds each frame's landmarks into the next crop and
the landmark models amplify tiny crop differences, so this takes, whatever OpenCV is installed:
- crops sampled like OpenCV's classic fixed-point ``warpPerspective`` (1/32-pixel grid), with corners
  computed like OpenCV's classic ``RotatedRect::points``, and values scaled with one rounding
  (``image_to_tensor``);
- ROI and landmark geometry in float32 in MediaPipe's operation order, with the C library's
  ``cosf``/``sinf``/``atan2f`` (``_float32``).
"""
