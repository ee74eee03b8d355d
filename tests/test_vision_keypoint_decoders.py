"""The keypoint decoders on synthetic outputs: known sub-pixel positions encoded as MMPose's codecs encode
them (Gaussian heatmaps, SimCC vectors, normalised coordinates), decoded back; and hand-checked values."""

import numpy as np
import pytest

from livepose.vision.keypoint_decoders import decode_heatmap, decode_heatmap_3d, decode_regression, decode_simcc

RNG = np.random.default_rng(7)


def gaussian_maps(points: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    """(N, K, H, W) unnormalised Gaussians centred on (N, K, 2) heatmap coordinates."""
    width, height = size
    xs, ys = np.arange(width), np.arange(height)[:, None]
    return np.exp(-((xs - points[..., 0, None, None]) ** 2 + (ys - points[..., 1, None, None]) ** 2)
                  / (2 * sigma ** 2)).astype(np.float32)


def gaussian_vectors(coords: np.ndarray, length: int, sigma: float) -> np.ndarray:
    return np.exp(-(np.arange(length) - coords[..., None]) ** 2 / (2 * sigma ** 2)).astype(np.float32)


def test_simcc_recovers_sub_pixel_positions_with_dark() -> None:
    input_size, split = (192, 256), 2.0
    truth = RNG.uniform(8, 180, size=(3, 21, 2))
    simcc_x = gaussian_vectors(truth[..., 0] * split, int(input_size[0] * split), sigma=6.0)
    simcc_y = gaussian_vectors(truth[..., 1] * split, int(input_size[1] * split), sigma=6.0)
    plain, scores = decode_simcc(simcc_x, simcc_y, split_ratio=split)
    refined, _ = decode_simcc(simcc_x, simcc_y, split_ratio=split, dark_kernel=1)
    assert np.abs(plain - truth).max() <= 0.25 + 1e-6  # the nearest bin, half a bin of 1/split px
    assert np.abs(refined - truth).max() < 1e-3
    assert scores.shape == (3, 21) and np.all(scores > 0.9)
    blurred, _ = decode_simcc(simcc_x, simcc_y, split_ratio=split, dark_kernel=7)
    assert np.abs(blurred - truth).max() < 0.02


def test_simcc_hand_checked_values() -> None:
    # argmax bin 3 of [0, 1, 2, 5, 4, 0]: x = 3 / 2 = 1.5; y argmax 1 / 2 = 0.5; score min(5, 3).
    x = np.array([[[0, 1, 2, 5, 4, 0]]], np.float32)
    y = np.array([[[1, 3, 2, 0]]], np.float32)
    points, scores = decode_simcc(x, y, split_ratio=2.0)
    assert points.tolist() == [[[1.5, 0.5]]] and scores.tolist() == [[3.0]]
    # A point whose best bin is not positive is marked -1, as MMPose marks it.
    points, scores = decode_simcc(-np.ones((1, 1, 4), np.float32), y, split_ratio=1.0)
    assert points.tolist() == [[[-1.0, -1.0]]]


def test_heatmap_shift_dark_and_udp() -> None:
    input_size, heatmap_size = (256, 256), (64, 64)
    truth = RNG.uniform(12, 240, size=(2, 17, 2))
    maps = gaussian_maps(truth * 64 / 256, heatmap_size, sigma=2.0)
    none, scores = decode_heatmap(maps, input_size, refine="none")
    shifted, _ = decode_heatmap(maps, input_size, refine="shift")
    dark, _ = decode_heatmap(maps, input_size, refine="dark", dark_kernel=1)
    assert np.abs(none - truth).max() <= 0.5 * 4 + 1e-6
    # The quarter shift halves the worst error of the plain argmax (in heatmap pixels: 0.5 -> 0.25 + rounding).
    assert np.abs(shifted - truth).mean() < np.abs(none - truth).mean()
    assert np.abs(dark - truth).max() < 1e-3
    udp_maps = gaussian_maps(truth * 63 / 255, heatmap_size, sigma=2.0)
    udp, _ = decode_heatmap(udp_maps, input_size, refine="dark", udp=True, dark_kernel=1)
    assert np.abs(udp - truth).max() < 0.05
    blurred, _ = decode_heatmap(maps, input_size, refine="dark", dark_kernel=11)
    # Blurred (MMPose's default kernel for sigma 2), DARK stays within a tenth of a heatmap pixel; the
    # worst points are the ones near the border, where the blur reflects the map.
    assert np.abs(blurred - truth).mean() < 0.05 and np.abs(blurred - truth).max() < 0.4
    assert np.all(scores > 0.9)


def test_heatmap_quarter_shift_hand_checked() -> None:
    # Peak at (2, 2); the right neighbour is higher than the left, the upper higher than the lower.
    heatmap = np.zeros((1, 1, 5, 5), np.float32)
    heatmap[0, 0, 2, 2], heatmap[0, 0, 2, 3], heatmap[0, 0, 2, 1] = 1.0, 0.6, 0.2
    heatmap[0, 0, 3, 2], heatmap[0, 0, 1, 2] = 0.1, 0.5
    points, scores = decode_heatmap(heatmap, (20, 20), refine="shift")
    assert points.tolist() == [[[(2 + 0.25) * 4, (2 - 0.25) * 4]]] and scores.tolist() == [[1.0]]
    # MMPose shifts only where both neighbours lie inside (1 < x < W - 1): a peak in column 1 stays.
    edge = np.roll(heatmap, -1, axis=3)
    points, _ = decode_heatmap(edge, (20, 20), refine="shift")
    assert points[0, 0, 0] == 1 * 4


def test_regression_and_rle() -> None:
    coords = RNG.uniform(0, 1, size=(2, 21, 2))
    points, scores = decode_regression(coords, (256, 192))
    assert np.allclose(points, coords * [256, 192]) and np.all(scores == 1)
    sigma = np.full((2, 21, 2), 0.2)
    points, scores = decode_regression(np.concatenate([coords, sigma], axis=-1), (256, 192))
    assert np.allclose(points, coords * [256, 192]) and np.allclose(scores, 0.8)
    flat, _ = decode_regression(coords.reshape(2, 42), (256, 192))
    assert np.allclose(flat, points)
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        decode_regression(np.zeros((1, 3, 3)), (10, 10))


def test_heatmap_3d_interhand_heads() -> None:
    volumes = np.zeros((1, 42, 64, 64, 64), np.float32)
    volumes[0, 5, 48, 10, 20] = 1.0  # depth bin 48, row 10, column 20
    root = np.array([[40.0]])
    hand_type = np.array([[0.9, 0.2]])
    points, scores, extra = decode_heatmap_3d(volumes, (256, 256), depth_bound=400.0, root_depth=root,
                                             root_heatmap_size=64, root_depth_bound=400.0, hand_type=hand_type)
    assert points[0, 5].tolist() == [20 * 4, 10 * 4, (48 / 64 - 0.5) * 400]
    assert scores[0, 5] == 1.0
    assert extra is not None and extra.root_depth.tolist() == [(40 / 64 - 0.5) * 400]
    assert extra.hand_present.tolist() == [[True, False]]


def test_decoders_refuse_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="SimCC"):
        decode_simcc(np.zeros((1, 2, 8)), np.zeros((1, 3, 8)))
    with pytest.raises(ValueError, match="heatmaps"):
        decode_heatmap(np.zeros((2, 8, 8)), (32, 32))
    with pytest.raises(ValueError, match="3D"):
        decode_heatmap_3d(np.zeros((1, 2, 8, 8)), (32, 32))
