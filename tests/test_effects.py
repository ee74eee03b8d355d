"""The built-in effects on real frames with MediaPipe's own face meshes: sunglasses where the eye
landmarks put them, privacy blur that leaves no face sharp, and neither touching anything else."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from evaluation.reference import load_reference
from livepose import results
from livepose.effects import (ASSET_ANCHORS, SunglassesImage, blur_regions, draw_sunglasses, face_region,
                              make_sunglasses, region_size)
from livepose.errors import UserError
from livepose.nodes.effects import PrivacyBlur, Sunglasses
from livepose.render.topology import FACE_OVAL, LEFT_EYE, RIGHT_EYE
from livepose.results import NormalizedRect, TrackedRoi
from livepose.testing import NodeHarness, face, frame, frames_from, hand, run_node
from media_paths import HD_CLIP, MEDIA, REPO, media_file

FRAMES = (0, 40, 120)
"""Frames of the 720p clip (an interpreter and an inset speaker: two faces in each) the tests use."""
ONE_FACE_CLIP = "Hand-keypoints/test_examples/webm/hands1.webm"


@cache
def _clip(relative: str, count: int) -> tuple[tuple[np.ndarray, ...], tuple]:
    """The first ``count`` decoded frames of a clip and MediaPipe's answers on them (decode order)."""
    reference = load_reference(MEDIA / "reference" / f"{Path(relative).stem}.mediapipe.json.gz")
    images = tuple(f.image for f in frames_from(MEDIA / relative, max_frames=count))
    return images, reference.frames[:count]


def hd_frames() -> list[tuple[np.ndarray, tuple[np.ndarray, ...]]]:
    """(image, face meshes) of :data:`FRAMES` of the 720p clip, two faces each."""
    media_file(HD_CLIP)
    media_file(f"reference/{Path(HD_CLIP).stem}.mediapipe.json.gz")
    images, reference = _clip(HD_CLIP, max(FRAMES) + 1)
    made = [(images[i], reference[i].faces) for i in FRAMES]
    assert all(len(meshes) == 2 for _, meshes in made), "the clip's frames should show two faces"
    return made


@cache
def glasses() -> SunglassesImage:
    return SunglassesImage.from_rgba(make_sunglasses())


def faces_of(meshes, image: np.ndarray) -> list:
    return [face(mesh, image_size=image.shape[:2], track_id=i) for i, mesh in enumerate(meshes)]


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=2)


def expected_corners(mesh: np.ndarray, rgba: np.ndarray, anchors=ASSET_ANCHORS) -> np.ndarray:
    """Where the corners of the visible part of the glasses belong, worked out here from the eye
    landmarks alone: the eye contours' centres, image-left first, take the anchors (a similarity)."""
    eyes = [mesh[list(RIGHT_EYE), :2].mean(axis=0), mesh[list(LEFT_EYE), :2].mean(axis=0)]
    eyes.sort(key=lambda p: p[0])  # the faces of these clips are upright
    h, w = rgba.shape[:2]
    a = [complex(anchors[0] * w - 0.5, anchors[1] * h - 0.5), complex(anchors[2] * w - 0.5, anchors[3] * h - 0.5)]
    e = [complex(*eyes[0]), complex(*eyes[1])]
    s = (e[1] - e[0]) / (a[1] - a[0])
    ys, xs = np.nonzero(rgba[..., 3])
    box = [complex(x, y) for x, y in ((xs.min() - 0.5, ys.min() - 0.5), (xs.max() + 0.5, ys.min() - 0.5),
                                      (xs.max() + 0.5, ys.max() + 0.5), (xs.min() - 0.5, ys.max() + 0.5))]
    return np.array([[(e[0] + s * (z - a[0])).real, (e[0] + s * (z - a[0])).imag] for z in box])


def measured_corners(mask: np.ndarray) -> np.ndarray:
    """The corners of the smallest rotated rectangle around the changed pixels (pixel edges, not centres)."""
    ys, xs = np.nonzero(mask)
    pixels = np.concatenate([np.column_stack([xs + dx, ys + dy]) for dx in (-0.5, 0.5) for dy in (-0.5, 0.5)])
    return cv2.boxPoints(cv2.minAreaRect(pixels.astype(np.float32)))


def corner_errors(expected: np.ndarray, measured: np.ndarray) -> np.ndarray:
    return np.array([np.min(np.linalg.norm(measured - corner, axis=1)) for corner in expected])


def outside(quad: np.ndarray, shape: tuple[int, ...], grow: int) -> np.ndarray:
    """The pixels farther than ``grow`` from the quadrilateral."""
    inside = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(quad).astype(np.int32)], 1)
    return cv2.dilate(inside, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)) == 0


def detail_kept(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> float:
    """How much of the fine detail (features of a pixel or a few: eyes, lips, skin) of ``before``
    over ``mask`` is still in ``after``: 1 when untouched, about 0 when it is gone. The projection of
    one's detail on the other's, so a pixelated face's new block edges, which follow no feature of the
    face, do not count as detail kept."""
    def detail(image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        return (grey - cv2.GaussianBlur(grey, (0, 0), 2.0))[mask]

    was, now = detail(before), detail(after)
    return float(was @ now / (was @ was))


# The sunglasses asset


def test_the_committed_asset_is_what_the_generator_draws_rgba_and_anti_aliased():
    drawn = make_sunglasses()
    stored = cv2.imread(str(REPO / "assets" / "sunglasses.png"), cv2.IMREAD_UNCHANGED)
    assert stored is not None and stored.shape == drawn.shape and stored.shape[2] == 4
    assert int(np.abs(stored.astype(int) - drawn).max()) <= 1, "run tools/make_sunglasses_asset.py"
    alpha = drawn[..., 3]
    edge = np.count_nonzero((alpha > 0) & (alpha < 255))
    assert edge > 500, "the outline fades over a pixel or two (anti-aliased), it is not stepped"
    assert np.count_nonzero(alpha == 0) > 0.2 * alpha.size, "what is not glasses is transparent"
    for x, y in ((ASSET_ANCHORS[0], ASSET_ANCHORS[1]), (ASSET_ANCHORS[2], ASSET_ANCHORS[3])):
        at = alpha[int(y * drawn.shape[0]), int(x * drawn.shape[1])]
        assert 100 < at < 250, "the eyes' anchors are on the tinted, see-through glass"
    assert np.array_equal(drawn, drawn[:, ::-1]) or np.abs(drawn.astype(int) - drawn[:, ::-1]).mean() < 1.0


# Sunglasses on real faces


def test_the_glasses_corners_lie_where_the_eye_landmarks_put_them_and_nothing_else_changes():
    rgba = make_sunglasses()
    errors = []
    for image, meshes in hd_frames():
        for mesh in meshes:
            drawn = image.copy()
            draw_sunglasses(drawn, [mesh], glasses())
            mask = changed(image, drawn)
            expected = expected_corners(mesh, rgba)
            errors.append(corner_errors(expected, measured_corners(mask)))
            assert not mask[outside(expected, image.shape, 2)].any(), "pixels away from the glasses are untouched"
            eyes = mesh[list(RIGHT_EYE + LEFT_EYE), :2]
            covered = mask[np.round(eyes[:, 1]).astype(int), np.round(eyes[:, 0]).astype(int)]
            assert covered.all(), "both eyes are behind the glasses"
    errors = np.concatenate(errors)
    assert errors.max() < 3.0, f"corner errors (px): {np.round(errors, 2)}"


def test_several_faces_each_get_a_pair_through_the_node():
    for image, meshes in hd_frames()[:1]:
        [out] = run_node(Sunglasses, [frame(image, faces=faces_of(meshes, image))])
        mask = changed(image, out.image)
        count, _ = cv2.connectedComponents(mask.astype(np.uint8))
        assert count - 1 >= 2, "two separate pairs"
        for mesh in meshes:
            single = image.copy()
            draw_sunglasses(single, [mesh], glasses())
            alone = changed(image, single)
            # Each face's pair is the one drawn for it alone: the faces are far apart.
            assert np.array_equal(out.image[alone], single[alone])


def test_a_mirrored_frame_gets_the_mirror_image_of_the_unmirrored_one():
    image, meshes = hd_frames()[0]
    width = image.shape[1]
    flipped = np.ascontiguousarray(image[:, ::-1])
    flipped_meshes = [np.column_stack([width - 1 - m[:, 0], m[:, 1], m[:, 2]]) for m in meshes]
    [plain] = run_node(Sunglasses, [frame(image, faces=faces_of(meshes, image))])
    [mirrored] = run_node(Sunglasses, [frame(flipped, mirrored=True, faces=faces_of(flipped_meshes, image))])
    back = mirrored.image[:, ::-1].astype(int)
    region = changed(image, plain.image)
    difference = np.abs(back - plain.image)[region].max(axis=1)
    # Upside-down or shifted glasses would differ by the whole frame's contrast over much of the pair.
    assert np.mean(difference > 24) < 0.01 and difference.mean() < 2.0


def test_no_faces_leaves_the_frame_as_it_was():
    image, _ = hd_frames()[0]
    given = frame(image, faces=[])
    for node in (Sunglasses, PrivacyBlur):
        [out] = run_node(node, [given])
        assert out is given and np.array_equal(out.image, image)


def test_an_image_param_without_alpha_is_refused_naming_the_file_and_an_rgba_one_is_drawn(tmp_path):
    grey_path, bgr_path = tmp_path / "grey.png", tmp_path / "glasses.jpg"
    cv2.imwrite(str(grey_path), np.full((40, 100), 90, np.uint8))
    cv2.imwrite(str(bgr_path), np.full((40, 100, 3), 90, np.uint8))
    for path, channels in ((grey_path, 1), (bgr_path, 3)):
        with pytest.raises(UserError, match=rf"{path.name}.*{channels} channel.*RGBA"), \
                NodeHarness(Sunglasses, {"image": str(path)}):
            pass
    with pytest.raises(UserError, match="missing.png"), NodeHarness(Sunglasses, {"image": str(tmp_path / "missing.png")}):
        pass
    # A plain red bar, half see-through, its anchors at a quarter and three quarters of its width.
    bar = np.zeros((40, 100, 4), np.uint8)
    bar[10:30, 5:95] = (0, 0, 255, 128)
    cv2.imwrite(str(tmp_path / "bar.png"), bar)
    image, meshes = hd_frames()[0]
    anchors = (0.25, 0.5, 0.75, 0.5)
    [out] = run_node(Sunglasses, [frame(image, faces=faces_of(meshes[:1], image))],
                     params={"image": str(tmp_path / "bar.png"), "anchors": anchors})
    mask = changed(image, out.image)
    errors = corner_errors(expected_corners(meshes[0], bar, anchors), measured_corners(mask))
    assert errors.max() < 3.0, np.round(errors, 2)
    reddened = out.image[mask].astype(int) - image[mask]
    assert np.median(reddened[:, 2]) > 20 and np.median(reddened[:, 0]) < 0


# Privacy blur


def test_privacy_blur_leaves_no_face_region_sharp_and_the_rest_untouched():
    figures = []
    for mode in ("blur", "pixelate"):
        for image, meshes in hd_frames():
            [out] = run_node(PrivacyBlur, [frame(image, faces=faces_of(meshes, image))], params={"mode": mode})
            for mesh in meshes:
                oval = np.zeros(image.shape[:2], np.uint8)
                cv2.fillPoly(oval, [np.round(mesh[list(FACE_OVAL), :2]).astype(np.int32)], 1)
                inside = oval.astype(bool)
                ratio = detail_kept(image, out.image, inside)
                figures.append(ratio)
                assert ratio < 0.15, f"{mode}: the face keeps {ratio:.0%} of its detail"
                assert np.abs(out.image[inside].astype(int) - image[inside]).mean() > 2
            # Beyond each oval grown by the margin (10%) and the feather (8% of its size), and a
            # pixel: as it was.
            near = np.zeros(image.shape[:2], np.uint8)
            for mesh in meshes:
                grown_oval = face_region(mesh, 0.1)
                one = np.zeros_like(near)
                cv2.fillPoly(one, [np.round(grown_oval).astype(np.int32)], 1)
                reach = int(np.ceil(0.08 * region_size(grown_oval))) + 2
                near |= cv2.dilate(one, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
            assert np.array_equal(out.image[near == 0], image[near == 0])
    assert max(figures) < 0.15, figures
    # The measure tells: a blur too light to hide anyone keeps most of the face's detail.
    image, meshes = hd_frames()[0]
    [light] = run_node(PrivacyBlur, [frame(image, faces=faces_of(meshes, image))], params={"strength": 0.003})
    oval = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(meshes[0][list(FACE_OVAL), :2]).astype(np.int32)], 1)
    assert detail_kept(image, light.image, oval.astype(bool)) > 0.5


def test_a_blurred_frame_shows_no_face_to_the_face_detector(models_ready):
    import livepose

    for image, meshes in hd_frames()[:2]:
        assert len(livepose.faces(image, max_num_faces=4)) == 2, "the detector finds both faces unblurred"
        [out] = run_node(PrivacyBlur, [frame(image, faces=faces_of(meshes, image))])
        assert livepose.faces(np.ascontiguousarray(out.image), max_num_faces=4) == ()


def test_the_detector_box_is_blurred_when_the_mesh_is_missing():
    image, meshes = hd_frames()[0]
    height, width = image.shape[:2]
    low, high = meshes[1][:, :2].min(axis=0), meshes[1][:, :2].max(axis=0)
    centre, size = (low + high) / 2, (high - low) * 1.2
    rect = NormalizedRect(centre[0] / width, centre[1] / height, size[0] / width, size[1] / height)
    detections = (TrackedRoi(rect, 0, True),)
    # The second face's mesh is missing: only its box covers it. The first face has both.
    first = faces_of(meshes[:1], image)
    [out] = run_node(PrivacyBlur, [frame(image, faces=first, face_detections=detections)],
                     params={"feather": 0.0})
    box = np.zeros(image.shape[:2], bool)
    x0, y0 = np.floor(centre - size / 2).astype(int)
    x1, y1 = np.ceil(centre + size / 2).astype(int)
    box[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = True
    assert changed(image, out.image)[box].all(), "the whole box is covered"
    assert detail_kept(image, out.image, box) < 0.15
    # A detection of a face whose mesh is there adds nothing beyond the oval.
    low0, high0 = meshes[0][:, :2].min(axis=0), meshes[0][:, :2].max(axis=0)
    c0, s0 = (low0 + high0) / 2, (high0 - low0) * 2.0
    own = TrackedRoi(NormalizedRect(c0[0] / width, c0[1] / height, s0[0] / width, s0[1] / height), 1, True)
    [with_box] = run_node(PrivacyBlur, [frame(image, faces=first, face_detections=(own,))], params={"feather": 0.0})
    [without] = run_node(PrivacyBlur, [frame(image, faces=first)], params={"feather": 0.0})
    assert np.array_equal(with_box.image, without.image)


def test_hands_are_blurred_only_when_asked_and_mirrored_frames_alike():
    media_file(ONE_FACE_CLIP)
    media_file(f"reference/{Path(ONE_FACE_CLIP).stem}.mediapipe.json.gz")
    images, reference = _clip(ONE_FACE_CLIP, 8)
    index = next(i for i, f in enumerate(reference) if f.hands and f.faces)
    image, found = images[index], reference[index]
    hands = [hand(h.landmarks, image_size=image.shape[:2]) for h in found.hands]
    given = frame(image, faces=faces_of(found.faces, image), hands=hands)
    [faces_only] = run_node(PrivacyBlur, [given], params={"feather": 0.0})
    [with_hands] = run_node(PrivacyBlur, [given], params={"feather": 0.0, "hands": True})
    for h in found.hands:
        hull = np.zeros(image.shape[:2], np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.round(h.landmarks[:, :2]).astype(np.int32)), 1)
        hull = hull.astype(bool) & ~changed(image, faces_only.image)
        assert hull.sum() > 200
        assert detail_kept(image, with_hands.image, hull) < 0.15
        assert np.array_equal(faces_only.image[hull], image[hull])
    # The same on the mirror image: only the pixels move.
    width = image.shape[1]
    flip = lambda m: np.column_stack([width - 1 - m[:, 0], m[:, 1], m[:, 2]])
    mirrored = frame(np.ascontiguousarray(image[:, ::-1]), mirrored=True,
                     faces=faces_of([flip(m) for m in found.faces], image))
    [blurred] = run_node(PrivacyBlur, [mirrored], params={"feather": 0.0, "mode": "blur"})
    [plain] = run_node(PrivacyBlur, [frame(image, faces=faces_of(found.faces, image))], params={"feather": 0.0})
    region = changed(image, plain.image)
    assert np.abs(blurred.image[:, ::-1].astype(int) - plain.image)[region].mean() < 3.0


def test_the_nodes_declare_what_they_need():
    assert Sunglasses.requires == (results.FACES,) and Sunglasses.writes == ()
    assert PrivacyBlur.requires == (results.FACES,) and PrivacyBlur.writes == ()
    assert set(PrivacyBlur.reads) == {results.FACE_DETECTIONS, results.HANDS}
    with pytest.raises(Exception, match="mode"):
        PrivacyBlur(mode="smear")
    black = np.zeros((120, 160, 3), np.uint8)
    blur_regions(black, [np.array([[-50.0, -50.0], [-10.0, -50.0], [-10.0, -10.0]])])  # off the frame: nothing
    assert not black.any()


def test_privacy_regions_cover_faces_boxes_without_a_mesh_and_hands_when_given():
    from livepose.effects.privacy import privacy_regions
    from livepose.testing import face, hand

    mesh = face(centre=(200.0, 200.0), size=120.0).landmarks
    on_the_mesh = np.array([[140, 140], [260, 140], [260, 260], [140, 260]], float)
    elsewhere = on_the_mesh + [300, 0]
    regions = privacy_regions([mesh], [on_the_mesh, elsewhere], [hand().landmarks])
    assert len(regions) == 3  # the oval, the box with no mesh in it, the hand
    assert np.allclose(regions[1], elsewhere)
    assert len(privacy_regions([mesh], [on_the_mesh])) == 1
