"""Suite-wide test settings.

Every test session gets its own short runtime directory, so job registries and sockets of
tests never mix with a developer's live jobs (or with a parallel test run). Torch, when a
test imports it, uses one thread: CI has two cores and the tests measure behaviour, not speed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import pytest

_RUNTIME = tempfile.mkdtemp(prefix="ocrt-")
os.chmod(_RUNTIME, 0o700)
os.environ["XDG_RUNTIME_DIR"] = _RUNTIME
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HYDRA_FULL_ERROR", "1")


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    """Remove the session's runtime directory."""
    shutil.rmtree(_RUNTIME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _close_lingering_bridges() -> Iterator[None]:
    """Close bridge streams that a test's trainer left lingering (``linger_s``).

    In a real run they close at exit; in one pytest process they would stay registered
    for seconds into the next tests. Only acts when the callbacks were imported, so tests
    that never touch torch stay torch-free.
    """
    yield
    linger = sys.modules.get("ocrtop.ocr.callbacks.link.linger")
    if linger is not None:
        linger._close_pending()
