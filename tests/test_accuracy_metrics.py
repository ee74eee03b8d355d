"""PCK and NME on hand-computed cases."""

import math

import numpy as np

from livepose.accuracy.metrics import nme, pck


def test_pck_counts_visible_points_within_the_threshold() -> None:
    truth = np.zeros((2, 3, 2))
    predicted = np.array([[[1, 0], [3, 0], [0, 0]], [[0, 5], [np.nan, 0], [0, 1]]], float)
    visible = np.array([[True, True, False], [True, True, True]])
    sizes = np.array([10.0, 20.0])  # thresholds 2 and 4 px
    # Sample 0: 1 px in, 3 px out (the third not visible); sample 1: 5 px out, NaN out, 1 px in.
    assert pck(predicted, truth, visible, sizes, 0.2) == 2 / 5
    assert math.isnan(pck(predicted, truth, np.zeros((2, 3), bool), sizes))


def test_nme_normalises_each_sample_by_its_own_distance() -> None:
    truth = np.zeros((2, 2, 2))
    predicted = np.array([[[3, 4], [0, 0]], [[0, 2], [0, 4]]], float)  # errors (5, 0) and (2, 4)
    norms = np.array([10.0, 6.0])
    assert nme(predicted, truth, np.ones((2, 2), bool), norms) == (2.5 / 10 + 3 / 6) / 2
