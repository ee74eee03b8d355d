"""Face paint (``livepose.effects.face_paint``) on real faces: MediaPipe's reference meshes on frames of
the shared clips (a signer facing the camera; a 720p clip with two faces)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_paths import HD_CLIP, REPO, SHORT_CLIP, media_file

from evaluation.reference import load_reference
from livepose.effects.face_paint import (
    FACE_UV,
    PAINT_LOOPS,
    PAINT_TRIANGLES,
    FaceTexture,
    face_box,
    paint_faces,
    parse_colour,
)
from livepose.errors import UserError
from livepose.nodes.effects import FacePaint
from livepose.render.topology import (
    FACE_OVAL,
    LEFT_EYE,
    LIPS_INNER,
    LIPS_OUTER,
    RIGHT_EYE,
)
from livepose.testing import NodeHarness, face, frame, frames_from, run_node

SHORT_FRAME = 30  # test_video.mp4: the signer faces the camera, eyes open, mouth closed (looked at)
HD_FRAME = 0  # example_2.mp4: an interpreter and an inset speaker, two faces
COLOUR = (40, 200, 250)  # BGR
SAMPLED = (1, 4, 5, 6, 8, 9, 50, 101, 108, 117, 151, 168, 195, 197, 199, 200, 205, 280, 330, 337, 346, 425)
"""Landmarks inside the painted region, well away from its rim and holes (at least 69 texels of 1024)."""


@cache
def _still(relative: str, index: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    clip = media_file(relative)
    reference = media_file(f"reference/{Path(relative).stem}.mediapipe.json.gz")
    faces = load_reference(reference).frames[index].faces
    image = frames_from(clip, max_frames=index + 1)[index].image
    image.flags.writeable = False
    return image, tuple(faces)


def signer() -> tuple[np.ndarray, np.ndarray]:
    image, faces = _still(SHORT_CLIP, SHORT_FRAME)
    assert len(faces) == 1, "the reference has one face on this frame"
    return image, faces[0]


def two_faces() -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    image, faces = _still(HD_CLIP, HD_FRAME)
    assert len(faces) == 2, "the 720p clip's first frame shows two faces"
    return image, faces


def polygon_mask(shape: tuple[int, ...], mesh: np.ndarray, contour: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(mesh[list(contour), :2] * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return mask


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    return cv2.dilate(mask, np.ones((2 * pixels + 1,) * 2, np.uint8))


def shrink(mask: np.ndarray, pixels: int) -> np.ndarray:
    return cv2.erode(mask, np.ones((2 * pixels + 1,) * 2, np.uint8))


def gradient_texture(size: int = 1024) -> np.ndarray:
    """Blue = 255 u, green = 255 v of each texel's centre, red 128, opaque: a pixel tells its UV."""
    texel = (np.arange(size) + 0.5) / size * 255
    texture = np.empty((size, size, 4), np.uint8)
    texture[..., 0] = np.round(texel)[None, :]
    texture[..., 1] = np.round(texel)[:, None]
    texture[..., 2], texture[..., 3] = 128, 255
    return texture


def visible(mesh: np.ndarray) -> list[int]:
    """The landmarks of :data:`SAMPLED` inside the rim that no nearer triangle hides (a turned face's
    nose hides part of its far cheek): where the pixel must show the landmark's own UV."""
    tri = PAINT_TRIANGLES
    a, b, c = mesh[tri[:, 0]], mesh[tri[:, 1]], mesh[tri[:, 2]]
    shown = []
    for index in SAMPLED:
        p = mesh[index]
        e1, e2, d = b[:, :2] - a[:, :2], c[:, :2] - a[:, :2], p[:2] - a[:, :2]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            l1 = (d[:, 0] * e2[:, 1] - d[:, 1] * e2[:, 0]) / det
            l2 = (d[:, 1] * e1[:, 0] - d[:, 0] * e1[:, 1]) / det
        l0 = 1 - l1 - l2
        covers = (np.minimum(np.minimum(l0, l1), l2) > -0.05) & ~np.any(tri == index, axis=1)
        depth = l0 * a[:, 2] + l1 * b[:, 2] + l2 * c[:, 2]
        rim = mesh[list(PAINT_LOOPS[0]), :2].astype(np.float32)
        # The paint stops at the rim: on a turned face the far cheek can bulge past the face oval.
        inside_rim = cv2.pointPolygonTest(rim, (float(p[0]), float(p[1])), True) > 1.5
        if inside_rim and not np.any(covers & (depth < p[2] + 0.01 * np.ptp(mesh[:, 0]))):
            shown.append(index)
    return shown


def painted(image: np.ndarray, meshes, **kwargs) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = image.copy()
    paint_faces(out, meshes, **kwargs)
    return out


def mirror(mesh: np.ndarray, width: int) -> np.ndarray:
    return np.column_stack([width - 1 - mesh[:, 0], mesh[:, 1], mesh[:, 2]])


def test_the_layout_and_region():
    assert FACE_UV.shape == (468, 2) and FACE_UV.min() >= 0.0 and FACE_UV.max() <= 1.0
    assert FACE_UV[:, 1].min() == pytest.approx(0.02) and FACE_UV[:, 1].max() == pytest.approx(0.98)
    assert FACE_UV[:, 0].min() + FACE_UV[:, 0].max() == pytest.approx(1.0)  # centred
    assert FACE_UV[10, 1] < FACE_UV[1, 1] < FACE_UV[152, 1]  # forehead, nose, chin: v grows down
    assert FACE_UV[33, 0] < FACE_UV[263, 0]  # the person's right eye on the left, as a camera sees it
    assert not set(np.unique(PAINT_TRIANGLES).tolist()) & set(LIPS_INNER)  # the lips belong to no triangle
    assert [len(loop) for loop in PAINT_LOOPS] == [36, 20, 16, 16]
    assert set(PAINT_LOOPS[0]) <= set(FACE_OVAL)
    assert set(PAINT_LOOPS[1]) == set(LIPS_OUTER) and {PAINT_LOOPS[2], PAINT_LOOPS[3]} == {
        loop for loop in PAINT_LOOPS if set(loop) in (set(LEFT_EYE), set(RIGHT_EYE))}


def test_colour_moves_towards_the_paint_by_the_opacity_and_leaves_lips_eyes_and_the_rest():
    cases = [(signer()[0], (signer()[1],)), two_faces()]
    for image, meshes in cases:
        for opacity in (0.35, 1.0):
            out = painted(image, meshes, colour=COLOUR, opacity=opacity)
            untouched = np.ones(image.shape[:2], np.uint8)
            for mesh in meshes:
                oval = polygon_mask(image.shape, mesh, FACE_OVAL)
                holes = [polygon_mask(image.shape, mesh, c) for c in (LIPS_OUTER, LEFT_EYE, RIGHT_EYE)]
                inside = shrink(oval, 2)
                for hole in holes:
                    inside &= 1 - grow(hole, 2)
                    untouched[shrink(hole, 1) > 0] = 1  # the holes' own interiors stay as they were
                inside = inside.astype(bool)
                assert inside.sum() > 5000
                expected = image[inside] * (1 - opacity) + np.float64(COLOUR) * opacity
                assert np.abs(out[inside] - expected).max() <= 1.0, "every pixel blended, rounded once"
                untouched[grow(oval, 1) > 0] = 0
                for hole in holes:
                    interior = shrink(hole, 1).astype(bool)
                    assert interior.sum() > 20 and np.array_equal(out[interior], image[interior])
            # Beyond each face oval (a pixel's rasterisation aside): exactly as it was.
            keep = untouched.astype(bool)
            assert np.array_equal(out[keep], image[keep])


def test_a_texture_appears_where_the_uv_layout_puts_it():
    texture = gradient_texture()
    paint = FaceTexture.from_image(texture)
    cases = [(signer()[0], (signer()[1],)), two_faces()]
    errors = []
    for image, meshes in cases:
        out = painted(image, meshes, texture=paint, opacity=1.0)
        for mesh in meshes:
            shown_here = visible(mesh)
            assert len(shown_here) >= 12
            for index in shown_here:
                x, y = np.round(mesh[index, :2]).astype(int)
                # The pixel's centre is within 0.71 px of the landmark: a level or two of the gradient
                # on these faces (120 to 160 px tall).
                u, v = FACE_UV[index]
                shown = out[y, x].astype(float)
                errors.append(max(abs(shown[0] - 255 * u), abs(shown[1] - 255 * v), abs(shown[2] - 128)))
    errors_array = np.array(errors)
    assert errors_array.max() <= 4.0, np.round(errors_array, 1)
    # The measure tells a texture that is off: moved by 3 % of the face, the errors are far larger.
    image, mesh = signer()
    moved = mesh.copy()
    moved[:, 0] += 0.03 * np.ptp(mesh[:, 0])
    out = painted(image, [moved], texture=paint, opacity=1.0)
    off = [abs(out[round(mesh[i, 1]), round(mesh[i, 0])][0] - 255 * FACE_UV[i, 0]) for i in SAMPLED]
    assert np.median(off) > 5.0


def test_a_texture_with_alpha_multiplies_the_opacity_and_leaves_transparent_parts():
    image, mesh = signer()
    texture = gradient_texture(256)
    texture[:, :128, 3] = 0  # the image-left half of the face transparent
    texture[:, 128:, 3] = 128
    out = painted(image, [mesh], texture=FaceTexture.from_image(texture), opacity=0.8)
    for index in SAMPLED:
        x, y = np.round(mesh[index, :2]).astype(int)
        u, v = FACE_UV[index]
        if u < 0.47:
            assert np.array_equal(out[y, x], image[y, x])
        elif u > 0.53:
            weight = 0.8 * 128 / 255
            expected = image[y, x] * (1 - weight) + weight * np.array([255 * u, 255 * v, 128])
            assert np.abs(out[y, x] - expected).max() <= 3.0


def test_a_mirrored_frame_gets_the_mirrored_paint():
    image, meshes = two_faces()
    width = image.shape[1]
    flipped = np.ascontiguousarray(image[:, ::-1])
    flipped_meshes = [mirror(m, width) for m in meshes]
    for kwargs in ({"colour": COLOUR, "opacity": 0.6}, {"texture": FaceTexture.from_image(gradient_texture()),
                                                        "opacity": 0.9}):
        plain = painted(image, meshes, **kwargs)
        back = painted(flipped, flipped_meshes, **kwargs)[:, ::-1]
        region = np.any(plain != image, axis=2) | np.any(back != image, axis=2)
        difference = np.abs(back.astype(int) - plain)[region].max(axis=1)
        # Only the rim's rasterisation and the texture's interpolation differ, not where it lies.
        assert region.sum() > 10000 and np.mean(difference > 8) < 0.02 and difference.mean() < 1.5


def test_zero_and_two_faces_through_the_node():
    image, meshes = two_faces()
    given = frame(image, faces=[])
    [out] = run_node(FacePaint, [given])
    assert out is given
    faces = [face(m, image_size=image.shape[:2], track_id=i) for i, m in enumerate(meshes)]
    [both] = run_node(FacePaint, [frame(image, faces=faces)], params={"colour": "#fac828", "opacity": 0.5})
    assert parse_colour("#fac828") == COLOUR
    for mesh in meshes:
        alone = painted(image, [mesh], colour=COLOUR, opacity=0.5)
        changed = np.any(alone != image, axis=2)
        assert changed.sum() > 5000 and np.array_equal(both.image[changed], alone[changed])
    assert np.array_equal(both.image, painted(image, meshes, colour=COLOUR, opacity=0.5))


def test_a_face_partly_outside_the_frame_is_painted_where_it_shows():
    image, mesh = signer()
    shifted = mesh.copy()
    shifted[:, 0] += image.shape[1] - mesh[:, 0].mean()  # half of it past the right edge
    out = painted(image, [shifted], colour=COLOUR, opacity=0.5)
    assert np.any(out != image) and out.shape == image.shape
    gone = mesh.copy()
    gone[:, 0] += 5 * image.shape[1]
    assert np.array_equal(painted(image, [gone], colour=COLOUR), image)
    assert face_box(gone, image.shape[1], image.shape[0]) is None


def test_bad_params_are_refused_naming_the_problem_and_a_texture_file_is_used(tmp_path):
    with pytest.raises(UserError, match="missing_paint.png"), \
            NodeHarness(FacePaint, {"texture": str(tmp_path / "missing_paint.png")}):
        pass
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(UserError, match="broken.png"), NodeHarness(FacePaint, {"texture": str(broken)}):
        pass
    with pytest.raises(UserError, match="rrggbb"), NodeHarness(FacePaint, {"colour": "red"}):
        pass
    with pytest.raises(Exception, match="opacity"):
        FacePaint(opacity=1.5)
    path = tmp_path / "gradient.png"
    cv2.imwrite(str(path), gradient_texture()[..., :3])  # BGR, no alpha: opaque
    image, mesh = signer()
    [out] = run_node(FacePaint, [frame(image, faces=[face(mesh, image_size=image.shape[:2])])],
                     params={"texture": str(path), "opacity": 1.0})
    assert np.array_equal(out.image, painted(image, [mesh], texture=FaceTexture.from_image(gradient_texture()),
                                             opacity=1.0))
    assert FacePaint.requires == ("faces",) and FacePaint.writes == ()


def test_the_committed_uv_template_is_what_the_tool_draws():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_face_uv_template", REPO / "tools" / "make_face_uv_template.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    drawn = tool.template()
    stored = cv2.imread(str(REPO / "assets" / "face_uv_template.png"))
    assert stored is not None and stored.shape == (1024, 1024, 3)
    assert int(np.abs(stored.astype(int) - drawn).max()) <= 1, "run tools/make_face_uv_template.py"
    # The eyes and lips shaded in the template are where the layout puts their landmarks.
    for index in (13, 14):  # the inner lip's top and bottom middle
        x, y = np.round(FACE_UV[index] * 1024 - 0.5).astype(int)
        assert tuple(stored[y, x]) == (225, 225, 225)
