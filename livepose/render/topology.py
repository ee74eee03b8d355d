"""Which landmarks connect: the 21-point hand skeleton and the 468-point face mesh contours.

Indices follow the MediaPipe landmark numbering the hand and face models output. Contours are
closed loops of landmark indices, in order around the shape; "left" and "right" are the
subject's own (the right eye is on the image's left in an unmirrored frame).
"""

from __future__ import annotations

import numpy as np

HAND_POINTS = 21
WRIST = 0
THUMB = (1, 2, 3, 4)
INDEX_FINGER = (5, 6, 7, 8)
MIDDLE_FINGER = (9, 10, 11, 12)
RING_FINGER = (13, 14, 15, 16)
PINKY = (17, 18, 19, 20)

HAND_CHAINS: tuple[tuple[int, ...], ...] = (
    (WRIST, *THUMB),
    (WRIST, *INDEX_FINGER),
    (MIDDLE_FINGER[0], *MIDDLE_FINGER[1:]),
    (RING_FINGER[0], *RING_FINGER[1:]),
    (WRIST, *PINKY),
    (INDEX_FINGER[0], MIDDLE_FINGER[0], RING_FINGER[0], PINKY[0]),
)
"""The skeleton as polylines: each finger from its base (thumb, index, pinky from the
wrist) and the knuckle line across the palm."""

HAND_CONNECTIONS: tuple[tuple[int, int], ...] = tuple(
    (chain[i], chain[i + 1]) for chain in HAND_CHAINS for i in range(len(chain) - 1))
"""The 21 bones as index pairs."""

FACE_POINTS = 468
REFINED_FACE_POINTS = 478
"""With ``refine_landmarks``: the mesh, then five points per iris (right, left: centre first)."""

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181,
              91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178,
              88, 95)
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_EYEBROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_EYEBROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)

FACE_CONTOURS: tuple[tuple[int, ...], ...] = (
    FACE_OVAL, LIPS_OUTER, LIPS_INNER, RIGHT_EYE, LEFT_EYE, RIGHT_EYEBROW, LEFT_EYEBROW)

FACE_SPARSE_POINTS: tuple[int, ...] = (1, 4, 33, 133, 362, 263, 61, 291, 13, 14, 152, 10, 234,
                                       454, 70, 107, 336, 300, 98, 327)
"""A few telling points (nose, eye corners, mouth corners and centre, chin, forehead, cheeks,
brow ends) for the sparse face view."""


def unique_edges(triangles: np.ndarray) -> np.ndarray:
    """Every edge of a triangle list once, as an (E, 2) int32 array sorted by index."""
    triangles = np.asarray(triangles, dtype=np.int32).reshape(-1, 3)
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    edges.sort(axis=1)
    return np.unique(edges, axis=0)

POSE_POINTS = 33
POSE_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20),
    (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32))
"""The 35 bones of the 33-point body, as in MediaPipe's mediapipe/python/solutions/pose_connections.py."""

POSE_LEFT_POINTS: frozenset[int] = frozenset({1, 2, 3, 7, 9, *range(11, POSE_POINTS, 2)})
"""The subject's left side (eye, ear, mouth corner, then every odd index from the shoulder down);
the nose (0) belongs to neither side."""
POSE_RIGHT_POINTS: frozenset[int] = frozenset({4, 5, 6, 8, 10, *range(12, POSE_POINTS, 2)})
