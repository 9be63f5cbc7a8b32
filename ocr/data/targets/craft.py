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

from ocr.data.targets.raster import fill_polygon
from ocr.geometry import min_area_box, polygon_area
from ocr.types import Word


def gaussian_patch(size: int, sigma: float) -> np.ndarray:
    """Square Gaussian, 1 at the centre; ``sigma`` is a fraction of the side."""
    u = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    return np.exp(-(u[None, :] ** 2 + u[:, None] ** 2) / (2 * sigma**2)).astype(np.float32)


def order_quad(points: np.ndarray) -> np.ndarray:
    """Four corners of a word polygon as a quad; the minimum-area rectangle for N != 4."""
    if len(points) == 4:
        return points.astype(np.float64)
    return min_area_box(points)[0]


def pseudo_char_boxes(points: np.ndarray, text: str = "") -> list[np.ndarray]:
    """Split a word polygon into character quads along its long side (see module notes)."""
    quad = order_quad(points)
    if np.linalg.norm(quad[1] - quad[0]) < np.linalg.norm(quad[2] - quad[1]):
        quad = np.roll(quad, -1, axis=0)  # text runs along the other pair of sides
    long_side = float(np.linalg.norm(quad[1] - quad[0]))
    short_side = max(float(np.linalg.norm(quad[3] - quad[0])), 1e-6)
    count = len(text.strip()) or max(1, round(long_side / short_side))
    steps = np.linspace(0.0, 1.0, count + 1)[:, None]
    top = quad[0] + steps * (quad[1] - quad[0])
    bottom = quad[3] + steps * (quad[2] - quad[3])
    return [np.stack([top[k], top[k + 1], bottom[k + 1], bottom[k]]) for k in range(count)]


def affinity_boxes(chars: list[np.ndarray]) -> list[np.ndarray]:
    """Affinity quads between consecutive character quads of one word."""
    centres = [c.mean(axis=0) for c in chars]
    tops = [(c[0] + c[1] + m) / 3 for c, m in zip(chars, centres, strict=True)]
    bottoms = [(c[2] + c[3] + m) / 3 for c, m in zip(chars, centres, strict=True)]
    return [
        np.stack([tops[i], tops[i + 1], bottoms[i + 1], bottoms[i]]) for i in range(len(chars) - 1)
    ]


class CraftTargets:
    """Builds CRAFT's region/affinity heatmaps and loss mask for one sample.

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
        lo, hi = -0.5, gaussian_size - 0.5  # outer edges of the patch's first/last pixel
        self._corners = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], dtype=np.float32)

    def __call__(self, words: list[Word], height: int, width: int) -> dict[str, np.ndarray]:
        h, w = height // self.stride, width // self.stride
        region = np.zeros((h, w), dtype=np.float32)
        affinity = np.zeros((h, w), dtype=np.float32)
        mask = np.ones((h, w), dtype=np.float32)
        for word in words:
            if word.ignore:
                fill_polygon(mask, word.points / self.stride, 0.0)
                continue
            chars = word.chars or pseudo_char_boxes(word.points, word.text)
            scaled = [c / self.stride for c in chars]
            for quad in scaled:
                self._splat(region, quad)
            for quad in affinity_boxes(scaled):
                self._splat(affinity, quad)
        return {"region_map": region, "affinity_map": affinity, "craft_mask": mask}

    def _splat(self, canvas: np.ndarray, quad: np.ndarray) -> None:
        """Warp the Gaussian onto ``quad`` and max it into ``canvas`` (cropped to the quad)."""
        if polygon_area(quad) < 0.25:
            return
        height, width = canvas.shape
        x0, y0 = np.maximum(np.floor(quad.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(quad.max(axis=0)).astype(int), [width - 1, height - 1])
        if x1 < x0 or y1 < y0:
            return
        # Pixel centres sit at integer coordinates; the quad's continuous corners map to
        # the patch's outer corners, hence the half-pixel shift.
        dst = (quad - [x0, y0] - 0.5).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(self._corners, dst)
        patch = cv2.warpPerspective(
            self.gaussian, matrix, (int(x1 - x0 + 1), int(y1 - y0 + 1)), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        )  # fmt: skip
        region = canvas[y0 : y1 + 1, x0 : x1 + 1]
        np.maximum(region, patch, out=region)
