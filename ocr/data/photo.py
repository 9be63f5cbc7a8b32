"""Make a rendered page look photographed: perspective, uneven light, blur, noise.

A PDF render is perfectly flat, evenly lit and sharp; the pages a detector meets are phone
photos. :func:`photograph` applies one homography to the pixels and to every word polygon
(so the boxes stay on the ink), then lighting, blur and noise, which move no pixel.
The warp only pulls corners inward, so no word leaves the canvas; the uncovered border
shows a table-like background.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocrtop.ocr.data.canvas import map_words
from ocrtop.ocr.data.synthetic import _texture
from ocrtop.ocr.types import Word


@dataclass(frozen=True)
class PhotoStyle:
    """Strengths of each effect (upper bounds; every page draws its own values).

    Args:
        perspective: largest inward corner shift, as a fraction of the page side.
        light: deepest shading of the uneven illumination (0 = even light).
        max_blur: largest Gaussian blur sigma, pixels.
        max_noise: largest Gaussian noise standard deviation, grey levels.
    """

    perspective: float = 0.08
    light: float = 0.45
    max_blur: float = 1.2
    max_noise: float = 8.0


def _homography(rng: np.random.Generator, w: int, h: int, amount: float) -> np.ndarray:
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float32)
    shift = rng.uniform(0, amount, size=(4, 2)) * np.array([w, h])
    return cv2.getPerspectiveTransform(src, (src + inward * shift).astype(np.float32))


def _illumination(rng: np.random.Generator, w: int, h: int, depth: float) -> np.ndarray:
    """A smooth gain field in ``[1 - depth, 1]``: a linear fall-off plus one soft shadow."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xs * np.cos(angle) + ys * np.sin(angle)) / max(w, h)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    radius = rng.uniform(0.2, 0.6) * max(w, h)
    spot = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
    shade = np.clip(0.6 * ramp + 0.4 * spot, 0, 1)
    return (1.0 - depth * rng.uniform(0.3, 1.0) * shade).astype(np.float32)


def photograph(
    image: np.ndarray, words: list[Word], rng: np.random.Generator, style: PhotoStyle | None = None
) -> tuple[np.ndarray, list[Word]]:
    """Return a photographed-looking copy of ``image`` and ``words`` moved with it."""
    style = style or PhotoStyle()
    h, w = image.shape[:2]
    matrix = _homography(rng, w, h, style.perspective)
    warped = cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (w, h))
    ground = _texture(rng, h, w, rng.uniform(60, 180, size=3), 20.0)
    page = cv2.copyTo(warped, cv2.threshold(mask, 127, 255, cv2.THRESH_BINARY)[1], ground)
    gain = _illumination(rng, w, h, style.light)[..., None]
    tint = rng.uniform(0.92, 1.0, size=3).astype(np.float32)
    out = page.astype(np.float32) * gain * tint
    sigma = rng.uniform(0, style.max_blur)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    out += rng.normal(0, rng.uniform(0, style.max_noise), size=out.shape).astype(np.float32)
    result = np.clip(out, 0, 255).astype(np.uint8)
    moved = map_words(words, matrix)
    for word in moved:  # float error at the border must not fail `data check`
        word.points = np.clip(word.points, 0, [w, h])
    return result, moved
