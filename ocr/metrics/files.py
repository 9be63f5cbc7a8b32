"""Score a prediction file against a ground-truth file, both in the canonical JSON format.

``ocrtop eval --gt GT.json --pred PRED.json`` calls :func:`evaluate_files`. Prediction
words use the same schema as GT words, with an optional ``"score"``; their ``text`` and
``ignore`` are not used. An image in the GT without an entry in the predictions counts as
"nothing detected"; an image in the predictions that the GT lacks is an error, because it
almost always means the two files describe different splits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ocr.metrics.matching import match_image, scores

IGNORE_TEXT = "###"


def _load(path: Path, role: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{role} file {str(path)!r} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{role} file {path}: not valid JSON ({exc})") from exc
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise ValueError(f'{role} file {path}: top level must be {{"images": {{<file>: ...}}}}')
    return images


def _words(path: Path, filename: str, entry: Any) -> list[tuple[np.ndarray, bool]]:
    """``(points, ignore)`` per word of one image entry, validated."""
    words = entry.get("words", {}) if isinstance(entry, dict) else None
    if not isinstance(words, dict):
        raise ValueError(f'{path}: images[{filename!r}] must be {{"words": {{<id>: ...}}}}')
    out = []
    for word_id, word in words.items():
        where = f"{path}: images[{filename!r}].words[{word_id!r}]"
        if not isinstance(word, dict) or "points" not in word:
            raise ValueError(f"{where} has no 'points'")
        try:
            pts = np.asarray(word["points"], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}.points is not a list of [x, y] numbers ({exc})") from exc
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
            raise ValueError(f"{where}.points must be >= 3 [x, y] pairs, got shape {pts.shape}")
        ignore = bool(word.get("ignore", False)) or word.get("text") == IGNORE_TEXT
        out.append((pts, ignore))
    return out


def evaluate_files(
    gt_json: str | Path,
    pred_json: str | Path,
    iou_threshold: float = 0.5,
    ignore_overlap: float = 0.5,
) -> dict[str, float]:
    """``{"precision", "recall", "hmean"}`` over every image of ``gt_json``.

    Raises:
        FileNotFoundError, ValueError: naming the file, image and word at fault.
    """
    gt_path, pred_path = Path(gt_json), Path(pred_json)
    gt_images = _load(gt_path, "ground-truth")
    pred_images = _load(pred_path, "prediction")
    unknown = sorted(set(pred_images) - set(gt_images))
    if unknown:
        raise ValueError(
            f"{pred_path} has {len(unknown)} image(s) that {gt_path} lacks, e.g. "
            f"{unknown[0]!r}; are both files from the same split?"
        )
    matched = num_gt = num_pred = 0
    for filename, entry in gt_images.items():
        gt = _words(gt_path, filename, entry)
        pred_entry = pred_images.get(filename, {"words": {}})
        preds = [p for p, _ in _words(pred_path, filename, pred_entry)]
        counts = match_image(
            [p for p, _ in gt], [f for _, f in gt], preds, iou_threshold, ignore_overlap
        )
        matched += counts.matched
        num_gt += counts.num_gt
        num_pred += counts.num_pred
    return scores(matched, num_gt, num_pred)
