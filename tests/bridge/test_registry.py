"""Discovery: private dir, short paths, atomic entries, pruning of dead jobs."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ocrtop.bridge.publisher import Publisher
from ocrtop.bridge.registry import (
    JobEntry,
    RegistryError,
    find_job,
    list_jobs,
    register,
    runtime_dir,
    socket_path,
)


def _entry(job_id: str, pid: int, d: Path, start: float = 0.0) -> JobEntry:
    return JobEntry(
        job_id=job_id, group="g", rank=0, world_size=1, local_rank=0, pid=pid,
        host=socket.gethostname(), socket=str(d / f"{job_id}.sock"), run_dir="/r",
        command=["x"], start_time=start,
    )  # fmt: skip


def test_permission_bits(make_publisher: Callable[..., Publisher], registry_dir: Path) -> None:
    os.chmod(registry_dir, 0o755)
    pub = make_publisher()
    assert stat.S_IMODE(registry_dir.stat().st_mode) == 0o700  # tightened
    assert pub.socket_path is not None
    st = pub.socket_path.stat()
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    entry = find_job(pub.job_id)
    assert entry.socket == str(pub.socket_path) and entry.pid == os.getpid()
    assert entry["run_dir"] == str(pub.run_dir)


def test_xdg_runtime_dir_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCRTOP_RUNTIME_DIR", raising=False)
    xdg = Path(tempfile.mkdtemp(prefix="xdg"))
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
        assert runtime_dir() == xdg / "ocrtop"
        assert stat.S_IMODE((xdg / "ocrtop").stat().st_mode) == 0o700
    finally:
        shutil.rmtree(xdg)


def test_long_socket_path_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="OCRTOP_RUNTIME_DIR"):
        socket_path("abcd", tmp_path / ("x" * 120))


def test_foreign_owned_dir_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to chown a directory to another uid")
    d = tmp_path / "squat"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", str(d))
    with pytest.raises(RegistryError, match="squatting"):
        runtime_dir()


def test_dead_entries_are_pruned(registry_dir: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    register(_entry("dead", child.pid, registry_dir), registry_dir)
    (registry_dir / "dead.sock").touch()
    register(_entry("live", os.getpid(), registry_dir, start=1.0), registry_dir)
    (registry_dir / "junk.json").write_text("{not json")
    assert [j.job_id for j in list_jobs()] == ["live"]
    assert sorted(p.name for p in registry_dir.iterdir()) == ["live.json"]


def test_recycled_pid_is_pruned(registry_dir: Path) -> None:
    e = _entry("old", os.getpid(), registry_dir)
    e.create_time = time.time() - 10_000  # our pid, but "started" long before us
    register(e, registry_dir)
    assert list_jobs() == []


def test_find_job_by_prefix_and_ambiguity(registry_dir: Path) -> None:
    with pytest.raises(RegistryError, match="no running ocrtop job"):
        find_job()
    register(_entry("abc123", os.getpid(), registry_dir), registry_dir)
    assert find_job().job_id == "abc123"
    register(_entry("abd456", os.getpid(), registry_dir), registry_dir)
    assert find_job("abc").job_id == "abc123"
    assert find_job("abd456").job_id == "abd456"
    with pytest.raises(RegistryError, match="2 jobs are running") as info:
        find_job()
    assert "abc123" in str(info.value) and "abd456" in str(info.value)
    with pytest.raises(RegistryError, match="matches 2 jobs"):
        find_job("ab")
    with pytest.raises(RegistryError, match="no running job matches"):
        find_job("zz")


def test_group_filter(
    make_publisher: Callable[..., Publisher], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCRTOP_GROUP", "sweep1")
    a = make_publisher(rank=0, world_size=2)
    b = make_publisher(rank=1, world_size=2)
    monkeypatch.delenv("OCRTOP_GROUP")
    c = make_publisher()
    assert {j.job_id for j in list_jobs(group="sweep1")} == {a.job_id, b.job_id}
    assert c.group == c.job_id
    assert len(list_jobs()) == 3
    b.close()
    assert [j.job_id for j in list_jobs(group="sweep1")] == [a.job_id]
