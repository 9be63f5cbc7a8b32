"""Stop at any time: the dashboard's ``stop``, Ctrl-C and SIGTERM end the run at a step boundary.

Lightning's own ``trainer.should_stop`` is refused while ``min_epochs`` is not reached
(a stop in the first epoch was ignored), so a stop here does not ask Lightning: the
:class:`GracefulStop` callback raises :class:`~ocrtop.ocr.failures.StopRequested` at the next
batch end. Lightning then calls every callback's ``on_exception`` (the model and the
optimizer are still intact: the step is complete), where the callback saves a checkpoint
that ``ckpt_path=`` resumes, and the bridge callback publishes the final status.

Signals: the first SIGINT or SIGTERM requests the stop; a second one (or the stop not
finishing within ``timeout_s``, measured with ``SIGALRM``) escalates: it raises
:class:`~ocrtop.ocr.failures.StopEscalated` wherever the main thread is, and the run ends
without a checkpoint. Each step says so on stderr, which is the run's log.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.bridge import exitcodes
from ocrtop.ocr.failures import StopEscalated, StopRequested

log = logging.getLogger(__name__)

STOP_FILE = "stopped.ckpt"
"""Name of the checkpoint a graceful stop writes, in the checkpoint callback's folder."""


def _say(text: str) -> None:
    print(f"[ocrtop] {text}", file=sys.stderr, flush=True)


class StopController:
    """The stop request of this process: who asked, with which exit code, and escalation.

    Args:
        timeout_s: seconds a requested stop may take before it escalates (0: never).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self.reason: str | None = None
        self.exit_code: int | None = None
        self.escalated: str | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """True once a stop was asked for."""
        return self.reason is not None

    def request(self, reason: str, exit_code: int) -> bool:
        """Ask for a stop at the next step boundary; the first request wins.

        Returns:
            False when a stop was already pending (the caller may escalate).
        """
        if self.reason is not None:
            return False
        self.reason, self.exit_code = reason, exit_code
        if self.timeout_s > 0 and threading.current_thread() is threading.main_thread():
            signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
        return True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.request(name, exitcodes.from_signal(signum)):
            _say(
                f"{name}: stopping after the current step, with a checkpoint "
                f"({name} again: stop now, without one)"
            )
            return
        self.escalate(f"second stop request ({name})", exitcodes.from_signal(signum))

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        self.escalate(
            f"the stop did not finish within {self.timeout_s:.0f} s",
            self.exit_code or exitcodes.STOPPED,
        )

    def escalate(self, why: str, exit_code: int) -> None:
        """Stop now, wherever the main thread is: raise :class:`StopEscalated`."""
        if self.escalated is not None:
            return  # already unwinding: a third Ctrl-C must not interrupt the teardown
        self.escalated = why
        self.exit_code = exit_code
        _say(f"{why}: stopping now, without a checkpoint")
        raise StopEscalated(f"{self.reason} ({why}; no checkpoint)", exit_code)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopController]:
        """Handle SIGINT/SIGTERM (and the timeout's SIGALRM) while the block runs.

        Only the main thread may set handlers; elsewhere (a test harness) this is a no-op.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        self._previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_alarm)
        try:
            yield self
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            self._previous.clear()


def _any_rank(trainer: pl.Trainer, flag: bool) -> bool:
    """True when any DDP rank has ``flag``: every rank must leave the loop at the same step.

    One small all-reduce per step, and only when there are several ranks.
    """
    if trainer.world_size <= 1:
        return flag
    return bool(trainer.strategy.reduce_boolean_decision(flag, all=False))


class GracefulStop(Callback):
    """End the run at the next batch boundary once ``controller`` has a stop request.

    Args:
        controller: the process's stop request.
        dirpath: folder of the stop checkpoint; None uses the checkpoint callback's
            folder, else ``<default_root_dir>/checkpoints``.
    """

    def __init__(self, controller: StopController, dirpath: str | None = None) -> None:
        self.controller = controller
        self.dirpath = dirpath
        self.checkpoint: str | None = None

    def request_stop(self, reason: str, exit_code: int = exitcodes.STOPPED) -> bool:
        """The bridge's ``stop`` command lands here (see ``ocrtop.ocr.callbacks.link.commands``)."""
        return self.controller.request(reason, exit_code)

    def _check(self, trainer: pl.Trainer) -> None:
        if _any_rank(trainer, self.controller.requested):
            reason = self.controller.reason or "stop requested on another rank"
            code = self.controller.exit_code or exitcodes.STOPPED
            raise StopRequested(reason, code)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._check(trainer)

    def on_validation_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._check(trainer)

    def on_test_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._check(trainer)

    def on_predict_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._check(trainer)

    def stop_path(self, trainer: pl.Trainer) -> Path:
        """Where the stop checkpoint goes."""
        folder = self.dirpath or getattr(trainer.checkpoint_callback, "dirpath", None)
        return Path(folder or Path(trainer.default_root_dir) / "checkpoints") / STOP_FILE

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        """A graceful stop during fit: save the checkpoint and tell the exception where.

        Runs before the bridge callback's ``on_exception`` (it is first in the list), so
        the final event carries the path. A failed save is reported, never raised: the
        run still ends as a stop, without a checkpoint.
        """
        graceful = isinstance(exception, StopRequested)
        graceful = graceful or type(exception).__name__ == "SIGTERMException"
        if not graceful or trainer.state.fn != "fit" or trainer.global_step == 0:
            return
        path = self.stop_path(trainer)
        try:
            trainer.save_checkpoint(path)
        except Exception as exc:
            _say(f"could not save the stop checkpoint {path}: {type(exc).__name__}: {exc}")
            return
        self.checkpoint = str(path)
        with contextlib.suppress(AttributeError):
            exception.checkpoint = str(path)  # type: ignore[attr-defined]
        _say(f"saved {path} at step {trainer.global_step}; resume with ckpt_path={path}")
