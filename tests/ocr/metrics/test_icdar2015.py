"""The official ICDAR 2015 rules, one hand-built case each.

Expected counts are worked out by hand from the protocol (strict IoU > 0.5; greedy in
ground-truth order, then detection order; a detection dropped when more than half of it
lies in one don't-care region). Boxes are 20 px tall rows, so IoU is the ratio of the
x-intervals' overlap to their union.
"""

from __future__ import annotations

import numpy as np
import pytest

from ocrtop.ocr.metrics import match_image
from ocrtop.ocr.metrics.polygons import to_shapely


def row(x0: float, x1: float, y0: float = 0, y1: float = 20) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def counts(gt: list[np.ndarray], preds: list[np.ndarray], rule: str = "icdar2015", **kw: object):
    c = match_image(gt, [False] * len(gt), preds, rule=rule, **kw)  # type: ignore[arg-type]
    return c.matched, c.num_gt, c.num_pred


def test_iou_exactly_one_half_is_rejected() -> None:
    word = row(0, 100)
    assert counts([word], [row(0, 50)]) == (0, 1, 1)  # IoU 1000/2000 = 0.5
    assert counts([word], [row(0, 51)]) == (1, 1, 1)  # IoU 0.51
    assert counts([word], [row(0, 50)], rule="max_iou")[0] == 0  # strict in both rules


def test_greedy_takes_the_first_detection_not_the_best() -> None:
    # G0 vs D0 0.6, G0 vs D1 0.9; G1 vs D1 75/115 = 0.65, G1 vs D0 40/120 = 0.33.
    g0, g1 = row(0, 100), row(20, 120)
    d0, d1 = row(0, 60), row(5, 95)
    # Official: G0 takes D0 (the first above 0.5), G1 then takes D1: two matches.
    assert counts([g0, g1], [d0, d1]) == (2, 2, 2)
    # Best IoU first: G0-D1 (0.9) goes first and leaves G1 nothing: one match.
    assert counts([g0, g1], [d0, d1], rule="max_iou") == (1, 2, 2)


def test_ground_truth_order_and_detection_order_decide() -> None:
    # G0 vs D0 0.6, G0 vs D1 0.7; G1 vs D0 48/60 = 0.8, G1 vs D1 18/100 = 0.18.
    g0, g1 = row(0, 100), row(0, 48)
    d0, d1 = row(0, 60), row(30, 100)
    assert counts([g0, g1], [d0, d1]) == (1, 2, 2)  # G0 takes D0; G1 has nothing left
    assert counts([g1, g0], [d0, d1]) == (2, 2, 2)  # G1 takes D0 first; G0 takes D1
    assert counts([g0, g1], [d1, d0]) == (2, 2, 2)  # G0 is offered D1 first
    # Highest IoU first is order-free here: G1-D0 (0.8), then G0-D1 (0.7).
    assert counts([g0, g1], [d0, d1], rule="max_iou") == (2, 2, 2)


def test_a_tie_goes_to_the_earlier_detection() -> None:
    # G0 vs D0 = G0 vs D1 = 0.6 (a tie); G1 vs D1 0.6, G1 vs D0 20/140.
    g0, g1 = row(0, 100), row(40, 140)
    d0, d1 = row(0, 60), row(40, 100)
    assert counts([g0, g1], [d0, d1]) == (2, 2, 2)  # G0 takes D0, G1 takes D1
    assert counts([g0, g1], [d1, d0]) == (1, 2, 2)  # G0 takes D1, G1 has nothing left


def test_dont_care_filter_needs_more_than_half_inside_one_region() -> None:
    word, dc = row(0, 100), row(200, 300)
    ignore = [False, True]

    def kept(pred: np.ndarray) -> int:
        return match_image([word, dc], ignore, [pred]).num_pred

    assert kept(row(250, 350)) == 1  # exactly half inside: kept, a false positive
    assert kept(row(249, 349)) == 0  # 51 % inside: dropped
    assert kept(row(200, 300)) == 0  # the don't-care word itself: dropped, not a match
    assert kept(row(250, 250)) == 1  # zero area: never dropped (the script divides by 0 -> 0)
    # A third inside each of two adjacent regions: 2/3 in don't-care, but neither region
    # holds more than half of it, and the official script tests regions one at a time.
    two = match_image([row(200, 300), row(300, 400)], [True, True], [row(260, 340, 0, 30)])
    assert (two.matched, two.num_gt, two.num_pred) == (0, 0, 1)


def test_dont_care_ground_truth_is_not_counted_or_matched() -> None:
    word, dc = row(0, 100), row(200, 300)
    c = match_image([word, dc], [False, True], [row(0, 100), row(210, 290, -100, 120)])
    # The second detection is 80*20/(80*220) = 9 % inside the region: kept, unmatched
    # (its IoU with the don't-care word would not count even if it were above 0.5).
    assert (c.matched, c.num_gt, c.num_pred) == (1, 1, 2)


def test_bow_tie_keeps_both_lobes() -> None:
    bow_tie = np.array([[0, 0], [100, 20], [100, 0], [0, 20]], dtype=np.float64)
    # Two triangles of 50 x 20 / 2 = 500 px each, crossing at (50, 10).
    assert to_shapely(bow_tie).area == pytest.approx(1000.0)
    # A box with a notch above and below the crossing covers both lobes:
    # area 2000 - 2 * 400 = 1200, IoU 1000 / 1200 = 0.83. One lobe only would give
    # 500 / 1200 = 0.42: no match.
    waist = np.array([[0, 0], [50, 8], [100, 0], [100, 20], [50, 12], [0, 20]], dtype=np.float64)
    assert counts([bow_tie], [waist]) == (1, 1, 1)
    assert counts([waist], [bow_tie]) == (1, 1, 1)


def test_degenerate_polygons_never_match() -> None:
    word = row(0, 100)
    assert counts([word], [np.zeros((2, 2)), np.full((4, 2), np.nan)]) == (0, 1, 2)
