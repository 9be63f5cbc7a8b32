"""Synthetic document pages: the embedded default dataset, drawn with Pillow.

Each page is a sheet of paper (receipt- or document-like lines of words in several font
sizes) laid on a textured background, then rotated, perspective-warped, blurred and
noised. Page ``i`` of a generator with seed ``s`` is a pure function of ``(s, i)`` and the
constructor arguments, so the on-the-fly Dataset, ``write_dataset`` and every DataLoader
worker agree on the pixels. Fonts are Pillow's built-in scalable face
(``ImageFont.load_default(size=...)``, Pillow >= 10.1): nothing is downloaded.

Every word comes with character quads (what CRAFT trains on). Word and character boxes
span the full line height of their font (ascender to descender), so a word's box does not
jump with its letters; a detector learns one consistent notion of a word box.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocrtop.ocr.data.canonical import IMAGES_NAME, LABELS_NAME, write_labels
from ocrtop.ocr.data.canvas import map_words
from ocrtop.ocr.data.source import PageRecord
from ocrtop.ocr.types import Word

SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _random_text(rng: np.random.Generator) -> str:
    """A receipt-ish token: a word, a price, a quantity, a date or a code."""
    kind = rng.choice(5, p=[0.6, 0.15, 0.08, 0.07, 0.1])
    if kind == 0:
        word = "".join(rng.choice(list(string.ascii_lowercase), size=int(rng.integers(2, 10))))
        style = rng.integers(3)
        return word.upper() if style == 0 else word.capitalize() if style == 1 else word
    if kind == 1:
        return (
            f"{'$' if rng.random() < 0.3 else ''}{rng.integers(0, 999)}.{rng.integers(0, 100):02d}"
        )
    if kind == 2:
        return f"x{rng.integers(1, 20)}"
    if kind == 3:
        return f"{rng.integers(1, 29):02d}/{rng.integers(1, 13):02d}/{rng.integers(0, 100):02d}"
    chars = string.ascii_uppercase + string.digits
    return (
        "".join(rng.choice(list(chars), size=int(rng.integers(3, 8))))
        + "-"
        + str(rng.integers(10, 99))
    )


def _texture(
    rng: np.random.Generator, height: int, width: int, base: np.ndarray, amp: float
) -> np.ndarray:
    """Smooth low-frequency colour variation around ``base`` (paper fibres, table wood).

    A 6x6 grid of colours upsampled in uint8: interpolating clipped values stays in range,
    so the full-size image never exists in float.
    """
    coarse = np.clip(rng.normal(0.0, amp, size=(6, 6, 3)) + base, 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR))


class SyntheticPages:
    """Deterministic page generator; also a :class:`~ocrtop.ocr.data.source.PageSource`.

    Args:
        num: number of pages (the Dataset length).
        seed: base seed; page ``i`` uses ``default_rng([seed, i])``.
        width: page width in pixels.
        height: page height in pixels.
        font_sizes: font sizes (px) a line picks from.
        max_rotation: largest page rotation in degrees (uniform in +-max_rotation).
        perspective: largest corner displacement as a fraction of the paper size.
        max_blur: largest Gaussian blur sigma in pixels.
        max_noise: largest Gaussian noise standard deviation (grey levels).
    """

    def __init__(
        self,
        num: int = 1000,
        seed: int = 0,
        width: int = 640,
        height: int = 640,
        font_sizes: tuple[int, ...] | list[int] = (14, 18, 22, 28, 36),
        max_rotation: float = 6.0,
        perspective: float = 0.04,
        max_blur: float = 0.8,
        max_noise: float = 6.0,
    ) -> None:
        if num < 1 or width < 64 or height < 64:
            raise ValueError(
                f"need num >= 1 and a page of at least 64x64 px, got {num}, {width}x{height}"
            )
        self.num, self.seed = int(num), int(seed)
        self.width, self.height = int(width), int(height)
        self.font_sizes = tuple(int(s) for s in font_sizes)
        self.max_rotation, self.perspective = float(max_rotation), float(perspective)
        self.max_blur, self.max_noise = float(max_blur), float(max_noise)

    def __len__(self) -> int:
        return self.num

    def load(self, index: int) -> PageRecord:
        """Render page ``index`` (deterministic)."""
        if not 0 <= index < self.num:
            raise IndexError(f"page {index} out of range for {self.num} synthetic pages")
        image, words = self.render(np.random.default_rng([self.seed, index]))
        return PageRecord(image, words, f"synth_{self.seed}_{index:06d}.jpg", image.shape[:2])

    def render(self, rng: np.random.Generator) -> tuple[np.ndarray, list[Word]]:
        """Draw one page: ``(RGB uint8 image, words with character quads)``."""
        pw = int(self.width * rng.uniform(0.75, 0.95))
        ph = int(self.height * rng.uniform(0.75, 0.95))
        paper_rgb = np.array([rng.uniform(215, 255)] * 3) - rng.uniform(0, 20, size=3)
        paper = Image.fromarray(_texture(rng, ph, pw, paper_rgb, 6.0))
        words = self._draw_lines(rng, ImageDraw.Draw(paper), pw, ph)
        matrix = self._page_matrix(rng, pw, ph)
        size = (self.width, self.height)
        ground = _texture(rng, self.height, self.width, rng.uniform(40, 200, size=3), 25.0)
        warped = cv2.warpPerspective(np.asarray(paper), matrix, size)
        on_paper = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, size)
        page = cv2.copyTo(warped, cv2.threshold(on_paper, 127, 255, cv2.THRESH_BINARY)[1], ground)
        sigma = rng.uniform(0, self.max_blur)
        if sigma > 0.3:
            page = cv2.GaussianBlur(page, (0, 0), sigma)
        # Uniform noise with the drawn standard deviation, added with saturating uint8
        # arithmetic: a tenth of the cost of Gaussian floats on a 640 px page.
        amp = round(rng.uniform(0, self.max_noise) * 3**0.5)
        noise = np.asarray(rng.integers(0, 2 * amp + 1, size=page.shape, dtype=np.uint8))
        image = cv2.subtract(cv2.add(page, noise), np.full_like(page, amp))
        return np.asarray(image), map_words(words, matrix)

    def _draw_lines(
        self, rng: np.random.Generator, draw: ImageDraw.ImageDraw, pw: int, ph: int
    ) -> list[Word]:
        words: list[Word] = []
        margin = int(rng.uniform(0.04, 0.08) * pw)
        y = float(margin)
        while True:
            font = _font(int(rng.choice(self.font_sizes)))
            _, top, _, bottom = font.getbbox("Hgjy|")
            if y + bottom > ph - margin:
                return words
            ink = tuple(int(v) for v in rng.uniform(0, 90, size=3))
            x = margin + rng.uniform(0, 0.15) * pw
            right_price = rng.random() < 0.35
            limit = pw - margin - (0.25 * pw if right_price else 0)
            for _ in range(int(rng.integers(1, 7))):
                word = self._draw_word(draw, font, _random_text(rng), x, y, top, bottom, ink, limit)
                if word is None:
                    break
                words.append(word)
                x = float(word.points[1, 0]) + font.getlength(" ") * rng.uniform(1.0, 2.5)
            if right_price:
                price = f"{rng.integers(0, 999)}.{rng.integers(0, 100):02d}"
                px = pw - margin - font.getlength(price)
                word = self._draw_word(draw, font, price, px, y, top, bottom, ink, pw - margin)
                if word is not None:
                    words.append(word)
            y += (bottom - top) * rng.uniform(1.4, 2.2)

    @staticmethod
    def _draw_word(
        draw: ImageDraw.ImageDraw,
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
        text: str,
        x: float,
        y: float,
        top: float,
        bottom: float,
        ink: tuple[int, ...],
        limit: float,
    ) -> Word | None:
        """Draw ``text`` at ``(x, y)``: its word and character quads, or None on overflow."""
        if x + font.getlength(text) > limit:
            return None
        draw.text((x, y), text, font=font, fill=ink)
        chars = []
        for i, ch in enumerate(text):
            left, _, right, _ = font.getbbox(ch)
            x0 = x + font.getlength(text[:i]) + left
            x1 = x + font.getlength(text[:i]) + max(right, left + 1)
            chars.append(
                np.array([[x0, y + top], [x1, y + top], [x1, y + bottom], [x0, y + bottom]])
            )
        x0, x1 = chars[0][0, 0], chars[-1][1, 0]
        points = np.array([[x0, y + top], [x1, y + top], [x1, y + bottom], [x0, y + bottom]])
        return Word(points=points, text=text, ignore=False, chars=chars)

    def _page_matrix(self, rng: np.random.Generator, pw: int, ph: int) -> np.ndarray:
        """Homography paper -> page: rotation, perspective jitter, then fit inside the page."""
        src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float64)
        angle = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        dst = (src - [pw / 2, ph / 2]) @ rot.T
        dst += rng.uniform(-1, 1, size=(4, 2)) * self.perspective * np.array([pw, ph])
        span = dst.max(axis=0) - dst.min(axis=0)
        scale = min(1.0, (self.width - 4) / span[0], (self.height - 4) / span[1])
        dst *= scale
        low, high = dst.min(axis=0), dst.max(axis=0)
        free_low, free_high = 2 - low, np.array([self.width, self.height]) - 2 - high
        offset = rng.uniform(free_low, np.maximum(free_low, free_high))
        return cv2.getPerspectiveTransform(
            src.astype(np.float32), (dst + offset).astype(np.float32)
        )


def write_dataset(
    out: str | Path,
    num: int,
    seed: int = 0,
    width: int = 640,
    height: int = 640,
    fractions: dict[str, float] | None = None,
) -> dict[str, int]:
    """Write ``num`` synthetic pages as a canonical dataset with train/val/test splits.

    Pages ``0 .. num-1`` are split in order (80/10/10 by default) into
    ``out/<split>/images/*.jpg`` + ``out/<split>/labels.json``.

    Returns:
        Number of pages written per split.
    """
    fractions = fractions or SPLIT_FRACTIONS
    pages = SyntheticPages(num=num, seed=seed, width=width, height=height)
    counts, start = {}, 0
    names = list(fractions)
    for k, split in enumerate(names):
        stop = num if k == len(names) - 1 else start + round(num * fractions[split])
        image_dir = Path(out) / split / IMAGES_NAME
        image_dir.mkdir(parents=True, exist_ok=True)
        labels: dict[str, list[Word]] = {}
        for index in range(start, stop):
            record = pages.load(index)
            Image.fromarray(record.image).save(image_dir / record.filename, quality=95)
            labels[record.filename] = record.words
        write_labels(labels, Path(out) / split / LABELS_NAME)
        counts[split], start = stop - start, stop
    return counts
