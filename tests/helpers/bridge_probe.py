"""Talk to a training run's bridge from a thread, as the dashboard would."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ocrtop.ocr.callbacks.bridge import BridgeCallback

END_STATES = ("done", "failed", "stopped")


def wait_for_socket(cb: BridgeCallback, timeout: float = 60.0) -> str:
    """The socket path once the callback's publisher has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub = cb.publisher
        if pub is not None and pub.socket_path is not None:
            return str(pub.socket_path)
        time.sleep(0.01)
    raise TimeoutError("the BridgeCallback never started its publisher")


class ClientThread(threading.Thread):
    """Runs ``script(socket_path)`` on its own asyncio loop; keeps its result or error."""

    def __init__(
        self, cb: BridgeCallback, script: Callable[[str], Coroutine[Any, Any, Any]]
    ) -> None:
        super().__init__(daemon=True)
        self.cb, self.script = cb, script
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = asyncio.run(self.script(wait_for_socket(self.cb)))
        except BaseException as exc:
            self.error = exc

    def outcome(self, timeout: float = 60.0) -> Any:
        """Join and return the script's result (re-raising its error)."""
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError("bridge client script did not finish")
        if self.error is not None:
            raise self.error
        return self.result
