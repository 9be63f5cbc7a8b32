"""The sweep summary: one row per job directory, CSV + Markdown, failures visible."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from omegaconf import OmegaConf

from ocrtop.ocr.lightning.sweep_summary import RUN_SUMMARY, SweepSummary, collect_rows


def _job(sweep: Path, name: str, summary: dict | None) -> None:
    (sweep / name / ".hydra").mkdir(parents=True)
    if summary is not None:
        (sweep / name / RUN_SUMMARY).write_text(json.dumps(summary))


def test_writes_one_row_per_job_in_job_order(tmp_path: Path) -> None:
    _job(
        tmp_path,
        "10_dbnet",
        {
            "arch": "dbnet",
            "best_val_hmean": 0.5,
            "test_hmean": 0.4,
            "train_samples_per_second": 12.5,
            "wall_time_s": 61.0,
            "status": "done",
        },
    )
    _job(
        tmp_path,
        "2_craft",
        {
            "arch": "craft",
            "best_val_hmean": 0.25,
            "test_hmean": None,
            "train_samples_per_second": 8.0,
            "wall_time_s": 30.0,
            "status": "done",
        },
    )
    _job(tmp_path, "0_dbnetpp", None)  # crashed before writing its summary
    (tmp_path / "not_a_job").mkdir()  # no .hydra/: ignored

    SweepSummary().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))

    with (tmp_path / "sweep_summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["job"] for r in rows] == ["0_dbnetpp", "2_craft", "10_dbnet"]
    assert rows[0]["status"] == "missing"
    assert rows[2]["arch"] == "dbnet"
    assert float(rows[2]["best_val_hmean"]) == 0.5
    assert float(rows[2]["train_samples_per_second"]) == 12.5
    assert rows[1]["test_hmean"] == ""
    markdown = (tmp_path / "sweep_summary.md").read_text()
    assert markdown.count("\n") == 2 + 3  # header, rule, one line per job
    assert "| 10_dbnet | dbnet | 0.5000 | 0.4000 | 12.50 | 61.0 | done |" in markdown


def test_unreadable_summary_is_reported_not_raised(tmp_path: Path) -> None:
    _job(tmp_path, "0_dbnet", None)
    (tmp_path / "0_dbnet" / RUN_SUMMARY).write_text("{not json")
    assert collect_rows(tmp_path)[0]["status"] == "unreadable"


def test_missing_sweep_dir_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    SweepSummary().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(missing)}}}))
    assert not missing.exists()
