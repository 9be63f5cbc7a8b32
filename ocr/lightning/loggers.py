"""Experiment loggers that need more than a ``_target_``: W&B offline, MLflow local store.

CSV is always on and needs nothing. W&B and MLflow are optional extras, so their factories
fail with the ``pip install`` line instead of an ImportError deep inside Lightning, and
W&B never waits on the network when no API key is configured.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any


def _require(module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(
            f"the {module!r} package is not installed, but the config enables its logger; "
            f"install it with `pip install 'ocrtop[{extra}]'` (or `pip install {module}`), "
            f"or turn the logger off"
        )


def wandb_offline_reason(environ: dict[str, str] | None = None) -> str | None:
    """Why W&B must run offline, or None when it may go online.

    Offline when ``WANDB_MODE`` says so, or when no API key is set in the environment or
    in ``~/.netrc`` (the two places wandb reads): an online run without a key would prompt
    for one or block on the network.
    """
    env = dict(os.environ) if environ is None else environ
    mode = env.get("WANDB_MODE", "").lower()
    if mode in ("offline", "disabled", "dryrun"):
        return f"WANDB_MODE={mode}"
    if env.get("WANDB_API_KEY"):
        return None
    netrc = Path(env.get("NETRC", Path(env.get("HOME", "~")).expanduser() / ".netrc"))
    try:
        if "api.wandb.ai" in netrc.read_text(encoding="utf-8", errors="replace"):
            return None
    except OSError:
        pass
    return "no W&B API key (WANDB_API_KEY or ~/.netrc)"


def wandb_logger(
    project: str,
    save_dir: str,
    name: str | None = None,
    group: str | None = None,
    tags: list[str] | None = None,
    offline: bool | None = None,
) -> Any:
    """A Lightning ``WandbLogger`` that is offline unless an API key makes online safe.

    Args:
        project: W&B project name.
        save_dir: directory for the local ``wandb/`` run files (the run dir).
        name: run name shown in W&B.
        group: groups the jobs of one sweep.
        tags: free-form tags (e.g. the experiment tag).
        offline: force offline (True) or online (False); None decides from the environment.
    """
    _require("wandb", "wandb")
    from pytorch_lightning.loggers import WandbLogger

    if offline is None:
        offline = wandb_offline_reason() is not None
    if offline:
        os.environ.setdefault("WANDB_MODE", "offline")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    return WandbLogger(
        project=project,
        save_dir=save_dir,
        name=name,
        group=group,
        tags=[t for t in (tags or []) if t],
        offline=offline,
    )


def mlflow_logger(experiment_name: str, tracking_uri: str, run_name: str | None = None) -> Any:
    """A Lightning ``MLFlowLogger`` on a local store (``file:`` directory or ``sqlite:``).

    Args:
        experiment_name: MLflow experiment.
        tracking_uri: e.g. ``file:./mlruns`` (works with ``mlflow-skinny``) or
            ``sqlite:///mlflow.db`` (needs the full ``mlflow`` package).
        run_name: MLflow run name.
    """
    _require("mlflow", "mlflow")
    from pytorch_lightning.loggers import MLFlowLogger

    if tracking_uri.startswith("file:"):
        # MLflow 3 refuses file stores unless opted in; a file store is what works with the
        # light `mlflow-skinny` extra (sqlite needs SQLAlchemy from the full package).
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MLFlowLogger(
        experiment_name=experiment_name, tracking_uri=tracking_uri, run_name=run_name
    )


def tensorboard_logger(save_dir: str, name: str = "tensorboard") -> Any:
    """A Lightning ``TensorBoardLogger``, with a clear error if tensorboard is missing."""
    if importlib.util.find_spec("tensorboard") is None and (
        importlib.util.find_spec("tensorboardX") is None
    ):
        _require("tensorboard", "tensorboard")
    from pytorch_lightning.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir=save_dir, name=name, version="")
