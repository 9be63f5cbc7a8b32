"""Write detections in the canonical JSON format, with a score per word.

The same format the datasets use for ground truth, so ``ocrtop eval --gt GT.json --pred
PRED.json`` and ``ocrtop data check`` read predictions without a second schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ocr.types import Prediction


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
