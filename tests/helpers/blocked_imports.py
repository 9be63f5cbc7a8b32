"""Run Python code in a fresh interpreter where some top-level packages cannot be imported.

An installed package cannot be uninstalled for one test, but an import can be refused:
a meta-path finder placed first raises ``ModuleNotFoundError`` for the blocked names,
exactly what a missing distribution raises, and ``importlib.util.find_spec`` sees the
same refusal. So a test shows what works when those packages are absent.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

OCR_STACK_MODULES = ("timm", "cv2", "pyclipper", "shapely", "hydra", "pypdfium2")
"""The import names of the ``ocr`` extra that a Lightning job does not bring itself.

The extra's other packages cannot be blocked honestly in this environment: torch,
torchmetrics and numpy are Lightning's own requirements, and torchmetrics imports
torchvision (and so PIL) whenever their metadata says they are installed, which a
blocked import does not change. A fresh venv without them is the README's manual check.
omegaconf is core: ``ocrtop.callbacks()`` reads configs/callbacks/*.yaml through it.
"""

_PRELUDE = """\
import importlib.abc, sys
_BLOCKED = {blocked!r}

class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None

sys.meta_path.insert(0, _Blocked())
"""


def blocking_prelude(blocked: Iterable[str]) -> str:
    """Python source that, run first, makes ``blocked`` top-level packages unimportable."""
    return _PRELUDE.format(blocked=sorted(set(blocked)))


def run_blocked(
    code: str,
    blocked: Iterable[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with ``blocked`` packages unimportable."""
    return subprocess.run(
        [sys.executable, "-c", blocking_prelude(blocked) + code],
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
