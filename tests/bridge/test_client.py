"""Client specifics: target parsing, the hello check, ssh command lines."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.protocol import PROTOCOL_VERSION, Message, ProtocolVersionError
from ocrtop.bridge.registry import RegistryError
from ocrtop.bridge.ssh import parse_ssh_target


@pytest.fixture
async def fake_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A Unix socket server that sends whatever the test puts in the list."""
    to_send: list[bytes] = []
    d = tempfile.mkdtemp(prefix="obc")
    path = f"{d}/fake.sock"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for chunk in to_send:
            writer.write(chunk)
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(serve, path)
    yield path, to_send
    server.close()
    await server.wait_closed()
    Path(path).unlink(missing_ok=True)
    Path(d).rmdir()


async def test_hello_version_mismatch(fake_server: tuple[str, list[bytes]]) -> None:
    path, to_send = fake_server
    to_send.append(Message("hello", 0, 0, payload={"protocol": PROTOCOL_VERSION + 1}).encode())
    with pytest.raises(ProtocolVersionError, match=f"protocol {PROTOCOL_VERSION + 1}"):
        await BridgeClient.connect(path)


async def test_stream_skips_garbage_and_ends_cleanly(
    fake_server: tuple[str, list[bytes]],
) -> None:
    path, to_send = fake_server
    hello = Message("hello", 0, 0, payload={"protocol": PROTOCOL_VERSION, "job_id": "f"})
    event = Message("log", 1, 1, payload={"message": "x"})
    # split mid-frame, with garbage and an oversized line in between
    data = hello.encode() + b"garbage\n" + b"z" * (2 << 20) + b"\n" + event.encode()
    to_send.extend([data[:7], data[7:]])
    client = await BridgeClient.connect(path)
    assert client.hello["job_id"] == "f"
    assert [m async for m in client] == [event]
    assert client.skipped_frames == 2
    await client.close()
    await client.close()


async def test_connection_closed_before_hello(fake_server: tuple[str, list[bytes]]) -> None:
    path, _ = fake_server
    with pytest.raises(ConnectionError, match="before the hello"):
        await BridgeClient.connect(path)


async def test_unknown_job_id(registry_dir: Path) -> None:
    with pytest.raises(RegistryError, match="no running job matches"):
        await BridgeClient.connect("nosuchjob")


def test_ssh_target_parsing_and_argv() -> None:
    t = parse_ssh_target("ssh://alice@gpu-box:2222/abc123")
    assert (t.user, t.host, t.port, t.job) == ("alice", "gpu-box", 2222, "abc123")
    argv = t.argv(None, ["-o", "BatchMode=yes"])
    assert argv == [
        "ssh", "-T", "-o", "BatchMode=yes", "-p", "2222", "-l", "alice", "--", "gpu-box",
        "ocrtop relay abc123",
    ]  # fmt: skip
    plain = parse_ssh_target("ssh://gpu-box/")
    assert plain.job is None and plain.argv(None, None)[-1] == "ocrtop relay"
    remote = ["env", "PYTHONPATH=/a b", sys.executable, "-m", "ocrtop.bridge.relay"]
    assert t.argv(remote, None)[-1].endswith("-m ocrtop.bridge.relay abc123")
    assert "'PYTHONPATH=/a b'" in t.argv(remote, None)[-1]  # quoted for the remote shell
    with pytest.raises(ValueError, match="ssh://"):
        parse_ssh_target("ssh:///job")


def test_remote_ocrtop_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote ocrtop inside a venv is named once, not on every attach."""
    t = parse_ssh_target("ssh://gpu-box/abc123")
    monkeypatch.setenv("OCRTOP_REMOTE_COMMAND", "~/venvs/ocr/bin/ocrtop")
    assert t.argv(None, None)[-1] == "~/venvs/ocr/bin/ocrtop relay abc123"  # ~ expands there
    assert t.argv("ocrtop", None)[-1] == "ocrtop relay abc123"  # an explicit one wins


async def test_ssh_failure_reports_ssh_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An ssh that cannot resolve the host fails fast; its message must reach the user.
    fake_ssh = tmp_path / "ssh"
    fake_ssh.write_text("#!/bin/sh\necho 'ssh: Could not resolve hostname nohost' >&2\nexit 255\n")
    fake_ssh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(ConnectionError, match="Could not resolve hostname"):
        await BridgeClient.connect("ssh://nohost/job", timeout=10)
