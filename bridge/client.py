"""asyncio client: attach to a job by socket path, job id, loopback TCP or ssh.

All transports end up as an asyncio (reader, writer) pair that speaks the same
newline-JSON protocol, so the TUI, ``ocrtop tail`` and ``ocrtop profile`` share
one client. Over ssh the remote side runs ``ocrtop relay JOB``, which pipes the
job's Unix socket to stdin/stdout; ssh does the authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ocrtop.bridge.framing import LineDecoder, Oversized
from ocrtop.bridge.protocol import (
    MAX_FRAME_BYTES,
    Message,
    check_hello,
    decode_joined,
    decode_messages,
    encode_obj,
    make_command,
)
from ocrtop.bridge.registry import find_job, is_socket_target
from ocrtop.bridge.ssh import parse_ssh_target

READ_CHUNK = 256 << 10


class BridgeClient:
    """A connection to one job; iterate it for ``Message`` objects.

    Create with ``await BridgeClient.connect(target)``. The first two messages
    yielded are normally the ``snapshot`` and then live events; ``hello`` has
    already been consumed and is available as ``client.hello``.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: str = "",
        process: asyncio.subprocess.Process | None = None,
    ) -> None:
        self.target = target
        self.hello: dict[str, Any] = {}
        self.skipped_frames = 0
        self._reader = reader
        self._writer = writer
        self._proc = process
        self._stderr = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None
        self._decoder = LineDecoder(MAX_FRAME_BYTES)
        self._pending: deque[Message] = deque()
        self._closed = False
        self._probe_id: str | None = None

    # --- connecting ---

    @classmethod
    async def connect(
        cls,
        target: str | None = None,
        remote_command: Sequence[str] | str | None = None,
        ssh_options: Sequence[str] | None = None,
        timeout: float = 15.0,
    ) -> BridgeClient:
        """Connect and read the hello.

        Args:
            target: a socket path, a job id (or unique prefix; None = the only
                running job), ``tcp://127.0.0.1:PORT?token=T`` or
                ``ssh://[user@]host[:port]/JOB``.
            remote_command: for ssh, the remote ocrtop (default
                ``$OCRTOP_REMOTE_COMMAND``, else ``ocrtop``); the client appends
                ``relay JOB``.
            ssh_options: extra arguments for ssh (``-i key``, ``-o ...``).
            timeout: seconds to wait for the hello.

        Raises:
            ConnectionError: the job refused or closed the connection.
            ProtocolVersionError: the job speaks another protocol version.
            RegistryError: the job id matched no job or several.
        """
        label = target or "(the only running job)"
        if target is not None and target.startswith("ssh://"):
            ssh = parse_ssh_target(target)
            proc = await asyncio.create_subprocess_exec(
                *ssh.argv(remote_command, ssh_options),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            if proc.stdin is None or proc.stdout is None:
                raise ConnectionError("could not open pipes to ssh")
            client = cls(proc.stdout, proc.stdin, label, proc)
            client._stderr_task = asyncio.ensure_future(client._collect_stderr())
        elif target is not None and target.startswith("tcp://"):
            parts = urlsplit(target)
            token = parse_qs(parts.query).get("token", [""])[0]
            if not parts.hostname or parts.port is None or not token:
                raise ValueError(f"expected tcp://127.0.0.1:PORT?token=TOKEN, got {target!r}")
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, parts.port), timeout
            )
            writer.write(encode_obj({"type": "auth", "token": token}))
            client = cls(reader, writer, label)
        else:
            if target is not None and is_socket_target(target):
                path = target.removeprefix("unix://")
            else:
                path = find_job(target).socket
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
            client = cls(reader, writer, label)
        try:
            await asyncio.wait_for(client._read_hello(), timeout)
            await client._speak_up()
        except BaseException:
            await client.close()
            raise
        return client

    async def _speak_up(self) -> None:
        """Send one ``ping`` so the server knows this is a client, not an idle socket.

        A full server closes connections that sent no valid frame first; the ping's
        ack is consumed here and never reaches the caller.
        """
        self._probe_id = "connect-" + uuid.uuid4().hex[:8]
        self._writer.write(encode_obj(make_command("ping", self._probe_id, {})))
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.drain()

    async def _read_hello(self) -> None:
        msg = await self._next()
        if msg is None:
            if self._stderr_task is not None:  # let ssh finish explaining itself
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._stderr_task), 2)
            detail = self.stderr_text() or "the connection closed before the hello"
            raise ConnectionError(f"cannot attach to {self.target}: {detail}")
        if msg.type == "ack" and msg.payload.get("ok") is False:
            raise ConnectionError(f"{self.target} refused: {msg.payload.get('error')}")
        self.hello = check_hello(msg)

    async def _collect_stderr(self) -> None:
        if self._proc is None or self._proc.stderr is None:
            return
        while chunk := await self._proc.stderr.read(4096):
            self._stderr += chunk
            del self._stderr[:-8192]

    def stderr_text(self) -> str:
        """What ssh printed on stderr (last 8 KiB): the reason a remote attach failed."""
        return self._stderr.decode("utf-8", "replace").strip()

    # --- receiving ---

    async def _next(self) -> Message | None:
        pending = self._pending
        while not pending:
            try:
                data = await self._reader.read(READ_CHUNK)
            except (ConnectionError, OSError):
                return None
            if not data:
                return None
            body = self._decoder.feed_clean(data)
            if body:
                count = body.count(b"\n") + 1
                msgs = decode_joined(body.replace(b"\n", b","), count)
                if msgs is None:  # a frame in doubt: decode one by one, counting the bad
                    msgs, bad = decode_messages(body.split(b"\n"))
                    self.skipped_frames += bad
                if self._probe_id is not None:
                    msgs = self._without_probe_ack(msgs)
                pending.extend(msgs)
                continue
            if body is not None:
                continue
            frames = []
            for frame in self._decoder.feed(data):
                if isinstance(frame, Oversized):
                    self.skipped_frames += 1
                else:
                    frames.append(frame)
            msgs, bad = decode_messages(frames)
            if self._probe_id is not None:
                msgs = self._without_probe_ack(msgs)
            pending.extend(msgs)
            self.skipped_frames += bad
        return pending.popleft()

    def _without_probe_ack(self, msgs: list[Message]) -> list[Message]:
        probe = self._probe_id
        kept = [m for m in msgs if not (m.type == "ack" and m.payload.get("id") == probe)]
        if len(kept) < len(msgs):
            self._probe_id = None  # seen: later batches skip this check
        return kept

    async def recv(self, timeout: float | None = None) -> Message | None:
        """The next message, or None at end of stream; raises TimeoutError on timeout."""
        if timeout is None:
            return await self._next()
        return await asyncio.wait_for(self._next(), timeout)

    def __aiter__(self) -> BridgeClient:
        return self

    async def __anext__(self) -> Message:
        if self._pending:  # fast path: no coroutine per buffered message
            return self._pending.popleft()
        msg = await self._next()
        if msg is None:
            raise StopAsyncIteration
        return msg

    # --- sending ---

    async def send_command(self, command: str, **args: Any) -> str:
        """Send ``profile``/``stop``/``ping``; returns the id the ack will carry.

        Raises:
            ProtocolError: bad command or arguments (checked before sending).
        """
        cmd_id = uuid.uuid4().hex[:12]
        self._writer.write(encode_obj(make_command(command, cmd_id, args)))
        await self._writer.drain()
        return cmd_id

    # --- closing ---

    async def close(self) -> None:
        """Close the connection (and the ssh process); idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._writer.close()
        if self._proc is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.wait_closed(), 2)
            return
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 3)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()
                await self._proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._stderr_task, 1)

    async def __aenter__(self) -> BridgeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
