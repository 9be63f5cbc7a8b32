"""Transforms keep image, polygons and the inverse mapping in sync."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocrtop.ocr.data.photometric import ColorJitter
from ocrtop.ocr.data.transforms import (
    RandomCrop,
    RandomFlip,
    RandomRotate,
    RandomScale,
    ResizePad,
    Transform,
    TransformState,
    eval_transforms,
    train_transforms,
)
from ocrtop.ocr.geometry import apply_matrix
from ocrtop.ocr.types import Word

BLOCK = np.array([[40.0, 30.0], [100.0, 30.0], [100.0, 50.0], [40.0, 50.0]])


def state_with_block() -> TransformState:
    image = np.full((120, 200, 3), 255, dtype=np.uint8)
    image[30:50, 40:100] = (0, 0, 255)
    words = [Word(BLOCK.copy(), text="0"), Word(BLOCK + np.array([90.0, 55.0]), text="1")]
    image[85:105, 130:190] = (0, 0, 255)
    return TransformState(image, words, np.eye(3))


def blue_bbox(image: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box of the blue pixels around a polygon (pixel edges)."""
    lo = np.floor(near.min(axis=0)).astype(int) - 3
    hi = np.ceil(near.max(axis=0)).astype(int) + 3
    lo = np.maximum(lo, 0)
    crop = image[lo[1] : hi[1], lo[0] : hi[0]]
    ys, xs = np.nonzero((crop[..., 2] > 128) & (crop[..., 0] < 128))
    return np.array([xs.min(), ys.min()]) + lo, np.array([xs.max() + 1, ys.max() + 1]) + lo


@pytest.mark.parametrize(
    "op",
    [
        RandomRotate(max_degrees=30, p=1.0),
        RandomScale(0.5, 2.0),
        RandomFlip(p=1.0),
        RandomCrop(size=150, min_ratio=0.9),
        ResizePad(320),
        ResizePad(64, square=False),
        train_transforms(size=256, rotate_p=1.0, flip_p=1.0),
    ],
    ids=lambda op: type(op).__name__,
)
def test_geometry_stays_in_sync(op: Transform) -> None:
    for seed in range(3):
        before = state_with_block()
        after = op(before, np.random.default_rng(seed))
        for word in after.words:
            original = before.words[int(word.text)].points
            np.testing.assert_allclose(
                apply_matrix(after.to_original, word.points), original, atol=1e-6
            )
            if word.ignore:
                continue
            lo, hi = blue_bbox(after.image, word.points)
            tol = 2.0 + 0.03 * float(np.ptp(word.points[:, 0]))  # interpolation blur
            np.testing.assert_allclose(lo, word.points.min(axis=0), atol=tol)
            np.testing.assert_allclose(hi, word.points.max(axis=0), atol=tol)


def test_resize_pad_output_is_a_multiple_of_32_and_deterministic() -> None:
    a = eval_transforms(100)(state_with_block(), np.random.default_rng(0))
    b = eval_transforms(100)(state_with_block(), np.random.default_rng(1))
    assert a.image.shape == (128, 128, 3)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.image[-1, -1].tolist() == [0, 0, 0]  # padding below the 200x120 page
    flat = ResizePad(100, square=False)(state_with_block(), np.random.default_rng(0))
    assert flat.image.shape[0] % 32 == 0 and flat.image.shape[1] % 32 == 0


def test_crop_drops_outside_words_and_ignores_cut_ones() -> None:
    state = state_with_block()
    crop = RandomCrop(size=110, min_ratio=1.0, max_tries=1)
    out = crop(state, np.random.default_rng(0))
    h, w = out.image.shape[:2]
    assert (h, w) == (110, 110)
    for word in out.words:
        lo, hi = word.points.min(axis=0), word.points.max(axis=0)
        assert hi[0] > 0 and hi[1] > 0 and lo[0] < w and lo[1] < h  # no word fully outside
        fully_inside = lo.min() >= 0 and hi[0] <= w and hi[1] <= h
        assert word.ignore == (not fully_inside)


def test_colour_jitter_changes_pixels_not_geometry() -> None:
    state = state_with_block()
    out = ColorJitter(p=1.0)(state, np.random.default_rng(0))
    assert out.image.shape == state.image.shape and not np.array_equal(out.image, state.image)
    assert out.words is state.words


def test_resize_pad_warps_into_the_padded_canvas_like_warp_then_pad() -> None:
    """The lazy path warps once into the padded canvas; the pad must stay black even
    where the source has pixels outside the crop window."""
    image = np.random.default_rng(2).integers(1, 256, (120, 200, 3), dtype=np.uint8)
    cropped = TransformState(image, [], np.eye(3)).then(
        np.array([[1.0, 0, -20], [0, 1, -10], [0, 0, 1]]), 90, 60
    )
    out = ResizePad(96, square=True)(cropped, np.random.default_rng(0)).image
    reference = np.zeros_like(out)  # the previous way: warp to new_w x new_h, then pad
    reference[:64, :96] = cv2.warpAffine(
        image, (np.diag([96 / 90, 64 / 60, 1.0]) @ cropped._pending)[:2], (96, 64)
    )
    assert np.array_equal(out, reference)
    assert out[64:].max() == 0  # below the page: black, although the source continues


def test_colour_jitter_is_the_documented_formula() -> None:
    """b * (mean + c * (s * img + (1 - s) * grey - mean)), against a float computation."""
    image = np.random.default_rng(3).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    jitter = ColorJitter(p=1.0)
    out = jitter(TransformState(image, [], np.eye(3)), np.random.default_rng(4)).image
    rng = np.random.default_rng(4)
    rng.random()  # the p draw
    s, c, b = (rng.uniform(0.75, 1.25) for _ in range(3))
    grey = (image.astype(float) @ [0.299, 0.587, 0.114])[..., None]
    expected = b * (grey.mean() + c * (s * image + (1 - s) * grey - grey.mean()))
    assert np.abs(out.astype(float) - np.clip(expected, 0, 255)).max() <= 1.0
