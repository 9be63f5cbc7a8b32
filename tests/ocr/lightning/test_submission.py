"""The competition CSV: every image a row, polygons joined by ``|``, scored after a round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from PIL import Image

from ocrtop.ocr.cli import main
from ocrtop.ocr.data.canonical import write_labels
from ocrtop.ocr.lightning.predictions import (
    predictions_to_canonical,
    read_submission,
    write_predictions,
    write_submission,
)
from ocrtop.ocr.metrics import evaluate_files
from ocrtop.ocr.types import Prediction, Word

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def _box(x: float, y: float, w: float = 40, h: float = 12) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=float)


def test_round_trip_scores_like_the_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt = {
        "a.jpg": [Word(_box(10, 10)), Word(_box(10, 40)), Word(_box(80, 40))],
        "b.jpg": [Word(_box(5, 5))],
        "empty.jpg": [],
    }
    write_labels(gt, tmp_path / "gt.json")
    preds = {  # one hit off by a fraction of a pixel, one miss, one false alarm, one blank
        "a.jpg": [Prediction(_box(10.4, 10.3), 0.9), Prediction(_box(200, 200), 0.8)],
        "b.jpg": [Prediction(_box(5, 5), 0.7)],
        "empty.jpg": [],
    }
    sub = write_submission(preds, tmp_path / "sub.csv")
    rows = list(csv.reader(sub.open()))
    assert rows[0] == ["filename", "polygons"]
    assert [r[0] for r in rows[1:]] == ["a.jpg", "b.jpg", "empty.jpg"]  # blank image kept
    assert rows[1][1] == "10 10 50 10 50 22 10 22|200 200 240 200 240 212 200 212"
    assert rows[3][1] == ""

    back = read_submission(sub)
    assert sorted(back) == sorted(preds) and back["empty.jpg"] == []
    (tmp_path / "back.json").write_text(json.dumps(predictions_to_canonical(back)))
    write_predictions(preds, tmp_path / "pred.json")
    via_csv = evaluate_files(tmp_path / "gt.json", tmp_path / "back.json")
    via_json = evaluate_files(tmp_path / "gt.json", tmp_path / "pred.json")
    assert via_csv["precision"] == via_json["precision"] == pytest.approx(2 / 3)
    assert via_csv["recall"] == via_json["recall"] == pytest.approx(2 / 4)
    assert main(["eval", "--gt", str(tmp_path / "gt.json"), "--pred", str(sub), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hmean"] == pytest.approx(via_json["hmean"])


@pytest.mark.parametrize(
    ("line", "error"),
    [("a.jpg,1 2 3 4 5 6", "need >= 4 points"), ("a.jpg,1 2 x 4 5 6 7 8", "not numbers")],
)
def test_malformed_rows_name_the_line(tmp_path: Path, line: str, error: str) -> None:
    (tmp_path / "s.csv").write_text(f"filename,polygons\nok.jpg,\n{line}\n")
    with pytest.raises(ValueError, match=rf"s\.csv:3: .*{error}"):
        read_submission(tmp_path / "s.csv")


@pytest.mark.slow
def test_predict_writes_every_image_in_the_stored_frame(tmp_path: Path) -> None:
    from ocrtop.ocr.lightning.predict import predict_folder

    images = tmp_path / "imgs"
    images.mkdir()
    Image.new("RGB", (64, 64), "white").save(images / "blank.png")
    sideways = Image.new("RGB", (96, 32), (128, 128, 128))
    exif = sideways.getexif()
    exif[0x0112] = 6  # shown rotated: upright it is 32 wide, 96 tall
    sideways.save(images / "photo.jpg", exif=exif)
    overrides = [
        f"ckpt_path={tmp_path / 'm.ckpt'}", f"input_dir={images}", "submission=true",
        f"output={tmp_path / 'p.json'}", f"submission_path={tmp_path / 'sub.csv'}",
        "data.val.transform.size=64", "device=cpu", f"paths.output_dir={tmp_path}",
        "model.postprocess.thresh=0.0", "model.postprocess.box_thresh=0.0",  # detect anything
    ]  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(config_name="predict", overrides=overrides)
    torch.save({"state_dict": instantiate(cfg.model).state_dict()}, tmp_path / "m.ckpt")
    predict_folder(cfg)
    back = read_submission(tmp_path / "sub.csv")
    assert sorted(back) == ["blank.png", "photo.jpg"]
    points = np.concatenate([p.points for p in back["photo.jpg"]])
    assert points[:, 0].max() > 40  # x spans the stored width (96), not the upright 32
    assert points[:, 1].max() <= 33
