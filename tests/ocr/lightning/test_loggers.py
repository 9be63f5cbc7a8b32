"""Optional experiment loggers: offline W&B decision and clear errors for missing extras."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ocrtop.ocr.lightning import loggers


def test_wandb_offline_without_key(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert loggers.wandb_offline_reason(env) is not None
    assert loggers.wandb_offline_reason({**env, "WANDB_API_KEY": "k"}) is None
    assert "WANDB_MODE" in str(
        loggers.wandb_offline_reason({**env, "WANDB_API_KEY": "k", "WANDB_MODE": "offline"})
    )


def test_wandb_key_in_netrc_allows_online(tmp_path: Path) -> None:
    (tmp_path / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password k\n")
    assert loggers.wandb_offline_reason({"HOME": str(tmp_path)}) is None


@pytest.mark.parametrize(
    ("module", "factory", "kwargs"),
    [
        ("wandb", loggers.wandb_logger, {"project": "p", "save_dir": "."}),
        ("mlflow", loggers.mlflow_logger, {"experiment_name": "e", "tracking_uri": "file:x"}),
    ],
)
def test_missing_extra_gives_install_hint(module: str, factory, kwargs, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        loggers.importlib.util, "find_spec", lambda name: None if name == module else real(name)
    )
    with pytest.raises(ImportError, match=rf"pip install 'ocrtop\[{module}\]'"):
        factory(**kwargs)
