"""``ocrtop data from-pdf``: PDF documents -> a canonical dataset with word or line boxes.

Pages are rendered with PDFium (``pypdfium2``: the wheel carries PDFium, no system
package) and labelled from the PDF's own text layer (:mod:`ocrtop.ocr.data.pdf_words`), so any
born-digital PDF is a labelled document page for free. Scanned PDFs have no text layer;
their pages are skipped and counted, since training on them would teach "text is
background".

The split is by document: a document's split is fixed by a CRC32 of its file name, so all
pages of one document land in one split, on every machine and every run; adding documents
never moves the old ones.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ocrtop.ocr.data.canonical import IMAGES_NAME, LABELS_NAME, SPLITS, write_labels
from ocrtop.ocr.data.pdf_words import page_words
from ocrtop.ocr.data.photo import photograph
from ocrtop.ocr.types import Word

log = logging.getLogger(__name__)

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
SOURCES_NAME = "sources.json"


@dataclass
class PdfReport:
    """What was written: pages per split, and which document went where."""

    pages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    words: int = 0
    documents: dict[str, dict[str, object]] = field(default_factory=dict)
    skipped_pages: int = 0
    broken: list[str] = field(default_factory=list)

    def format(self, out: str | Path, level: str) -> str:
        """One summary line (plus one per broken document, named)."""
        per = ", ".join(f"{s} {self.pages[s]}" for s in SPLITS)
        docs = {s: sum(1 for d in self.documents.values() if d["split"] == s) for s in SPLITS}
        per_doc = ", ".join(f"{s} {docs[s]}" for s in SPLITS)
        line = (
            f"wrote {sum(self.pages.values())} pages ({per}) with {self.words} {level} boxes "
            f"from {len(self.documents)} documents ({per_doc}) to {out}"
        )
        if self.skipped_pages:
            line += f"; skipped {self.skipped_pages} pages without a text layer"
        return "\n".join([line, *(f"warning: skipped {b}" for b in self.broken)])


def find_pdfs(inputs: Iterable[str | Path]) -> list[Path]:
    """PDF files named directly or found (recursively, sorted) under named folders.

    Raises:
        FileNotFoundError: naming an input that does not exist, or when none is a PDF.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf")
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"input {str(path)!r} does not exist")
    if not found:
        raise FileNotFoundError(f"no .pdf files in {', '.join(map(str, inputs))}")
    return found


def document_split(name: str, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> str:
    """The split of the document called ``name`` (its file name, not its folder)."""
    total = float(sum(fractions))
    if len(fractions) != len(SPLITS) or total <= 0 or min(fractions) < 0:
        raise ValueError(f"split fractions must be 3 non-negative numbers, got {fractions}")
    u = zlib.crc32(name.encode("utf-8")) / 2**32
    edge = 0.0
    for split, frac in zip(SPLITS, fractions, strict=True):
        edge += frac / total
        if u < edge:
            return split
    return SPLITS[-1]


def render_page(page: object, long_side: int) -> np.ndarray:
    """RGB render of ``page`` with its longest side ``long_side`` pixels."""
    width, height = page.get_size()  # type: ignore[attr-defined]
    scale = long_side / max(width, height)
    bitmap = page.render(scale=scale)  # type: ignore[attr-defined]
    return np.asarray(bitmap.to_pil().convert("RGB"))


def write_pdf_dataset(
    inputs: Iterable[str | Path],
    out: str | Path,
    level: str = "word",
    long_side: int = 1280,
    max_pages: int | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    photo: float = 0.0,
    seed: int = 0,
) -> PdfReport:
    """Render every page (up to ``max_pages`` per document) into ``out/<split>/``.

    Args:
        inputs: PDF files and/or folders of PDFs.
        out: dataset folder to create; must not hold a dataset already.
        level: ``word`` or ``line`` boxes.
        long_side: rendered size of each page's longest side, pixels.
        max_pages: first pages per document to keep; None keeps all.
        fractions: train/val/test shares of documents (not pages).
        photo: probability that a page is made to look photographed (:mod:`ocrtop.ocr.data.photo`).
        seed: seed of the photo effects; page ``i`` of document ``d`` is reproducible.
    """
    import pypdfium2 as pdfium

    if long_side < 64:
        raise ValueError(f"--long-side must be >= 64 px, got {long_side}")
    if not 0.0 <= photo <= 1.0:
        raise ValueError(f"--photo must be a probability in [0, 1], got {photo}")
    out = Path(out)
    if (out / SOURCES_NAME).exists() or any((out / s / LABELS_NAME).exists() for s in SPLITS):
        raise FileExistsError(f"{out} already holds a dataset; choose a new --out or delete it")
    pdfs = find_pdfs(inputs)
    report = PdfReport()
    labels: dict[str, dict[str, list[Word]]] = {s: {} for s in SPLITS}
    for pdf_path in pdfs:
        split = document_split(pdf_path.name, fractions)
        tag = f"{zlib.crc32(str(pdf_path.resolve()).encode('utf-8')):08x}"
        try:
            doc = pdfium.PdfDocument(str(pdf_path))
        except (pdfium.PdfiumError, OSError) as exc:
            report.broken.append(f"{pdf_path}: not a readable PDF ({exc})")
            continue
        kept = 0
        try:
            for index in range(min(len(doc), max_pages or len(doc))):
                page = doc[index]
                image = render_page(page, long_side)
                words = page_words(page, image.shape[1], image.shape[0], level)
                page.close()
                if not words:
                    report.skipped_pages += 1
                    continue
                rng = np.random.default_rng([seed, int(tag, 16), index])
                if photo and rng.random() < photo:
                    image, words = photograph(image, words, rng)
                name = f"{pdf_path.stem}-{tag}_p{index + 1:03d}.png"
                image_dir = out / split / IMAGES_NAME
                image_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(image_dir / name)
                labels[split][name] = words
                report.words += len(words)
                kept += 1
        finally:
            doc.close()
        report.pages[split] += kept
        report.documents[str(pdf_path)] = {"split": split, "pages": kept}
    if not sum(report.pages.values()):
        raise ValueError(
            f"no page with a text layer in {len(pdfs)} PDF(s): scanned PDFs carry no boxes"
        )
    for split in SPLITS:  # every split gets its files, empty ones too: the layout is whole
        if not labels[split]:
            log.warning("split %s got no document (%d documents in all)", split, len(pdfs))
        (out / split / IMAGES_NAME).mkdir(parents=True, exist_ok=True)
        write_labels(labels[split], out / split / LABELS_NAME)
    sources = {"level": level, "long_side": long_side, "documents": report.documents}
    (out / SOURCES_NAME).write_text(json.dumps(sources, indent=1), encoding="utf-8")
    return report
