"""Fixtures shared by the callback tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _quiet_lightning() -> None:
    """Lightning's info banners (GPU available, ...) are noise in these tests."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
