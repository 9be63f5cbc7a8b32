"""Config checked before training: one line per problem, naming key, value and expectation."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from ocrtop.ocr.config_check import PRECISIONS, check_config, config_problems
from ocrtop.ocr.failures import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


def compose_cfg(*overrides: str) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def lines(*overrides: str) -> list[str]:
    return [p.format() for p in config_problems(compose_cfg(*overrides))]


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["experiment=synthetic_debug"],
        ["experiment=dbnet_cpu_10min"],
        ["trainer=gpu"],
        ["trainer=ddp_cpu"],
        ["trainer=debug"],
        ["model/architectures=craft"],
        ["trainer.devices=[0,1]", "trainer.precision=bf16-mixed", "+trainer.max_steps=100"],
    ],
)
def test_the_shipped_configs_have_no_problems(overrides: list[str]) -> None:
    assert lines(*overrides) == []


def test_a_wrong_type_names_the_key_the_value_and_what_is_expected() -> None:
    assert lines("trainer.max_epochs=abc") == [
        "trainer.max_epochs: 'abc' is not an integer >= -1 or null (-1: no limit)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = lines(
        "trainer.devices=0",
        "trainer.precision=15",
        "data.batch_size=2.5",
        "data.num_workers=-1",
        "data.train.transform.size=abc",
        "data.persistent_workers=maybe",
        "model.optimizer.lr=0",
        "ckpt_path=/no/such.ckpt",
    )
    keys = [line.split(":", 1)[0] for line in found]
    assert keys == [
        "trainer.devices",
        "trainer.precision",
        "data.batch_size",
        "data.num_workers",
        "data.persistent_workers",
        "data.train.transform.size",
        "model.optimizer.lr",
        "ckpt_path",
    ]
    assert "data.batch_size: 2.5 is not an integer >= 1" in found
    assert "data.persistent_workers: 'maybe' is not true or false" in found


def test_a_mandatory_value_left_unset_is_named() -> None:
    # data=canonical has a default root now; a key left `???` is still named.
    assert lines("data=canonical", "data.root=???") == [
        "data.root: '???' is required: set it on the command line (key=value)"
    ]


def test_a_missing_dataset_folder_is_named(tmp_path: Path) -> None:
    found = lines("data=canonical", f"data.root={tmp_path / 'nope'}")
    assert len(found) == 1 and found[0].startswith(f"data.root: '{tmp_path / 'nope'}' does not")


def test_check_config_raises_one_error_carrying_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        check_config(compose_cfg("trainer.max_epochs=abc", "data.num_workers=-2"))
    assert [p.key for p in info.value.problems] == ["trainer.max_epochs", "data.num_workers"]
    assert str(info.value).count("\n") == 1


def test_precisions_are_exactly_lightnings() -> None:
    from lightning_fabric.connector import _PRECISION_INPUT

    def flat(t: object) -> list[object]:
        args = typing.get_args(t)
        return [x for a in args for x in (flat(a) if typing.get_args(a) else [a])]

    assert set(PRECISIONS) == {str(v) for v in flat(_PRECISION_INPUT)}


def test_the_runner_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "runners/train.py"), "trainer.max_epochs=abc",
         "data.num_workers=-1", f"hydra.run.dir={tmp_path}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: trainer.max_epochs: 'abc' is not an integer >= -1 or null (-1: no limit)",
        "error: data.num_workers: -1 is not an integer >= 0",
        "ocrtop: bad config or input (exit code 2)",
    ]
    assert "torch" not in proc.stdout + proc.stderr
