"""The codec: messages round-trip, bad frames and commands are rejected with reasons."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ocrtop.bridge.protocol import (
    PROTOCOL_VERSION,
    Message,
    ProtocolError,
    ProtocolVersionError,
    check_hello,
    encode_obj,
    make_command,
    parse_command,
)


def test_message_round_trip_and_compact_ascii() -> None:
    msg = Message("log", 2.0, 1, None, None, {"level": "INFO", "logger": "x", "message": "é"})
    line = msg.encode()
    assert line.endswith(b"\n") and b" " not in line.replace(b"INFO", b"")
    assert line.isascii()
    assert Message.decode(line.rstrip(b"\n")) == msg


def test_non_finite_metrics_survive() -> None:
    line = encode_obj({"type": "metrics", "t": 0, "seq": 1, "payload": {"values": {"l": math.nan}}})
    assert math.isnan(Message.decode(line).payload["values"]["l"])


def test_numpy_like_scalars_are_encoded() -> None:
    class Scalar:
        def item(self) -> float:
            return 0.5

    assert b'"v":0.5' in encode_obj({"v": Scalar()})


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"t": 1, "seq": 1, "payload": {}}, "type"),
        ({"type": "log", "t": "now", "seq": 1, "payload": {}}, "'t'"),
        ({"type": "log", "t": 1, "seq": 1.5, "payload": {}}, "seq"),
        ({"type": "log", "t": 1, "seq": 1, "payload": []}, "payload"),
        ({"type": "log", "t": 1, "seq": 1, "step": "3", "payload": {}}, "step"),
    ],
)
def test_bad_messages(obj: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        Message.from_dict(obj)


def test_hello_version_mismatch_is_a_clear_error() -> None:
    good = Message("hello", 0, 0, payload={"protocol": PROTOCOL_VERSION, "job_id": "a"})
    assert check_hello(good)["job_id"] == "a"
    bad = Message("hello", 0, 0, payload={"protocol": PROTOCOL_VERSION + 1})
    with pytest.raises(ProtocolVersionError, match="same ocrtop version"):
        check_hello(bad)
    with pytest.raises(ProtocolError, match="start with 'hello'"):
        check_hello(Message("metrics", 0, 1, payload={}))


def test_commands_validated() -> None:
    assert parse_command(make_command("profile", "1", {"steps": 5})) == (
        "1",
        "profile",
        {"steps": 5},
    )
    assert parse_command({"type": "command", "id": "2", "command": "stop"})[2] == {
        "mode": "graceful"
    }
    assert (
        parse_command({"type": "command", "id": "3", "command": "ping", "args": None})[1] == "ping"
    )
    bad: list[tuple[dict[str, Any], str]] = [
        ({"type": "cmd", "id": "1", "command": "ping"}, "unknown client frame"),
        ({"type": "command", "command": "ping"}, "'id'"),
        ({"type": "command", "id": "1", "command": "rm -rf"}, "unknown command"),
        ({"type": "command", "id": "1", "command": "profile", "args": {}}, "steps"),
        ({"type": "command", "id": "1", "command": "profile", "args": {"steps": 0}}, "1..10000"),
        ({"type": "command", "id": "1", "command": "profile", "args": {"steps": True}}, "steps"),
        ({"type": "command", "id": "1", "command": "stop", "args": {"mode": "kill"}}, "mode"),
        ({"type": "command", "id": "1", "command": "ping", "args": [1]}, "args"),
    ]
    for frame, reason in bad:
        with pytest.raises(ProtocolError, match=reason):
            parse_command(frame)
