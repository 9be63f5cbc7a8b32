"""Enabled/disabled group entries (callbacks, loggers) and their error messages."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from ocrtop.ocr.lightning.instantiate import enabled_nodes, instantiate_group


def test_disabled_null_and_targetless_entries_are_skipped() -> None:
    group = OmegaConf.create(
        {
            "a": {"_target_": "collections.OrderedDict", "enabled": True},
            "b": {"_target_": "collections.OrderedDict", "enabled": False},
            "c": None,
            "d": {"note": "no target: a settings node, not an object"},
            "e": {"_target_": "collections.Counter"},
        }
    )
    nodes = enabled_nodes(group, "callbacks")
    assert list(nodes) == ["a", "e"]
    assert "enabled" not in nodes["a"]  # never reaches the constructor
    assert "enabled" in group.a  # the caller's config is not mutated


def test_instantiate_group_builds_in_config_order() -> None:
    group = OmegaConf.create(
        {
            "first": {"_target_": "fractions.Fraction", "numerator": 1, "denominator": 2},
            "off": {"_target_": "fractions.Fraction", "enabled": False},
            "second": {"_target_": "fractions.Fraction", "numerator": 3},
        }
    )
    from fractions import Fraction

    assert instantiate_group(group, "logger") == [Fraction(1, 2), Fraction(3)]


def test_interpolated_enabled_flag_follows_the_top_level_switch() -> None:
    cfg = OmegaConf.create(
        {"wandb": False, "logger": {"wandb": {"_target_": "builtins.dict", "enabled": "${wandb}"}}}
    )
    assert enabled_nodes(cfg.logger, "logger") == {}
    cfg.wandb = True
    assert list(enabled_nodes(cfg.logger, "logger")) == ["wandb"]


def test_non_boolean_enabled_is_an_error_naming_the_entry() -> None:
    group = OmegaConf.create({"x": {"_target_": "builtins.dict", "enabled": "yes"}})
    with pytest.raises(TypeError, match=r"callbacks\.x\.enabled"):
        enabled_nodes(group, "callbacks")


def test_construction_failure_names_the_entry() -> None:
    group = OmegaConf.create({"broken": {"_target_": "fractions.Fraction", "nope": 1}})
    with pytest.raises(RuntimeError, match=r"could not build logger\.broken"):
        instantiate_group(group, "logger")


def test_empty_group() -> None:
    assert instantiate_group(None, "callbacks") == []
    assert instantiate_group(OmegaConf.create({}), "callbacks") == []
