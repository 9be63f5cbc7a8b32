"""Publishing and logging that can never break training.

A monitoring failure (a closed socket, a logger that raises, a value that is not a
number) must cost at most a log line: training is what the user is paying for. Each
callback owns one :class:`Emitter`, which counts failures and reports only the first
of each kind so that a broken sink does not flood the log every step.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

Trainer = Any
"""A ``pytorch_lightning`` or ``lightning.pytorch`` Trainer (the link serves both and imports
neither)."""


class Emitter:
    """Send metrics and events to the bridge and the Lightning loggers, swallowing errors.

    Args:
        owner: Short name of the owning callback, used for the Python logger name and
            in failure messages so a user knows which monitor misbehaved.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.log = logging.getLogger(f"ocrtop.ocr.callbacks.{owner}")
        self.failures = 0
        self._reported: set[str] = set()

    def publish(
        self,
        publisher: Any,
        type_: str,
        payload: dict[str, Any],
        step: int | None = None,
        epoch: int | None = None,
    ) -> None:
        """Publish one bridge message if a publisher exists (any thread)."""
        if publisher is None:
            return
        try:
            publisher.publish(type_, payload, step=step, epoch=epoch)
        except Exception as exc:  # monitoring must never stop training
            self.failed(f"publish {type_}", exc)

    def metrics(
        self,
        publisher: Any,
        values: Mapping[str, float],
        step: int | None = None,
        epoch: int | None = None,
    ) -> None:
        """Publish a metrics message (full rate: the bridge downsamples for late joiners)."""
        if publisher is None or not values:
            return
        try:
            publisher.metrics(dict(values), step=step, epoch=epoch)
        except Exception as exc:
            self.failed("publish metrics", exc)

    def log_metrics(self, trainer: Trainer, values: Mapping[str, float], step: int) -> None:
        """Write finite values to every Lightning logger (training thread only).

        Loggers are not thread-safe, so background samplers hand their latest values to
        the training thread, which calls this at a modest rate.
        """
        finite = {k: float(v) for k, v in values.items() if _is_finite(v)}
        if not finite:
            return
        try:
            for logger in trainer.loggers:
                logger.log_metrics(finite, step=step)
        except Exception as exc:
            self.failed("log metrics", exc)

    def failed(self, what: str, exc: BaseException) -> None:
        """Count a failure and log it once per kind."""
        self.failures += 1
        if what not in self._reported:
            self._reported.add(what)
            self.log.warning(
                "%s: %s failed (%s: %s); training continues, further failures of this kind "
                "are counted but not logged",
                self.owner,
                what,
                type(exc).__name__,
                exc,
            )


def _is_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
