"""canvas.warp_rgb: the RGBA detour gives OpenCV's 3-channel bilinear warp bit for bit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocrtop.ocr.data.canvas import warp_rgb


@pytest.mark.parametrize(
    "matrix",
    [
        [[0.9, 0.1, 5.3], [-0.1, 0.9, 3.7]],  # rotate + scale + sub-pixel shift
        [[1.7, 0.0, -40.0], [0.0, 1.3, -10.5]],  # upscale, anisotropic, crop
        [[-1.0, 0.0, 99.0], [0.0, 1.0, 0.0]],  # mirror
    ],
)
def test_warp_rgb_equals_the_three_channel_warp(matrix: list[list[float]]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (90, 100, 3), dtype=np.uint8)
    m = np.array(matrix)
    expected = cv2.warpAffine(pixels, m, (80, 70), flags=cv2.INTER_LINEAR)
    got = warp_rgb(pixels, m, (80, 70))
    assert got.shape == (70, 80, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def test_warp_rgb_takes_other_channel_counts_as_they_are() -> None:
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    out = warp_rgb(grey, np.array([[1.0, 0, 1], [0, 1, 0]]), (8, 8))
    np.testing.assert_array_equal(out[:, 1:], grey[:, :-1])
