"""Augmentations that move the image and its polygons together.

Every op reads and returns a :class:`~ocrtop.ocr.data.canvas.TransformState`. Geometric ops
compose a matrix ``M`` (old -> new pixel coordinates) that will map every word and
character quad and right-multiplies ``to_original`` by ``M^-1``; the pixels are warped
once, at the end, and the words mapped when read (see ``canvas.py``). After the last op
``to_original`` maps network-input pixels straight back to the original (stored) image,
which is how post-processing returns predictions in ground-truth coordinates.

Ops take a ``numpy.random.Generator`` so the Dataset controls seeding per worker.
"""

from __future__ import annotations

import math
from typing import Protocol

import cv2
import numpy as np

from ocrtop.ocr.data.canvas import TransformState
from ocrtop.ocr.data.photometric import ColorJitter


class Transform(Protocol):
    """One augmentation step."""

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState: ...


class Compose:
    """Run ops in order.

    Args:
        ops: the transforms (Hydra instantiates the list).
    """

    def __init__(self, ops: list[Transform]) -> None:
        self.ops = list(ops)

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        for op in self.ops:
            state = op(state, rng)
        return state


class ResizePad:
    """Resize the longest side to ``size``, then pad right/bottom with zeros.

    Args:
        size: target longest side; rounded up to a multiple of 32.
        square: pad to ``size x size`` (stackable batches) instead of the next multiples of 32.
        upscale: also enlarge images smaller than ``size``; False keeps small images at
            their scale (after RandomScale, that is real scale augmentation).
    """

    def __init__(self, size: int = 640, square: bool = True, upscale: bool = True) -> None:
        self.size = int(math.ceil(size / 32) * 32)
        self.square, self.upscale = square, upscale

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        w, h = state.size
        scale = self.size / max(h, w)
        if not self.upscale:
            scale = min(scale, 1.0)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        if self.square:
            out_w = out_h = self.size
        else:
            out_w, out_h = (math.ceil(v / 32) * 32 for v in (new_w, new_h))
        matrix = np.diag([new_w / w, new_h / h, 1.0])
        moved = state.then(matrix, out_w, out_h)  # words stay lazy
        if state.is_lazy:
            # One warp for everything composed so far, straight into the padded canvas
            # (each output pixel is sampled on its own, so the pixels inside are those of
            # a new_w x new_h warp); the pad would show what a crop removed: zero it.
            image = moved.image
            image[new_h:] = 0
            image[:new_h, new_w:] = 0
        else:  # plain resize: INTER_AREA keeps downscaled eval images free of aliasing
            area = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            image = np.zeros((out_h, out_w, 3), dtype=np.uint8)
            image[:new_h, :new_w] = cv2.resize(state.image, (new_w, new_h), interpolation=area)
        return moved.with_image(image)


class RandomScale:
    """Scale the image by a factor drawn uniformly from ``[min_scale, max_scale]``."""

    def __init__(self, min_scale: float = 0.6, max_scale: float = 1.6) -> None:
        self.min_scale, self.max_scale = min_scale, max_scale

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        s = rng.uniform(self.min_scale, self.max_scale)
        w, h = state.size
        new_w, new_h = max(32, round(w * s)), max(32, round(h * s))
        return state.then(np.diag([new_w / w, new_h / h, 1.0]), new_w, new_h)


class RandomRotate:
    """Rotate about the centre by up to ``max_degrees``, growing the canvas so nothing is cut.

    Args:
        max_degrees: angles are uniform in ``[-max_degrees, max_degrees]``.
        p: probability of rotating at all.
    """

    def __init__(self, max_degrees: float = 10.0, p: float = 0.5) -> None:
        self.max_degrees, self.p = max_degrees, p

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        if rng.random() >= self.p:
            return state
        w, h = state.size
        angle = rng.uniform(-self.max_degrees, self.max_degrees)
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(rot[0, 0]), abs(rot[0, 1])
        new_w, new_h = math.ceil(w * cos + h * sin), math.ceil(h * cos + w * sin)
        rot[:, 2] += [(new_w - w) / 2, (new_h - h) / 2]
        return state.then(np.vstack([rot, [0, 0, 1]]), new_w, new_h, grows=True)


class RandomFlip:
    """Horizontal mirror with probability ``p``.

    Off by default in ocrtop's configs: mirrored glyphs are not text a detector meets, but
    it helps on very small datasets.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        if rng.random() >= self.p:
            return state
        w, h = state.size
        return state.then(np.array([[-1.0, 0, w], [0, 1, 0], [0, 0, 1]]), w, h)


class RandomCrop:
    """Crop a window of at most ``size`` px per side, preferring windows that cut no word.

    Words fully outside the window are dropped; words the window still cuts (after
    ``max_tries`` attempts) become don't-care so the loss never learns half a word.

    Args:
        size: largest window side in pixels (the network input size).
        min_ratio: smallest window side as a fraction of the image side.
        max_tries: candidate windows tried before accepting the best one seen.
    """

    def __init__(self, size: int = 640, min_ratio: float = 0.5, max_tries: int = 10) -> None:
        self.size, self.min_ratio, self.max_tries = size, min_ratio, max_tries

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        w, h = state.size
        boxes = state.word_boxes()  # polygons only: the words themselves stay lazy
        best, best_cut = (0, 0, min(w, self.size), min(h, self.size)), None
        for _ in range(self.max_tries):
            cw = int(min(w, self.size) * rng.uniform(self.min_ratio, 1.0))
            ch = int(min(h, self.size) * rng.uniform(self.min_ratio, 1.0))
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            inside, outside = _classify(boxes, x0, y0, cw, ch)
            cut = int((~inside & ~outside).sum())
            if inside.any() or not len(boxes):
                if best_cut is None or cut < best_cut:
                    best, best_cut = (x0, y0, cw, ch), cut
                if cut == 0:
                    break
        x0, y0, cw, ch = best
        matrix = np.array([[1.0, 0, -x0], [0, 1, -y0], [0, 0, 1]])
        inside, outside = _classify(boxes, x0, y0, cw, ch)
        # Dropping and flagging words needs no coordinates: they stay lazy, unmapped.
        return state.select_words(~outside, ~inside).then(matrix, cw, ch)


def _classify(
    boxes: np.ndarray, x0: int, y0: int, cw: int, ch: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which word boxes lie fully inside and fully outside a window."""
    x1, y1 = x0 + cw, y0 + ch
    inside = (boxes[:, 0] >= x0) & (boxes[:, 1] >= y0) & (boxes[:, 2] <= x1) & (boxes[:, 3] <= y1)
    outside = (boxes[:, 2] <= x0) | (boxes[:, 0] >= x1) | (boxes[:, 3] <= y0) | (boxes[:, 1] >= y1)
    return inside, outside


def train_transforms(
    size: int = 640,
    min_scale: float = 0.6,
    max_scale: float = 1.6,
    max_degrees: float = 10.0,
    rotate_p: float = 0.5,
    flip_p: float = 0.0,
    color_p: float = 0.8,
) -> Compose:
    """The default training pipeline: rotate, scale, crop, flip, resize+pad, colour."""
    return Compose(
        [
            RandomRotate(max_degrees, rotate_p),
            RandomScale(min_scale, max_scale),
            RandomCrop(size),
            RandomFlip(flip_p),
            ResizePad(size, square=True, upscale=False),
            ColorJitter(p=color_p),
        ]
    )


def eval_transforms(size: int = 640, square: bool = True) -> Compose:
    """Deterministic resize of the longest side + pad (validation, test, predict)."""
    return Compose([ResizePad(size, square=square, upscale=True)])
