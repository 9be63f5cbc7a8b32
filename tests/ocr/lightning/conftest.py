"""Compose the real configs, shrunk to a few tiny steps, for end-to-end module tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf, open_dict

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
TINY = [
    "experiment=synthetic_debug",
    "data.num_workers=0",
    "data.persistent_workers=false",
    "data.batch_size=2",
    "data.train.source.num=6",
    "data.train.source.width=128",
    "data.train.source.height=128",
    "data.train.transform.size=128",
    "data.val.source.num=2",
    "data.test.source.num=2",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "model.scheduler.warmup_steps=1",
]


@pytest.fixture
def tiny_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """``tiny_cfg(*overrides)``: the train config writing into ``tmp_path``."""

    def make(*overrides: str, name: str = "train") -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            cfg = compose(config_name=name, overrides=[*TINY, *overrides])
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path)
        OmegaConf.resolve(cfg)
        return cfg

    return make
