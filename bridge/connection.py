"""One client connection as the server thread sees it: input framing and a bounded outbox.

The outbox is where "never block the trainer" is enforced. The server only ever
does non-blocking sends; what the kernel will not take waits here, up to a byte
budget. Past the budget the client starts *lagging*: queued events are discarded
and counted, later events are only counted, and once the socket has drained the
server sends ``dropped`` and a fresh ``snapshot`` so the client resyncs.
"""

from __future__ import annotations

import socket
import time
from collections import deque

from bridge.framing import LineDecoder
from bridge.protocol import MAX_CLIENT_FRAME_BYTES, MAX_FRAME_BYTES

JOIN_BYTES = 256 << 10
"""Frames are coalesced into sends of up to this size (fewer syscalls)."""


class Pinned(bytes):
    """A frame that lagging must not discard (hello, acks, error replies)."""

    __slots__ = ()


class Conn:
    """State of one connected client; touched only by the server thread."""

    def __init__(
        self, sock: socket.socket, cid: int, kind: str, peer: str, limit: int, pid: int = 0
    ) -> None:
        self.sock = sock
        self.cid = cid
        self.kind = kind  # "unix" or "tcp"
        self.peer = peer
        self.pid = pid
        # Room for a full snapshot plus events, or a resync could never catch up.
        self.limit = max(limit, 2 * MAX_FRAME_BYTES)
        self.decoder = LineDecoder(MAX_CLIENT_FRAME_BYTES)
        self.out: deque[bytes | memoryview] = deque()
        self.out_bytes = 0
        self.head_pinned = False  # out[0] is part-sent or coalesced: keep it when lagging
        self.authed = kind == "unix"  # admitted (Unix: by peer uid; TCP: once the token is right)
        self.live = False  # hello + snapshot sent; receives events
        self.valid_frames = 0  # well-formed commands received: the client speaks the protocol
        self.lagging = False
        self.dropped = 0  # since the last `dropped` report
        self.dropped_total = 0
        self.offences = 0
        self.read_open = True
        self.closing = False  # disconnect once the outbox is flushed
        self.connected_at = time.monotonic()
        self.want_write = False

    def enqueue(self, line: bytes) -> None:
        """Queue an event frame, or count it as dropped when over budget."""
        if self.lagging:
            self.dropped += 1
            return
        if self.out_bytes + len(line) > self.limit:
            self.start_lagging()
            self.dropped += 1
            return
        self.out.append(line)
        self.out_bytes += len(line)

    def enqueue_pinned(self, line: bytes) -> None:
        """Queue a session frame that is never discarded (it is small and rare)."""
        self.out.append(Pinned(line))
        self.out_bytes += len(line)

    def start_lagging(self) -> None:
        """Discard queued events (keeping pinned frames) and start counting drops."""
        kept: list[bytes | memoryview] = []
        discarded = 0
        for i, frame in enumerate(self.out):
            if (i == 0 and self.head_pinned) or isinstance(frame, Pinned):
                kept.append(frame)
            else:
                discarded += 1
        self.out = deque(kept)
        self.out_bytes = sum(len(f) for f in kept)
        self.dropped += discarded
        self.lagging = True

    def flush(self) -> bool:
        """Send as much as the socket takes without blocking.

        Returns:
            True when the outbox is empty.

        Raises:
            OSError: the peer is gone (the server then disconnects it).
        """
        out = self.out
        send = self.sock.send
        while out:
            if len(out) > 1 and len(out[0]) < JOIN_BYTES:
                chunks = []
                size = 0
                while out and size < JOIN_BYTES:
                    chunk = out.popleft()
                    chunks.append(chunk)
                    size += len(chunk)
                out.appendleft(b"".join(chunks))
                self.head_pinned = True
            data = out[0]
            try:
                n = send(data)
            except (BlockingIOError, InterruptedError):
                return False
            self.out_bytes -= n
            if n == len(data):
                out.popleft()
                self.head_pinned = False
            else:
                out[0] = memoryview(data)[n:]
                self.head_pinned = True
                return False
        return True

    def close(self) -> None:
        self.sock.close()
