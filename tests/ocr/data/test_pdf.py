"""``ocrtop data from-pdf``: boxes on the ink, lines merged, split by document, photos too.

The PDFs are written by the test (fpdf2, a dev dependency) with known words, so the
expected boxes are known without trusting the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ocrtop.ocr.cli import main
from ocrtop.ocr.data.canonical import CanonicalSource
from ocrtop.ocr.data.check import check_dataset
from ocrtop.ocr.data.pdf import document_split, write_pdf_dataset

fpdf = pytest.importorskip("fpdf")

LINES = [
    ["Invoice", "number", "12345", "flat", "fifty"],  # fl/fi: ligatures in some fonts
    ["Total", "amount", "due", "99.50"],
    ["Thank", "you", "for", "shopping"],
]


def make_pdf(path: Path, pages: int = 1, lines: list[list[str]] = LINES) -> Path:
    """A PDF with ``lines`` on every page, large type, far apart (one text run per line)."""
    doc = fpdf.FPDF(format="A5")
    doc.set_font("Helvetica", size=18)
    for _ in range(pages):
        doc.add_page()
        for k, words in enumerate(lines):
            doc.text(15, 30 + 25 * k, " ".join(words))
    doc.output(str(path))
    return path


def ink_mask(image: np.ndarray) -> np.ndarray:
    """Pixels clearly darker than their neighbourhood: glyph strokes, not shading."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.adaptiveThreshold(
        grey, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 25
    ).astype(bool)


def ink_fractions(image: np.ndarray, polygons: list[np.ndarray]) -> tuple[float, float, float]:
    """(ink share inside boxes, ink share outside, share of all ink inside boxes).

    Measured on the text area (the boxes' hull grown by 25 px): on a photographed page
    the paper's edge against the table is dark-on-light too, and it is not text.
    """
    inside = np.zeros(image.shape[:2], np.uint8)
    for poly in polygons:
        cv2.fillPoly(inside, [np.round(poly).astype(np.int32)], 1)
    area = np.zeros_like(inside)
    hull = cv2.convexHull(np.round(np.concatenate(polygons)).astype(np.int32))
    cv2.fillPoly(area, [hull], 1)
    area = cv2.dilate(area, np.ones((51, 51), np.uint8)).astype(bool)
    ink, box = ink_mask(image) & area, inside.astype(bool)
    out = area & ~box
    return float(ink[box].mean()), float(ink[out].mean()), float(ink[box].sum() / ink.sum())


def _pages(root: Path) -> list[tuple[np.ndarray, list[np.ndarray], list[str]]]:
    out = []
    for split in ("train", "val", "test"):
        source = CanonicalSource(str(root), split)
        for i in range(len(source)):
            rec = source.load(i)
            out.append((rec.image, [w.points for w in rec.words], [w.text for w in rec.words]))
    return out


@pytest.mark.parametrize("photo", [0.0, 1.0])
@pytest.mark.parametrize("level", ["word", "line"])
def test_boxes_sit_on_the_ink(tmp_path: Path, level: str, photo: float) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf", pages=2)
    out = tmp_path / "ds"
    report = write_pdf_dataset([pdf], out, level=level, long_side=800, photo=photo, seed=3)
    assert sum(report.pages.values()) == 2
    assert check_dataset(out).ok
    pages = _pages(out)
    assert len(pages) == 2
    for image, polygons, texts in pages:
        assert max(image.shape[:2]) == 800
        if level == "word":
            assert texts == [w for line in LINES for w in line]
        else:
            assert texts == [" ".join(line) for line in LINES]
        inside, outside, covered = ink_fractions(image, polygons)
        assert inside > 10 * outside, (inside, outside)
        assert covered > 0.9, covered  # almost every stroke lies in some box
        heights = [np.ptp(p[:, 1]) for p in polygons]
        assert max(heights) < 1.6 * min(heights)  # one font: one box height


def test_photo_moves_image_and_boxes_together(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf")
    flat = _pages(_write(tmp_path / "flat", pdf, photo=0.0))[0]
    shot = _pages(_write(tmp_path / "shot", pdf, photo=1.0))[0]
    assert not np.allclose(flat[1][0], shot[1][0])  # the boxes moved ...
    assert ink_fractions(*shot[:2])[0] > 10 * ink_fractions(*shot[:2])[1]  # ... with the ink
    # ... and boxes from the flat page do NOT fit the photographed one: the check can fail.
    assert ink_fractions(shot[0], flat[1])[2] < ink_fractions(*shot[:2])[2]


def _write(out: Path, pdf: Path, photo: float) -> Path:
    write_pdf_dataset([pdf], out, long_side=800, photo=photo, seed=1)
    return out


def test_split_is_by_document_and_deterministic(tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for k in range(12):
        make_pdf(folder / f"report_{k:02d}.pdf", pages=2, lines=[["page", str(k)]])
    out = tmp_path / "ds"
    fractions = (0.5, 0.25, 0.25)
    report = write_pdf_dataset([folder], out, long_side=256, max_pages=2, fractions=fractions)
    seen: dict[str, set[str]] = {}
    for split in ("train", "val", "test"):
        labels = json.loads((out / split / "labels.json").read_text())["images"]
        for name in labels:
            seen.setdefault(name.split("-")[0], set()).add(split)
    assert len(seen) == 12 and all(len(s) == 1 for s in seen.values())  # never two splits
    for doc, splits in seen.items():
        assert splits == {document_split(f"{doc}.pdf", fractions)}
    assert all(n > 0 for n in report.pages.values())  # 12 documents reach every split
    assert sum(report.pages.values()) == 24
    sources = json.loads((out / "sources.json").read_text())["documents"]
    assert {v["split"] for v in sources.values()} == set(report.pages)


def test_cli_page_limit_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf", pages=3)
    out = tmp_path / "ds"
    args = ["data", "from-pdf", str(pdf), "--out", str(out), "--max-pages", "1"]
    assert main([*args, "--long-side", "300", "--level", "line"]) == 0
    assert "wrote 1 pages" in capsys.readouterr().out
    assert main(["data", "check", str(out)]) == 0
    assert main(args) == 2  # refuses to write over a dataset (BAD_INPUT)
    assert "already holds a dataset" in capsys.readouterr().err
    assert main(["data", "from-pdf", str(tmp_path / "nope.pdf"), "--out", str(tmp_path / "x")]) == 2
    assert "nope.pdf" in capsys.readouterr().err
    (tmp_path / "bad.pdf").write_text("not a pdf")
    assert main(["data", "from-pdf", str(tmp_path / "bad.pdf"), "--out", str(tmp_path / "y")]) == 2
    assert "no page with a text layer" in capsys.readouterr().err


def test_ligature_letters_sharing_one_box_stay_one_word() -> None:
    from ocrtop.ocr.data.pdf_words import _Char, _words

    def char(text: str, x0: float, x1: float) -> _Char:
        return _Char(text, np.array([x0, 100.0, x1, 115.0]))

    # "Thes flags": PDFium gives the two letters of the "fl" glyph the same box.
    chars = [char("a", 0, 8), None, char("f", 20, 30), char("l", 20, 30), char("a", 31, 38)]
    assert [text for text, _ in _words(chars)] == ["a", "fla"]
    # ... while a character that jumps back (a new column) still starts a new word.
    assert len(_words([char("x", 50, 60), char("y", 0, 10)])) == 2
