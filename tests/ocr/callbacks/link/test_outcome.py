"""How a run's end is classified: a config node its target cannot take is bad config (exit 2)."""

from __future__ import annotations

from typing import Any

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ocrtop.bridge import exitcodes
from ocrtop.ocr.callbacks.link.outcome import ConfigError, final_status


class Source:
    """A stand-in config target: one required option, one optional."""

    def __init__(self, num: int, width: int = 32) -> None:
        if width < 0:
            raise TypeError("width must not be negative")  # a fault inside the target
        self.num, self.width = num, width


TARGET = f"{__name__}.Source"


def failure_of(node: dict[str, Any]) -> dict[str, Any]:
    """``final_status`` of instantiating ``data.train.source`` set to ``node``."""
    cfg = OmegaConf.create({"data": {"train": {"source": {"_target_": TARGET, **node}}}})
    with pytest.raises(Exception) as info:
        instantiate(cfg.data.train.source)
    return final_status(info.value)


def test_an_unknown_key_is_bad_config_and_names_the_node() -> None:
    final = failure_of({"num": 4, "path": "/nonexistent"})
    assert final["exit_code"] == exitcodes.BAD_INPUT
    assert final["status"] == "failed" and final["error_type"] == "TypeError"
    assert "unexpected keyword argument 'path'" in final["message"]
    assert final["where"] == "data.train.source"


def test_a_missing_required_key_is_bad_config() -> None:
    final = failure_of({"width": 8})
    assert final["exit_code"] == exitcodes.BAD_INPUT
    assert "num" in final["message"]


def test_a_type_error_inside_the_target_is_a_failure_not_bad_config() -> None:
    final = failure_of({"num": 4, "width": -1})
    assert final["exit_code"] == exitcodes.FAILED
    assert final["message"] == "width must not be negative"


def test_a_type_error_outside_hydra_is_a_failure() -> None:
    def call() -> None:
        Source(num=1, path="x")  # type: ignore[call-arg]

    with pytest.raises(TypeError) as info:
        call()
    assert final_status(info.value)["exit_code"] == exitcodes.FAILED


def test_config_error_stays_bad_input() -> None:
    final = final_status(ConfigError("data.batch_size", -1, "is not an integer >= 1"))
    assert final["exit_code"] == exitcodes.BAD_INPUT and final["where"] == "data.batch_size"
