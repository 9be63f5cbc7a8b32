"""``ocrtop data check DIR``: list every problem of a canonical dataset, by file and word.

Training runs the same rules when it builds a split (``ocrtop.ocr.data.canonical``:
:func:`~ocrtop.ocr.data.canonical.word_problem` and
:func:`~ocrtop.ocr.data.canonical.image_problem`), and refuses a split with problems unless
``data.on_error=skip``; this report is where a user finds them one by one. Every image is decoded
(on threads) to catch truncated files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ocrtop.ocr.data.canonical import (
    IMAGES_NAME,
    LABELS_NAME,
    MALFORMED_POINTS,
    MISSING_IMAGE,
    OUTSIDE_IMAGE,
    SPLITS,
    UNREADABLE_IMAGE,
    image_sizes,
    read_labels,
    word_problem,
)

__all__ = [
    "INVALID_LABELS",
    "MALFORMED_POINTS",
    "MISSING_IMAGE",
    "MISSING_IMAGE_DIR",
    "OUTSIDE_IMAGE",
    "UNREADABLE_IMAGE",
    "CheckReport",
    "Problem",
    "check_dataset",
]

INVALID_LABELS = "invalid_labels_file"
MISSING_IMAGE_DIR = "missing_image_folder"


@dataclass
class Problem:
    """One finding: which labels file, which image, which word, and why."""

    kind: str
    labels: str
    image: str | None = None
    word_id: str | None = None
    detail: str = ""

    def format(self) -> str:
        """One report line: ``labels  image  word id: kind (detail)``."""
        where = self.labels + (f"  {self.image}" if self.image else "")
        where += f"  word {self.word_id}" if self.word_id is not None else ""
        return f"{where}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class CheckReport:
    """All problems of a dataset plus what was checked."""

    root: str
    problems: list[Problem] = field(default_factory=list)
    num_images: int = 0
    num_words: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def counts(self) -> Counter[str]:
        """Problems per kind."""
        return Counter(p.kind for p in self.problems)

    def format(self) -> str:
        """Human-readable report: every problem, then counts per kind."""
        lines = [p.format() for p in self.problems]
        head = f"{self.root}: {self.num_images} images, {self.num_words} words"
        if self.ok:
            return f"{head}: no problems"
        lines.append(f"{head}: {len(self.problems)} problems")
        lines += [f"  {kind}: {n}" for kind, n in sorted(self.counts.items())]
        return "\n".join(lines)


def label_files(root: Path) -> list[Path]:
    """Labels files of a dataset: ``root/labels.json`` and/or ``root/<split>/labels.json``."""
    found = [root / LABELS_NAME] if (root / LABELS_NAME).is_file() else []
    found += [root / s / LABELS_NAME for s in SPLITS if (root / s / LABELS_NAME).is_file()]
    return found


def check_labels(labels_path: Path, report: CheckReport) -> None:
    """Check one labels file and its image folder, appending to ``report``."""
    name = (
        str(labels_path.relative_to(report.root))
        if labels_path.is_relative_to(report.root)
        else str(labels_path)
    )
    try:
        pages = read_labels(labels_path)
    except (OSError, ValueError) as exc:
        report.problems.append(Problem(INVALID_LABELS, name, detail=str(exc)))
        return
    image_dir = labels_path.parent / IMAGES_NAME
    if not image_dir.is_dir():
        report.problems.append(Problem(MISSING_IMAGE_DIR, name, detail=f"expected {image_dir}"))
    names = sorted(pages)
    for filename, (size, bad_image) in zip(
        names, image_sizes([image_dir / n for n in names]), strict=True
    ):
        words = pages[filename]
        report.num_images += 1
        report.num_words += len(words)
        if bad_image is not None:
            report.problems.append(Problem(bad_image[0], name, filename, detail=bad_image[1]))
        for raw in words:
            found = word_problem(raw, size)
            if found is not None:
                report.problems.append(Problem(found[0], name, filename, raw.word_id, found[1]))


def check_dataset(root: str | Path) -> CheckReport:
    """Validate every labels file under ``root`` (see ``ocrtop.ocr.data.canonical`` for the layout).

    Raises:
        FileNotFoundError: when ``root`` is missing or holds no labels file at all.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {str(root)!r} does not exist or is not a folder")
    files = label_files(root)
    if not files:
        raise FileNotFoundError(
            f"no {LABELS_NAME} in {str(root)!r} or in its {'/'.join(SPLITS)} subfolders"
        )
    report = CheckReport(root=str(root))
    for labels_path in files:
        check_labels(labels_path, report)
    return report
