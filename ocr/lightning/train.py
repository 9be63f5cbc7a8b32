"""Fit a detector from a composed config, then test its best checkpoint.

``runners/train.py`` is a thin ``@hydra.main`` wrapper around :func:`train`; keeping the
logic here makes it importable and testable without Hydra's command line.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.bridge import find_bridge
from ocrtop.ocr.data.embedded import DataRootError, prepare_root
from ocrtop.ocr.failures import ConfigError, StopEscalated, final_status, summary_line
from ocrtop.ocr.lightning.atomic import AtomicCheckpointIO
from ocrtop.ocr.lightning.instantiate import instantiate_group
from ocrtop.ocr.lightning.notices import DataReport, EventLogWatch
from ocrtop.ocr.lightning.stopping import GracefulStop, StopController
from ocrtop.ocr.lightning.summary import (
    print_line,
    print_metric,
    save_resolved_config,
    summarize_test,
    write_run_summary,
)
from ocrtop.ocr.models.weights import init_from_checkpoint

log = logging.getLogger(__name__)


def build(cfg: DictConfig, extra_callbacks: list[Any] | None = None) -> tuple[Any, Any, pl.Trainer]:
    """Instantiate datamodule, module and trainer (with callbacks and loggers) from ``cfg``.

    A config without callbacks (``test.yaml``'s ``callbacks: {}``) gets none;
    ``extra_callbacks`` go first (their ``on_exception`` runs before the configured ones).
    """
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    callbacks = [*(extra_callbacks or []), *instantiate_group(cfg.get("callbacks"), "callbacks")]
    loggers = instantiate_group(cfg.get("logger"), "logger")
    extra: dict[str, Any] = {}
    if cfg.trainer.get("plugins") is None:  # a user's own plugins win
        extra["plugins"] = [AtomicCheckpointIO()]  # a failed save keeps the previous file
    trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, **extra
    )
    hparams = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:
        logger.log_hyperparams(hparams)
    return datamodule, model, trainer


def _best_checkpoint(trainer: pl.Trainer) -> tuple[str | None, float | None]:
    callback = trainer.checkpoint_callback
    path = getattr(callback, "best_model_path", "") or None
    score = getattr(callback, "best_model_score", None)
    return path, (float(score) if score is not None else None)


@rank_zero_only
def pin_sweep_dir_for_ddp_ranks() -> None:
    """Make DDP ranks > 0 of a multirun job write into this job's sweep directory.

    Lightning starts ranks > 0 by re-running this script with ``sys.argv``, so in a
    multirun they run the same sweep in lockstep, but ``hydra.sweep.dir`` (which holds
    ``${now:...}``) resolves again, seconds later: their event logs would land in another
    sweep directory, with a second sweep summary. Appending the resolved directory to
    ``sys.argv`` before ``fit`` pins it, and the ranks' own sweep summary is dropped.
    Runs on rank 0 only: that is the process whose ``sys.argv`` Lightning re-runs.
    """
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
            return
        hydra_cfg = HydraConfig.get()
        depth = len(Path(str(hydra_cfg.sweep.subdir)).parts)
        sweep_dir = Path(str(hydra_cfg.runtime.output_dir)).parents[depth - 1]
    except Exception as exc:  # never fail a run over this
        log.debug("cannot pin the sweep dir for DDP ranks: %s", exc)
        return
    drop_summary = "~hydra.callbacks.sweep_summary"
    kept = [a for a in sys.argv if not a.startswith("hydra.sweep.dir=") and a != drop_summary]
    sys.argv = [*kept, f'hydra.sweep.dir="{sweep_dir}"', drop_summary]


def _fit_and_test(cfg: DictConfig, stopper: GracefulStop, summary: dict[str, Any]) -> None:
    """Build, fit, then test the best checkpoint; fills ``summary`` as it goes."""
    datamodule, model, trainer = build(
        cfg, extra_callbacks=[stopper, DataReport(), EventLogWatch()]
    )
    if cfg.get("init_from"):
        if cfg.get("ckpt_path"):
            raise ConfigError(
                "init_from",
                cfg.init_from,
                "is set with ckpt_path: set one, not both "
                "(init_from: weights only; ckpt_path: resume)",
            )
        init_from_checkpoint(model, str(cfg.init_from))
        log.info("model weights from %s (optimizer, schedule, epoch start fresh)", cfg.init_from)
    try:
        bridge = find_bridge(trainer)
        if bridge is not None and cfg.get("test_after_fit", True):
            bridge.continue_with("test")  # one job end for viewers, after the test scores
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        best_path, best_score = _best_checkpoint(trainer)
        summary.update(
            best_checkpoint=best_path,
            best_val_hmean=best_score if best_score is not None else model.best_val_hmean,
            epochs=trainer.current_epoch,
            global_step=trainer.global_step,
        )
        if cfg.get("test_after_fit", True) and not stopper.controller.requested:
            if best_path is None:
                log.warning("no best checkpoint (validation never ran?): testing final weights")
            results = trainer.test(model, datamodule=datamodule, ckpt_path=best_path)
            summary.update(summarize_test(results))
    finally:
        summary["train_samples_per_second"] = model.train_samples_per_second
        summary["train_samples"] = model.train_samples
        summary.setdefault("global_step", trainer.global_step)


def _escalated(controller: StopController, exc: BaseException) -> BaseException:
    """The escalation behind ``exc``: Lightning turns our KeyboardInterrupt into exit(1)."""
    if controller.escalated is None or isinstance(exc, StopEscalated):
        return exc
    return StopEscalated(
        f"{controller.reason} ({controller.escalated}; no checkpoint)", controller.exit_code or 1
    )


def prepare_data_root(cfg: DictConfig) -> None:
    """Build the default dataset folder if missing; stop with exit 2 on a bad ``data.root``.

    Runs before anything is instantiated, so a wrong path costs no model build, and the
    user sees one line naming the key, the path and the fix instead of a traceback.
    ``SystemExit`` passes through Hydra's error handler untouched.
    """
    data = cfg.get("data")
    root = data.get("root") if data is not None else None
    if root is None:
        return
    try:
        notice = prepare_root(str(root), data.get("default_root"))
    except DataRootError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    if notice:
        print(notice, flush=True)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit, test the best checkpoint, print ``test/hmean: ...`` and write the run summary.

    However the run ends, ``run_summary.json`` gets its ``status`` and ``exit_code`` (from
    :func:`ocrtop.ocr.failures.final_status`, as the final event) and the last line on stderr
    says how it ended. A stop (command, Ctrl-C, SIGTERM) returns the summary with
    ``status: stopped``; a failure is re-raised once the summary is written.

    Returns:
        The run summary (also written to ``<run dir>/run_summary.json``).
    """
    start = time.perf_counter()
    prepare_data_root(cfg)
    output_dir = str(cfg.paths.output_dir)
    # DDP ranks > 0 run this too, in the same run dir: only rank 0 writes the run's files
    # (the summary module's writers are rank_zero_only).
    save_resolved_config(cfg, output_dir)
    pin_sweep_dir_for_ddp_ranks()
    summary: dict[str, Any] = {
        "arch": cfg.model.get("arch"),
        "experiment_name": cfg.get("experiment_name"),
        "exp_tag": cfg.get("exp_tag"),
    }
    if cfg.get("seed") is not None:
        pl.seed_everything(int(cfg.seed), workers=True)
    controller = StopController(timeout_s=float(cfg.get("stop_timeout_s") or 0))
    ended: BaseException | None = None
    try:
        with controller.installed():
            _fit_and_test(cfg, GracefulStop(controller), summary)
    except BaseException as exc:  # every way out is recorded; failures are re-raised below
        ended = _escalated(controller, exc)
    final = final_status(ended)
    summary.update(final)
    summary["wall_time_s"] = round(time.perf_counter() - start, 2)
    try:
        write_run_summary(output_dir, summary)
    except OSError as exc:  # a full disk must not hide how the run ended
        print_line(f"ocrtop: could not write run_summary.json in {output_dir}: {exc}")
    if ended is not None and final["status"] == "failed":
        raise ended  # the runner prints it (traceback, then one line) and exits with its code
    print_line(summary_line(final))
    if final["status"] == "done":
        print_metric("val/hmean (best)", summary.get("best_val_hmean"))
        if "test_hmean" in summary:
            print_metric(names.TEST_HMEAN, summary["test_hmean"])
    return summary
