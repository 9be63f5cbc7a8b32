"""The trainer child of ``ocrtop train``: started in its own session, output to a log file.

Its own session means a closed terminal or a detached TUI does not take training down,
and a stop can signal the whole process group (DataLoader workers, DDP ranks, a
multirun's jobs) at once.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ENV_GROUP = "OCRTOP_GROUP"
ENV_TRAIN_SCRIPT = "OCRTOP_TRAIN_SCRIPT"
"""Path of another Hydra entry point to start instead of ``runners/train.py``."""


def train_script() -> Path:
    """``runners/train.py`` located without importing the runners (that would import torch).

    ``$OCRTOP_TRAIN_SCRIPT`` points at another entry point (your own train.py).
    """
    override = os.environ.get(ENV_TRAIN_SCRIPT)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("ocrtop.runners")
    locations = list(spec.submodule_search_locations or []) if spec else []
    # a source checkout (or an editable install made before runners/ existed)
    locations.append(str(Path(__file__).resolve().parents[1] / "runners"))
    for loc in locations:
        path = Path(loc) / "train.py"
        if path.is_file():
            return path
    raise FileNotFoundError("cannot find runners/train.py; is ocrtop installed (pip install -e .)?")


def new_group() -> str:
    """A short, unique id that ties the child's publishers to this ``ocrtop train``."""
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class Child:
    """A started trainer process and its log file."""

    def __init__(
        self, argv: list[str], log_path: Path, group: str, env: dict[str, str] | None = None
    ) -> None:
        self.argv, self.log_path, self.group = argv, log_path, group
        self.env = dict(env or {})
        """Extra environment of the child (``OCRTOP=1`` for a user's script)."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop_requested_at: float | None = None
        self.linked: set[str] = set()
        self.sent: set[signal.Signals] = set()

    def start(self) -> None:
        """Spawn the child with ``OCRTOP_GROUP`` set and stdout/stderr in the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, ENV_GROUP: self.group, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """The child's pid (also its process group id)."""
        assert self.proc is not None, "Child.start() was not called"
        return self.proc.pid

    def poll(self) -> int | None:
        """Exit code once the child has exited (a signal gives ``-signum``), else None."""
        return self.proc.poll() if self.proc else None

    def signal_group(self, sig: int = signal.SIGTERM) -> None:
        """Signal the child's whole process group; a group that is gone is fine."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def escalate(self, now: float, term_after: float, kill_after: float) -> str | None:
        """After a stop request: SIGTERM the group after ``term_after`` s, then SIGKILL.

        Each signal is sent once. Returns the name of the signal sent now, else None.
        """
        if self.stop_requested_at is None or self.poll() is not None:
            return None
        waited = now - self.stop_requested_at
        due = signal.SIGKILL if waited >= kill_after else signal.SIGTERM
        if waited < term_after or due in self.sent:
            return None
        self.sent.add(due)
        self.signal_group(due)
        return due.name

    def link_log(self, run_dir: str) -> None:
        """Make the log also appear as ``<run_dir>/train.log`` (a hard link, else a symlink)."""
        if not run_dir or run_dir in self.linked:
            return
        self.linked.add(run_dir)
        target = Path(run_dir) / "train.log"
        if target.exists() or not Path(run_dir).is_dir():
            return
        try:
            os.link(self.log_path, target)
        except OSError:
            with contextlib.suppress(OSError):
                target.symlink_to(self.log_path.resolve())

    def tail(self, lines: int = 20) -> list[str]:
        """The last lines of the log (why a child died before it could publish anything)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 16384))
                return f.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            return []


ENV_MONITOR = "OCRTOP"
"""Set to 1 in a user script's environment: Lightning's entry points add the monitor
(``ocrtop.autoload``; this module may not import it, it lives above ``tui``)."""


def make_child(
    overrides: list[str], outputs: Path = Path("outputs"), script: str | None = None
) -> Child:
    """The child for ``ocrtop train <overrides>`` with its log under ``outputs/.ocrtop/<group>``.

    With ``script``, the child is ``python SCRIPT <overrides>``: any Lightning script,
    monitored through the callback-factory entry points (``OCRTOP=1``).

    Raises:
        FileNotFoundError: ``script`` is not a file.
    """
    group = new_group()
    log_path = outputs / ".ocrtop" / group / "train.log"
    if script is None:
        return Child([sys.executable, str(train_script()), *overrides], log_path, group)
    if not Path(script).is_file():
        raise FileNotFoundError(f"ocrtop train --script: {script}: no such file")
    argv = [sys.executable, str(script), *overrides]
    return Child(argv, log_path, group, env={ENV_MONITOR: "1"})
