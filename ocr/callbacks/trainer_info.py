"""Read what Lightning knows about a run, defensively.

Trainer properties differ in cost and in when they are valid (``estimated_stepping_batches``
loads the train dataloader; logged values may be tensors on a GPU), so the bridge reads
them through these helpers, at the moments it chooses.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytorch_lightning as pl

from ocrtop.bridge import names


def logged_metrics(trainer: pl.Trainer) -> dict[str, float]:
    """Lightning's scalar ``callback_metrics`` plus the first param group's learning rate.

    Converting a GPU tensor synchronises, so callers do this every N steps, not every step.
    """
    values: dict[str, float] = {}
    for key, value in trainer.callback_metrics.items():
        try:
            values[key] = float(value)
        except (TypeError, ValueError, RuntimeError):
            continue
    with contextlib.suppress(AttributeError, IndexError, KeyError, TypeError):
        values[names.LR] = float(trainer.optimizers[0].param_groups[0]["lr"])
    return values


def run_totals(trainer: pl.Trainer) -> dict[str, Any]:
    """``max_epochs`` and ``total_steps``; computed once per fit (not free)."""
    try:
        total = finite_int(trainer.estimated_stepping_batches)
    except Exception:  # not computable before the data is set up
        total = None
    return {"max_epochs": trainer.max_epochs, "total_steps": total}


def finite_int(value: Any) -> int | None:
    """``int(value)`` for finite numbers (iterable datasets report ``inf`` batches)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) else None


def stage_name(stage: Any) -> str:
    """``"fit"``, ``"test"``...: Lightning passes hooks a ``TrainerFn`` enum, not a string."""
    return str(getattr(stage, "value", stage))
