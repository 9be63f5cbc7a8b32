"""The training-side API: a hot-path queue, and a start function that returns the endpoint.

``publish`` is the only call on the hot path. It appends a tuple to a deque
whose length it checks first (append is atomic under the GIL, so any thread may
call it) and returns; encoding, logging and networking happen on the server
thread (``ocrtop.bridge.server``: the selector loop, the event pump and one session per
viewer). When the buffer is full the event is counted and dropped rather than
making the trainer wait. Commands from viewers are queued and handed to the
training thread by ``poll_commands`` at step boundaries, never applied from the
socket thread. ``start`` binds the sockets and returns an ``Endpoint`` (socket
path, job id, TCP URL); it prints nothing: whoever starts the job decides what
to tell the user.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.eventlog import EventLogWriter, events_filename
from ocrtop.bridge.listeners import bind_tcp, bind_unix, parse_tcp
from ocrtop.bridge.loop import SelectorLoop
from ocrtop.bridge.protocol import PROTOCOL_VERSION, Message
from ocrtop.bridge.registry import (
    JobEntry,
    process_create_time,
    register,
    runtime_dir,
    socket_path,
    unregister,
)
from ocrtop.bridge.server import BridgeServer
from ocrtop.bridge.session import Command

__all__ = ["Command", "Endpoint", "Publisher", "ServerConfig"]

log = logging.getLogger(__name__)

ENV_GROUP = "OCRTOP_GROUP"
"""Set by ``ocrtop train`` for its child so it can find every job it started."""


@dataclass(frozen=True)
class Endpoint:
    """Where viewers reach a started publisher.

    Attributes:
        job_id: the registry id (``ocrtop attach JOB``).
        socket_path: the private Unix socket.
        events_path: this rank's ``events.jsonl``.
        tcp_url: ``tcp://HOST:PORT?token=T`` when loopback TCP was asked for, else None;
            the token is a secret: show it to the user who started the job only.
    """

    job_id: str
    socket_path: Path
    events_path: Path
    tcp_url: str | None = None


def new_job_id() -> str:
    """A short random id: easy to type after ``ocrtop attach``."""
    return secrets.token_hex(4)


class Publisher:
    """One job's (one rank's) bridge endpoint.

    Args:
        run_dir: the run directory; ``events.jsonl`` goes here.
        job_id: registry id; a short random id by default.
        rank, world_size, local_rank: the DDP coordinates of this process.
        command: the command line shown by ``ocrtop ps`` (default ``sys.argv``).
        meta: free-form job description for the hello (experiment_name, arch...).
        group: jobs started together (env ``OCRTOP_GROUP``, else the job id).
        socket_dir: where the socket goes (default: the registry dir).
        tcp: ``"127.0.0.1:PORT"`` to also listen on loopback TCP with a token
            (port 0 picks a free port).
        queue_size: publish buffer capacity; overflow drops and counts events.
        registry_dir: where the registry entry goes (default ``runtime_dir()``).
        server_config: socket-thread tunables (buffer sizes, poll interval...).
        snapshot_points: history points per series in a late-join snapshot.
        flush_interval: seconds between event-log flushes.
        peer_uid_check: admits a Unix-socket peer by uid (default: this process's uid).
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        job_id: str | None = None,
        rank: int = 0,
        world_size: int = 1,
        local_rank: int = 0,
        command: list[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        group: str | None = None,
        socket_dir: str | os.PathLike[str] | None = None,
        tcp: str | None = None,
        queue_size: int = 65_536,
        registry_dir: str | os.PathLike[str] | None = None,
        server_config: ServerConfig | None = None,
        snapshot_points: int = 300,
        flush_interval: float = 1.0,
        peer_uid_check: Callable[[int], bool] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.job_id = job_id or new_job_id()
        self.group = group or os.environ.get(ENV_GROUP) or self.job_id
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.command = list(command) if command is not None else [sys.executable, *sys.argv]
        self.meta = dict(meta or {})
        self.events_path = self.run_dir / events_filename(rank)
        self.tcp_address = parse_tcp(tcp) if tcp else None
        self.token: str | None = secrets.token_urlsafe(24) if tcp else None
        self.tcp_url: str | None = None
        self.start_time = time.time()
        self.queue_size = queue_size
        self._registry_dir = Path(registry_dir) if registry_dir else None
        self._socket_dir = Path(socket_dir) if socket_dir else None
        self.socket_path: Path | None = None
        self._config = dataclasses.replace(server_config) if server_config else ServerConfig()
        if peer_uid_check is not None:
            self._config.peer_uid_check = peer_uid_check
        self._config.token = self.token
        self._snapshot_points = snapshot_points
        self._flush_interval = flush_interval
        self._buf: deque[tuple[Any, ...]] = deque()
        self._replies: deque[tuple[Command, dict[str, Any]]] = deque()
        self._commands: deque[Command] = deque()
        self._overflow = itertools.count()
        self._overflowed = 0
        self._server: BridgeServer | None = None
        self._loop: SelectorLoop | None = None  # its doorbell, read on the hot path
        self._endpoint: Endpoint | None = None
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._pid = os.getpid()

    # --- hot path ---

    def publish(
        self,
        type: str,
        payload: Mapping[str, Any] | None = None,
        step: int | None = None,
        epoch: int | None = None,
    ) -> None:
        """Queue one event; O(1), thread-safe, never blocks and never raises.

        The payload is copied shallowly, so the caller may reuse its dict; nested
        values must not be mutated afterwards.
        """
        try:
            buf = self._buf
            if len(buf) >= self.queue_size or self._closed:
                if not self._closed:
                    self._overflowed = next(self._overflow) + 1
                return
            buf.append((time.time(), type, dict(payload) if payload else {}, step, epoch))
            loop = self._loop
            if loop is not None and loop.doorbell_armed:
                loop.ring()
        except Exception:
            return

    def metrics(
        self, values: Mapping[str, float], step: int | None = None, epoch: int | None = None
    ) -> None:
        """Publish a ``metrics`` event (names from ``ocrtop.bridge.names``)."""
        self.publish("metrics", {"values": dict(values)}, step, epoch)

    # --- commands (training thread) ---

    def poll_commands(self) -> list[Command]:
        """Commands received since the last call; cheap enough for every step."""
        cmds = self._commands
        if not cmds:
            return []
        out = []
        while cmds:
            try:
                out.append(cmds.popleft())
            except IndexError:
                break
        return out

    def reply(
        self,
        cmd: Command,
        ok: bool = True,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Send the ack (or error) for a command to the client that sent it.

        Never raises: a reply that cannot be delivered is logged and dropped.
        """
        if self._closed:
            return
        try:
            if not ok and not error:
                error = "command failed"
            reply = {"ok": bool(ok), "result": dict(result or {}), "error": error}
            self._replies.append((cmd, reply))
            if self._server is not None:
                self._server.wake()
        except Exception as exc:
            log.warning("bridge: cannot send the reply to %r: %s", cmd, exc)

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until everything published so far is in ``events.jsonl`` (not fsynced).

        For stage boundaries: a replay or a test reading the log right after a stage
        must see all of it, while the stream itself stays open. Returns False when the
        server did not get there within ``timeout`` (or is not running); never raises.
        """
        server = self._server
        if server is None or self._closed:
            return False
        try:
            done = threading.Event()
            server.pump.flush_waiters.append(done)
            server.wake()
            return done.wait(timeout)
        except Exception:
            return False

    # --- lifecycle ---

    @property
    def started(self) -> bool:
        return self._started and not self._closed

    @property
    def dropped(self) -> int:
        """Events lost because the publish buffer was full."""
        return self._overflowed

    def stats(self) -> dict[str, int]:
        """Counters of the server thread (events, clients, drops, offences...)."""
        out = dict(self._server.stats) if self._server else {}
        out["overflow"] = self._overflowed
        sessions = self._server.sessions.values() if self._server else []
        out["clients"] = len(sessions)
        out["lagging_clients"] = sum(s.conn.lagging for s in sessions)
        out["unreported_drops"] = sum(s.conn.dropped for s in sessions)
        return out

    def hello_payload(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "job_id": self.job_id,
            "group": self.group,
            "rank": self.rank,
            "world_size": self.world_size,
            "local_rank": self.local_rank,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_dir": str(self.run_dir),
            "events_path": str(self.events_path),
            "command": self.command,
            "start_time": self.start_time,
            "meta": self.meta,
        }

    @property
    def endpoint(self) -> Endpoint | None:
        """What ``start`` returned (None before)."""
        return self._endpoint

    def start(self) -> Endpoint:
        """Open the socket(s), the event log and the registry entry; start the thread.

        Idempotent: a second call returns the same endpoint. Prints nothing.

        Raises:
            RegistryError: the runtime dir is unusable or the socket path too long.
            OSError: the socket cannot be bound (e.g. the TCP port is taken).
        """
        with self._lock:
            if self._started and self._endpoint is not None:
                return self._endpoint
            if self._closed:
                raise RuntimeError("this Publisher was closed; create a new one")
            self._start_locked()
            self._started = True
            assert self._endpoint is not None
        atexit.register(self.close)
        return self._endpoint

    def _start_locked(self) -> None:
        reg_dir = self._registry_dir or runtime_dir()
        sock_dir = self._socket_dir or reg_dir
        sock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = socket_path(self.job_id, sock_dir)
        listeners: list[tuple[socket.socket, str]] = []
        eventlog: EventLogWriter | None = None
        try:
            listeners.append((bind_unix(path, self.job_id), "unix"))
            self.socket_path = path
            if self.tcp_address:
                tcp = bind_tcp(self.tcp_address)
                listeners.append((tcp, "tcp"))
                host, port = tcp.getsockname()[:2]
                self.tcp_url = f"tcp://{host}:{port}?token={self.token}"
            eventlog = EventLogWriter(self.events_path, self._flush_interval)
            hello = self.hello_payload()
            eventlog.write(Message("hello", time.time(), 0, payload=hello).encode())
            self._server = BridgeServer(
                self._buf,
                self._replies,
                self._commands,
                hello,
                eventlog,
                listeners,
                self._config,
                self._snapshot_points,
                lambda: self._overflowed,
            )
            entry = JobEntry.from_dict(
                {
                    **hello,
                    "socket": str(path),
                    "tcp": self.tcp_url.split("?")[0] if self.tcp_url else None,
                    "create_time": process_create_time(os.getpid()),
                }
            )
            register(entry, reg_dir)
            self._registry_dir = reg_dir
        except BaseException:
            if self._server is not None:
                self._server.stop()
                self._server = None
            else:
                for sock, _ in listeners:
                    sock.close()
                if eventlog is not None:
                    eventlog.close()
            if self.socket_path is not None:
                path.unlink(missing_ok=True)
            raise
        self._loop = self._server.loop
        self._endpoint = Endpoint(self.job_id, path, self.events_path, self.tcp_url)
        self._server.start()
        if self.tcp_url:
            log.info("bridge TCP listener on %s", self.tcp_url.split("?")[0])

    def close(self) -> None:
        """Stop serving, log every buffered event, fsync, unregister; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            server = self._server
        atexit.unregister(self.close)
        if os.getpid() != self._pid:
            return  # a forked child (e.g. a DataLoader worker): the files are the parent's
        if server is not None:
            server.stop()
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
        if self._started and self._registry_dir is not None:
            unregister(self.job_id, self._registry_dir)

    def __enter__(self) -> Publisher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
