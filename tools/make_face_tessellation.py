"""Derive the face mesh triangles drawn by the visualizer; writes livepose/render/face_tessellation.py.

How: every face in MediaPipe's reference answers (``/work/shared/media/reference/*.mediapipe
.json.gz``, or ``$LIVEPOSE_MEDIA/reference``) is aligned to a common pose with 3-D similarity
Procrustes, the aligned faces are averaged, the mean is turned to face the camera (its
least-spread principal axis becomes the view direction, the eye line horizontal) and the 468
points are Delaunay-triangulated in that frontal view with ``cv2.Subdiv2D``. Triangles whose
centre lies outside the face oval, or inside an eye or the open mouth, are dropped: they would
span holes of the face. The mean frontal face is stored too, scaled to a unit inter-ocular
distance, for tests and benchmarks that need a plausible face without media.

Run from the repository root: ``python tools/make_face_tessellation.py``.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livepose.render.topology import (FACE_OVAL, FACE_POINTS, LEFT_EYE, LIPS_INNER,  # noqa: E402
                                      RIGHT_EYE)

NOSE_TIP = 1
OUTPUT = ROOT / "livepose" / "render" / "face_tessellation.py"


def load_faces(reference_dir: Path) -> list[np.ndarray]:
    faces = []
    for path in sorted(reference_dir.glob("*.mediapipe.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        for item in data.get("frames") or data.get("images") or []:
            for face in item.get("faces", []):
                points = np.asarray(face["landmarks"], dtype=np.float64)
                if points.shape == (FACE_POINTS, 3):
                    faces.append(points)
    return faces


def align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` moved, turned and scaled onto ``target`` (least squares, no reflection)."""
    s = source - source.mean(axis=0)
    t = target - target.mean(axis=0)
    u, sigma, vt = np.linalg.svd(s.T @ t)
    d = np.sign(np.linalg.det(u @ vt))
    correction = np.diag([1.0, 1.0, d])
    rotation = u @ correction @ vt
    scale = (sigma * np.diag(correction)).sum() / (s ** 2).sum()
    return scale * s @ rotation


def mean_frontal_face(faces: list[np.ndarray]) -> np.ndarray:
    reference = faces[0] - faces[0].mean(axis=0)
    for _ in range(3):
        aligned = np.stack([align(f, reference) for f in faces])
        reference = aligned.mean(axis=0)
    # Principal axes: the two widest span the face plane; the third is the view direction.
    _, _, axes = np.linalg.svd(reference, full_matrices=False)
    frontal = reference @ axes.T
    right_eye, left_eye = frontal[list(RIGHT_EYE)].mean(0), frontal[list(LEFT_EYE)].mean(0)
    if left_eye[0] < right_eye[0]:  # the subject's right eye is on the image's left
        frontal[:, 0] *= -1
    forehead, chin = frontal[10], frontal[152]
    if forehead[1] > chin[1]:  # image y grows downwards
        frontal[:, 1] *= -1
    if frontal[NOSE_TIP, 2] > frontal[:, 2].mean():  # as in MediaPipe, nearer is more negative
        frontal[:, 2] *= -1
    right_eye, left_eye = frontal[list(RIGHT_EYE)].mean(0), frontal[list(LEFT_EYE)].mean(0)
    angle = np.arctan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])
    c, s = np.cos(-angle), np.sin(-angle)
    frontal[:, :2] = frontal[:, :2] @ np.array([[c, s], [-s, c]])
    frontal -= frontal.mean(axis=0)
    return frontal / np.linalg.norm(left_eye - right_eye)


def delaunay(points: np.ndarray) -> np.ndarray:
    low, high = points.min(axis=0) - 1, points.max(axis=0) + 1
    subdiv = cv2.Subdiv2D((int(np.floor(low[0])), int(np.floor(low[1])),
                           int(np.ceil(high[0] - low[0])) + 1, int(np.ceil(high[1] - low[1])) + 1))
    subdiv.insert([(float(x), float(y)) for x, y in points])
    triangles = []
    for x1, y1, x2, y2, x3, y3 in subdiv.getTriangleList():
        corners = np.array([[x1, y1], [x2, y2], [x3, y3]])
        distances = np.linalg.norm(points[None, :, :] - corners[:, None, :], axis=2)
        nearest = distances.argmin(axis=1)
        if distances[np.arange(3), nearest].max() < 1e-3:  # drops the outer virtual vertices
            triangles.append(nearest)
    return np.asarray(triangles, dtype=np.int32)


def inside(polygon: np.ndarray, point: np.ndarray) -> bool:
    return cv2.pointPolygonTest(polygon.astype(np.float32), (float(point[0]), float(point[1])), False) > 0


def keep_face_triangles(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    oval = points[list(FACE_OVAL)]
    holes = [points[list(loop)] for loop in (RIGHT_EYE, LEFT_EYE, LIPS_INNER)]
    kept = []
    for tri in triangles:
        centre = points[tri].mean(axis=0)
        if inside(oval, centre) and not any(inside(hole, centre) for hole in holes):
            kept.append(sorted(tri.tolist()))
    return np.asarray(sorted(kept), dtype=np.int32)


def main() -> None:
    media = Path(os.environ.get("LIVEPOSE_MEDIA", ROOT.parent / "shared" / "media"))
    faces = load_faces(media / "reference")
    if not faces:
        sys.exit(f"no reference faces under {media / 'reference'}")
    frontal = mean_frontal_face(faces)
    # Subdiv2D works in floats but its bounding box is integral: triangulate at a large scale.
    triangles = keep_face_triangles(frontal[:, :2] * 1000, delaunay(frontal[:, :2] * 1000))
    flat = textwrap.fill(", ".join(str(i) for i in triangles.ravel()), 96,
                         initial_indent="    ", subsequent_indent="    ")
    points = ",\n    ".join(f"({x:.4f}, {y:.4f}, {z:.4f})" for x, y, z in frontal)
    OUTPUT.write_text(
        '"""Face mesh triangles and a mean frontal face: generated by tools/make_face_tessellation.py.\n\n'
        f'Delaunay triangulation of the mean of {len(faces)} MediaPipe reference faces seen from the front;\n'
        'see that script for how. Do not edit by hand: run the script again.\n"""\n\n'
        f"FACE_TRIANGLES: tuple[int, ...] = (\n{flat},\n)\n"
        f'"""{len(triangles)} triangles, three landmark indices each, flattened."""\n\n'
        f"REFERENCE_FACE: tuple[tuple[float, float, float], ...] = (\n    {points},\n)\n"
        '"""Mean frontal face (x right, y down, z negative towards the camera), centred,\n'
        'unit inter-ocular distance."""\n',
        encoding="utf-8")
    print(f"{len(faces)} faces -> {len(triangles)} triangles -> {OUTPUT}")


if __name__ == "__main__":
    main()
