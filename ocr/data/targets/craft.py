"""CRAFT training targets: character region and affinity heatmaps at half resolution.

Reads: words (points, ``chars`` quads when known, ``text``, ``ignore``) in network-input
pixels, the input height and width.
Adds: ``region_map``, ``affinity_map``, ``craft_mask`` (float32, H/stride x W/stride).

* Region: one precomputed isotropic 2-D Gaussian per character, perspective-warped onto
  the character quad (``cv2.getPerspectiveTransform`` + ``warpPerspective``), combined by
  maximum.
* Affinity: for each pair of adjacent characters of the same word, the quad joining the
  centres of their upper and lower triangles (each triangle: two quad corners and the
  quad centre), as in the CRAFT paper, with the same Gaussian. Affinities never cross
  words.
* Mask: 1 except inside ignored words, which the loss skips.

Limitation: real datasets rarely carry character boxes (CRAFT's authors learn them with
weak supervision, which ocrtop does not do). Words without ``chars`` are split into
pseudo-characters along their long side: ``len(text)`` equal cells when the text is
known, else ``round(long / short)`` cells (square-ish glyphs). Proportional fonts and
spaces make these cells imprecise, so region peaks sit near, not on, the true glyphs.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocrtop.ocr.data.targets.raster import fill_polygon
from ocrtop.ocr.geometry import min_area_box, polygon_area
from ocrtop.ocr.types import Word


def gaussian_patch(size: int, sigma: float) -> np.ndarray:
    """Square Gaussian, 1 at the centre; ``sigma`` is a fraction of the side."""
    u = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    return np.exp(-(u[None, :] ** 2 + u[:, None] ** 2) / (2 * sigma**2)).astype(np.float32)


def order_quad(points: np.ndarray) -> np.ndarray:
    """Four corners of a word polygon as a quad; the minimum-area rectangle for N != 4."""
    if len(points) == 4:
        return points.astype(np.float64)
    return min_area_box(points)[0]


def pseudo_char_quads(
    polygons: list[np.ndarray], texts: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Split word polygons into character quads along their long sides (see module notes).

    All words at once: returns ``(K, 4, 2)`` quads, word by word in order, and the index
    of the word each belongs to.
    """
    if not polygons:
        return np.zeros((0, 4, 2)), np.zeros(0, dtype=int)
    quads = np.stack([order_quad(p) for p in polygons])
    side01 = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    side12 = np.linalg.norm(quads[:, 2] - quads[:, 1], axis=1)
    turn = side01 < side12  # text runs along the other pair of sides
    quads[turn] = np.roll(quads[turn], -1, axis=1)
    long_side = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    short_side = np.maximum(np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1), 1e-6)
    by_shape = np.maximum(1, np.round(long_side / short_side)).astype(int)
    counts = np.array([len(t.strip()) or n for t, n in zip(texts, by_shape, strict=True)])
    word = np.repeat(np.arange(len(quads)), counts)
    k = np.arange(len(word)) - np.repeat(np.cumsum(counts) - counts, counts)
    t0, t1 = (k / counts[word])[:, None], ((k + 1) / counts[word])[:, None]
    q = quads[word]
    top0, top1 = q[:, 0] + t0 * (q[:, 1] - q[:, 0]), q[:, 0] + t1 * (q[:, 1] - q[:, 0])
    bottom0, bottom1 = q[:, 3] + t0 * (q[:, 2] - q[:, 3]), q[:, 3] + t1 * (q[:, 2] - q[:, 3])
    return np.stack([top0, top1, bottom1, bottom0], axis=1), word


def affinity_quads(chars: np.ndarray, word: np.ndarray) -> np.ndarray:
    """Affinity quads ``(M, 4, 2)`` between consecutive characters of the same word.

    ``chars`` is ``(K, 4, 2)`` in reading order, ``word`` the word index of each; pairs
    that straddle two words get no link.
    """
    if len(chars) < 2:
        return np.zeros((0, 4, 2))
    centres = chars.mean(axis=1)
    tops = (chars[:, 0] + chars[:, 1] + centres) / 3
    bottoms = (chars[:, 2] + chars[:, 3] + centres) / 3
    links = np.stack([tops[:-1], tops[1:], bottoms[1:], bottoms[:-1]], axis=1)
    return links[word[:-1] == word[1:]]


def pseudo_char_boxes(points: np.ndarray, text: str = "") -> list[np.ndarray]:
    """One word's pseudo-character quads (:func:`pseudo_char_quads` for a single word)."""
    return list(pseudo_char_quads([points], [text])[0])


def affinity_boxes(chars: list[np.ndarray]) -> list[np.ndarray]:
    """Affinity quads between consecutive character quads of one word."""
    if not chars:
        return []
    return list(affinity_quads(np.stack(chars), np.zeros(len(chars), dtype=int)))


def square_to_quads(quads: np.ndarray, side: int) -> np.ndarray:
    """Homographies ``(K, 3, 3)`` taking a ``side`` px patch onto each quad, all at once.

    The same matrices as ``cv2.getPerspectiveTransform`` from the patch's outer corners
    (``-0.5`` and ``side - 0.5``) to the quad corners, in closed form (Heckbert's
    unit-square-to-quad mapping) instead of one 8x8 solve per character.
    """
    x, y = quads[..., 0], quads[..., 1]
    dx1, dx2, dx3 = x[:, 1] - x[:, 2], x[:, 3] - x[:, 2], x[:, 0] - x[:, 1] + x[:, 2] - x[:, 3]
    dy1, dy2, dy3 = y[:, 1] - y[:, 2], y[:, 3] - y[:, 2], y[:, 0] - y[:, 1] + y[:, 2] - y[:, 3]
    den = dx1 * dy2 - dx2 * dy1
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    g, h = (dx3 * dy2 - dx2 * dy3) / den, (dx1 * dy3 - dx3 * dy1) / den
    unit = np.zeros((len(quads), 3, 3))
    unit[:, 0] = np.stack(
        [x[:, 1] - x[:, 0] + g * x[:, 1], x[:, 3] - x[:, 0] + h * x[:, 3], x[:, 0]], 1
    )
    unit[:, 1] = np.stack(
        [y[:, 1] - y[:, 0] + g * y[:, 1], y[:, 3] - y[:, 0] + h * y[:, 3], y[:, 0]], 1
    )
    unit[:, 2] = np.stack([g, h, np.ones_like(g)], 1)
    to_unit = np.array([[1.0 / side, 0, 0.5 / side], [0, 1.0 / side, 0.5 / side], [0, 0, 1]])
    return unit @ to_unit


class CraftTargets:
    """Builds CRAFT's region/affinity heatmaps and loss mask for one sample.

    All character and affinity quads of a page are built in a few array operations;
    only the Gaussian warp (one ``cv2.warpPerspective`` into each quad's box) runs per
    quad.

    Args:
        stride: down-sampling of the maps relative to the input (2 in CRAFT).
        gaussian_size: side of the precomputed Gaussian patch in pixels.
        sigma: Gaussian standard deviation as a fraction of the box side; 0.25 puts
            ~0.14 at the middle of each box edge.
    """

    def __init__(self, stride: int = 2, gaussian_size: int = 64, sigma: float = 0.25) -> None:
        if stride < 1 or gaussian_size < 4 or sigma <= 0:
            raise ValueError(
                "need stride >= 1, gaussian_size >= 4, sigma > 0; "
                f"got {stride}, {gaussian_size}, {sigma}"
            )
        self.stride = stride
        self.gaussian = gaussian_patch(gaussian_size, sigma)

    def __call__(self, words: list[Word], height: int, width: int) -> dict[str, np.ndarray]:
        h, w = height // self.stride, width // self.stride
        maps = np.zeros((3, h, w), dtype=np.float32)  # one allocation for the three maps
        region, affinity, mask = maps
        mask.fill(1.0)
        for word in words:
            if word.ignore:
                fill_polygon(mask, word.points / self.stride, 0.0)
        chars, word_of = self.char_quads([word for word in words if not word.ignore])
        chars /= self.stride
        self._splat(region, chars)
        self._splat(affinity, affinity_quads(chars, word_of))
        return {"region_map": region, "affinity_map": affinity, "craft_mask": mask}

    @staticmethod
    def char_quads(words: list[Word]) -> tuple[np.ndarray, np.ndarray]:
        """Character quads of all words (given ``chars``, else pseudo) and their word index."""
        given = [(i, w.chars) for i, w in enumerate(words) if w.chars]
        guessed = [i for i, w in enumerate(words) if not w.chars]
        pseudo, pseudo_word = pseudo_char_quads(
            [words[i].points for i in guessed], [words[i].text for i in guessed]
        )
        parts = [np.asarray(chars, dtype=np.float64).reshape(-1, 4, 2) for _, chars in given]
        index = [np.full(len(chars), i) for i, chars in given]
        parts.append(pseudo.reshape(-1, 4, 2))
        index.append(np.asarray(guessed, dtype=int)[pseudo_word])
        return np.concatenate(parts), np.concatenate(index).astype(int)

    def _splat(self, canvas: np.ndarray, quads: np.ndarray) -> None:
        """Warp the Gaussian onto each quad and max it into ``canvas`` (cropped to the quad)."""
        if not len(quads):
            return
        height, width = canvas.shape
        x, y = quads[..., 0], quads[..., 1]
        area = 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(1))
        lo = np.maximum(np.floor(quads.min(axis=1)).astype(int), 0)
        hi = np.minimum(np.ceil(quads.max(axis=1)).astype(int), [width - 1, height - 1])
        keep = (area >= 0.25) & (hi >= lo).all(axis=1)
        quads, lo, hi = quads[keep], lo[keep], hi[keep]
        # Pixel centres sit at integer coordinates; the quad's continuous corners map to
        # the patch's outer corners, hence the half-pixel shift.
        matrices = square_to_quads(quads - lo[:, None] - 0.5, len(self.gaussian))
        for (x0, y0), (x1, y1), matrix in zip(lo.tolist(), hi.tolist(), matrices, strict=True):
            patch = cv2.warpPerspective(
                self.gaussian, matrix, (x1 - x0 + 1, y1 - y0 + 1), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0,
            )  # fmt: skip
            box = canvas[y0 : y1 + 1, x0 : x1 + 1]
            np.maximum(box, patch, out=box)

    def reference(
        self, words: list[Word], height: int, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Region and affinity maps one quad at a time, each with its own
        ``cv2.getPerspectiveTransform`` solve: the pre-batching implementation, kept for the
        tests and ``benchmarks/bench_targets.py`` to compare against."""
        side = len(self.gaussian)
        lo, hi = -0.5, side - 0.5
        corners = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], dtype=np.float32)
        maps = np.zeros((2, height // self.stride, width // self.stride), dtype=np.float32)
        for word in words:
            if word.ignore:
                continue
            points = word.chars or pseudo_char_boxes(word.points, word.text)
            chars = [c / self.stride for c in points]
            for canvas, quads in ((maps[0], chars), (maps[1], affinity_boxes(chars))):
                for quad in quads:
                    x0, y0 = np.maximum(np.floor(quad.min(axis=0)).astype(int), 0)
                    x1 = min(int(np.ceil(quad[:, 0].max())), canvas.shape[1] - 1)
                    y1 = min(int(np.ceil(quad[:, 1].max())), canvas.shape[0] - 1)
                    if x1 < x0 or y1 < y0 or polygon_area(quad) < 0.25:
                        continue
                    dst = (quad - [x0, y0] - 0.5).astype(np.float32)
                    matrix = cv2.getPerspectiveTransform(corners, dst)
                    patch = cv2.warpPerspective(
                        self.gaussian, matrix, (int(x1 - x0 + 1), int(y1 - y0 + 1)),
                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
                    )  # fmt: skip
                    box = canvas[y0 : y1 + 1, x0 : x1 + 1]
                    np.maximum(box, patch, out=box)
        return maps[0], maps[1]
