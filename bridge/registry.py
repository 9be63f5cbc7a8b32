"""Discovery of running jobs: one JSON entry per publisher in a per-user runtime dir.

``ocrtop ps`` and ``ocrtop attach JOB`` find jobs here. The directory is private
(0700) and short: Linux caps a Unix socket path at 108 bytes and Hydra run dirs
are long, so sockets live here rather than in the run dir. Entries of processes
that died without cleaning up are pruned whenever jobs are listed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SOCKET_PATH_MAX = 107
"""Longest usable AF_UNIX path on Linux (108 bytes including the terminating NUL)."""

ENV_RUNTIME_DIR = "OCRTOP_RUNTIME_DIR"
"""Overrides the registry directory (tests, or several users sharing a $HOME)."""


class RegistryError(RuntimeError):
    """The registry is unusable, or a job spec matched no job or several."""


@dataclass
class JobEntry:
    """What a publisher advertises about itself.

    Supports ``entry["job_id"]`` as well as ``entry.job_id`` so callers can treat
    it like the JSON it is stored as.
    """

    job_id: str
    group: str
    rank: int
    world_size: int
    local_rank: int
    pid: int
    host: str
    socket: str
    run_dir: str
    command: list[str]
    start_time: float
    meta: dict[str, Any] = field(default_factory=dict)
    events_path: str = ""
    tcp: str | None = None
    create_time: float | None = None  # of the process; guards against pid reuse

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> JobEntry:
        known = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj}
        return cls(**known)


def _check_private_dir(path: Path) -> Path:
    """Create ``path`` as 0700, or verify that an existing one is ours and private."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise RegistryError(f"{path} is not a directory; remove it or set ${ENV_RUNTIME_DIR}")
    if st.st_uid != os.getuid():
        raise RegistryError(
            f"{path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); "
            f"someone may be squatting it: set ${ENV_RUNTIME_DIR} to a private directory"
        )
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def runtime_dir() -> Path:
    """The per-user registry dir: $OCRTOP_RUNTIME_DIR, $XDG_RUNTIME_DIR/ocrtop, or /tmp.

    Falls back to ``/tmp/ocrtop-<uid>`` when the XDG path would make socket paths
    too long or is not a usable directory.
    """
    override = os.environ.get(ENV_RUNTIME_DIR)
    if override:
        return _check_private_dir(Path(override))
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg) and len(os.fsencode(xdg)) < 60:
        try:
            return _check_private_dir(Path(xdg) / "ocrtop")
        except OSError:
            pass
    return _check_private_dir(Path(tempfile.gettempdir()) / f"ocrtop-{os.getuid()}")


def socket_path(job_id: str, directory: Path | None = None) -> Path:
    """Where the job's socket goes; raises if the path is too long for AF_UNIX."""
    path = (directory or runtime_dir()) / f"{job_id}.sock"
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        raise RegistryError(
            f"socket path {path} is {len(os.fsencode(path))} bytes, over the "
            f"{SOCKET_PATH_MAX}-byte AF_UNIX limit; set ${ENV_RUNTIME_DIR} to a shorter dir"
        )
    return path


def process_create_time(pid: int) -> float | None:
    """Start time of a process (to tell a live job from a recycled pid), if knowable."""
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None


def pid_alive(pid: int, create_time: float | None = None) -> bool:
    """True if ``pid`` runs and, when known, started at ``create_time``."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if create_time is not None:
        actual = process_create_time(pid)
        if actual is not None and abs(actual - create_time) > 1.0:
            return False
    return True


def register(entry: JobEntry, directory: Path | None = None) -> Path:
    """Write the entry atomically (readers never see half a file)."""
    d = directory or runtime_dir()
    path = d / f"{entry.job_id}.json"
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(entry.to_dict(), f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def unregister(job_id: str, directory: Path | None = None) -> None:
    """Remove the entry; missing is fine (close is idempotent)."""
    d = directory or runtime_dir()
    with contextlib.suppress(OSError):
        os.unlink(d / f"{job_id}.json")


def _prune(path: Path, entry: JobEntry | None) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
    if entry is not None and entry.socket:
        sock = Path(entry.socket)
        if sock.parent == path.parent:
            with contextlib.suppress(OSError):
                sock.unlink()


def list_jobs(group: str | None = None, directory: Path | None = None) -> list[JobEntry]:
    """Live jobs, oldest first; prunes entries of dead local processes on the way.

    Args:
        group: only jobs of this group (e.g. the ranks or sweep runs of one
            ``ocrtop train``).
        directory: the registry dir (default ``runtime_dir()``).
    """
    d = directory or runtime_dir()
    here = socket.gethostname()
    jobs: list[JobEntry] = []
    for path in d.glob("*.json"):
        try:
            entry = JobEntry.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, TypeError):
            _prune(path, None)
            continue
        if entry.host == here and not pid_alive(entry.pid, entry.create_time):
            _prune(path, entry)
            continue
        if group is None or entry.group == group:
            jobs.append(entry)
    jobs.sort(key=lambda e: (e.start_time, e.rank))
    return jobs


def _describe(jobs: list[JobEntry]) -> str:
    return "\n".join(
        f"  {j.job_id}  group={j.group} rank={j.rank} pid={j.pid} run_dir={j.run_dir}" for j in jobs
    )


def is_socket_target(target: str) -> bool:
    """True when ``target`` names a socket file (``unix://`` optional), not a job id or URL."""
    return target.startswith("unix://") or os.path.sep in target or target.endswith(".sock")


def find_job(spec: str | None = None, directory: Path | None = None) -> JobEntry:
    """Resolve a job id, a unique id prefix, or None (the only live job).

    Raises:
        RegistryError: no job matches, or several do (the message lists them).
    """
    jobs = list_jobs(directory=directory)
    where = directory or runtime_dir()
    if spec is None:
        if len(jobs) == 1:
            return jobs[0]
        if not jobs:
            raise RegistryError(f"no running ocrtop job found (registry: {where})")
        raise RegistryError(f"{len(jobs)} jobs are running; name one:\n{_describe(jobs)}")
    exact = [j for j in jobs if j.job_id == spec]
    if exact:
        return exact[0]
    matches = [j for j in jobs if j.job_id.startswith(spec)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        hint = f"\nrunning jobs:\n{_describe(jobs)}" if jobs else ""
        raise RegistryError(f"no running job matches {spec!r} (registry: {where}){hint}")
    raise RegistryError(
        f"{spec!r} matches {len(matches)} jobs; be more specific:\n{_describe(matches)}"
    )
