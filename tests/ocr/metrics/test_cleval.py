"""CLEval on hand-built pages; every expected count is derived from the protocol's rules.

Words are axis-aligned 20 px rows unless said otherwise. A word of ``n`` characters spanning
``x0..x1`` has its pseudo-character centres (PCCs) at ``x0 + (i + 0.5) (x1 - x0) / n`` on
its middle line.
"""

from __future__ import annotations

import numpy as np
import pytest

from ocrtop.ocr.metrics import CLEvalConfig, CLEvalCounts, CLEvalMetric, cleval_image
from ocrtop.ocr.metrics.cleval import char_centers, points_inside
from ocrtop.ocr.types import Prediction


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def score(gt, texts, preds, ignore=None, **cfg) -> tuple[CLEvalCounts, dict[str, float]]:
    ignore = ignore if ignore is not None else [t == "###" for t in texts]
    counts = cleval_image(gt, texts, ignore, preds, CLEvalConfig(**cfg))
    return counts, counts.scores()


def test_exact_detection_scores_one() -> None:
    counts, s = score([box(0, 0, 100, 20)], ["hello"], [box(0, 0, 100, 20)])
    assert (counts.num_char_gt, counts.num_char_det, counts.num_char_tp) == (5, 5, 5)
    assert s == {"precision": 1.0, "recall": 1.0, "hmean": 1.0}


def test_split_word_costs_recall_one_character() -> None:
    # "abcd": PCCs at x 12.5, 37.5, 62.5, 87.5; each half holds two. One-to-many match:
    # tp 4, split penalty 1 -> recall (4 - 1) / 4; precision 4 / 4.
    counts, s = score([box(0, 0, 100, 20)], ["abcd"], [box(0, 0, 50, 20), box(50, 0, 100, 20)])
    assert (counts.num_char_tp, counts.gran_recall, counts.num_split) == (4, 1.0, 1)
    assert s == pytest.approx({"precision": 1.0, "recall": 0.75, "hmean": 2 * 0.75 / 1.75})


def test_merged_words_cost_precision_one_character() -> None:
    # Area precisions 800/2000 = 0.4 each (>= 0.3), PCCs of both words inside: many-to-one.
    # tp 4 of 4 characters; merge penalty 1 -> precision (4 - 1) / 4. (IoU 0.4: ICDAR
    # would give this detection nothing.)
    counts, s = score([box(0, 0, 40, 20), box(60, 0, 100, 20)], ["ab", "cd"], [box(0, 0, 100, 20)])
    assert (counts.num_char_tp, counts.gran_precision, counts.num_merged) == (4, 1.0, 1)
    assert s == pytest.approx({"precision": 0.75, "recall": 1.0, "hmean": 2 * 0.75 / 1.75})


def test_unmatched_detections_are_charged_by_shape() -> None:
    word = box(0, 0, 100, 20)
    # Wide (aspect 5): round(0.5 + 1/5) = 1 character. Tall (aspect 0.1): 1/0.1 -> 10.
    counts, s = score([word], ["abc"], [word, box(0, 100, 100, 120)])
    assert counts.num_char_det == 3 + 1 and s["precision"] == pytest.approx(3 / 4)
    counts, s = score([word], ["abc"], [word, box(0, 100, 10, 200)])
    assert counts.num_char_det == 3 + 10 and s["precision"] == pytest.approx(3 / 13)


def test_dont_care_detections_are_dropped_and_dont_care_words_not_counted() -> None:
    word, dc = box(0, 0, 100, 20), box(200, 0, 300, 20)
    inside = box(210, 2, 290, 18)  # area precision 1 against the region: dropped
    straddle = box(280, 0, 380, 20)  # 0.2 of it inside, no PCC of the region: charged
    counts, _ = score([word, dc], ["abc", "###"], [word, inside])
    assert (counts.num_char_gt, counts.num_char_det) == (3, 3)
    counts, _ = score([word, dc], ["abc", "###"], [word, straddle])
    assert counts.num_char_det == 3 + 1


def test_dont_care_region_loses_the_area_of_words_it_overlaps() -> None:
    # The region 50..150 overlaps the word 0..100; it keeps only 100..150. A detection on
    # the word's right half (60..100) is then 0 inside the region (it would be 1 without the
    # subtraction, and dropped): it matches and finds the PCC at 75 of "ab".
    word, dc = box(0, 0, 100, 20), box(50, 0, 150, 20)
    counts, s = score([word, dc], ["ab", "###"], [box(60, 0, 100, 20)])
    assert (counts.num_char_tp, counts.num_char_det) == (1, 1)
    assert s["recall"] == pytest.approx(0.5) and s["precision"] == 1.0


def test_vertical_words_read_along_their_long_side() -> None:
    # Top edge 20, sides 100: aspect 0.2 < 0.5, so the PCCs run down the middle (x = 10)
    # at y 12.5 .. 87.5; a detection of the top half holds two of four.
    tall = box(0, 0, 20, 100)
    np.testing.assert_allclose(char_centers(tall, 4)[:, 0], 10.0)
    counts, s = score([tall], ["abcd"], [box(0, 0, 20, 50)])
    assert counts.num_char_tp == 2 and s["recall"] == pytest.approx(0.5)


def test_characters_weigh_words_by_length_over_the_split() -> None:
    # Global character counts: "a" found, "abcdefghi" missed -> recall 1/10, not the
    # per-word mean 0.5.
    one = cleval_image([box(0, 0, 20, 20)], ["a"], [False], [box(0, 0, 20, 20)])
    nine = cleval_image([box(0, 0, 180, 20)], ["abcdefghi"], [False], [])
    assert (one + nine).scores()["recall"] == pytest.approx(0.1)


def test_words_without_text_get_an_estimated_length() -> None:
    # Aspect 124/20 = 6.2: min(round(0.5 + 6.2), 10) = 7 characters; without the estimate,
    # none.
    word = box(0, 0, 124, 20)
    counts, s = score([word], [""], [word])
    assert counts.num_char_gt == 7 and s["hmean"] == 1.0
    counts, s = score([word], [""], [word], estimate_missing_text=False)
    assert counts.num_char_gt == 0 and s["recall"] == 0.0
    assert cleval_image([word], None, [False], [word]).num_char_gt == 7


def test_points_on_shared_edges_belong_to_one_box() -> None:
    pts = np.array([[0.0, 5.0], [10.0, 5.0], [5.0, 0.0], [5.0, 10.0], [5.0, 5.0]])
    assert points_inside(box(0, 0, 10, 10), pts).tolist() == [True, False, True, False, True]


def test_metric_sums_states_like_one_pass_and_rejects_bad_batches() -> None:
    a, b = box(0, 0, 100, 20), box(0, 40, 100, 60)
    rank0, rank1, single = CLEvalMetric(), CLEvalMetric(), CLEvalMetric()
    rank0.update([[Prediction(a, 0.9)]], [[a, b]], [[False, False]], [["abcd", "xy"]])
    rank1.update([[]], [[b]], [[False]], [["xyz"]])
    single.update(
        [[Prediction(a, 0.9)], []],
        [[a, b], [b]],
        [[False, False], [False]],
        [["abcd", "xy"], ["xyz"]],
    )
    rank0.merge_state(rank1)
    got = {k: float(v) for k, v in rank0.compute().items()}
    assert got == pytest.approx({k: float(v) for k, v in single.compute().items()})
    assert got["recall"] == pytest.approx(4 / 9)  # 4 of 4 + 2 + 3 characters
    assert {fx.__name__ for fx in rank0._reductions.values()} == {"dim_zero_sum"}
    with pytest.raises(ValueError, match="one of each per image"):
        CLEvalMetric().update([[]], [[a]], [[False]], [["a"], ["b"]])
