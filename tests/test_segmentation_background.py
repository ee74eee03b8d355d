"""The background effect: blur or replace what the person mask says is background.

The pure functions of ``livepose.effects.background`` on a real frame and MediaPipe-style masks:
sure person pixels untouched, sure background exactly the blurred (or replacement) picture, the
uncertain band the rounded linear blend; then the ``background`` node and ``pipelines/background.yaml``.
"""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from livepose import results
from livepose.effects.background import (blurred_background, fitted_background, person_weights,
                                         replace_background, solid_background)
from livepose.errors import UserError
from livepose.io.sources import VideoFileSource
from livepose.models.cache import ModelSourceError
from livepose.nodes.effects import Background
from livepose.nodes.segmentation import SelfieSegmenter
from livepose.testing import NodeHarness, frame, run_pipeline
from media_paths import HD_CLIP, REPO, SHORT_CLIP, media_file

REPO_PIPELINE = REPO / "pipelines" / "background.yaml"


@pytest.fixture(scope="module")
def hd_frame_and_mask() -> tuple[np.ndarray, np.ndarray]:
    source = VideoFileSource(media_file(HD_CLIP), color_matrix="bt601")
    image = source.read().image  # type: ignore[union-attr]
    source.close()
    try:
        segmenter = SelfieSegmenter("", 0)
    except ModelSourceError as error:
        pytest.skip(f"the segmentation model cannot be prepared here: {error}")
    return image, np.array(segmenter(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))


def expected_blend(image: np.ndarray, behind: np.ndarray, mask: np.ndarray, threshold: float = 0.5,
                   softness: float = 0.2) -> np.ndarray:
    weights = person_weights(mask, threshold, softness)[..., None]
    return np.floor(behind + (image.astype(np.float32) - behind) * weights + 0.5).astype(np.uint8)


def test_person_weights_ramp_across_the_threshold() -> None:
    mask = np.array([[0.0, 0.4, 0.45, 0.5, 0.55, 0.6, 1.0]], np.float32)
    np.testing.assert_allclose(person_weights(mask), [[0, 0, 0.25, 0.5, 0.75, 1, 1]], atol=1e-6)
    np.testing.assert_array_equal(person_weights(mask, softness=0), [[0, 0, 0, 1, 1, 1, 1]])
    with pytest.raises(ValueError, match="2-D"):
        person_weights(mask[None])


@pytest.mark.parametrize("mode", ["blur", "colour", "image"])
def test_replacement_keeps_the_person_and_blends_only_the_outline(hd_frame_and_mask, mode: str) -> None:
    image, mask = hd_frame_and_mask
    height, width = mask.shape
    picture = np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    backgrounds = {"blur": blurred_background(image), "colour": solid_background((64, 177, 0), width, height),
                   "image": fitted_background(picture, width, height)}
    behind = backgrounds[mode]
    out = image.copy()
    replace_background(out, mask, mode, colour=(64, 177, 0), background=None if mode != "image" else behind)  # type: ignore[arg-type]
    person, background = mask >= 0.6, mask <= 0.4
    assert person.mean() > 0.05 and background.mean() > 0.3
    np.testing.assert_array_equal(out[person], image[person])
    np.testing.assert_array_equal(out[background], behind[background])
    np.testing.assert_array_equal(out, expected_blend(image, behind, mask))


def test_a_view_into_a_larger_image_is_changed_in_place(hd_frame_and_mask) -> None:
    image, mask = hd_frame_and_mask
    canvas = np.zeros((image.shape[0] + 20, image.shape[1] + 20, 3), np.uint8)
    canvas[10:-10, 10:-10] = image
    view = canvas[10:-10, 10:-10]  # not contiguous
    replace_background(view, mask, "colour", colour=(1, 2, 3))
    expected = image.copy()
    replace_background(expected, mask, "colour", colour=(1, 2, 3))
    np.testing.assert_array_equal(canvas[10:-10, 10:-10], expected)
    assert not canvas[:10].any() and not canvas[:, :10].any()


def test_a_hard_edge_cuts_at_the_threshold(hd_frame_and_mask) -> None:
    image, mask = hd_frame_and_mask
    out = image.copy()
    replace_background(out, mask, "colour", colour=(0, 0, 255), softness=0)
    person = mask >= 0.5
    np.testing.assert_array_equal(out[person], image[person])
    assert (out[~person] == (0, 0, 255)).all()


def test_the_blur_is_a_full_size_gaussian_within_a_few_levels(hd_frame_and_mask) -> None:
    image, _ = hd_frame_and_mask
    blurred = blurred_background(image, strength=0.02)
    assert blurred.shape == image.shape and blurred.dtype == np.uint8
    # Computed at 1/8 size; against the full-size Gaussian (sigma 2 % of 720 rows) measured: mean 0.6,
    # p99 3 levels.
    exact = cv2.GaussianBlur(image, (0, 0), 0.02 * 720, borderType=cv2.BORDER_REPLICATE)
    difference = np.abs(blurred.astype(int) - exact)
    assert difference.mean() < 1.0 and np.percentile(difference, 99) <= 4


def test_a_picture_of_another_shape_covers_the_frame_undistorted() -> None:
    picture = np.zeros((100, 400, 3), np.uint8)
    picture[:, 150:250] = 255  # a centred white square, 100 x 100
    fitted = fitted_background(picture, 300, 300)
    assert fitted.shape == (300, 300, 3)
    # Scaled by 3 to cover the height, the square fills the middle 300 columns: the whole frame
    # (but for the outermost columns, where the bilinear scaling reads the black beside it).
    assert fitted[:, 2:-2].min() == 255


def test_bad_arguments_are_refused(hd_frame_and_mask) -> None:
    image, mask = hd_frame_and_mask
    with pytest.raises(ValueError, match="does not match"):
        replace_background(image.copy(), mask[:10], "blur")
    with pytest.raises(ValueError, match="mode must be"):
        replace_background(image.copy(), mask, "sepia")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a background"):
        replace_background(image.copy(), mask, "image")


def test_the_node_replaces_the_background_from_the_mask_result(hd_frame_and_mask) -> None:
    image, mask = hd_frame_and_mask
    mask.flags.writeable = False
    with NodeHarness(Background, {"mode": "colour", "colour": "#ff0000"}) as node:
        out = node.process(frame(image).with_results(**{results.SEGMENTATION_MASK: mask})).image
        # A mask of another frame size (a node between resized the frame) leaves the frame as it came.
        small = cv2.resize(image, (640, 360))
        untouched = node.process(frame(small).with_results(**{results.SEGMENTATION_MASK: mask})).image
    assert (out[mask <= 0.4] == (0, 0, 255)).all()
    np.testing.assert_array_equal(out[mask >= 0.6], image[mask >= 0.6])
    np.testing.assert_array_equal(untouched, small)


def test_the_node_checks_its_colour_and_image_before_the_first_frame(tmp_path) -> None:
    with pytest.raises(UserError, match="#rrggbb"):
        NodeHarness(Background, {"colour": "green"}).__enter__()
    with pytest.raises(UserError, match="needs the image parameter"):
        NodeHarness(Background, {"mode": "image"}).__enter__()
    with pytest.raises(UserError, match="cannot read the background image"):
        NodeHarness(Background, {"mode": "image", "image": str(tmp_path / "missing.png")}).__enter__()


def test_the_packaged_pipeline_runs_on_a_clip() -> None:
    try:
        outcome = run_pipeline(REPO_PIPELINE, source=str(media_file(SHORT_CLIP)), max_frames=5)
    except ModelSourceError as error:
        pytest.skip(f"the segmentation model cannot be prepared here: {error}")
    assert outcome.exit_code == 0
