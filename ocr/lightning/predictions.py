"""Write detections in the canonical JSON format, with a score per word, or as a submission.

The same format the datasets use for ground truth, so ``ocrtop eval --gt GT.json --pred
PRED.json`` and ``ocrtop data check`` read predictions without a second schema. The
competition's ``filename,polygons`` CSV (``submission=true``) is written and read here too,
so a submission can be scored locally (``ocrtop eval --pred submission.csv``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ocrtop.ocr.types import Prediction


def predictions_to_canonical(predictions: Mapping[str, Sequence[Prediction]]) -> dict[str, Any]:
    """Convert ``{file name: [Prediction, ...]}`` to the canonical dict.

    Word ids are the prediction's index as a string; points are rounded to 0.01 px, which
    is far below the metric's IoU resolution and keeps the files small.
    """
    images: dict[str, Any] = {}
    for filename in sorted(predictions):
        words = {
            str(i): {
                "points": [[round(float(x), 2), round(float(y), 2)] for x, y in pred.points],
                "score": round(float(pred.score), 5),
            }
            for i, pred in enumerate(predictions[filename])
        }
        images[filename] = {"words": words}
    return {"images": images}


def write_predictions(predictions: Mapping[str, Sequence[Prediction]], path: str | Path) -> Path:
    """Write predictions atomically (temp file + rename) and return the path.

    Atomic so that a reader (the TUI, ``ocrtop eval``) never sees half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(predictions_to_canonical(predictions), fh)
    os.replace(tmp, path)
    return path


SUBMISSION_HEADER = ("filename", "polygons")


def submission_rows(predictions: Mapping[str, Sequence[Prediction]]) -> list[tuple[str, str]]:
    """``(filename, polygons)`` rows of the competition CSV, one per image, sorted by name.

    A polygon is its coordinates as integers ``x1 y1 x2 y2 ...`` (the competition's
    baseline writes integers; a pixel of rounding is far below the metric's IoU
    resolution), polygons are joined by ``|``; an image without detections gets ``""``.
    """
    rows = []
    for filename in sorted(predictions):
        polygons = [
            " ".join(str(round(float(v))) for v in np.asarray(pred.points).reshape(-1))
            for pred in predictions[filename]
        ]
        rows.append((filename, "|".join(polygons)))
    return rows


def write_submission(predictions: Mapping[str, Sequence[Prediction]], path: str | Path) -> Path:
    """Write the ``filename,polygons`` CSV atomically and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SUBMISSION_HEADER)
        writer.writerows(submission_rows(predictions))
    os.replace(tmp, path)
    return path


def read_submission(path: str | Path) -> dict[str, list[Prediction]]:
    """Parse a submission CSV back into predictions (score 1.0: the CSV carries none).

    Raises:
        ValueError: naming the file and line of a malformed row or polygon.
    """
    path = Path(path)
    out: dict[str, list[Prediction]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != SUBMISSION_HEADER:
            raise ValueError(f"{path}: first line must be 'filename,polygons', got {header}")
        for line, row in enumerate(reader, start=2):
            if len(row) != 2:
                raise ValueError(f"{path}:{line}: expected 2 columns, got {len(row)}")
            filename, cell = row
            preds = []
            for k, text in enumerate(p for p in cell.split("|") if p.strip()):
                try:
                    values = [float(v) for v in text.split()]
                except ValueError:
                    raise ValueError(f"{path}:{line}: polygon {k} is not numbers") from None
                if len(values) < 8 or len(values) % 2:
                    raise ValueError(
                        f"{path}:{line}: polygon {k} has {len(values)} numbers (need >= 4 points)"
                    )
                preds.append(Prediction(points=np.array(values).reshape(-1, 2), score=1.0))
            out[filename] = preds
    return out
