"""``ocrtop data check DIR``: list every problem of a canonical dataset, by file and word.

Training skips bad words with one summary warning; this report is where a user finds
them. It decodes every image (to catch truncated files) and checks each word's points
against the stored image size.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ocr.data.canonical import (
    IMAGES_NAME,
    LABELS_NAME,
    SPLITS,
    RawWord,
    parse_points,
    read_labels,
)
from ocr.data.imageio import load_image
from ocr.geometry import polygon_problem

MISSING_IMAGE = "missing_image"
UNREADABLE_IMAGE = "unreadable_image"
OUTSIDE_IMAGE = "points_outside_image"
MALFORMED_POINTS = "malformed_points"
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


def _check_word(raw: RawWord, size: tuple[int, int] | None) -> tuple[str, str] | None:
    points = parse_points(raw.points)
    if points is None:
        return MALFORMED_POINTS, f"points={str(raw.points)[:60]}"
    problem = polygon_problem(points)
    if problem is not None:
        return problem.value, f"{len(points)} points"
    if size is not None:
        h, w = size
        low, high = points.min(axis=0), points.max(axis=0)
        if low[0] < 0 or low[1] < 0 or high[0] > w or high[1] > h:
            return (
                OUTSIDE_IMAGE,
                f"bbox ({low[0]:.0f},{low[1]:.0f})-({high[0]:.0f},{high[1]:.0f}) vs image {w}x{h}",
            )
    return None


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
    for filename, words in sorted(pages.items()):
        report.num_images += 1
        report.num_words += len(words)
        size = None
        path = image_dir / filename
        if not path.is_file():
            report.problems.append(Problem(MISSING_IMAGE, name, filename, detail=str(path)))
        else:
            try:
                size = load_image(path)[1]
            except OSError as exc:
                report.problems.append(
                    Problem(UNREADABLE_IMAGE, name, filename, detail=str(exc.__cause__ or exc))
                )
        for raw in words:
            found = _check_word(raw, size)
            if found is not None:
                report.problems.append(Problem(found[0], name, filename, raw.word_id, found[1]))


def check_dataset(root: str | Path) -> CheckReport:
    """Validate every labels file under ``root`` (see ``ocr.data.canonical`` for the layout).

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
