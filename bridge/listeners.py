"""Listening sockets of a publisher: the private Unix socket and opt-in loopback TCP.

Binding is kept apart from the publisher's lifecycle so the security-relevant
details (file mode, stale-socket handling, loopback-only TCP) sit in one place.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ocrtop.bridge.registry import RegistryError

LISTEN_BACKLOG = min(socket.SOMAXCONN, 1024)
"""Pending connections the kernel holds before ``connect()`` fails with EAGAIN.

A burst (a sweep's dashboards reconnecting, a script opening many sockets) must queue,
not bounce: the server drains the whole queue on each wake-up, so a deep backlog costs
nothing while idle. The kernel caps it at ``net.core.somaxconn`` anyway.
"""


def parse_tcp(spec: str) -> tuple[str, int]:
    """``"127.0.0.1:PORT"`` -> (host, port); only loopback hosts are accepted.

    The token travels in clear text, so anything beyond loopback should use ssh.
    """
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"tcp must look like 127.0.0.1:PORT, got {spec!r}")
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
        raise ValueError(
            f"tcp mode only binds to loopback (got {host!r}); attach remotely with ssh://host/JOB"
        )
    return host.strip("[]"), int(port)


def remove_stale_socket(path: Path, job_id: str) -> None:
    """Remove a socket left by a crashed job with the same id; refuse a live one."""
    if not (path.exists() or path.is_symlink()):
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise RegistryError(f"job {job_id} is already running at {path}; choose another job_id")


def bind_unix(path: Path, job_id: str) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600 (its dir is 0700 already)."""
    remove_stale_socket(path, job_id)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        path.unlink(missing_ok=True)
        raise
    return sock


def bind_tcp(address: tuple[str, int]) -> socket.socket:
    """A listening loopback TCP socket (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock
