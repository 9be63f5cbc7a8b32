"""pyproject.toml: core is the monitor's, the OCR trainer's stack is the ``ocr`` extra."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

from ocrtop.cli import EXTRA, OCR_STACK

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
HEAVY = ("torch", "torchvision", "pytorch-lightning", "lightning", "hydra-core", "timm",
         "opencv-python-headless", "pyclipper", "shapely", "pypdfium2", "numpy")  # fmt: skip


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of PEP 508 requirement strings, normalised (``Pillow`` -> ``pillow``)."""
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_core_dependencies_hold_no_training_stack() -> None:
    core = _names(PROJECT["dependencies"])
    assert core == {"psutil", "nvidia-ml-py", "textual", "omegaconf"}
    assert not core & set(HEAVY)


def test_the_ocr_extra_holds_every_package_the_missing_extra_check_names() -> None:
    extra = _names(PROJECT["optional-dependencies"][EXTRA])
    assert extra == {dist.lower() for dist in OCR_STACK.values()}


def test_dev_installs_the_ocr_extra() -> None:
    assert f"ocrtop[{EXTRA}]" in PROJECT["optional-dependencies"]["dev"]
