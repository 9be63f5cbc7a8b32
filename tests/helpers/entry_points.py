"""Helpers for the ocrtop package tests: the entry points without reinstalling ocrtop."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def entry_points_dir(tmp: Path) -> Path:
    """A folder with a ``*.dist-info`` that declares ``pyproject.toml``'s entry points.

    Put on ``PYTHONPATH``, it makes ``importlib.metadata`` (and so Lightning) see exactly
    what an install of this checkout would register, without touching the shared editable
    install. When the installed ocrtop already declares every one of them (``make test``
    installs the checkout), nothing is added, so Lightning sees one factory per group.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    if _installed_entry_points() >= {
        (group, name, target)
        for group, entries in project["entry-points"].items()
        for name, target in entries.items()
    }:
        return tmp
    dist = tmp / "ocrtop_entry_points-0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ocrtop-entry-points\nVersion: 0.0\n"
    )
    sections = []
    for group, entries in project["entry-points"].items():
        lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
        sections.append(f"[{group}]\n{lines}")
    (dist / "entry_points.txt").write_text("\n".join(sections))
    return tmp


def _installed_entry_points() -> set[tuple[str, str, str]]:
    """(group, name, target) of every entry point the installed ``ocrtop`` declares."""
    try:
        dist = importlib.metadata.distribution("ocrtop")
    except importlib.metadata.PackageNotFoundError:
        return set()
    return {(ep.group, ep.name, ep.value) for ep in dist.entry_points}


def env_with(path: Path, **extra: str) -> dict[str, str]:
    """This process's environment with ``path`` and the checkout first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "OCRTOP"}
    parts = [str(path), str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
    env.update(extra)
    return env
