"""The callbacks config group composes and instantiates as the runner does it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from pytorch_lightning.callbacks import ModelCheckpoint

from ocrtop.ocr.callbacks import (
    AlertsCallback,
    BridgeCallback,
    ProfilerCallback,
    ResourceMonitorCallback,
    ThroughputMonitorCallback,
)
from ocrtop.ocr.callbacks.rank_stats import RankStatsCallback
from ocrtop.ocr.lightning.instantiate import instantiate_group
from tests.helpers.toy_training import ToyModule, loader, make_trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PROFILER_KEYS = (
    "profile_epochs",
    "profile_steps",
    "warmup_steps",
    "activities",
    "record_shapes",
    "profile_memory",
    "with_stack",
    "output_dir",
    "export_chrome_trace",
    "log_top_k_ops",
)


def compose_callbacks(tmp_path: Path, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(
            overrides=[
                "+callbacks=default",
                f"+paths.output_dir={tmp_path}",
                "+experiment_name=cfgtest",
                *overrides,
            ],
        )


def test_default_group_builds_every_monitor_enabled_and_an_idle_profiler(tmp_path: Path) -> None:
    cfg = compose_callbacks(tmp_path)
    assert all(key in cfg.callbacks.profiler for key in PROFILER_KEYS)
    built = instantiate_group(cfg.callbacks, "callbacks")
    kinds = [type(cb) for cb in built]
    for kind in (
        ThroughputMonitorCallback,
        ResourceMonitorCallback,
        ProfilerCallback,
        AlertsCallback,
        RankStatsCallback,
        BridgeCallback,
    ):
        assert kinds.count(kind) == 1, kind
    prof = next(cb for cb in built if isinstance(cb, ProfilerCallback))
    assert prof.profile_epochs == set() and prof.profile_steps == set()
    bridge = next(cb for cb in built if isinstance(cb, BridgeCallback))
    assert bridge.run_dir == str(tmp_path) and bridge.meta["experiment_name"] == "cfgtest"
    resources = next(cb for cb in built if isinstance(cb, ResourceMonitorCallback))
    assert resources.run_dir == str(tmp_path)


def test_seed_command_overrides(tmp_path: Path) -> None:
    cfg = compose_callbacks(
        tmp_path,
        "callbacks.throughput_monitor.enabled=true",
        "callbacks.profiler.enabled=true",
        "callbacks.profiler.profile_epochs=[1,2]",
        "callbacks.resource_monitor.enabled=true",
    )
    prof = next(
        cb
        for cb in instantiate_group(cfg.callbacks, "callbacks")
        if isinstance(cb, ProfilerCallback)
    )
    assert prof.profile_epochs == {1, 2}


@pytest.mark.parametrize(
    "name",
    ["throughput_monitor", "resource_monitor", "profiler", "alerts", "rank_stats", "bridge"],
)
def test_each_callback_can_be_switched_off(tmp_path: Path, name: str) -> None:
    cfg = compose_callbacks(tmp_path, f"callbacks.{name}.enabled=false")
    built = instantiate_group(cfg.callbacks, "callbacks")
    target = cfg.callbacks[name]._target_.rsplit(".", 1)[1]
    assert target not in {type(cb).__name__ for cb in built}
    assert len(built) >= 4


class ScoredModule(ToyModule):
    """Logs a scripted ``val/hmean`` per epoch: the best epoch is known in advance."""

    def __init__(self, scores: list[float]) -> None:
        super().__init__()
        self.scores = scores

    def on_validation_epoch_end(self) -> None:
        self.log("val/hmean", self.scores[self.current_epoch])


@pytest.mark.slow
def test_the_best_checkpoint_is_checkpoints_best_ckpt(tmp_path: Path) -> None:
    cfg = compose_callbacks(tmp_path)
    (checkpoint,) = [
        cb
        for cb in instantiate_group(cfg.callbacks, "callbacks")
        if isinstance(cb, ModelCheckpoint)
    ]
    trainer = make_trainer(
        tmp_path, [checkpoint], max_epochs=3, enable_checkpointing=True, limit_val_batches=1
    )
    trainer.fit(ScoredModule([0.2, 0.6, 0.4]), loader(n=8), loader(n=4))
    ckpts = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["best.ckpt", "last.ckpt"]
    assert Path(checkpoint.best_model_path) == ckpts / "best.ckpt"
    best = torch.load(ckpts / "best.ckpt", map_location="cpu", weights_only=False)
    assert best["epoch"] == 1  # the 0.6 epoch, not the latest
    assert float(checkpoint.best_model_score) == pytest.approx(0.6)


def shares(built: list) -> dict[str, float]:
    out = {}
    for cb in built:
        if isinstance(cb, ThroughputMonitorCallback):
            out["throughput"] = cb.data_bound_share
        if isinstance(cb, AlertsCallback):
            out["alerts"] = cb.thresholds.data_bound_share
            cb._stop_watchdog()
    return out


def test_the_data_bound_share_is_one_key_the_alerts_interpolate(tmp_path: Path) -> None:
    from ocrtop.bridge import names

    cfg = compose_callbacks(tmp_path)
    assert shares(instantiate_group(cfg.callbacks, "callbacks")) == {
        "throughput": names.DATA_BOUND_SHARE,
        "alerts": names.DATA_BOUND_SHARE,
    }
    cfg = compose_callbacks(tmp_path, "callbacks.throughput_monitor.data_bound_share=0.45")
    assert shares(instantiate_group(cfg.callbacks, "callbacks")) == {
        "throughput": 0.45,
        "alerts": 0.45,
    }
    cfg = compose_callbacks(tmp_path, "callbacks.throughput_monitor=null")  # no monitor: default
    assert shares(instantiate_group(cfg.callbacks, "callbacks")) == {
        "alerts": names.DATA_BOUND_SHARE
    }
