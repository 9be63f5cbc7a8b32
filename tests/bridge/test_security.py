"""Only the job's user gets in: file modes, SO_PEERCRED, and the TCP token."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.publisher import Publisher
from tests.helpers.bridge_client import RawClient

FOREIGN_USER = "ocrtop-test"

_CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("EACCES"); sys.exit(0)
s.settimeout(5)
data = b""
while chunk := s.recv(65536):
    data += chunk
print(data.decode())
"""


def test_uid_hook_refuses_foreign_peer(make_publisher: Callable[..., Publisher]) -> None:
    seen: list[int] = []

    def only_uid_12345(uid: int) -> bool:
        seen.append(uid)
        return uid == 12345

    pub = make_publisher(peer_uid_check=only_uid_12345)
    raw = RawClient(str(pub.socket_path))
    refusal = raw.read_until(lambda f: True)
    assert refusal["type"] == "ack" and "permission denied" in refusal["payload"]["error"]
    with pytest.raises(EOFError):
        raw.read_until(lambda f: False)
    raw.close()
    assert seen == [os.getuid()]  # the real peer uid, from SO_PEERCRED
    assert pub.stats()["refused"] == 1


@pytest.fixture
def foreign_uid() -> int:
    """A real second user (created once; needs root and useradd)."""
    if os.geteuid() != 0:
        pytest.skip("creating a second user needs root; the uid hook test covers the check")
    try:
        return pwd.getpwnam(FOREIGN_USER).pw_uid
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        pytest.skip("useradd is not installed")
    res = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FOREIGN_USER],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.skip(f"useradd failed: {res.stderr.strip()}")
    return pwd.getpwnam(FOREIGN_USER).pw_uid


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A socket dir another user may traverse (the real one is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="obs"))
    os.chmod(d, 0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _connect_as(uid: int, path: Path) -> str:
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    def drop() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    res = subprocess.run(
        [python, "-I", "-c", _CONNECT, str(path)],
        preexec_fn=drop,
        capture_output=True,
        text=True,
        timeout=20,
        cwd="/",
    )
    if res.returncode != 0:
        pytest.skip(f"cannot run python as uid {uid}: {res.stderr.strip()[-200:]}")
    return res.stdout


def test_real_foreign_user_is_refused(
    make_publisher: Callable[..., Publisher], foreign_uid: int, shared_dir: Path
) -> None:
    pub = make_publisher(socket_dir=shared_dir)
    assert pub.socket_path is not None
    # Layer 1: the socket file is 0600, so the kernel refuses the connect.
    assert _connect_as(foreign_uid, pub.socket_path).strip() == "EACCES"
    # Layer 2: even with the file opened up, SO_PEERCRED makes the server refuse.
    os.chmod(pub.socket_path, 0o666)
    out = _connect_as(foreign_uid, pub.socket_path)
    assert "permission denied" in out and "hello" not in out
    assert pub.stats()["refused"] == 1


async def test_tcp_requires_the_token(make_publisher: Callable[..., Publisher]) -> None:
    pub = make_publisher(tcp="127.0.0.1:0")
    assert pub.tcp_url is not None and pub.token and pub.token in pub.tcp_url
    client = await BridgeClient.connect(pub.tcp_url)
    assert client.hello["job_id"] == pub.job_id
    await client.close()
    bad = pub.tcp_url.replace(pub.token, "wrong")
    with pytest.raises(ConnectionError, match="bad token"):
        await BridgeClient.connect(bad)


def test_tcp_refuses_non_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Publisher(tmp_path, tcp="0.0.0.0:9999")
