"""Suite-wide test settings.

Every test session gets its own short runtime directory, so job registries and sockets of
tests never mix with a developer's live jobs (or with a parallel test run). Torch, when a
test imports it, uses one thread: CI has two cores and the tests measure behaviour, not speed.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_RUNTIME = tempfile.mkdtemp(prefix="ocrt-")
os.chmod(_RUNTIME, 0o700)
os.environ["XDG_RUNTIME_DIR"] = _RUNTIME
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HYDRA_FULL_ERROR", "1")


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    """Remove the session's runtime directory."""
    shutil.rmtree(_RUNTIME, ignore_errors=True)
