"""DB post-processing recovers known boxes from synthetic probability maps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from shapely.geometry import Polygon

from ocrtop.ocr.geometry import apply_matrix, shrink_polygon
from ocrtop.ocr.postprocess import DBPostProcessor
from ocrtop.ocr.types import DetectionOutput

H, W = 128, 192
# Network input -> original: the image was shrunk by 2.5 and padded by (4, 6) before the net.
TO_ORIGINAL = np.array([[2.5, 0.0, -10.0], [0.0, 2.5, -15.0], [0.0, 0.0, 1.0]])
META = {"filename": "page.png", "orig_size": (400, 600), "to_original": TO_ORIGINAL}


def _rotated(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    return cv2.boxPoints(((cx, cy), (w, h), angle)).astype(np.float64)


BOXES = [
    _rotated(50, 40, 70, 36, 0),
    _rotated(130, 90, 80, 30, 15),
]


def _prob_map(boxes: list[np.ndarray], value: float = 0.95) -> np.ndarray:
    """What a trained DB model predicts: the *shrunk* text kernels (r = 0.4) lit up."""
    prob = np.full((H, W), 0.02, dtype=np.float32)
    for box in boxes:
        kernel = shrink_polygon(box, 0.4)
        assert kernel is not None
        mask = np.zeros((H, W), np.uint8)
        cv2.fillPoly(mask, [np.round(kernel).astype(np.int32)], 1)
        prob[mask > 0] = value
    return prob


def _output(*maps: np.ndarray) -> DetectionOutput:
    return DetectionOutput(prob_map=torch.from_numpy(np.stack(maps))[:, None], stride=1)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = Polygon(a), Polygon(b)
    return pa.intersection(pb).area / pa.union(pb).area


def test_recovers_known_boxes_in_original_coordinates() -> None:
    preds = DBPostProcessor()(_output(_prob_map(BOXES)), [META])
    assert len(preds) == 1 and len(preds[0]) == len(BOXES)
    expected = [apply_matrix(TO_ORIGINAL, b) for b in BOXES]
    for pred in preds[0]:
        assert pred.points.shape == (4, 2)
        assert 0.8 < pred.score <= 0.95
        assert max(_iou(pred.points, e) for e in expected) > 0.85


def test_mean_score_filter_drops_faint_regions() -> None:
    faint = _prob_map(BOXES[:1], value=0.45)  # above thresh 0.3, below box_thresh 0.6
    assert DBPostProcessor()(_output(faint), [META]) == [[]]
    assert len(DBPostProcessor(box_thresh=0.4)(_output(faint), [META])[0]) == 1


def test_min_size_and_max_candidates() -> None:
    prob = _prob_map(BOXES)
    prob[5:7, 180:182] = 0.95  # a 2x2 speck: below min_size
    assert len(DBPostProcessor()(_output(prob), [META])[0]) == 2
    assert len(DBPostProcessor(max_candidates=1)(_output(prob), [META])[0]) == 1
    assert DBPostProcessor().max_candidates >= 1000


def test_batches_keep_images_apart_and_polygon_mode() -> None:
    metas = [META, {**META, "to_original": np.eye(3)}]
    preds = DBPostProcessor(polygon=True)(_output(_prob_map(BOXES[:1]), _prob_map(BOXES)), metas)
    assert [len(p) for p in preds] == [1, 2]
    assert all(len(p.points) >= 4 for p in preds[1])
    assert max(_iou(p.points, BOXES[1]) for p in preds[1]) > 0.75


def test_meta_without_to_original_is_an_actionable_error() -> None:
    with pytest.raises(KeyError, match=r"page\.png.*to_original"):
        DBPostProcessor()(_output(_prob_map(BOXES)), [{"filename": "page.png"}])
    with pytest.raises(ValueError, match="prob_map"):
        DBPostProcessor()(DetectionOutput(), [META])
