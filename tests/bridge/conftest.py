"""Fixtures for bridge tests: a private registry per test and publishers that always close."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ocrtop.bridge.publisher import Publisher


@pytest.fixture
def registry_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private registry dir (socket paths must stay under 108 bytes)."""
    d = tempfile.mkdtemp(prefix="obr")
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", d)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_publisher(registry_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Publisher]]:
    """Factory of started publishers writing into tmp_path; all closed at teardown."""
    made: list[Publisher] = []

    def make(**kwargs: Any) -> Publisher:
        kwargs.setdefault("run_dir", tmp_path / f"run{len(made)}")
        pub = Publisher(**kwargs)
        made.append(pub)
        pub.start()
        return pub

    yield make
    for pub in made:
        pub.close()
