"""Tiny torch keypoint models for the bring-your-own-model tests, built at test time (random or set weights).

``FixedSimCC``, ``FixedHeatmap`` and ``FixedRegression`` run a real convolution on the image but output
peaks at set input positions (the image's contribution multiplied by zero, so the graph keeps its
dynamic batch): where the points land in the frame is then known exactly, through the crop and back.
"""

from __future__ import annotations

import math

import torch
from torch import nn

INPUT = 128
SPLIT = 2
POINTS = [(10.0 + 5 * k, 20.0 + 4 * k) for k in range(21)]
"""Input pixels of each of the 21 points the fixed models output (x, y)."""


def _features(conv: nn.Module, image: torch.Tensor) -> torch.Tensor:
    return conv(image).mean(dim=(1, 2, 3)).reshape(-1, 1, 1) * 0.0


def _peaks(coords: list[float], length: int, sigma: float) -> torch.Tensor:
    bins = torch.arange(length, dtype=torch.float32)
    return torch.stack([torch.exp(-(bins - c) ** 2 / (2 * sigma ** 2)) for c in coords])


class FixedSimCC(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        self.register_buffer("x", _peaks([x * SPLIT for x, _ in POINTS], INPUT * SPLIT, 4.0))
        self.register_buffer("y", _peaks([y * SPLIT for _, y in POINTS], INPUT * SPLIT, 4.0))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zero = _features(self.conv, image)
        return self.x + zero, self.y + zero


class FixedHeatmap(nn.Module):
    """64x64 heatmaps for a 256x256 input, Gaussian peaks at POINTS * 2 (input pixels)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        xs, ys = torch.arange(64.0), torch.arange(64.0).reshape(-1, 1)
        maps = [torch.exp(-((xs - 2 * x / 4) ** 2 + (ys - 2 * y / 4) ** 2) / 8.0) for x, y in POINTS]
        self.register_buffer("maps", torch.stack(maps))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.maps + _features(self.conv, image).reshape(-1, 1, 1, 1)


class FixedRegression(nn.Module):
    """Normalised coordinates of POINTS and RLE sigma 0.1 (score 0.9)."""

    def __init__(self, count: int = 21) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        values = [[x / INPUT, y / INPUT, 0.1, 0.1] for x, y in (POINTS * 4)[:count]]
        self.register_buffer("values", torch.tensor(values))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.values + _features(self.conv, image)


def face_regression() -> nn.Module:
    """FixedRegression with 68 points, for a face layout."""
    return FixedRegression(68)


class RandomSimCC(nn.Module):
    """A few convolutions and two SimCC heads with random weights."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 21, 3, 4, 1))
        self.to_x = nn.Linear(16 * 16, INPUT * SPLIT)
        self.to_y = nn.Linear(16 * 16, INPUT * SPLIT)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(image).flatten(2)
        return torch.softmax(self.to_x(features), -1), torch.softmax(self.to_y(features), -1)


def expected_frame_points(center: tuple[float, float], side: float, rotation: float,
                          input_size: int = INPUT, scale: float = 1.0) -> list[tuple[float, float]]:
    """Where POINTS (times ``scale``) land in the frame for a square box of ``side`` pixels (padding 1),
    computed with plain trigonometry: the input's centre is the box's, its x axis the box's rotated one."""
    per_pixel = side / input_size
    cos, sin = math.cos(rotation), math.sin(rotation)
    out = []
    for x, y in POINTS:
        u, v = (x * scale - input_size / 2) * per_pixel, (y * scale - input_size / 2) * per_pixel
        out.append((center[0] + u * cos - v * sin, center[1] + u * sin + v * cos))
    return out
