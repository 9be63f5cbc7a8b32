"""ProfilerCallback: torch.profiler windows from config or from a bridge command.

Idle, it costs a few attribute reads per hook. A window starts at a step boundary
(``on_train_batch_start``), runs ``warmup_steps`` + ``steps`` steps under
``torch.profiler.profile`` with an explicit schedule, and ends at its last step or, cut
short, when validation begins. The training thread then only stops the profiler
(kineto's disable call). The step split comes from the step clock's records of the
recorded steps (warm-up steps excluded), so the analysis starts once the clock has closed
the last of them, at the next fetch or boundary. Parsing (``key_averages``), the Chrome
trace export, the top-k table, the step split and the summary happen on an analysis
thread, which publishes a ``profile`` message and logs the table. One window at a time:
a request while one is armed, running or being analysed gets an error ack.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.ocr.callbacks.link import BridgeLink, publisher_of
from ocrtop.ocr.callbacks.link.commands import CommandError
from ocrtop.ocr.callbacks.link.emit import Emitter
from ocrtop.ocr.callbacks.profiling.analysis import analyze_window
from ocrtop.ocr.callbacks.profiling.window import (
    ProfilerOptions,
    ProfileWindow,
    WindowState,
    command_steps,
)
from ocrtop.ocr.callbacks.timing.step_clock import StepClock, StepRecord
from ocrtop.ocr.callbacks.trainer_info import finite_int

log = logging.getLogger(__name__)
_now = time.perf_counter


class ProfilerCallback(Callback):
    """Profile scheduled or requested windows and report the hottest operators.

    Args:
        profile_epochs: Epochs whose first steps are profiled (one window each).
        profile_steps: Global steps at which a window starts.
        warmup_steps: Profiled-but-discarded steps before recording (caches, allocator).
        window_steps: Recorded steps of a scheduled window (clipped to the epoch).
        activities: ``cpu`` and/or ``cuda``; ``cuda`` is skipped without a GPU.
        record_shapes, profile_memory, with_stack: Passed to ``torch.profiler.profile``.
        output_dir: Trace directory; default ``<run_dir>/profiler_traces``.
        export_chrome_trace: Write ``<epoch>-<step>-<trigger>.json`` per window.
        log_top_k_ops: Rows of the top-k table (published and logged).
        max_window_steps: Largest window a command may request (trace size grows per step).
        max_trace_mb: Traces above this are trimmed to their longest events.
        run_dir: Run directory; default the trainer's log dir.
    """

    def __init__(
        self,
        profile_epochs: list[int] | tuple[int, ...] = (),
        profile_steps: list[int] | tuple[int, ...] = (),
        warmup_steps: int = 1,
        window_steps: int = 5,
        activities: list[str] | tuple[str, ...] = ("cpu", "cuda"),
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        output_dir: str | None = None,
        export_chrome_trace: bool = True,
        log_top_k_ops: int = 15,
        max_window_steps: int = 200,
        max_trace_mb: float = 100.0,
        run_dir: str | None = None,
    ) -> None:
        if warmup_steps < 0 or window_steps < 1 or log_top_k_ops < 1 or max_window_steps < 1:
            raise ValueError(
                "warmup_steps >= 0, window_steps >= 1, log_top_k_ops >= 1 and "
                "max_window_steps >= 1 are required"
            )
        self.options = ProfilerOptions(tuple(activities), record_shapes, profile_memory, with_stack)
        self.profile_epochs = {int(e) for e in profile_epochs}
        self.profile_steps = {int(s) for s in profile_steps}
        self.warmup_steps, self.window_steps = warmup_steps, window_steps
        self.output_dir, self.run_dir = output_dir, run_dir
        self.export_chrome_trace = export_chrome_trace
        self.log_top_k_ops, self.max_window_steps = log_top_k_ops, max_window_steps
        self.max_trace_bytes = int(max_trace_mb * 2**20)
        self.window: ProfileWindow | None = None
        self.results: list[dict[str, Any]] = []
        self._trainer: pl.Trainer | None = None
        self._thread: threading.Thread | None = None
        self._emit = Emitter("profiler")
        self._clock: StepClock | None = None
        self._sink: deque[StepRecord] | None = None

    # --- arming ---
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer = trainer
        if stage == "fit":
            self._clock = StepClock.of(trainer)
        link = BridgeLink.of(trainer)
        if link is not None:
            link.register_command("profile", self._on_command)

    def _on_command(self, trainer: pl.Trainer, cmd: Any) -> dict[str, Any]:
        try:
            steps = command_steps(cmd.args, self.window_steps, self.max_window_steps)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not trainer.training:
            raise CommandError(
                "profiling needs a running training loop; the trainer is not training"
            )
        window = self.arm("command", steps)
        return {"state": "armed", "steps": window.steps, "warmup_steps": window.warmup}

    def arm(self, trigger: str, steps: int, warmup: int | None = None) -> ProfileWindow:
        """Request a window starting at the next training step (training thread only).

        Raises:
            CommandError: A window is already armed, running or being analysed.
        """
        if self.window is not None:
            raise CommandError(f"{self.window.describe()}; wait for its result")
        self.window = ProfileWindow(trigger, steps, self.warmup_steps if warmup is None else warmup)
        self._publish(self.window.payload("armed"))
        return self.window

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch not in self.profile_epochs:
            return
        if self.window is not None and self.window.state is WindowState.ANALYZING:
            self.wait()  # the user asked for this epoch: let the previous analysis finish
        if self.window is not None:
            log.warning(
                "profiler: skipping epoch %d: %s", trainer.current_epoch, self.window.describe()
            )
            return
        warmup, steps = self.warmup_steps, self.window_steps
        available = finite_int(trainer.num_training_batches)
        if available is not None:
            warmup = min(warmup, max(0, available - 1))
            steps = max(1, min(steps, available - warmup))
        self.arm("config", steps, warmup)

    # --- the window ---
    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        w = self.window
        if w is not None and w.finishing:
            self._complete(w)  # the clock closed the window's last step at this fetch
            w = self.window
        if w is None and self.profile_steps and trainer.global_step in self.profile_steps:
            w = self.arm("config", self.window_steps)
        if w is not None and w.state is WindowState.ARMED:
            self._start(trainer, w)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        w = self.window
        if w is None or w.state is not WindowState.RUNNING or w.finishing:
            return
        w.seen += 1
        t0 = _now()
        w.prof.step()
        if w.ready:  # the schedule's last step already disabled kineto
            w.on_thread_ms = (_now() - t0) * 1e3
            w.stop()  # closes the last ProfilerStep scope
            w.finishing = True

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        w = self.window
        if w is not None and w.finishing:
            self._complete(w)
        elif w is not None and w.state is WindowState.RUNNING:
            self._end_early(w, "validation started")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        w = self.window
        if w is not None and w.finishing:
            self._complete(w)

    def _start(self, trainer: pl.Trainer, w: ProfileWindow) -> None:
        clock = self._clock if self._clock is not None else StepClock.of(trainer)
        self._clock = clock
        # The step in progress is the clock's next record: the window's first step.
        w.first_index = clock.steps + w.warmup
        self._sink = clock.subscribe()
        w.begin(self.options, trainer.current_epoch, trainer.global_step)
        self._publish(w.payload("started", epoch=w.epoch, start_step=w.start_step))

    def _end_early(self, w: ProfileWindow, reason: str) -> None:
        w.stop()
        if w.ready:
            self._take_rows(w)
            log.info(
                "profiler: %s after %d of %d recorded steps; window cut short",
                reason,
                len(w.rows),
                w.steps,
            )
            self._finish(w)
        else:
            self._take_rows(w)
            self._fail(w, f"{reason} during the warmup steps; nothing was recorded")

    def _take_rows(self, w: ProfileWindow) -> None:
        """Move the recorded steps' clock records into the window and stop listening."""
        sink, self._sink = self._sink, None
        if sink is not None:
            w.take(sink)
            if self._clock is not None:
                self._clock.unsubscribe(sink)

    def _complete(self, w: ProfileWindow) -> None:
        """The last recorded step is closed: take the rows and start the analysis."""
        w.finishing = False
        self._take_rows(w)
        self._finish(w)

    def _finish(self, w: ProfileWindow) -> None:
        w.state = WindowState.ANALYZING
        self._thread = threading.Thread(
            target=self._analyze, args=(w,), name="ocrtop-profile-analysis", daemon=True
        )
        self._thread.start()

    def _analyze(self, w: ProfileWindow) -> None:
        try:
            out_dir = None
            if self.export_chrome_trace:
                out_dir = self.output_dir or os.path.join(self._run_dir(), "profiler_traces")
            payload, table = analyze_window(w, out_dir, self.log_top_k_ops, self.max_trace_bytes)
            self.results.append(payload)
            log.info(
                "profile window (%s, epoch %s, step %s): %s\n%s\ntrace: %s",
                w.trigger,
                w.epoch,
                w.start_step,
                payload["summary"],
                table,
                payload["trace_path"],
            )
            self._publish(payload, w)
        except Exception as exc:
            log.exception("profiler: analysis of the window failed")
            self._publish(w.payload("error", error=f"{type(exc).__name__}: {exc}"), w)
        finally:
            w.prof = None
            self.window = None

    def _run_dir(self) -> str:
        t = self._trainer
        return self.run_dir or (str(t.default_root_dir) if t is not None else ".")

    def _fail(self, w: ProfileWindow, error: str) -> None:
        log.warning("profiler: %s", error)
        self._publish(w.payload("error", error=error), w)
        w.prof, self.window = None, None

    def _publish(self, payload: dict[str, Any], w: ProfileWindow | None = None) -> None:
        t = self._trainer
        pub = publisher_of(t) if t is not None else None
        step = w.start_step if w is not None else (t.global_step if t is not None else None)
        epoch = w.epoch if w is not None else (t.current_epoch if t is not None else None)
        self._emit.publish(pub, "profile", payload, step=step, epoch=epoch)

    # --- shutdown ---
    def wait(self, timeout: float = 60.0) -> None:
        """Wait for a pending analysis (tests, teardown)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        w = self.window
        if w is not None and w.finishing:
            self._complete(w)
        elif w is not None and w.state is WindowState.RUNNING:
            self._end_early(w, "training ended")
        elif w is not None and w.state is WindowState.ARMED:
            self._fail(w, "training ended before the window could start")
        self.wait()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        w = self.window
        if w is not None and w.state is WindowState.RUNNING:
            try:
                w.stop()
            except Exception as exc:  # already failing: just do not leave kineto enabled
                log.debug("profiler stop after exception failed: %s", exc)
            self._take_rows(w)
            self._fail(w, f"training failed: {type(exception).__name__}")
        self.wait(10.0)
