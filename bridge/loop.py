"""The selector loop: one selector, the listening sockets and a wake-up pipe.

It knows nothing about events or the protocol. Every registered socket carries a
handler (a callable taking the ready mask) so the loop only dispatches; listeners
call ``on_accept``. Other threads reach the loop through ``wake`` (a byte on a pipe)
and the *doorbell*: while the server sleeps waiting for a publish it sets
``doorbell_armed``, and ``publish()`` rings only then, so a busy stream costs the
hot path one attribute read per event and no syscall.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading
from collections.abc import Callable

Handler = Callable[[int], None]
"""Called with the selector mask (``EVENT_READ``/``EVENT_WRITE``) of a ready socket."""

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE


class SelectorLoop:
    """The server thread's selector; ``wake``/``ring`` may be called from any thread."""

    def __init__(
        self,
        listeners: list[tuple[socket.socket, str]],
        on_accept: Callable[[socket.socket, str], None],
    ) -> None:
        self._sel = selectors.DefaultSelector()
        self._wake_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, READ, None)
        self.listeners = listeners
        for sock, kind in listeners:
            sock.setblocking(False)
            self._sel.register(sock, READ, self._acceptor(sock, kind, on_accept))
        self.doorbell_armed = False
        """True while the server sleeps waiting for a publish; read by ``publish()``."""

    @staticmethod
    def _acceptor(
        sock: socket.socket, kind: str, on_accept: Callable[[socket.socket, str], None]
    ) -> Handler:
        return lambda _mask: on_accept(sock, kind)

    # --- any thread ---

    def wake(self) -> None:
        """Interrupt the select (a reply is waiting, a flush, or stop)."""
        with self._wake_lock:
            if self._wake_w >= 0:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"x")

    def ring(self) -> None:
        """Wake a server that sleeps on its doorbell; called by ``publish()``."""
        self.doorbell_armed = False
        self.wake()

    # --- the server thread ---

    def poll(self, timeout: float) -> None:
        """Wait up to ``timeout`` and run the handler of every ready socket."""
        ready = self._sel.select(timeout)
        self.doorbell_armed = False
        for key, mask in ready:
            handler = key.data
            if handler is None:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
            else:
                handler(mask)

    def register(self, sock: socket.socket, mask: int, handler: Handler) -> None:
        self._sel.register(sock, mask, handler)

    def set_interest(self, sock: socket.socket, mask: int, handler: Handler) -> None:
        """Watch ``sock`` for ``mask`` (0: not at all), registering it when needed."""
        try:
            if mask:
                self._sel.modify(sock, mask, handler)
            else:
                self._sel.unregister(sock)
        except (KeyError, ValueError):
            if mask:
                self._sel.register(sock, mask, handler)

    def unregister(self, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(sock)

    def close(self) -> None:
        """Close the listeners and the selector (the wake pipe stays: see ``close_wakeup``)."""
        for sock, _kind in self.listeners:
            self.unregister(sock)
            sock.close()
        self._sel.close()

    def close_wakeup(self) -> None:
        """Close the wake pipe, once the thread that reads it has ended."""
        with self._wake_lock:
            if self._wake_w >= 0:
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_r = self._wake_w = -1
