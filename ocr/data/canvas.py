"""The state transforms pass along: an image whose geometric warps are applied lazily.

Geometric ops (rotate, scale, flip, crop, resize) only compose a 3x3 matrix and a
canvas size; the pixels are resampled once, when someone reads :attr:`image`. The
training pipeline therefore pays one ``warpAffine`` into the final (at most 640 px)
canvas instead of one full-size warp per op, and interpolates once instead of four
times. Words are lazy the same way: the ops compose their matrix onto the words' pending
one, and the words (a page's ~40 polygons and ~250 character quads, new ``Word`` objects)
are mapped once, when someone reads :attr:`TransformState.words`. Mapping them eagerly in
each of the five ops cost ~1-2 ms per sample (cProfile); now the training pipeline maps
them once, when the dataset reads them: the crop, which must know where words are, reads
only the polygons' boxes (:meth:`TransformState.word_boxes`), and drops and flags words
without mapping them (:meth:`TransformState.select_words`).

Coordinates: ``M`` maps old pixel coordinates to new ones. ``to_original`` maps current
coordinates to the original (stored) image, so each op right-multiplies it by ``M^-1``.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ocrtop.ocr.geometry import apply_matrix
from ocrtop.ocr.types import Word


def map_words(words: list[Word], matrix: np.ndarray) -> list[Word]:
    """Words and their character quads mapped through ``matrix`` (new objects).

    All points of a page go through one matrix product: a page holds ~40 words and
    ~250 character quads, and one ``apply_matrix`` call each cost more than the maths.
    """
    if not words:
        return []
    shapes = [[w.points, *(w.chars or [])] for w in words]
    flat = [arr for group in shapes for arr in group]
    points = apply_matrix(matrix, np.concatenate(flat))
    ends = np.cumsum([len(a) for a in flat]).tolist()
    mapped = [points[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
    out, k = [], 0
    for word, group in zip(words, shapes, strict=True):
        n = len(group)
        chars = mapped[k + 1 : k + n] if word.chars else word.chars
        out.append(replace(word, points=mapped[k], chars=chars))
        k += n
    return out


def warp_rgb(pixels: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear ``cv2.warpAffine`` of an RGB page into a ``size = (w, h)`` canvas.

    OpenCV's bilinear warp has a vectorised path for 4-channel images but not for 3
    (measured, one thread, 640 px out: 2.1 ms for RGB vs 1.0 ms for RGBA), so a 3-channel
    page is padded to RGBA and back (~0.1 ms each at 640): the same pixels, bit for bit
    (tested), in about 60 % of the time (7.7 vs 4.7 ms at 1280, conversions included).
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        return cv2.warpAffine(pixels, matrix, size, flags=cv2.INTER_LINEAR)
    rgba = cv2.warpAffine(
        cv2.cvtColor(pixels, cv2.COLOR_RGB2RGBA), matrix, size, flags=cv2.INTER_LINEAR
    )
    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)


class TransformState:
    """An image, its words in image coordinates, and the map back to the original.

    Args:
        image: ``(H, W, 3)`` uint8 pixels (the source of any pending warp).
        words: the words, in the current canvas's coordinates unless ``word_matrix``.
        to_original: 3x3 matrix from current coordinates to the original image.
        pending: affine matrix from ``image`` pixels to the current canvas, not yet applied.
        size: current canvas ``(width, height)``; defaults to the image's.
        word_matrix: matrix from the coordinates of ``words`` to the current canvas, not
            yet applied (None: ``words`` are current).
    """

    def __init__(
        self,
        image: np.ndarray,
        words: list[Word],
        to_original: np.ndarray,
        pending: np.ndarray | None = None,
        size: tuple[int, int] | None = None,
        word_matrix: np.ndarray | None = None,
    ) -> None:
        self._pixels = image
        self._words = words
        self._word_matrix = word_matrix
        self.to_original = to_original
        self._pending = pending
        self.size = size or (image.shape[1], image.shape[0])

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def is_lazy(self) -> bool:
        """True while a geometric warp waits to be applied."""
        return self._pending is not None

    @property
    def image(self) -> np.ndarray:
        """The current pixels, resampling once if a warp is pending."""
        if self._pending is not None:
            self._pixels = warp_rgb(self._pixels, self._pending[:2], self.size)
            self._pending = None
        return self._pixels

    @property
    def words(self) -> list[Word]:
        """The words in current coordinates, mapping them (once) if a matrix is pending."""
        if self._word_matrix is not None:
            self._words = map_words(self._words, self._word_matrix)
            self._word_matrix = None
        return self._words

    def word_boxes(self) -> np.ndarray:
        """``(words, 4)`` float ``x0, y0, x1, y1`` of each word polygon in current
        coordinates, without mapping the character quads or building words (what a crop
        needs to choose its window)."""
        if not self._words:
            return np.zeros((0, 4))
        points = np.concatenate([w.points for w in self._words])
        if self._word_matrix is not None:
            points = apply_matrix(self._word_matrix, points)
        starts = np.cumsum([0, *(len(w.points) for w in self._words[:-1])])
        return np.column_stack(
            [np.minimum.reduceat(points, starts), np.maximum.reduceat(points, starts)]
        )

    def with_image(self, image: np.ndarray) -> TransformState:
        """Same geometry (words still lazy), new pixels of the current canvas's size
        (photometric ops, a resize that wrote its own pixels)."""
        return TransformState(image, self._words, self.to_original, word_matrix=self._word_matrix)

    def select_words(self, keep: np.ndarray, dont_care: np.ndarray) -> TransformState:
        """The same state with only the words where ``keep`` (in order), those also where
        ``dont_care`` marked ``ignore``: which words and flags does not depend on their
        coordinates, so they stay lazy (nothing is mapped). One bool per word each."""
        if len(keep) != len(self._words) or len(dont_care) != len(self._words):
            raise ValueError(
                f"select_words needs one flag per word ({len(self._words)}), got "
                f"{len(keep)} and {len(dont_care)}"
            )
        words = [
            replace(word, ignore=True) if cut and not word.ignore else word
            for word, kept, cut in zip(self._words, keep, dont_care, strict=True)
            if kept
        ]
        return TransformState(
            self._pixels, words, self.to_original, self._pending, self.size, self._word_matrix
        )

    def then(
        self, matrix: np.ndarray, width: int, height: int, grows: bool = False
    ) -> TransformState:
        """Compose the affine ``matrix`` (current -> new canvas of ``width x height``)
        onto the pending warp and the words' pending matrix.

        Args:
            grows: the new canvas shows area outside the current one (rotation with a
                larger canvas); a pending warp is applied first so that area stays black
                instead of revealing pixels a previous crop removed.
        """
        source = self.image if grows else self._pixels
        before = np.eye(3) if self._pending is None else self._pending
        words_before = self._word_matrix
        return TransformState(
            source,
            self._words,
            self.to_original @ np.linalg.inv(matrix),
            pending=matrix @ before,
            size=(int(width), int(height)),
            word_matrix=matrix if words_before is None else matrix @ words_before,
        )
