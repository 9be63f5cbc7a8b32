"""Build ocrtop's monitoring callbacks for any Lightning script, from our own YAML defaults.

``configs/callbacks/<name>.yaml`` is the one place the defaults live: ``ocrtop.callbacks()``
reads the same files Hydra composes for ``runners/train.py``, so a Python user and a YAML
user get the same monitor with the same option names (``enabled`` included). Only the
monitors are built here; checkpointing and learning-rate logging stay the user's own.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MONITORS = (
    "throughput_monitor",
    "resource_monitor",
    "profiler",
    "alerts",
    "rank_stats",
    "bridge",
)
"""The callbacks ``ocrtop.callbacks()`` builds, by their YAML name, in trainer order."""


class OptionError(TypeError):
    """An option ``ocrtop.callbacks()`` cannot apply (a TypeError, as for a bad keyword)."""


def config_dir() -> Path:
    """``configs/callbacks`` of this installation (a source checkout or an installed wheel)."""
    candidates = []
    try:
        spec = importlib.util.find_spec("ocrtop.configs")
        candidates += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    except (ImportError, ValueError):
        pass
    candidates.append(Path(__file__).resolve().parents[1] / "configs")
    for base in candidates:
        if (base / "callbacks" / "bridge.yaml").is_file():
            return base / "callbacks"
    raise FileNotFoundError("cannot find configs/callbacks/*.yaml; is ocrtop installed?")


def yaml_defaults(name: str) -> dict[str, Any]:
    """The node of ``configs/callbacks/<name>.yaml``, resolved outside a Hydra run.

    The files point ``run_dir`` at ``${oc.select:paths.output_dir,null}``: with no
    ``paths`` node that resolves to None, i.e. "the trainer's ``default_root_dir``".
    """
    from omegaconf import OmegaConf

    node = OmegaConf.load(config_dir() / f"{name}.yaml")
    resolved = OmegaConf.to_container(node, resolve=True)
    assert isinstance(resolved, dict)
    return dict(resolved[name])


_LINK = re.compile(r"^\$\{(?:oc\.select:)?callbacks\.(\w+)\.(\w+)(?:,[^}]*)?\}$")
"""A YAML value that interpolates another callback's option (``alerts.data_bound_share``)."""


def yaml_links(name: str) -> dict[str, tuple[str, str]]:
    """Options of ``<name>.yaml`` that take another callback's value: key -> (callback, key).

    Hydra resolves these across the composed config; here each file is read alone, so
    :func:`build` fills them in from the other callback's options (the user's, else its
    YAML default), and one key sets both callbacks in Python as in YAML.
    """
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(OmegaConf.load(config_dir() / f"{name}.yaml"), resolve=False)
    assert isinstance(raw, dict)
    links = {}
    for key, value in dict(raw[name]).items():
        found = _LINK.match(value) if isinstance(value, str) else None
        if found:
            links[str(key)] = (found.group(1), found.group(2))
    return links


def _user_options(options: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The options the user gave for ``name``, under today's names."""
    from ocrtop.ocr.callbacks.options import RENAMED

    given = options.get(name)
    if not isinstance(given, Mapping):
        return {}
    return {RENAMED.get(str(k), str(k)): v for k, v in given.items()}


def _import_target(path: str) -> type:
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _check_keys(name: str, target: type, options: Mapping[str, Any]) -> None:
    from ocrtop.ocr.callbacks.options import RENAMED

    accepted = set(inspect.signature(target).parameters) | {"enabled"}
    renamed = {old for old, new in RENAMED.items() if new in accepted}  # warned by the class
    unknown = sorted(set(options) - accepted - renamed)
    if unknown:
        raise OptionError(
            f"ocrtop.callbacks: {name} has no option {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(sorted(accepted))})"
        )


def _merge(name: str, user: Any, shared: Mapping[str, Any]) -> dict[str, Any] | None:
    """One callback's options: YAML defaults, then shared ones, then the user's own."""
    if user is False:
        return None
    if user is True or user is None:
        user = {}
    if not isinstance(user, Mapping):
        raise OptionError(
            f"ocrtop.callbacks: {name} takes a dict of options, True or False, got {user!r}"
        )
    from ocrtop.ocr.callbacks.options import RENAMED

    node = yaml_defaults(name)
    target = str(node.pop("_target_"))
    cls = _import_target(target)
    _check_keys(name, cls, user)
    accepted = inspect.signature(cls).parameters
    node.update({k: v for k, v in shared.items() if k in accepted})
    for key in user:  # an old name replaces the default under the new one (the class warns)
        node.pop(RENAMED.get(str(key), str(key)), None)
    node.update(user)
    enabled = node.pop("enabled", True)
    if not isinstance(enabled, bool):
        raise OptionError(f"ocrtop.callbacks: {name}.enabled must be True or False")
    return {"_target_": target, **node} if enabled else None


def build(
    options: Mapping[str, Any],
    shared: Mapping[str, Any] | None = None,
    namespaces: tuple[str, ...] = (),
    auto: bool = False,
) -> list[Any]:
    """The enabled monitors, configured by ``options`` (``{yaml name: dict | bool}``).

    Args:
        options: Per-callback options, keyed by the YAML file's name.
        shared: Options given once for every callback that takes them (``run_dir``).
        namespaces: Extra Lightning namespaces the callbacks must belong to
            (``"lightning.pytorch"``); see :mod:`ocrtop.compat`.
        auto: Built by the entry point: the callbacks stand aside when the trainer
            already has ocrtop monitors of its own.
    """
    from ocrtop.compat import adapt

    unknown = sorted(set(options) - set(MONITORS))
    if unknown:
        raise OptionError(
            f"ocrtop.callbacks: no callback named {', '.join(map(repr, unknown))} "
            f"(callbacks: {', '.join(MONITORS)})"
        )
    built = []
    for name in MONITORS:
        node = _merge(name, options.get(name), shared or {})
        if node is None:
            continue
        for key, (other, other_key) in yaml_links(name).items():
            if key not in _user_options(options, name):
                given = _user_options(options, other)
                node[key] = (
                    given[other_key] if other_key in given else yaml_defaults(other)[other_key]
                )
        cls = adapt(_import_target(node.pop("_target_")), namespaces, auto=auto)
        built.append(cls(**node))
    return built
