"""The loss a training step returned, for a job that logs none under ``train/loss``.

Lightning hands ``on_train_batch_end`` whatever ``training_step`` returned: a tensor, a
dict with ``"loss"``, or None (manual optimisation). Our own module logs ``train/loss``;
a user's may log ``train_loss``, ``loss`` or nothing, and the dashboard's training panel
would then have no loss to show. Keeping a reference to the detached tensor costs
nothing; converting it to a float waits for the GPU, so that happens only when the
bridge publishes logged metrics (every ``every_n_steps``), never per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocrtop.bridge import names


def returned_loss(outputs: Any) -> Any:
    """The loss in a step's output (a tensor or a number), or None."""
    if isinstance(outputs, Mapping):
        outputs = outputs.get("loss")
    if outputs is None or isinstance(outputs, bool):
        return None
    if hasattr(outputs, "detach"):
        if getattr(outputs, "numel", lambda: 0)() != 1:
            return None
        # Lightning hands the hooks its loss already detached: detaching it again would
        # cost a tensor per step and, like most torch calls, release the GIL in the
        # middle of the batch-end hooks (the bridge thread then drains a step's events
        # in two goes).
        return outputs.detach() if getattr(outputs, "requires_grad", True) else outputs
    return outputs if isinstance(outputs, int | float) else None


class StepLoss:
    """Remembers the last step's loss; :meth:`values` adds it as ``train/loss`` when missing."""

    def __init__(self) -> None:
        self._last: Any = None

    def observe(self, outputs: Any) -> None:
        """Keep the step's loss (a reference, no host sync)."""
        loss = returned_loss(outputs)
        if loss is not None:
            self._last = loss

    def values(self, logged: Mapping[str, float]) -> dict[str, float]:
        """``{train/loss: x}`` when the job logged no ``train/loss`` itself, else ``{}``."""
        if self._last is None or names.TRAIN_LOSS in logged:
            return {}
        try:
            return {names.TRAIN_LOSS: float(self._last)}
        except (TypeError, ValueError, RuntimeError):
            return {}
