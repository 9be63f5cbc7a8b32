"""StepLoss: the step's returned loss becomes ``train/loss`` only when the job logs none."""

from __future__ import annotations

import torch

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.timing.step_loss import StepLoss, returned_loss


def test_returned_loss_reads_tensors_dicts_and_numbers() -> None:
    t = torch.tensor(0.25, requires_grad=True)
    assert float(returned_loss(t)) == 0.25 and not returned_loss(t).requires_grad
    assert float(returned_loss({"loss": t, "other": 1})) == 0.25
    assert returned_loss(0.5) == 0.5
    assert returned_loss(None) is None and returned_loss({"x": t}) is None
    assert returned_loss(torch.ones(3)) is None  # not a scalar: not a loss we can show
    assert returned_loss(True) is None


def test_a_loss_that_needs_no_grad_is_kept_as_it_is() -> None:
    """Lightning's outputs carry the loss detached already: no second tensor per step."""
    t = torch.tensor(0.75)
    assert returned_loss(t) is t and returned_loss({"loss": t}) is t
    graph = torch.tensor(2.0, requires_grad=True) * 3
    kept = returned_loss(graph)
    assert kept is not graph and kept.grad_fn is None and float(kept) == 6.0


def test_values_fill_in_train_loss_only_when_missing() -> None:
    loss = StepLoss()
    assert loss.values({}) == {}  # nothing seen yet
    loss.observe({"loss": torch.tensor(1.5)})
    loss.observe(None)  # a manual-optimisation step returns nothing: keep the last
    assert loss.values({"val/acc": 0.9}) == {names.TRAIN_LOSS: 1.5}
    assert loss.values({names.TRAIN_LOSS: 0.7}) == {}  # the job's own value wins
