"""canvas: the RGBA detour gives OpenCV's 3-channel bilinear warp bit for bit; words are
mapped lazily, once, and equal the words mapped op by op."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocrtop.ocr.data import canvas
from ocrtop.ocr.data.canvas import TransformState, map_words, warp_rgb
from ocrtop.ocr.data.synthetic import SyntheticPages
from ocrtop.ocr.data.transforms import Compose, train_transforms
from ocrtop.ocr.types import Word


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


def page(index: int) -> TransformState:
    """A synthetic page (~40 words with character quads); on even pages every fifth word
    is don't-care."""
    record = SyntheticPages(num=8, seed=21, width=480, height=360).load(index)
    words = [
        Word(w.points, w.text, index % 2 == 0 and i % 5 == 0, w.chars)
        for i, w in enumerate(record.words)
    ]
    return TransformState(record.image, words, record.to_stored.copy())


BOX = np.array([[1.0, 1.0], [9.0, 1.0], [9.0, 5.0], [1.0, 5.0]])


class Eager(Compose):
    """The previous behaviour: every op's words mapped as soon as the op returns."""

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        for op in self.ops:
            state = op(state, rng)
            state.words  # noqa: B018 - reading maps them now
        return state


def test_lazy_words_equal_the_words_mapped_op_by_op() -> None:
    """Same words, same order, same text and don't-care flags (the crop's drops and cuts
    included), points and character quads equal to float rounding."""
    ops = train_transforms(size=256, rotate_p=1.0, flip_p=1.0).ops
    dropped = cut = 0
    for index in range(8):
        seed = 100 + index
        lazy = Compose(ops)(page(index), np.random.default_rng(seed))
        eager = Eager(ops)(page(index), np.random.default_rng(seed))
        assert [(w.text, w.ignore) for w in lazy.words] == [(w.text, w.ignore) for w in eager.words]
        for a, b in zip(lazy.words, eager.words, strict=True):
            np.testing.assert_allclose(a.points, b.points, rtol=0, atol=1e-9)
            assert a.chars is not None and b.chars is not None and len(a.chars) == len(b.chars)
            for qa, qb in zip(a.chars, b.chars, strict=True):
                np.testing.assert_allclose(qa, qb, rtol=0, atol=1e-9)
        np.testing.assert_allclose(lazy.to_original, eager.to_original, rtol=0, atol=1e-9)
        assert np.array_equal(lazy.image, eager.image)
        dropped += len(page(index).words) - len(lazy.words)
        cut += sum(w.ignore for w in lazy.words) if index % 2 else 0
    assert dropped > 0 and cut > 0  # the crop's filtering was exercised


def test_words_are_mapped_once_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The five geometric ops map no word (the crop reads boxes and drops and flags words
    unmapped); reading the result maps them once, then never again."""
    calls: list[int] = []

    def counted(words: list[Word], matrix: np.ndarray) -> list[Word]:
        calls.append(len(words))
        return map_words(words, matrix)

    monkeypatch.setattr(canvas, "map_words", counted)
    pipeline = train_transforms(size=256, rotate_p=1.0, flip_p=1.0)
    for index in range(4):
        calls.clear()
        state = pipeline(page(index), np.random.default_rng(7 + index))
        assert calls == []
        first = state.words
        assert len(calls) == 1 and state.words is first
    state = TransformState(np.zeros((8, 8, 3), np.uint8), [], np.eye(3))
    calls.clear()
    assert state.then(np.eye(3), 8, 8).words == [] and len(calls) <= 1


def test_select_words_keeps_order_flags_cut_words_and_maps_nothing() -> None:
    words = [Word(BOX + i, text=str(i), ignore=i == 3) for i in range(4)]
    shift = np.array([[1.0, 0, 5], [0, 1, 0], [0, 0, 1]])
    state = TransformState(np.zeros((64, 64, 3), np.uint8), words, np.eye(3)).then(shift, 64, 64)
    keep, cut = np.array([True, False, True, True]), np.array([False, False, True, False])
    chosen = state.select_words(keep, cut)
    assert chosen.is_lazy and chosen._word_matrix is not None  # still unmapped
    assert [(w.text, w.ignore) for w in chosen.words] == [("0", False), ("2", True), ("3", True)]
    np.testing.assert_allclose(chosen.words[1].points, BOX + 2 + [5, 0])
    assert not words[2].ignore  # the caller's words are not changed
    with pytest.raises(ValueError, match="one flag per word"):
        state.select_words(keep[:2], cut)


def test_word_boxes_are_the_mapped_polygons_bounds() -> None:
    """Without mapping the words: each polygon's bounds (3 to 6 vertices) in current
    coordinates, through a pending rotation; none for no words."""
    rng = np.random.default_rng(5)
    words = [Word(rng.uniform(0, 100, (n, 2))) for n in (3, 4, 6, 4)]
    rot = np.array([[0.8, -0.6, 10.0], [0.6, 0.8, -5.0], [0.0, 0.0, 1.0]])
    state = TransformState(np.zeros((100, 100, 3), np.uint8), words, np.eye(3)).then(rot, 120, 120)
    boxes = state.word_boxes()
    expected = [[*w.points.min(0), *w.points.max(0)] for w in state.words]
    np.testing.assert_allclose(boxes, expected, rtol=0, atol=1e-12)
    empty = TransformState(np.zeros((4, 4, 3), np.uint8), [], np.eye(3))
    assert empty.word_boxes().shape == (0, 4)
