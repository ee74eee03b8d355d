"""A refined (478-point) face is drawn and effected like a 468-point one, with its irises drawn as circles.

The face is MediaPipe's own refined answer on a frame of the HD signer clip (reference/example_2.refine.json.gz).
"""

from __future__ import annotations

import gzip
import json

import cv2
import numpy as np
import pytest

from livepose.effects import SunglassesImage, draw_sunglasses, make_sunglasses, paint_faces
from livepose.effects.big_eyes import big_eyes
from livepose.render.draw import FaceStyle, draw_faces, iris_circle
from livepose.render.topology import FACE_POINTS, REFINED_FACE_POINTS
from livepose.testing import face
from media_paths import HD_CLIP, media_file

FRAME = 40


@pytest.fixture(scope="module")
def refined() -> tuple[np.ndarray, np.ndarray]:
    """The clip's frame and MediaPipe's (478, 3) pixel landmarks of its face."""
    answers = json.loads(gzip.open(media_file("reference/example_2.refine.json.gz")).read())
    landmarks = np.asarray(answers["frames"][FRAME]["faces"][0]["landmarks"], dtype=np.float64)
    assert landmarks.shape == (REFINED_FACE_POINTS, 3)
    capture = cv2.VideoCapture(str(media_file(HD_CLIP)))
    for _ in range(FRAME + 1):
        ok, image = capture.read()
        assert ok
    capture.release()
    return image, landmarks


def test_iris_circle_is_the_centre_and_mean_rim_distance() -> None:
    rim = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, 0.0], [0.0, -10.0]])
    centre, radius = iris_circle(np.vstack([[0.0, 0.0], rim]) + [50.0, 60.0])
    assert centre.tolist() == [50.0, 60.0] and radius == pytest.approx(10.0)


def test_a_refined_face_draws_its_mesh_and_both_irises(refined) -> None:
    image, landmarks = refined
    style = FaceStyle(labels=False)
    mesh_only, with_irises = image.copy(), image.copy()
    draw_faces(mesh_only, [face(landmarks[:FACE_POINTS])], style)
    draw_faces(with_irises, [face(landmarks)], style)
    assert (mesh_only != image).any(axis=2).sum() > 1000  # the 468-point mesh is drawn either way
    iris_pixels = (with_irises != mesh_only).any(axis=2)
    ys, xs = np.nonzero(iris_pixels)
    assert len(xs) > 0
    for iris in (landmarks[468:473, :2], landmarks[473:478, :2]):
        centre, radius = iris_circle(iris)
        distance = np.hypot(xs - centre[0], ys - centre[1])
        on_circle = np.abs(distance - radius) <= 1.5
        assert on_circle.sum() >= 2 * np.pi * radius * 0.8, "the iris circle is not drawn"
        assert (distance < radius + 3).sum() >= 0.8 * ((distance < 20).sum()), "pixels changed away from the iris"
    assert radius > 2  # an HD face: the irises are a few pixels wide, the test means something


def test_the_face_effects_give_the_same_picture_for_478_points_as_for_the_mesh(refined) -> None:
    image, landmarks = refined
    for effect in (
        lambda target, points: draw_sunglasses(target, [points], SunglassesImage.from_rgba(make_sunglasses())),
        lambda target, points: big_eyes(target, [points]),
        lambda target, points: paint_faces(target, [points]),
    ):
        mesh, full = image.copy(), image.copy()
        effect(mesh, landmarks[:FACE_POINTS])
        effect(full, landmarks)
        assert (mesh != image).any(), "the effect changed nothing"
        np.testing.assert_array_equal(full, mesh)
