"""Scale-out configs compose without a cluster: DDP trainers and the Hydra launcher presets.

The launcher presets build on the plugins' own configs (``joblib``, ``submitit_slurm``),
which exist only when the plugin is installed; those tests skip with the install line.
Nothing is submitted: composing and instantiating the launcher object is as far as a
machine without SLURM can go.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def compose_with_hydra(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def plugin_installed(plugin: str) -> bool:
    """Whether a Hydra plugin is importable (no ``hydra_plugins`` package at all: no)."""
    try:
        return importlib.util.find_spec(f"hydra_plugins.{plugin}") is not None
    except ModuleNotFoundError:
        return False


def needs(plugin: str, extra: str) -> pytest.MarkDecorator:
    missing = not plugin_installed(plugin)
    return pytest.mark.skipif(
        missing, reason=f"{plugin} is not installed (pip install -e '.[{extra}]')"
    )


@needs("hydra_joblib_launcher", "joblib")
def test_local_parallel_runs_two_joblib_processes() -> None:
    launcher = compose_with_hydra(["hydra/launcher=local_parallel"]).hydra.launcher
    assert launcher._target_.endswith("joblib_launcher.JoblibLauncher")
    assert (launcher.n_jobs, launcher.backend, launcher.prefer) == (2, "loky", "processes")
    get_class(launcher._target_)  # the plugin's launcher class is importable


@needs("hydra_joblib_launcher", "joblib")
def test_local_parallel_n_jobs_is_overridable() -> None:
    cfg = compose_with_hydra(["hydra/launcher=local_parallel", "hydra.launcher.n_jobs=4"])
    assert cfg.hydra.launcher.n_jobs == 4


@needs("hydra_submitit_launcher", "slurm")
def test_slurm_preset_composes_and_instantiates_without_a_cluster() -> None:
    overrides = [
        "hydra/launcher=slurm",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.tasks_per_node=4",
        "hydra.launcher.gpus_per_node=4",
        "trainer=ddp",
        "trainer.devices=4",
    ]
    cfg = compose_with_hydra(overrides)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.partition, launcher.tasks_per_node, launcher.gpus_per_node) == ("gpu", 4, 4)
    assert launcher.tasks_per_node == cfg.trainer.devices  # one SLURM task per rank
    assert launcher.submitit_folder.startswith(f"{cfg.hydra.sweep.dir}/.submitit")
    assert launcher.setup == [] and launcher.max_num_timeout == 0
    obj = instantiate({k: v for k, v in launcher.items()})  # no sbatch until a job launches
    assert type(obj).__name__ == "SlurmLauncher"


def test_ddp_cpu_is_two_gloo_processes() -> None:
    from pytorch_lightning.strategies import DDPStrategy

    trainer_cfg = compose_with_hydra(["trainer=ddp_cpu"]).trainer
    assert (trainer_cfg.accelerator, trainer_cfg.devices) == ("cpu", 2)
    strategy = instantiate(trainer_cfg.strategy)
    assert isinstance(strategy, DDPStrategy)
    assert strategy.process_group_backend == "gloo"


def test_ddp_is_nccl_on_gpus() -> None:
    trainer_cfg = compose_with_hydra(["trainer=ddp"]).trainer
    assert trainer_cfg.accelerator == "gpu"
    assert trainer_cfg.strategy.process_group_backend == "nccl"
    assert trainer_cfg.sync_batchnorm is True


def test_rank_stats_is_in_the_default_callbacks() -> None:
    callbacks = compose_with_hydra([]).callbacks
    assert callbacks.rank_stats._target_ == "ocrtop.ocr.callbacks.rank_stats.RankStatsCallback"
    assert 0 < callbacks.rank_stats.straggler_margin < 1
