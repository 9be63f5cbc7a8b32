"""Learning-rate schedules that take the run length from the trainer."""

from __future__ import annotations

import itertools

import pytest
import torch

from ocrtop.ocr.lightning.schedulers import constant, cosine_with_warmup, poly_with_warmup


def _lrs(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return out


def _opt() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


def test_poly_warms_up_then_decays_to_zero() -> None:
    lrs = _lrs(poly_with_warmup(_opt(), total_steps=10, power=1.0, warmup_steps=3), 11)
    assert lrs[0] == pytest.approx(0.25)  # (0 + 1) / (3 + 1), times (1 - 0/10)
    assert lrs[0] < lrs[1] < lrs[2]
    assert lrs[3] == pytest.approx(0.7)  # warm-up done: 1 - 3/10
    assert lrs[10] == pytest.approx(0.0)


def test_cosine_ends_at_min_factor() -> None:
    lrs = _lrs(cosine_with_warmup(_opt(), total_steps=8, min_factor=0.1), 9)
    assert lrs[0] == pytest.approx(1.0)
    assert lrs[8] == pytest.approx(0.1)
    assert all(a >= b for a, b in itertools.pairwise(lrs))


def test_constant() -> None:
    assert _lrs(constant(_opt()), 3) == [1.0, 1.0, 1.0]


def test_bad_lengths_name_the_config() -> None:
    with pytest.raises(ValueError, match="total_steps"):
        poly_with_warmup(_opt(), total_steps=0)
    with pytest.raises(ValueError, match="warmup_steps"):
        cosine_with_warmup(_opt(), total_steps=5, warmup_steps=-1)
