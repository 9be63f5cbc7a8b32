"""Learning-rate schedules that know the run's length.

A Hydra config cannot know how many optimiser steps a run has (it depends on the dataset
size, batch size, ``max_epochs`` or ``max_steps``), so a schedule that needs it declares a
required ``total_steps`` parameter and :class:`ocrtop.ocr.lightning.module.DetectionModule` passes
``trainer.estimated_stepping_batches``.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def _check(total_steps: int, warmup_steps: int) -> None:
    if total_steps < 1:
        raise ValueError(f"model.scheduler: total_steps must be >= 1, got {total_steps}")
    if warmup_steps < 0:
        raise ValueError(f"model.scheduler.warmup_steps must be >= 0, got {warmup_steps}")


def _warmup(step: int, warmup_steps: int) -> float:
    return (step + 1) / (warmup_steps + 1) if step < warmup_steps else 1.0


def poly_with_warmup(
    optimizer: Optimizer, total_steps: int, power: float = 0.9, warmup_steps: int = 0
) -> LambdaLR:
    """``lr * (1 - t/T) ** power`` after a linear warm-up (DBNet's schedule).

    Warm-up matters for the DB head: the threshold branch starts random and a full learning
    rate on the first steps can saturate the approximate binarisation.
    """
    _check(total_steps, warmup_steps)

    def factor(step: int) -> float:
        progress = min(step, total_steps) / total_steps
        return _warmup(step, warmup_steps) * max(1.0 - progress, 0.0) ** power

    return LambdaLR(optimizer, factor)


def cosine_with_warmup(
    optimizer: Optimizer, total_steps: int, warmup_steps: int = 0, min_factor: float = 0.0
) -> LambdaLR:
    """Cosine decay from ``lr`` to ``lr * min_factor`` after a linear warm-up."""
    _check(total_steps, warmup_steps)

    def factor(step: int) -> float:
        progress = min(step, total_steps) / total_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return _warmup(step, warmup_steps) * (min_factor + (1.0 - min_factor) * cosine)

    return LambdaLR(optimizer, factor)


def constant(optimizer: Optimizer) -> LambdaLR:
    """The optimizer's own learning rate throughout."""
    return LambdaLR(optimizer, lambda step: 1.0)
