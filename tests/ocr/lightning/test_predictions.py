"""Predictions in the canonical JSON format, with scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ocrtop.ocr.lightning.predictions import predictions_to_canonical, write_predictions
from ocrtop.ocr.types import Prediction


def test_canonical_layout_with_scores(tmp_path: Path) -> None:
    square = np.array([[0, 0], [10, 0], [10, 5.123456], [0, 5]], dtype=float)
    preds = {"b.png": [], "a.png": [Prediction(square, 0.9), Prediction(square + 20, 0.5)]}
    path = write_predictions(preds, tmp_path / "out" / "p.json")
    data = json.loads(path.read_text())
    assert list(data["images"]) == ["a.png", "b.png"]  # sorted: stable diffs between runs
    words = data["images"]["a.png"]["words"]
    assert list(words) == ["0", "1"]
    assert words["0"]["points"][2] == [10.0, 5.12]
    assert words["1"]["score"] == 0.5
    assert data["images"]["b.png"] == {"words": {}}
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_round_trip_points() -> None:
    tri = np.array([[1.5, 2.25], [3.0, 4.0], [5.0, 1.0]])
    out = predictions_to_canonical({"x.jpg": [Prediction(tri, 1)]})
    assert np.allclose(out["images"]["x.jpg"]["words"]["0"]["points"], tri)
