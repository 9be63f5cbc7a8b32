"""Per-run bookkeeping shared by the runners: resolved config, run summary, final lines.

``run_summary.json`` is the one machine-readable result of a run; the sweep summary
(:mod:`ocrtop.ocr.lightning.sweep_summary`) and the README's benchmark table are built from it.

Under DDP every rank runs the runner in the same run directory, so the writers and the
final lines run on global rank 0 only (``rank_zero_only``; the rank comes from the
environment, so this holds before the process group is up). Elsewhere they are no-ops.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from ocrtop.bridge import names
from ocrtop.ocr.lightning.sweep_summary import RUN_SUMMARY


@rank_zero_only
def save_resolved_config(cfg: DictConfig, output_dir: str | Path) -> Path:
    """Write the fully resolved config as ``config_resolved.yaml`` in the run dir.

    Hydra's own ``.hydra/config.yaml`` keeps interpolations; the resolved copy records the
    values this run actually used (paths, dates, interpolated sizes).
    """
    path = Path(output_dir) / "config_resolved.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, OmegaConf.to_yaml(cfg, resolve=True))
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` through a temporary file and a rename: a failed write (a full disk)
    leaves the previous file whole, and no temporary file behind."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _clean(value: Any) -> Any:
    """Tensors and numpy scalars to floats; NaN/inf to None so the JSON stays standard."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@rank_zero_only
def write_run_summary(output_dir: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``run_summary.json`` atomically into ``output_dir`` and return its path."""
    path = Path(output_dir) / RUN_SUMMARY
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({k: _clean(v) for k, v in summary.items()}, indent=2))
    return path


def summarize_test(results: Sequence[Mapping[str, float]]) -> dict[str, float | None]:
    """The run-summary fields of ``trainer.test(...)``'s result (None where nothing ran)."""
    scores = results[0] if results else {}
    return {
        "test_precision": scores.get(names.TEST_PRECISION),
        "test_recall": scores.get(names.TEST_RECALL),
        "test_hmean": scores.get(names.TEST_HMEAN),
        "test_cleval_precision": scores.get(names.TEST_CLEVAL_PRECISION),
        "test_cleval_recall": scores.get(names.TEST_CLEVAL_RECALL),
        "test_cleval_hmean": scores.get(names.TEST_CLEVAL_HMEAN),
    }


@rank_zero_only
def print_metric(name: str, value: Any) -> None:
    """Print ``"test/hmean: 0.8731"``: the line scripts and the TUI grep for."""
    value = _clean(value)
    text = f"{value:.4f}" if isinstance(value, float | int) else "n/a"
    print(f"{name}: {text}", flush=True)


@rank_zero_only
def print_line(text: str) -> None:
    """One line on stderr (the run's log): how the run ended, for people and the supervisor."""
    print(text, file=sys.stderr, flush=True)
