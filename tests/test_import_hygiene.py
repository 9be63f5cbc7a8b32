"""The layering rules of DESIGN.md, checked rather than just written down.

``bridge`` must import neither torch nor textual; ``tui`` must never import torch, ocr or
lightning (the dashboard must draw its first frame long before torch could even load);
``ocr`` must never import textual. Each check imports every module of a package in a fresh
interpreter and inspects ``sys.modules``, which also catches imports hidden behind
function-level helpers executed at import time.

(codemod: bare-module-names: every bare "ocrtop.ocr", "ocrtop.bridge" or "ocrtop.tui" string here
names a module.)
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "ocrtop.bridge": [
        "torch",
        "textual",
        "ocrtop.ocr",
        "ocrtop.tui",
        "lightning",
        "pytorch_lightning",
    ],
    "ocrtop.tui": ["torch", "ocrtop.ocr", "lightning", "pytorch_lightning", "timm"],
    "ocrtop": ["torch", "ocrtop.ocr", "lightning", "pytorch_lightning", "timm"],
}


def _modules(package: str) -> list[str]:
    """All importable module names of a package in this checkout, without importing them.

    A symlinked sub-package (``ocrtop/ocr -> ../ocr``) is another folder of the repository,
    checked under its own rules, so the walk does not enter it.
    """
    names = [package]

    def walk(path: Path, prefix: str) -> None:
        for info in pkgutil.iter_modules([str(path)]):
            sub = path / info.name
            if info.name in ("tests", "__main__") or sub.is_symlink():
                continue
            names.append(prefix + info.name)
            if info.ispkg:
                walk(sub, f"{prefix}{info.name}.")

    walk(ROOT.joinpath(*package.split(".")), f"{package}.")
    return names


def _loaded(modules: list[str], forbidden: list[str]) -> list[str]:
    """The ``forbidden`` packages (or any of their sub-modules) among ``modules``."""
    return sorted(f for f in forbidden if any(m == f or m.startswith(f + ".") for m in modules))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_load_forbidden_modules(package: str) -> None:
    mods = _modules(package)
    code = (
        "import importlib, json, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    bad = _loaded(json.loads(out.stdout.strip().splitlines()[-1]), FORBIDDEN[package])
    assert not bad, f"importing {package} loaded {bad}; see DESIGN.md 'dependencies point one way'"


def test_ocr_does_not_import_textual() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import ocrtop.ocr as ocr\n"
        "for info in pkgutil.walk_packages(ocr.__path__, prefix='ocrtop.ocr.'):\n"
        "    importlib.import_module(info.name)\n"
        "print('textual' in sys.modules, 'ocrtop.tui' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_import_linter_contracts_hold() -> None:
    """The same rules, statically, through import-linter's contracts in pyproject.toml."""
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed in this environment (pip install -e '.[dev]')")
    res = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
