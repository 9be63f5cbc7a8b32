"""The monitor (``ocrtop.ocr.callbacks``) stands alone: it loads nothing else from ``ocr``.

import-linter's contract in ``pyproject.toml`` lists the ``ocr`` sub-packages the monitor
may not import, one by one (a forbidden contract cannot name the monitor's own parent).
The first test keeps that list complete when ``ocr`` grows a package; the second imports
every monitor module in a fresh interpreter and looks at what actually got loaded.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = "ocr.callbacks (the monitor) imports nothing else from ocr"


def test_the_contract_forbids_every_other_ocr_package() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in contracts["contracts"] if c["name"] == CONTRACT)
    assert contract["source_modules"] == ["ocrtop.ocr.callbacks"]
    siblings = {f"ocrtop.ocr.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "ocr")])} - {
        "ocrtop.ocr.callbacks"
    }
    assert set(contract["forbidden_modules"]) == siblings


PROBE = """
import json, pkgutil, sys
import ocrtop.ocr.callbacks as cb
for m in pkgutil.walk_packages(cb.__path__, "ocrtop.ocr.callbacks."):
    __import__(m.name)
print(json.dumps(sorted(n for n in sys.modules if n.startswith("ocrtop.ocr."))))
"""


def test_importing_every_monitor_module_loads_no_other_ocr_module() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert any(n.startswith("ocrtop.ocr.callbacks.timing") for n in loaded)  # it did import
    assert [n for n in loaded if not n.startswith("ocrtop.ocr.callbacks")] == []
