"""BridgeCallback: the training run's voice on the bridge.

It owns the :class:`ocrtop.bridge.publisher.Publisher` of this process (one per rank),
publishes status, progress, logged metrics and Python log records, and applies
commands from the dashboard at batch boundaries. The publisher and the command router
live in its :class:`~ocrtop.ocr.callbacks.link.BridgeLink`, which the other monitors find on
the trainer (they never import this module) and which leaves them log-only when the
bridge is absent.
"""

from __future__ import annotations

import atexit
import logging
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.ocr.callbacks.link.bridge_link import BridgeLink
from ocrtop.ocr.callbacks.link.commands import CommandHandler, stop_handler
from ocrtop.ocr.callbacks.link.emit import Emitter
from ocrtop.ocr.callbacks.link.linger import DeferredClose
from ocrtop.ocr.callbacks.link.log_handler import BridgeLogHandler
from ocrtop.ocr.callbacks.link.outcome import final_status
from ocrtop.ocr.callbacks.options import (
    accepts_renamed,
    check_every_n_steps,
    check_publish_max_hz,
    step_cadence,
)
from ocrtop.ocr.callbacks.timing.step_loss import StepLoss
from ocrtop.ocr.callbacks.trainer_info import finite_int, logged_metrics, run_totals, stage_name

if TYPE_CHECKING:
    from ocrtop.bridge.publisher import Publisher


def find_bridge(trainer: pl.Trainer) -> BridgeCallback | None:
    """The trainer's BridgeCallback, if one is configured (the runner's ``continue_with``).

    Monitors reach the bridge through :meth:`BridgeLink.of` instead.
    """
    for cb in getattr(trainer, "callbacks", None) or ():
        if isinstance(cb, BridgeCallback):
            return cb
    return None


def script_name(argv: list[str]) -> str | None:
    """The stem of the running script (``my_train`` for ``python my_train.py``), if any.

    ``python -c`` and an interactive session have no script; they keep the header's ``?``.
    """
    first = argv[0] if argv else ""
    if first in ("", "-c", "-m"):
        return None
    stem = first.replace("\\", "/").rsplit("/", 1)[-1]
    return stem[:-3] if stem.endswith(".py") else stem or None


def hydra_job_meta() -> dict[str, Any]:
    """Job number and overrides of a Hydra multirun job, for the dashboard's sweep table.

    Empty outside a multirun (or without Hydra), so a plain run's hello is unchanged.
    """
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
            return {}
        job = HydraConfig.get()
        return {"sweep_job": int(job.job.num), "overrides": [str(o) for o in job.overrides.task]}
    except Exception:  # an unusual Hydra state must not stop the bridge
        return {}


def _make_publisher(**kwargs: Any) -> Publisher:
    from ocrtop.bridge.publisher import Publisher  # bridge loads only when used

    return Publisher(**kwargs)


class BridgeCallback(Callback):
    """Start the bridge for the run and publish what Lightning knows.

    Args:
        run_dir: Where ``events.jsonl`` goes; defaults to ``trainer.default_root_dir``
            (the Hydra config passes the run directory).
        job_id: Explicit job id; None lets the publisher derive one.
        experiment_name: Shown in the dashboard header; None shows the script's name
            (``my_train`` for ``python my_train.py``), so a user's own job is recognisable.
        arch: Architecture name, shown in the dashboard header; None shows the
            LightningModule's class name.
        meta: Extra key/values for the hello message.
        forward_logs: Publish Python log records as ``log`` messages.
        log_level: Lowest forwarded log level name (``INFO``, ``WARNING``, ...).
        every_n_steps: Publish ``trainer.callback_metrics`` every N steps; None
            uses ``trainer.log_every_n_steps`` (reading logged tensors may sync a GPU,
            so not every step).
        publish_max_hz: Most ``progress`` messages per second (the last batch of an
            epoch is always sent); None sends every step. Each message costs the bridge
            thread CPU, and a progress bar gains nothing from 100 updates a second.
        linger_s: Seconds the stream stays open after a stage ends, so that the test
            stage that follows a fit continues the same stream without a gap (see
            ``linger.py``); 0 closes at once.
    """

    @accepts_renamed
    def __init__(
        self,
        run_dir: str | None = None,
        job_id: str | None = None,
        experiment_name: str | None = None,
        arch: str | None = None,
        meta: dict[str, Any] | None = None,
        forward_logs: bool = True,
        log_level: str = "INFO",
        every_n_steps: int | None = None,
        publish_max_hz: float | None = 10.0,
        linger_s: float = 10.0,
    ) -> None:
        level = logging.getLevelName(log_level.upper())
        if not isinstance(level, int):
            raise ValueError(f"log_level {log_level!r} is not a logging level name (INFO, ...)")
        self.run_dir = run_dir
        self.job_id = job_id
        self.meta = {"experiment_name": experiment_name, "arch": arch, **(meta or {})}
        self.forward_logs = forward_logs
        self.log_level = level
        self.every_n_steps = check_every_n_steps(every_n_steps)
        self._progress_interval = check_publish_max_hz(publish_max_hz)
        self._last_progress = -float("inf")
        self.link = BridgeLink()
        self._linger = DeferredClose(self.close, linger_s)
        self.router = self.link.router
        self.router.register("stop", self._on_stop)
        self._emit = Emitter("bridge")
        self._handler: BridgeLogHandler | None = None
        self._stop_requested = False
        self._next_stage: str | None = None
        self._status: str | None = None
        self._totals_cache: dict[str, Any] | None = None
        self._step_loss = StepLoss()
        self._final: tuple[dict[str, Any], int, int] | None = None

    # --- public API for other callbacks ---
    @property
    def publisher(self) -> Publisher | None:
        """The running publisher (kept in :attr:`link`), or None."""
        return self.link.publisher

    @publisher.setter
    def publisher(self, pub: Publisher | None) -> None:
        self.link.publisher = pub

    def register_command(self, name: str, handler: CommandHandler) -> None:
        """Let another callback (e.g. the profiler) answer a bridge command."""
        self.router.register(name, handler)

    def continue_with(self, stage: str) -> None:
        """Announce that ``stage`` will follow the current one in this process.

        The runner knows what Lightning does not tell a callback: that ``test`` follows
        ``fit``. The end of the current stage is then published as the next stage's
        ``setup``, so viewers see the job end once (with its test scores), not twice.
        An interrupted stage still ends the job.
        """
        self._next_stage = stage

    # --- lifecycle ---
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Start the publisher, or keep the previous stage's (same job, no gap)."""
        self._linger.cancel()
        self._final = None  # another stage follows: the job goes on
        if self.publisher is None:
            self._name_the_job(pl_module)
            self._start(trainer)
        self._set_status(trainer, "setup", stage=stage_name(stage), max_epochs=trainer.max_epochs)

    def _name_the_job(self, pl_module: pl.LightningModule) -> None:
        """Fill the header's name and architecture when the config gave none."""
        if self.meta.get("experiment_name") is None:
            self.meta["experiment_name"] = script_name(sys.argv)
        if self.meta.get("arch") is None:
            self.meta["arch"] = type(pl_module).__name__

    def _start(self, trainer: pl.Trainer) -> None:
        run_dir = self.run_dir or trainer.default_root_dir
        try:
            pub = _make_publisher(
                run_dir=run_dir,
                job_id=self.job_id,
                rank=trainer.global_rank,
                world_size=trainer.world_size,
                local_rank=trainer.local_rank,
                command=list(sys.argv),
                meta={**{k: v for k, v in self.meta.items() if v is not None}, **hydra_job_meta()},
            )
            pub.start()
        except Exception as exc:
            self._emit.failed("start the bridge publisher", exc)
            return
        self.publisher = pub
        # after the publisher's own exit hook, so it runs first (LIFO): a job end still
        # pending at exit is published before the publisher closes
        atexit.register(self._linger.fire_now)
        self.job_id = self.job_id or getattr(pub, "job_id", None)
        self._stop_requested = False
        if self.forward_logs:
            self._handler = BridgeLogHandler(pub, self.log_level)
            self._handler.attach()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._totals_cache = run_totals(trainer)
        self._set_status(trainer, "train", **self._totals(trainer))

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._status != "train":
            self._set_status(trainer, "train", **self._totals(trainer))

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.poll_commands(trainer)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        pub = self.publisher
        if pub is None:
            return
        self._step_loss.observe(outputs)
        now = time.monotonic()
        num_batches = finite_int(trainer.num_training_batches)
        if now - self._last_progress >= self._progress_interval or batch_idx + 1 == num_batches:
            self._last_progress = now
            step, epoch = trainer.global_step, trainer.current_epoch
            progress = {"batch_idx": batch_idx, "num_batches": num_batches}
            progress.update(epoch=epoch, step=step, **self._totals(trainer))
            self._emit.publish(pub, "progress", progress, step=step, epoch=epoch)
        every = step_cadence(trainer, self.every_n_steps)
        if (batch_idx + 1) % every == 0:
            self.publish_logged_metrics(trainer)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._set_status(trainer, "validate", sanity_check=bool(trainer.sanity_checking))

    def on_validation_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self.poll_commands(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.publish_logged_metrics(trainer)
        if trainer.training or trainer.state.fn == "fit":
            self._set_status(trainer, "train", **self._totals(trainer))

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._set_status(trainer, "test")

    def on_test_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self.poll_commands(trainer)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.publish_logged_metrics(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.publish_logged_metrics(trainer)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Say how the stage ended; close after ``linger_s`` unless another stage starts."""
        next_stage, self._next_stage = self._next_stage, None
        ended = "stopped" if self._stop_requested or trainer.interrupted else "done"
        if next_stage is not None and not trainer.interrupted:
            self._set_status(trainer, "setup", stage=next_stage, after=stage_name(stage))
        elif ended == "done" and stage_name(stage) == "fit" and self._linger.delay_s:
            # A script may call test() after fit() without telling us: the end of a fit
            # is published when the stream closes (linger_s later, or at exit), and a
            # stage that starts before then continues the job instead.
            final = {"status": "done", "exit_code": 0, "stage": stage_name(stage)}
            self._final = (final, trainer.global_step, trainer.current_epoch)
        else:
            self._set_status(trainer, ended, exit_code=0, stage=stage_name(stage))
        if self.publisher is not None and self._linger.delay_s:
            self.publisher.flush()  # the stage's events are on disk even while we linger
        self._linger.schedule()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        """Publish how the run ended (``ocrtop.ocr.callbacks.link.outcome.final_status``), then
        close.

        A stop is ``stopped`` with its exit code, reason and checkpoint; a failure is
        ``failed`` with the exception's type, message, the file or key it names, and the
        end of its traceback. Teardown is not called after an exception.
        """
        final = final_status(exception)
        if final["status"] == "failed":
            final["traceback"] = "".join(traceback.format_exception(exception)[-8:])
        self._set_status(trainer, final.pop("status"), **final)
        self._linger.cancel()
        self.close()

    def close(self) -> None:
        """Publish a pending job end, detach the log handler, close the publisher (idempotent)."""
        final, self._final = self._final, None
        if final is not None:
            payload, step, epoch = final
            payload = {**payload, **{k: v for k, v in self.meta.items() if v is not None}}
            self._status = payload["status"]
            self._emit.publish(self.publisher, "status", payload, step=step, epoch=epoch)
        if self._handler is not None:
            self._handler.detach()
            self._handler = None
        pub, self.publisher = self.publisher, None
        if pub is not None:
            atexit.unregister(self._linger.fire_now)
            try:
                pub.close()
            except Exception as exc:
                self._emit.failed("close the bridge publisher", exc)

    # --- helpers ---
    def poll_commands(self, trainer: pl.Trainer) -> None:
        """Apply pending commands now (training thread, batch boundary)."""
        pub = self.publisher
        if pub is None:
            return
        try:
            cmds = pub.poll_commands()
        except Exception as exc:
            self._emit.failed("poll commands", exc)
            return
        for cmd in cmds:
            self.router.dispatch(trainer, pub, cmd)

    def publish_logged_metrics(self, trainer: pl.Trainer) -> None:
        """Publish Lightning's scalar ``callback_metrics`` and the current learning rate."""
        values = logged_metrics(trainer)
        values.update(self._step_loss.values(values))
        step, epoch = trainer.global_step, trainer.current_epoch
        self._emit.metrics(self.publisher, values, step=step, epoch=epoch)

    def _on_stop(self, trainer: pl.Trainer, cmd: Any) -> dict[str, Any]:
        result = stop_handler(trainer, cmd)
        self._stop_requested = True
        return result

    def _set_status(self, trainer: pl.Trainer, status: str, **extra: Any) -> None:
        self._status = status
        payload = {"status": status, **{k: v for k, v in self.meta.items() if v is not None}}
        payload.update(extra)
        self._emit.publish(
            self.publisher, "status", payload, step=trainer.global_step, epoch=trainer.current_epoch
        )

    def _totals(self, trainer: pl.Trainer) -> dict[str, Any]:
        if self._totals_cache is None:
            return {"max_epochs": trainer.max_epochs, "total_steps": None}
        return self._totals_cache
