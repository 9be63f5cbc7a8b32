"""DetectionMetric on hand-made cases: perfect, half, split/merge, don't-care, global vs mean.

The protocol's own rules (strict IoU, greedy order, don't-care filter, bow ties) are
tested in ``test_icdar2015.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from ocrtop.ocr.metrics import DetectionMetric, match_image
from ocrtop.ocr.types import Prediction


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def preds(*boxes: np.ndarray) -> list[Prediction]:
    return [Prediction(points=b, score=0.9) for b in boxes]


def run(images: list[tuple[list[Prediction], list[np.ndarray], list[bool]]]) -> dict[str, float]:
    metric = DetectionMetric()
    metric.update([p for p, _, _ in images], [g for _, g, _ in images], [i for _, _, i in images])
    return {k: float(v) for k, v in metric.compute().items()}


A, B = box(0, 0, 100, 20), box(0, 40, 100, 60)


def test_perfect() -> None:
    assert run([(preds(A, B), [A, B], [False, False])]) == {
        "precision": 1.0,
        "recall": 1.0,
        "hmean": 1.0,
    }


def test_half_recall() -> None:
    got = run([(preds(A), [A, B], [False, False])])
    assert got == pytest.approx({"precision": 1.0, "recall": 0.5, "hmean": 2 / 3})


def test_split_word_counts_one_match() -> None:
    # Two overlapping halves, each with IoU 0.55 against the word: only one may match.
    got = run([(preds(box(0, 0, 55, 20), box(45, 0, 100, 20)), [A], [False])])
    assert got == pytest.approx({"precision": 0.5, "recall": 1.0, "hmean": 2 / 3})


def test_merged_words_count_one_match() -> None:
    left, right = box(0, 0, 60, 20), box(62, 0, 100, 20)
    got = run([(preds(A), [left, right], [False, False])])  # IoU 0.6 and 0.38
    assert got == pytest.approx({"precision": 1.0, "recall": 0.5, "hmean": 2 / 3})


def test_dont_care_regions_are_excluded_both_ways() -> None:
    dc = box(200, 0, 300, 20)
    inside = box(205, 2, 260, 18)  # entirely inside the don't-care region: dropped
    straddle = box(280, 0, 400, 20)  # 1/6 of its area inside: a normal false positive
    counts = match_image([A, dc], [False, True], [A, dc, inside, straddle])
    assert (counts.matched, counts.num_gt, counts.num_pred) == (1, 1, 2)
    got = run([(preds(A, dc, inside, straddle), [A, dc], [False, True])])
    assert got == pytest.approx({"precision": 0.5, "recall": 1.0, "hmean": 2 / 3})


def test_global_counts_differ_from_a_mean_of_per_image_hmeans() -> None:
    many = [box(0, 30 * i, 100, 30 * i + 20) for i in range(9)]
    images = [
        (preds(A), [A], [False]),  # hmean 1
        (preds(many[0]), many, [False] * 9),  # P 1, R 1/9, hmean 0.2
    ]
    got = run(images)
    # Global: 2 matches, 10 GT, 2 predictions -> P 1, R 0.2, hmean 1/3 (the mean would be 0.6).
    assert got == pytest.approx({"precision": 1.0, "recall": 0.2, "hmean": 1 / 3})
    assert got["hmean"] != pytest.approx(0.6)


def test_accumulates_across_updates_and_resets() -> None:
    metric = DetectionMetric()
    metric.update([preds(A)], [[A]], [[False]])
    metric.update([[]], [[B]], [[False]])
    assert float(metric.compute()["recall"]) == pytest.approx(0.5)
    metric.reset()
    metric.update([preds(B)], [[B]], [[False]])
    assert float(metric.compute()["hmean"]) == 1.0


def test_merged_states_equal_one_pass_over_all_images() -> None:
    """What DDP sync does: sum-reduced states from two ranks give the global score."""
    many = [box(0, 30 * i, 100, 30 * i + 20) for i in range(4)]
    rank0, rank1, single = DetectionMetric(), DetectionMetric(), DetectionMetric()
    rank0.update([preds(A, B)], [[A]], [[False]])
    rank1.update([preds(many[1])], [many], [[False] * 4])
    single.update([preds(A, B), preds(many[1])], [[A], many], [[False], [False] * 4])
    rank0.merge_state(rank1)
    assert {k: float(v) for k, v in rank0.compute().items()} == pytest.approx(
        {k: float(v) for k, v in single.compute().items()}
    )
    assert {fx.__name__ for fx in rank0._reductions.values()} == {"dim_zero_sum"}


def test_empty_inputs_score_zero() -> None:
    assert run([([], [], [])]) == {"precision": 0.0, "recall": 0.0, "hmean": 0.0}


def test_unknown_match_rule_is_reported() -> None:
    with pytest.raises(ValueError, match="unknown matching rule 'hungarian'"):
        DetectionMetric(match_rule="hungarian")


def test_mismatched_batch_lists_are_reported() -> None:
    with pytest.raises(ValueError, match="one of each per image"):
        DetectionMetric().update([[]], [[A], [B]], [[False], [False]])
