"""Tunables of a publisher's serving side, shared by the loop, the pump and the sessions.

A plain dataclass in its own low layer so that every part can read the few fields it
needs without importing the part that owns the thread (``ocrtop.bridge.server``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class ServerConfig:
    """Tunables; the defaults suit a trainer publishing up to ~100k events/s."""

    client_buffer_bytes: int = 4 << 20
    """Per-client outbox; past it the client lags (at least twice a max frame)."""
    poll_interval: float = 0.005
    """Longest wait between a publish and its delivery while events flow: bounds the
    latency and, under a flood, the wake-ups per second (events are batched)."""
    idle_interval: float = 0.05
    """Seconds between drains with nobody connected (only the log is waiting)."""
    max_clients: int = 64
    """Seats; when full, a connection that never sent a valid frame is closed first."""
    idle_grace_s: float = 3.0
    """Seconds a new connection may stay silent before it is first in line for eviction."""
    max_offences: int = 10
    """Bad frames a client may send before it is disconnected."""
    max_batch: int = 20_000
    """Events drained per loop turn, so sockets are served during a flood."""
    peer_uid_check: Callable[[int], bool] | None = None
    """Admission by peer uid; None admits only this process's uid."""
    token: str | None = None
    """TCP token (set by the Publisher)."""
