"""Check the keys users touch most, right after composition, before anything is built.

``trainer.max_epochs=abc`` used to end in a 15-line Lightning traceback that never named
the key. :func:`check_config` looks at each known key of the composed config and
reports every problem at once, one line each (``trainer.max_epochs: 'abc' is not an
integer``), as a :class:`~ocrtop.ocr.failures.ConfigError` that the runner turns into exit 2.

Why a validation pass and not structured-config schemas: the config is a tree of
``_target_`` nodes whose shape changes with the group chosen (synthetic or canonical
data, one of three architectures, any Lightning Trainer argument a user adds with
``+trainer.x=...``). A schema per group option would either forbid those additions or
leave them unchecked, and OmegaConf's own type errors still name no expected range and
end in a traceback. A table of rules on the keys people actually type checks values
(not just types: ``devices: 0``, ``precision: 15``), reports all problems in one go, runs
in microseconds, and extending it is one line. Keys a config does not have are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ocrtop.ocr.failures import ConfigError, ConfigProblem

Check = Callable[[Any], str | None]
"""``check(value) -> None`` when fine, else what was expected (``"is not an integer"``)."""

PRECISIONS = (
    "64", "32", "16", "bf16", "64-true", "32-true", "16-true", "bf16-true", "16-mixed",
    "bf16-mixed", "transformer-engine", "transformer-engine-float16",
)  # fmt: skip
"""Lightning's accepted ``precision`` values (the test compares them with Lightning's)."""
SPLITS = ("train", "val", "test")
_MISSING = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(low: int | None = None, none: bool = False, note: str = "") -> Check:
    """An integer ``>= low`` (``none``: or null)."""

    def check(value: Any) -> str | None:
        if value is None and none:
            return None
        what = "an integer" + (f" >= {low}" if low is not None else "")
        what += " or null" if none else ""
        if not _is_int(value) or (low is not None and value < low):
            return f"is not {what}{note}"
        return None

    return check


def number(low: float = 0.0, strict: bool = False, none: bool = False) -> Check:
    """A finite number ``>= low`` (``strict``: ``> low``; ``none``: or null)."""

    def check(value: Any) -> str | None:
        if value is None and none:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and (value > low if strict else value >= low)
        if not ok:
            return f"is not a number {'>' if strict else '>='} {low:g}" + (
                " or null" if none else ""
            )
        return None

    return check


def boolean(value: Any) -> str | None:
    """``true`` or ``false`` (not the string ``"false"``)."""
    return None if isinstance(value, bool) else "is not true or false"


def boolean_or_auto(value: Any) -> str | None:
    """``true``, ``false`` or ``auto`` (decided at run time, e.g. pin memory only on a GPU)."""
    return None if isinstance(value, bool) or value == "auto" else "is not true, false or auto"


def devices(value: Any) -> str | None:
    """Lightning's ``devices``: a count >= 1, -1 (all), ``auto``, a list or ``"0,1"`` of ids."""
    if value == "auto" or value == -1:
        return None
    if _is_int(value) and value >= 1:
        return None
    if isinstance(value, list | tuple) and value and all(_is_int(v) and v >= 0 for v in value):
        return None
    if isinstance(value, str) and value.replace(",", "").replace(" ", "").isdigit():
        return None
    return "is not a device count >= 1, -1 (all), 'auto', or a list of device ids"


def precision(value: Any) -> str | None:
    """One of Lightning's precision names."""
    if str(value) in PRECISIONS and not isinstance(value, bool | float):
        return None
    return f"is not a precision Lightning knows ({', '.join(PRECISIONS)})"


def batch_limit(value: Any) -> str | None:
    """``limit_*_batches``: a fraction in [0, 1] or a batch count >= 0."""
    if value is None or (_is_int(value) and value >= 0):
        return None
    if isinstance(value, float) and 0.0 <= value <= 1.0:
        return None
    return "is not a fraction in [0, 1] or a number of batches >= 0"


def fast_dev_run(value: Any) -> str | None:
    """``fast_dev_run``: true/false or a number of batches."""
    if isinstance(value, bool) or (_is_int(value) and value >= 0):
        return None
    return "is not true/false or a number of batches >= 0"


def dataset_folder(value: Any) -> str | None:
    """An existing dataset directory."""
    if not isinstance(value, str) or not value:
        return "is not a folder path"
    if Path(value).is_dir():
        return None
    return (
        "does not exist or is not a folder (write one with `ocrtop data synth --out DIR`, "
        "or point data.root at your dataset)"
    )


def optional_file(value: Any) -> str | None:
    """null, or an existing file."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        return "is not a file path or null"
    return None if Path(value).is_file() else "does not exist (or is not a file)"


RULES: dict[str, Check] = {
    "trainer.max_epochs": integer(-1, none=True, note=" (-1: no limit)"),
    "trainer.min_epochs": integer(0, none=True),
    "trainer.max_steps": integer(-1, note=" (-1: no limit)"),
    "trainer.min_steps": integer(0, none=True),
    "trainer.devices": devices,
    "trainer.num_nodes": integer(1),
    "trainer.precision": precision,
    "trainer.log_every_n_steps": integer(1),
    "trainer.check_val_every_n_epoch": integer(1, none=True),
    "trainer.num_sanity_val_steps": integer(-1),
    "trainer.gradient_clip_val": number(0.0, none=True),
    "trainer.accumulate_grad_batches": integer(1),
    "trainer.limit_train_batches": batch_limit,
    "trainer.limit_val_batches": batch_limit,
    "trainer.limit_test_batches": batch_limit,
    "trainer.fast_dev_run": fast_dev_run,
    "data.batch_size": integer(1),
    "data.eval_batch_size": integer(1, none=True),
    "data.num_workers": integer(0),
    "data.persistent_workers": boolean,
    "data.pin_memory": boolean_or_auto,
    "data.root": dataset_folder,
    "data.on_error": lambda v: None if v in ("fail", "skip") else "is not 'fail' or 'skip'",
    **{f"data.{s}.transform.size": integer(32, note=" (pixels)") for s in SPLITS},
    **{f"data.{s}.source.num": integer(1) for s in SPLITS},
    **{f"data.{s}.source.width": integer(32, note=" (pixels)") for s in SPLITS},
    **{f"data.{s}.source.height": integer(32, note=" (pixels)") for s in SPLITS},
    "model.optimizer.lr": number(0.0, strict=True),
    "seed": integer(0, none=True),
    "ckpt_path": optional_file,
    "test_after_fit": boolean,
    "stop_timeout_s": number(0.0, none=True),
}
"""Dotted key -> rule. A key the composed config does not have is not checked."""


def _raw(cfg: DictConfig, key: str) -> Any:
    """The value at ``key`` as written (an interpolation stays ``${...}``); None if absent."""
    node: Any = cfg
    try:
        for part in key.split("."):
            node = node._get_node(part)
        return node._value()
    except Exception:  # absent, or not a config node: nothing to show
        return None


def _interpolated(cfg: DictConfig, key: str) -> bool:
    """True when ``key`` or a node above it is a ``${...}``: its source key is checked."""
    node: Any = cfg
    try:
        for part in key.split("."):
            node = node._get_node(part)
            if node is None:
                return False
            if node._is_interpolation():
                return True
    except Exception:  # walked into a plain value: not a config node
        return False
    return False


def _value(cfg: DictConfig, key: str) -> tuple[Any, str | None]:
    """The resolved value at ``key`` (``_MISSING`` when absent), or why it has none."""
    try:
        value = OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=True)
        if isinstance(value, DictConfig | ListConfig):
            value = OmegaConf.to_container(value, resolve=True)
    except OmegaConfBaseException as exc:
        return _MISSING, str(exc).splitlines()[0]
    return value, None


def missing_keys(node: DictConfig, prefix: str = "") -> list[str]:
    """Keys left ``???`` (mandatory), without resolving anything (a bad ``${...}`` is not ours)."""
    found = []
    for key in node:
        child = node._get_node(key)
        path = f"{prefix}{key!s}"
        if isinstance(child, DictConfig):
            found += missing_keys(child, path + ".")
        elif child is not None and child._is_missing():
            found.append(path)
    return found


def config_problems(cfg: DictConfig, rules: dict[str, Check] | None = None) -> list[ConfigProblem]:
    """Every problem of ``cfg``: mandatory values left ``???``, then the rules' findings."""
    problems = [
        ConfigProblem(key, "???", "is required: set it on the command line (key=value)")
        for key in missing_keys(cfg)
    ]
    missing = {p.key for p in problems}
    for key, check in (RULES if rules is None else rules).items():
        if key in missing:
            continue
        value, error = _value(cfg, key)
        if error is not None:
            problems.append(ConfigProblem(key, _raw(cfg, key), f"cannot be resolved: {error}"))
            continue
        if value is _MISSING or _interpolated(cfg, key):
            continue  # absent, or a copy of another key (reported there, once)
        expected = check(value)
        if expected is not None:
            problems.append(ConfigProblem(key, value, expected))
    return problems


def check_config(cfg: DictConfig) -> None:
    """Raise one :class:`ConfigError` listing every problem of ``cfg`` (see the module doc)."""
    problems = config_problems(cfg)
    if problems:
        raise ConfigError.of(problems)
