"""Instantiate groups of optional objects (callbacks, loggers) from Hydra config nodes.

Each entry of ``cfg.callbacks`` / ``cfg.logger`` is one node with a ``_target_`` and an
optional ``enabled`` flag. The flag lets a group file list an object that a single override
switches on (``wandb=true``) or off (``callbacks.profiler.enabled=false``) without editing
the defaults list; it is not a constructor argument, so it is removed before instantiation.
"""

from __future__ import annotations

from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf


def enabled_nodes(group: DictConfig | None, group_name: str) -> dict[str, DictConfig]:
    """Return the entries of ``group`` that have a ``_target_`` and are not disabled.

    Args:
        group: a config node whose children are object configs (may be None or empty).
        group_name: the node's name in the config, for error messages (e.g. ``"callbacks"``).

    Raises:
        TypeError: when a child is not a mapping or ``enabled`` is not a boolean.
    """
    if group is None:
        return {}
    selected: dict[str, DictConfig] = {}
    for key, node in group.items():
        name = str(key)
        if node is None:  # `callbacks.profiler=null` removes an entry
            continue
        if not isinstance(node, DictConfig):
            raise TypeError(f"{group_name}.{name} must be a mapping with a _target_, got {node!r}")
        if "_target_" not in node:
            continue
        enabled = node.get("enabled", True)
        if not isinstance(enabled, bool):
            raise TypeError(f"{group_name}.{name}.enabled must be true or false, got {enabled!r}")
        if not enabled:
            continue
        container = OmegaConf.to_container(node, resolve=True)
        assert isinstance(container, dict)  # a DictConfig converts to a dict
        container.pop("enabled", None)
        selected[name] = OmegaConf.create(container)
    return selected


def instantiate_group(group: DictConfig | None, group_name: str) -> list[Any]:
    """Instantiate every enabled entry of ``group``, in config order.

    Raises:
        RuntimeError: naming the entry whose construction failed, with the cause chained.
    """
    objects = []
    for name, node in enabled_nodes(group, group_name).items():
        try:
            objects.append(hydra.utils.instantiate(node))
        except Exception as exc:
            raise RuntimeError(f"could not build {group_name}.{name}: {exc}") from exc
    return objects
