"""Helpers shared by bridge tests: raw sockets speaking the wire format."""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from ocrtop.bridge.framing import LineDecoder, Oversized


class RawClient:
    """A blocking, protocol-naive client: what a script with socat would be."""

    def __init__(self, path: str, timeout: float = 5.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.decoder = LineDecoder(4 << 20)
        self.frames: list[dict[str, Any]] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until(self, pred: Any, timeout: float = 5.0) -> dict[str, Any]:
        """Read frames until one satisfies ``pred``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, frame in enumerate(self.frames):
                if pred(frame):
                    del self.frames[: i + 1]
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame")
            self.sock.settimeout(remaining)
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("server closed the connection")
            for f in self.decoder.feed(data):
                if not isinstance(f, Oversized):
                    self.frames.append(json.loads(f))

    def close(self) -> None:
        self.sock.close()


def wait_for(pred: Any, timeout: float = 30.0, interval: float = 0.005) -> None:
    """Poll until ``pred()``; generous timeout because CI CPUs are shared (success is fast)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)


def count_fds() -> int:
    """Open file descriptors of this process (leak checks)."""
    return len(os.listdir("/proc/self/fd"))
