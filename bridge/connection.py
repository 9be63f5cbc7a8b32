"""One client connection's socket, input framing and bounded outbox (no protocol here).

The outbox is where "never block the trainer" is enforced. The server only ever
does non-blocking sends; what the kernel will not take waits here, up to a byte
budget. Past the budget the client starts *lagging*: queued events are discarded
and counted, later events are only counted, and once the socket has drained the
session sends ``dropped`` and a fresh ``snapshot`` so the client resyncs.

The outbox holds chunks, each with the number of events it carries: the pump hands
every session one joined chunk per batch, and a chunk of 0 events is a session frame
(hello, ack, error) that lagging must never discard. ``flush`` sends up to
``IOV_MAX`` chunks in one ``sendmsg`` (scatter-gather), so nothing is joined twice.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from itertools import islice

from ocrtop.bridge.framing import LineDecoder
from ocrtop.bridge.protocol import MAX_CLIENT_FRAME_BYTES, MAX_FRAME_BYTES

IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024, 1024)
"""Chunks handed to one ``sendmsg`` call."""


class Conn:
    """Socket and outbox of one connected client; touched only by the server thread.

    Args:
        limit: outbox budget in bytes (raised to twice ``max_frame`` so a full
            snapshot plus events always fits, or a resync could never catch up).
        max_frame: the cap on one server frame.
        max_client_frame: the cap on one frame the client sends.
    """

    def __init__(
        self,
        sock: socket.socket,
        cid: int,
        kind: str,
        peer: str,
        limit: int,
        pid: int = 0,
        max_frame: int = MAX_FRAME_BYTES,
        max_client_frame: int = MAX_CLIENT_FRAME_BYTES,
    ) -> None:
        self.sock = sock
        self.cid = cid
        self.kind = kind  # "unix" or "tcp"
        self.peer = peer
        self.pid = pid
        self.limit = max(limit, 2 * max_frame)
        self.decoder = LineDecoder(max_client_frame)
        self.out: deque[bytes | memoryview] = deque()
        self.counts: deque[int] = deque()  # events per chunk of ``out``; 0: a session frame
        self.out_bytes = 0
        self.head_pinned = False  # out[0] is part-sent: keep it when lagging
        self.lagging = False
        self.dropped = 0  # since the last `dropped` report
        self.dropped_total = 0

    def enqueue(self, line: bytes) -> None:
        """Queue one event frame, or count it as dropped when over budget."""
        self.enqueue_batch(line, 1)

    def enqueue_batch(self, data: bytes, count: int) -> None:
        """Queue ``count`` event frames joined in ``data``, or count them all as dropped."""
        if self.lagging:
            self.dropped += count
            return
        if self.out_bytes + len(data) > self.limit:
            self.start_lagging()
            self.dropped += count
            return
        self.out.append(data)
        self.counts.append(count)
        self.out_bytes += len(data)

    def enqueue_pinned(self, line: bytes) -> None:
        """Queue a session frame that is never discarded (it is small and rare)."""
        self.out.append(line)
        self.counts.append(0)
        self.out_bytes += len(line)

    def start_lagging(self) -> None:
        """Discard queued events (keeping session frames) and start counting drops."""
        kept: deque[bytes | memoryview] = deque()
        kept_counts: deque[int] = deque()
        discarded = 0
        for i, (chunk, count) in enumerate(zip(self.out, self.counts, strict=True)):
            if count == 0 or (i == 0 and self.head_pinned):
                kept.append(chunk)
                kept_counts.append(count)
            else:
                discarded += count
        self.out, self.counts = kept, kept_counts
        self.out_bytes = sum(len(c) for c in kept)
        self.dropped += discarded
        self.lagging = True

    def flush(self) -> bool:
        """Send as much as the socket takes without blocking.

        Returns:
            True when the outbox is empty.

        Raises:
            OSError: the peer is gone (the session then disconnects it).
        """
        out, counts = self.out, self.counts
        sendmsg = self.sock.sendmsg
        while out:
            try:
                sent = sendmsg(list(islice(out, IOV_MAX)))
            except (BlockingIOError, InterruptedError):
                return False
            if not sent:
                return False
            self.out_bytes -= sent
            while sent:
                head = out[0]
                if sent < len(head):
                    out[0] = memoryview(head)[sent:]
                    self.head_pinned = True
                    return False  # the kernel buffer is full
                sent -= len(head)
                out.popleft()
                counts.popleft()
                self.head_pinned = False
        return True

    def close(self) -> None:
        self.sock.close()
