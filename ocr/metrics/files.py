"""Score a prediction file against a ground-truth file, both in the canonical JSON format.

``ocrtop eval --gt GT.json --pred PRED.json [--metric icdar2015|cleval|both]`` calls
:func:`evaluate_files`. Prediction
words use the same schema as GT words, with an optional ``"score"``; their ``text`` and
``ignore`` are not used. An image in the GT without an entry in the predictions counts as
"nothing detected"; an image in the predictions that the GT lacks is an error, because it
almost always means the two files describe different splits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ocrtop.ocr.data.canonical import RawWord, parse_points, read_labels
from ocrtop.ocr.metrics.cleval import CLEvalCounts, cleval_image
from ocrtop.ocr.metrics.matching import check_rule, match_image, scores


def _read(path: Path, role: str) -> dict[str, list[RawWord]]:
    """The canonical reader's words, with ``role`` (ground truth or prediction) in errors."""
    if not path.is_file():
        raise FileNotFoundError(f"{role} file {str(path)!r} does not exist")
    try:
        return read_labels(path)
    except ValueError as exc:  # its messages start with the path
        raise ValueError(f"{role} file {exc}") from exc


def _points(path: Path, filename: str, raw: RawWord) -> np.ndarray:
    pts = parse_points(raw.points)
    if pts is None or len(pts) < 3:
        raise ValueError(
            f"{path}: images[{filename!r}].words[{raw.word_id!r}].points must be >= 3 "
            f"[x, y] pairs, got {str(raw.points)[:60]}"
        )
    return pts


METRICS = ("icdar2015", "cleval", "both")
"""What ``evaluate_files`` (and ``ocrtop eval --metric``) can score."""


def evaluate_files(
    gt_json: str | Path,
    pred_json: str | Path,
    iou_threshold: float = 0.5,
    area_precision: float = 0.5,
    match_rule: str = "icdar2015",
    metric: str = "icdar2015",
) -> dict[str, float]:
    """Scores over every image of ``gt_json``.

    ``metric="icdar2015"`` gives ``{"precision", "recall", "hmean"}`` by
    :func:`ocrtop.ocr.metrics.matching.match_image`'s rules; ``"cleval"`` gives
    ``{"cleval_precision", "cleval_recall", "cleval_hmean"}`` (:mod:`ocrtop.ocr.metrics.cleval`,
    from the GT words' text lengths); ``"both"`` gives all six.

    Raises:
        FileNotFoundError, ValueError: naming the file, image and word at fault.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    check_rule(match_rule)
    gt_path, pred_path = Path(gt_json), Path(pred_json)
    gt_images = _read(gt_path, "ground-truth")
    pred_images = _read(pred_path, "prediction")
    unknown = sorted(set(pred_images) - set(gt_images))
    if unknown:
        raise ValueError(
            f"{pred_path} has {len(unknown)} image(s) that {gt_path} lacks, e.g. "
            f"{unknown[0]!r}; are both files from the same split?"
        )
    matched = num_gt = num_pred = 0
    characters = CLEvalCounts()
    for filename, gt_words in gt_images.items():
        gt = [_points(gt_path, filename, w) for w in gt_words]
        ignore = [w.ignore for w in gt_words]
        preds = [_points(pred_path, filename, w) for w in pred_images.get(filename, [])]
        if metric != "cleval":
            counts = match_image(gt, ignore, preds, iou_threshold, area_precision, match_rule)
            matched += counts.matched
            num_gt += counts.num_gt
            num_pred += counts.num_pred
        if metric != "icdar2015":
            texts = [w.text for w in gt_words]
            characters = characters + cleval_image(gt, texts, ignore, preds)
    out: dict[str, float] = {}
    if metric != "cleval":
        out.update(scores(matched, num_gt, num_pred))
    if metric != "icdar2015":
        out.update({f"cleval_{k}": v for k, v in characters.scores().items()})
    return out
