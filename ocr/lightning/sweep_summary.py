"""A Hydra callback that tabulates a multirun: one row per job, CSV and Markdown.

Each training job writes ``run_summary.json`` into its own run directory
(:func:`ocrtop.ocr.lightning.summary.write_run_summary`); at the end of the sweep this callback
reads them back. Reading files rather than in-process results keeps it correct for
launchers that run jobs in other processes or on other machines (joblib, submitit).

This module must stay light: Hydra imports it at start-up, before any job, so it imports
neither torch nor Lightning.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)

RUN_SUMMARY = "run_summary.json"
COLUMNS = (
    "job",
    "arch",
    "best_val_hmean",
    "test_hmean",
    "train_samples_per_second",
    "wall_time_s",
    "status",
    "run_dir",
)


def collect_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job directory under ``sweep_dir``, ordered by job number.

    A job directory without a summary (a job that crashed before writing it) still gets a
    row with ``status`` "missing", so a failed architecture is visible in the table.
    """
    rows = []
    for job_dir in sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir()):
        summary_path = job_dir / RUN_SUMMARY
        row: dict[str, Any] = {"job": job_dir.name, "run_dir": str(job_dir), "status": "missing"}
        if summary_path.is_file():
            try:
                summary = json.loads(summary_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                log.warning("sweep summary: cannot read %s: %s", summary_path, exc)
                row["status"] = "unreadable"
            else:
                row.update({k: summary.get(k) for k in COLUMNS if k in summary})
                row["status"] = summary.get("status", "done")
        rows.append(row)
    rows.sort(key=lambda r: _job_number(str(r["job"])))
    return rows


def _job_number(name: str) -> tuple[int, str]:
    head = name.split("_", 1)[0]
    return (int(head), name) if head.isdigit() else (1 << 30, name)


DECIMALS = {"best_val_hmean": 4, "test_hmean": 4, "train_samples_per_second": 2, "wall_time_s": 1}


def _fmt(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and column in DECIMALS:
        return f"{float(value):.{DECIMALS[column]}f}"
    return str(value)


def write_summary(rows: list[dict[str, Any]], sweep_dir: Path) -> tuple[Path, Path]:
    """Write ``sweep_summary.csv`` and ``sweep_summary.md``; return both paths."""
    csv_path = sweep_dir / "sweep_summary.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k), k) for k in COLUMNS})
    md_path = sweep_dir / "sweep_summary.md"
    shown = COLUMNS[:-1]  # the run dir makes the table unreadably wide; it is in the CSV
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    lines += ["| " + " | ".join(_fmt(row.get(k), k) for k in shown) + " |" for row in rows]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path


class SweepSummary(Callback):
    """Hydra callback: after a multirun, write the sweep summary into the sweep directory."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Collect every job's run summary and write the CSV and Markdown tables."""
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            log.warning("sweep summary: sweep dir %s does not exist; nothing to write", sweep_dir)
            return
        rows = collect_rows(sweep_dir)
        csv_path, md_path = write_summary(rows, sweep_dir)
        log.info("sweep summary (%d jobs): %s", len(rows), csv_path)
        print(md_path.read_text(encoding="utf-8"), flush=True)
