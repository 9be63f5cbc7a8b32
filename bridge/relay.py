"""``ocrtop relay JOB``: pipe a job's Unix socket to stdin/stdout.

This is what ``ssh host ocrtop relay JOB`` runs on the remote side of an ssh
attach. It forwards bytes without parsing them, so it needs no knowledge of the
protocol version, and the socket's peer-credential check sees the ssh user.
Runnable as ``python -m ocrtop.bridge.relay JOB``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import socket
import sys

from ocrtop.bridge.registry import RegistryError, find_job, is_socket_target

CHUNK = 256 << 10


def _write_all(fd: int, data: bytes) -> bool:
    """Write everything (blocking); False when the reader has gone."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BrokenPipeError:
            return False
        view = view[n:]
    return True


def pump(sock: socket.socket, in_fd: int = 0, out_fd: int = 1) -> int:
    """Copy in_fd -> sock and sock -> out_fd until the socket closes.

    End of input half-closes the socket (the job keeps streaming); end of the
    socket, or a closed output, ends the relay.
    """
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(in_fd, selectors.EVENT_READ)
    try:
        while True:
            for key, _mask in sel.select():
                if key.fileobj is sock:
                    try:
                        data = sock.recv(CHUNK)
                    except ConnectionResetError:
                        return 0
                    if not data or not _write_all(out_fd, data):
                        return 0
                else:
                    chunk = os.read(in_fd, CHUNK)
                    if not chunk:
                        sel.unregister(in_fd)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_WR)
                        continue
                    try:
                        sock.sendall(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return 0
    finally:
        sel.close()


def main(job: str | None = None) -> int:
    """Relay to the job named by id/prefix (None: the only running job) or socket path."""
    try:
        if job is not None and is_socket_target(job):
            path = job.removeprefix("unix://")
        else:
            path = find_job(job).socket
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError as exc:
            sock.close()
            raise RegistryError(f"cannot connect to {path}: {exc.strerror or exc}") from None
    except RegistryError as exc:
        print(f"ocrtop relay: {exc}", file=sys.stderr)
        return 2
    with sock:
        return pump(sock, sys.stdin.fileno(), sys.stdout.fileno())


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ocrtop.bridge.relay", description="Pipe a job's bridge socket to stdio."
    )
    parser.add_argument("job", nargs="?", help="job id or unique prefix (default: the only job)")
    return main(parser.parse_args(argv).job)


if __name__ == "__main__":
    sys.exit(_cli())
