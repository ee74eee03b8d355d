"""Big eyes (``livepose.effects.big_eyes``): on a real face of a shared clip and on drawn test patterns."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from evaluation.reference import load_reference
from livepose.effects.big_eyes import big_eyes, eye_discs, magnify
from livepose.testing import frames_from
from media_paths import MEDIA, SHORT_CLIP, media_file

FRAME = 30  # test_video.mp4: a signer facing the camera, eyes open (looked at)


@pytest.fixture(scope="module")
def real_face():
    clip = media_file(SHORT_CLIP)
    reference = load_reference(MEDIA / "reference" / "test_video.mediapipe.json.gz")
    faces = reference.frames[FRAME].faces
    assert faces, "the reference has a face on this frame"
    image = frames_from(clip, max_frames=FRAME + 1)[FRAME].image.copy()
    return image, faces[0]


def disc_mask(shape, discs) -> np.ndarray:  # type: ignore[no-untyped-def]
    ys, xs = np.mgrid[:shape[0], :shape[1]]
    mask = np.zeros(shape[:2], bool)
    for x, y, radius in discs:
        mask |= (xs - round(x)) ** 2 + (ys - round(y)) ** 2 <= (radius + 1) ** 2
    return mask


def test_only_the_eye_regions_change_and_they_do(real_face):
    image, face = real_face
    made = image.copy()
    big_eyes(made, [face])
    discs = eye_discs(face, 1.1)
    inside = disc_mask(image.shape, discs)
    assert np.array_equal(made[~inside], image[~inside])  # every pixel outside the eyes untouched
    changed = np.abs(made.astype(int) - image.astype(int)).sum(axis=2) > 8
    assert changed[inside].mean() > 0.2
    width = np.linalg.norm(face[33, :2] - face[133, :2])
    assert 10 < width < 80 and all(radius == pytest.approx(1.1 * w, rel=0.2) for (_, _, radius), w in
                                   zip(discs, (width, np.linalg.norm(face[362, :2] - face[263, :2]))))


def test_a_ring_is_magnified_as_the_formula_says():
    image = np.zeros((201, 201, 3), np.uint8)
    cv2.circle(image, (100, 100), 20, (255, 255, 255), 1)
    magnify(image, (100.0, 100.0), 60.0, 0.4)
    # The ring at 20 px now shows where r (1 - 0.4 (1 - (r/60)^2)) = 20: r = 30.0.
    row = image[100, 100:].max(axis=1)
    assert abs(int(np.argmax(row)) - 30) <= 1
    assert image[100, 100].max() == 0  # the centre is where it was


def test_zero_and_several_faces_and_an_eye_at_the_border(real_face):
    image, face = real_face
    untouched = image.copy()
    big_eyes(untouched, [])
    assert np.array_equal(untouched, image)
    shifted = face.copy()
    shifted[:, 0] += image.shape[1] - shifted[:, 0].max() + 15  # its right edge past the frame's
    both = image.copy()
    big_eyes(both, [face, shifted])
    one = image.copy()
    big_eyes(one, [face])
    assert not np.array_equal(both, one)  # the second face's visible eye was magnified too
    assert both.shape == image.shape


def test_a_mirrored_frame_gives_the_mirrored_effect(real_face):
    image, face = real_face
    made = image.copy()
    big_eyes(made, [face])
    mirrored_face = face.copy()
    mirrored_face[:, 0] = image.shape[1] - 1 - mirrored_face[:, 0]
    mirrored = np.ascontiguousarray(image[:, ::-1])
    big_eyes(mirrored, [mirrored_face])
    assert np.abs(mirrored[:, ::-1].astype(int) - made.astype(int)).mean() < 0.5


def test_strength_out_of_range_is_refused():
    with pytest.raises(ValueError, match="strength"):
        magnify(np.zeros((10, 10, 3), np.uint8), (5, 5), 4, 0.9)
