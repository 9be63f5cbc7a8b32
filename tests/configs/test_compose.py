"""Every config group composes, and every ``_target_`` in it names something importable.

Composition only: nothing is instantiated here except where noted, so these run in a
second or two. A typo in a ``_target_`` or a missing group file fails here, not an hour
into a sweep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def options(group: str) -> list[str]:
    """The option names of a config group (file stems)."""
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


def compose_cfg(overrides: list[str] | None = None, name: str = "train") -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name=name, overrides=overrides or [], return_hydra_config=False)


def targets(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    """``(config path, _target_)`` for every node below ``node``."""
    if isinstance(node, DictConfig):
        for key in node:
            child = node._get_node(key)
            if key == "_target_":
                yield path or "<root>", str(node[key])
            elif isinstance(child, DictConfig | ListConfig):
                yield from targets(child, f"{path}.{key}" if path else str(key))
    elif isinstance(node, ListConfig):
        for i, child in enumerate(node):
            yield from targets(child, f"{path}[{i}]")


def assert_targets_importable(cfg: DictConfig) -> int:
    # Resolve interpolations between sections, but leave ${hydra:...} (only valid in a run).
    OmegaConf.set_struct(cfg, False)
    cfg.paths.output_dir = "/tmp/ocrtop-test-run"
    found = list(targets(OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))))
    for where, target in found:
        try:
            get_object(target)
        except Exception as exc:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"{where}._target_={target!r} is not importable: {exc}")
    return len(found)


GROUP_OPTIONS = [
    *(f"data={o}" for o in options("data")),
    *(f"model/architectures={o}" for o in options("model/architectures")),
    *(f"trainer={o}" for o in options("trainer")),
    *(f"logger={o}" for o in options("logger")),
    *(f"experiment={o}" for o in options("experiment")),
    *(f"model/backbone@model.net.backbone={o}" for o in options("model/backbone")),
    *(f"model/optimizer={o}" for o in options("model/optimizer")),
    *(f"model/scheduler={o}" for o in options("model/scheduler")),
]


@pytest.mark.parametrize("override", GROUP_OPTIONS)
def test_every_group_option_composes_with_importable_targets(override: str) -> None:
    extra = ["data.root=ds"] if override == "data=canonical" else []
    cfg = compose_cfg([override, *extra])
    assert assert_targets_importable(cfg) >= 10


@pytest.mark.parametrize(
    ("arch", "targets_cls", "neck_cls", "fusion", "loss_cls", "post_cls"),
    [
        ("dbnet", "DBTargets", "FPN", "concat", "DBLoss", "DBPostProcessor"),
        ("dbnetpp", "DBTargets", "FPN", "asf", "DBLoss", "DBPostProcessor"),
        ("craft", "CraftTargets", "UNetDecoder", None, "CraftLoss", "CraftPostProcessor"),
    ],
)
def test_each_architecture_selects_its_parts(
    arch: str, targets_cls: str, neck_cls: str, fusion: str | None, loss_cls: str, post_cls: str
) -> None:
    cfg = compose_cfg([f"model/architectures={arch}"])
    assert cfg.model.arch == arch
    assert cfg.data.targets._target_.endswith(targets_cls)
    assert cfg.model.net.neck._target_.endswith(neck_cls)
    assert cfg.model.net.neck.get("fusion") == fusion
    assert cfg.model.loss._target_.endswith(loss_cls)
    assert cfg.model.postprocess._target_.endswith(post_cls)
    assert cfg.model.optimizer._partial_ and cfg.model.scheduler._partial_
    assert cfg.model.net.backbone.pretrained is False  # nothing downloads at run time


def test_train_yaml_top_level_keys_and_defaults() -> None:
    cfg = compose_cfg()
    assert {"experiment_name", "exp_tag", "seed", "wandb"} <= set(cfg)
    assert cfg.wandb is False
    assert cfg.model.arch == "dbnet"
    assert cfg.data.train.source._target_.endswith("SyntheticPages")
    assert list(cfg.logger) == ["csv", "wandb"]
    assert cfg.logger.wandb.enabled is False
    assert cfg.callbacks.model_checkpoint.monitor == "val/hmean"
    assert cfg.callbacks.model_checkpoint.mode == "max"


def test_wandb_flag_turns_on_the_wandb_logger_with_csv() -> None:
    from ocrtop.ocr.lightning.instantiate import enabled_nodes

    cfg = compose_cfg(["wandb=true"])
    OmegaConf.set_struct(cfg, False)
    cfg.paths.output_dir = "/tmp/x"
    assert list(enabled_nodes(cfg.logger, "logger")) == ["csv", "wandb"]
    assert cfg.logger.wandb.offline is None  # decided from WANDB_MODE / API key at run time


@pytest.mark.parametrize("logger", ["mlflow", "tensorboard"])
def test_other_loggers_keep_csv(logger: str) -> None:
    cfg = compose_cfg([f"logger={logger}"])
    assert {"csv", logger} <= set(cfg.logger)


def test_mlflow_uses_a_local_store() -> None:
    cfg = compose_cfg(["logger=mlflow"])
    assert str(cfg.logger.mlflow.tracking_uri).startswith("file:")


def test_canonical_defaults_to_the_project_data_folder() -> None:
    # The seed's sweep command names no data.root: it must compose (issue 11).
    cfg = compose_cfg(["data=canonical", "trainer.max_epochs=15", "wandb=true"])
    resolved = OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True)
    assert resolved["root"] == resolved["default_root"] == "data/canonical"  # type: ignore[index]
    assert cfg.data.train.source.root == "data/canonical"
    cfg = compose_cfg(["data=canonical", "data.root=somewhere"])
    assert cfg.data.train.source.root == "somewhere"
    assert cfg.data.test.source.split == "test"


def test_synthetic_debug_is_small_and_tagged() -> None:
    cfg = compose_cfg(["experiment=synthetic_debug"])
    assert cfg.experiment_name == "synthetic_debug"
    assert cfg.exp_tag == "debug"
    assert cfg.data.train.source.num <= 64
    assert cfg.data.train.transform.size <= 384
    assert cfg.data.val.transform.size == cfg.data.train.transform.size


def test_run_and_sweep_dirs_are_keyed_by_experiment_and_time() -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(config_name="train", return_hydra_config=True)
    assert cfg.hydra.job.chdir is False
    assert str(cfg.hydra.run.dir).startswith("outputs/text_detection/")
    assert OmegaConf.to_container(cfg.hydra.sweep)["subdir"] == "${hydra.job.num}_${model.arch}"
    assert cfg.hydra.callbacks.sweep_summary._target_.endswith("SweepSummary")


@pytest.mark.parametrize("name", ["test", "predict"])
def test_eval_configs_compose(name: str) -> None:
    cfg = compose_cfg(
        ["ckpt_path=x.ckpt", "input_dir=imgs"] if name == "predict" else ["ckpt_path=x.ckpt"],
        name=name,
    )
    assert cfg.model.arch == "dbnet"
    assert assert_targets_importable(cfg) >= 5


@pytest.mark.parametrize(("preset", "precision"), [("gpu", "16-mixed"), ("gpu_fp16", "16-mixed"),
                                                   ("gpu_bf16", "bf16-mixed")])  # fmt: skip
def test_gpu_presets_compose_with_amp_cudnn_benchmark_and_no_progress_bar(
    preset: str, precision: str
) -> None:
    cfg = compose_cfg([f"trainer={preset}", "model.channels_last=true", "model.compile=true"])
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == precision
    assert cfg.trainer.benchmark is True  # cudnn.benchmark
    assert cfg.trainer.enable_progress_bar is False  # it reads the loss back every step
    assert cfg.model.channels_last is True and cfg.model.compile is True
    assert compose_cfg().model.compile is False  # off by default
    assert compose_cfg().data.pin_memory == "auto"
