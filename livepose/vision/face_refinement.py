"""The 478-point refined face mesh from ``face_landmark_with_attention``'s six landmark heads.

MediaPipe's ``LandmarksRefinementCalculator`` as configured by
``tensors_to_face_landmarks_with_attention.pbtxt`` (facts, not code): the 468-point mesh is copied
with its z; the lips (80 points) and both eyes (71 each) overwrite x and y of their mesh points and
keep the mesh's z; each iris (5 points: centre, then its right, top, left and bottom edges) becomes
points 468-472 (the model's "left" iris, the person's right) and 473-477, with z set to the mean
z of its eye's 16 contour points. The index lists are the same subsets the model's own
``Landmarks2TransformMatrix`` ops crop around.
"""

from __future__ import annotations

import numpy as np

NUM_REFINED_FACE_LANDMARKS = 478

LIPS_INDICES = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
    76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408,
    62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407,
)  # fmt: skip
LEFT_EYE_INDICES = (
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
    130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190,
    226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189,
    35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193,
)  # fmt: skip
RIGHT_EYE_INDICES = (
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
    359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
    446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
    265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417,
)  # fmt: skip
# Each eye's lower and upper contour: the first 16 points of its list, whose mean z the iris takes.
EYE_CONTOUR_POINTS = 16
LEFT_IRIS_INDICES = tuple(range(468, 473))
RIGHT_IRIS_INDICES = tuple(range(473, 478))


def refine_face_landmarks(
    mesh: np.ndarray,
    lips: np.ndarray,
    left_eye: np.ndarray,
    right_eye: np.ndarray,
    left_iris: np.ndarray,
    right_iris: np.ndarray,
) -> np.ndarray:
    """Merge the heads into ``(478, 3)``: ``mesh`` is ``(468, 3)``, the others ``(n, 2)`` (x, y), all in
    the same coordinates (the model's input pixels, or normalised)."""
    refined = np.zeros((NUM_REFINED_FACE_LANDMARKS, 3), dtype=mesh.dtype)
    refined[: mesh.shape[0]] = mesh
    for indices, points in ((LIPS_INDICES, lips), (LEFT_EYE_INDICES, left_eye), (RIGHT_EYE_INDICES, right_eye)):
        refined[list(indices), :2] = points[:, :2]
    for indices, points, eye in (
        (LEFT_IRIS_INDICES, left_iris, LEFT_EYE_INDICES),
        (RIGHT_IRIS_INDICES, right_iris, RIGHT_EYE_INDICES),
    ):
        refined[list(indices), :2] = points[:, :2]
        refined[list(indices), 2] = refined[list(eye[:EYE_CONTOUR_POINTS]), 2].mean()
    return refined
