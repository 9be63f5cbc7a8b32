"""Word and line boxes from a PDF page's text layer, in rendered-image pixels.

PDFium reports each character's box in PDF user space (points, y up, origin at the page's
lower left, before the page's ``/Rotate``). Rendering maps that space to the bitmap (pixels,
y down) with one affine matrix; :func:`page_to_pixels` recovers the matrix from PDFium
itself (``FPDF_PageToDevice`` at three corners), so crop boxes with an offset origin and
rotated pages come out right without re-deriving PDFium's conventions here.

Boxes take their horizontal extent from the glyphs' tight boxes (ink) and their vertical
extent from the font's ascent and descent ("loose" boxes), so a word's box spans its line
height whatever its letters are: the convention of the synthetic generator.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from ocrtop.ocr.types import Word

LEVELS = ("word", "line")


@dataclass
class _Char:
    text: str
    box: np.ndarray  # x0, y0, x1, y1 in pixels (y down)


def page_to_pixels(page: object, width: int, height: int) -> np.ndarray:
    """3x3 matrix mapping PDF points of ``page`` to pixels of a ``width x height`` render."""
    import pypdfium2.raw as pdfium_c

    raw = page.raw  # type: ignore[attr-defined]
    span = 10_000.0  # far corners: PageToDevice returns ints, so rounding error ~ 1e-4 px/pt
    src, dst = [], []
    for px, py in ((0.0, 0.0), (span, 0.0), (0.0, span)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        ok = pdfium_c.FPDF_PageToDevice(
            raw, 0, 0, width, height, 0, px, py, ctypes.byref(dx), ctypes.byref(dy)
        )
        if not ok:
            raise ValueError("PDFium could not map page coordinates to the bitmap")
        src.append((px, py))
        dst.append((float(dx.value), float(dy.value)))
    a = np.array([[x, y, 1.0] for x, y in src])
    affine = np.linalg.solve(a, np.array(dst)).T  # 2x3
    return np.vstack([affine, [0.0, 0.0, 1.0]])


def _chars(textpage: object, matrix: np.ndarray) -> list[_Char | None]:
    """Every character of the text layer; None for separators (spaces, generated breaks)."""
    out: list[_Char | None] = []
    count = int(textpage.count_chars())  # type: ignore[attr-defined]
    for i in range(count):
        text = textpage.get_text_range(i, 1)  # type: ignore[attr-defined]
        if not text or text.isspace() or not text.isprintable():
            out.append(None)
            continue
        left, _, right, _ = textpage.get_charbox(i, loose=False)  # type: ignore[attr-defined]
        _, bottom, _, top = textpage.get_charbox(i, loose=True)  # type: ignore[attr-defined]
        corners = np.array([[left, bottom, 1], [right, bottom, 1], [left, top, 1], [right, top, 1]])
        pix = (matrix @ corners.T).T[:, :2]
        low, high = pix.min(axis=0), pix.max(axis=0)
        if (high - low).min() <= 0:  # the tail of a ligature ("fi" drawn as one glyph)
            continue
        out.append(_Char(text, np.array([*low, *high])))
    return out


def _same_run(prev: _Char, char: _Char) -> bool:
    """Does ``char`` continue the word ``prev`` ended with (no gap, same baseline)?"""
    height = min(prev.box[3] - prev.box[1], char.box[3] - char.box[1])
    gap = char.box[0] - prev.box[2]
    same_row = abs(char.box[3] - prev.box[3]) < 0.3 * height
    # The letters of a ligature ("fl" drawn as one glyph) share one box: a character that
    # starts where the previous one starts continues the word despite the "negative gap".
    onward = char.box[0] >= prev.box[0] - 0.3 * height
    return same_row and onward and gap < 0.35 * height


def _words(chars: list[_Char | None]) -> list[tuple[str, np.ndarray]]:
    """Split characters into words at separators and at jumps (new line, column gap)."""
    words: list[list[_Char]] = []
    current: list[_Char] = []
    for char in chars:
        if char is None or (current and not _same_run(current[-1], char)):
            if current:
                words.append(current)
            current = [] if char is None else [char]
        else:
            current.append(char)
    if current:
        words.append(current)
    out = []
    for group in words:
        boxes = np.array([c.box for c in group])
        box = np.array([*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0)])
        out.append(("".join(c.text for c in group), box))
    return out


def _lines(words: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """Merge consecutive words that share a baseline and are at most ~1.5 heights apart.

    The gap limit keeps table columns and two-column layouts as separate lines, which is
    what a line-level detector (and the peer it is compared with) reports.
    """
    lines: list[tuple[list[str], np.ndarray]] = []
    for text, box in words:
        if lines:
            texts, last = lines[-1]
            height = min(last[3] - last[1], box[3] - box[1])
            gap = box[0] - last[2]
            if abs(box[3] - last[3]) < 0.3 * height and -0.3 * height < gap < 1.5 * height:
                merged = np.array([*np.minimum(last[:2], box[:2]), *np.maximum(last[2:], box[2:])])
                lines[-1] = ([*texts, text], merged)
                continue
        lines.append(([text], box))
    return [(" ".join(texts), box) for texts, box in lines]


def _quad(box: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = (float(v) for v in box)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def page_words(page: object, width: int, height: int, level: str = "word") -> list[Word]:
    """The text layer of ``page`` as word (or line) boxes in a ``width x height`` render.

    Boxes are clipped to the image; boxes under 2 px on a side are dropped (invisible at
    this resolution, and the metric cannot match them).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    matrix = page_to_pixels(page, width, height)
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    try:
        items = _words(_chars(textpage, matrix))
    finally:
        textpage.close()
    if level == "line":
        items = _lines(items)
    out = []
    for text, box in items:
        box = np.clip(box, 0, [width, height, width, height])
        if min(box[2] - box[0], box[3] - box[1]) >= 2:
            out.append(Word(points=_quad(box), text=text))
    return out
