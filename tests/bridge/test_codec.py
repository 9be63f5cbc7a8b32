"""The fast codec (msgspec) writes the same messages as the stdlib, and reads like it.

Every case is checked against Python's own ``json`` (the reference decoder of the
protocol): same decoded value, ASCII only, NaN spelled ``NaN``. Without msgspec the
stdlib path runs; ``OCRTOP_BRIDGE_CODEC=json`` forces it.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from typing import Any

import pytest

from ocrtop.bridge import codec
from ocrtop.bridge.framing import LineDecoder, Oversized
from ocrtop.bridge.protocol import Message, ProtocolError, decode_joined, decode_messages

fast = pytest.mark.skipif(codec.msgspec is None, reason="msgspec not installed")


class Scalar:
    """A numpy-like scalar: has ``.item()``."""

    def item(self) -> float:
        return 2.5


PAYLOADS: list[dict[str, Any]] = [
    {"values": {"train/loss": 0.4312, "lr": 1e-05, "big": 1e300, "n": 12}},
    {"values": {"train/loss": float("nan"), "grad": float("inf"), "low": -math.inf}},
    {"level": "INFO", "logger": "x", "message": "naïve ×2 — done"},
    {"values": {"tiny": Scalar()}, "tuple": (1, 2), "nested": {"a": [1, {"b": True}], "c": None}},
    {"huge": 2**80, "keys": {1: "int key", 2.5: "float key"}},
    {"text": "null inside a string is fine", "quote": 'say "hi"\n\t'},
]


def _reference(obj: Any) -> Any:
    """What the stdlib makes of ``obj`` (NaN compared as a string)."""
    return json.loads(json.dumps(obj, default=codec._json_default), parse_constant=str)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_event_decodes_to_what_the_stdlib_writes(payload: dict[str, Any]) -> None:
    line = codec.encode_event("metrics", 1796154303.5174978, 42, 7, None, payload)
    assert line.endswith(b"}\n") and line.count(b"\n") == 1 and line.isascii()
    decoded = json.loads(line, parse_constant=str)
    assert decoded == {"type": "metrics", "t": 1796154303.5174978, "seq": 42, "step": 7,
                       "epoch": None, "payload": _reference(payload)}  # fmt: skip
    assert Message.decode(line[:-1]).payload == json.loads(line)["payload"] or math.isnan(
        payload.get("values", {}).get("train/loss", 0.0)
    )


def test_non_finite_values_stay_visible_on_the_wire() -> None:
    line = codec.encode_event("metrics", 1.0, 1, None, None, {"values": {"a": float("nan")}})
    assert b'"a":NaN' in line
    msg = Message.decode(line)
    assert math.isnan(msg.payload["values"]["a"])


def test_unencodable_payloads_raise_the_stdlib_errors() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises((ValueError, RecursionError)):
        codec.encode_event("log", 1.0, 1, None, None, cyclic)


def test_a_key_json_cannot_hold_is_an_error_or_a_string() -> None:
    """The stdlib refuses a tuple key (the server then logs the event as unencodable);
    msgspec passes it to the same fallback hook, which makes it a string: no event lost."""
    if codec.msgspec is None:
        with pytest.raises(TypeError):
            codec.encode_event("log", 1.0, 1, None, None, {(1, 2): "tuple key"})
        return
    line = codec.encode_event("log", 1.0, 1, None, None, {(1, 2): "tuple key"})
    assert json.loads(line)["payload"] == {"[1, 2]": "tuple key"}


@fast
def test_the_fast_decoder_checks_the_envelope_like_from_dict() -> None:
    good = b'{"type":"x","t":1,"seq":2,"step":null,"epoch":3,"payload":{"a":1}}'
    assert decode_joined(good, 1) == [Message("x", 1.0, 2, None, 3, {"a": 1})]
    empty = b'{"type":"x","t":1,"seq":2,"payload":{}}'  # legal, but checked the careful way
    assert decode_joined(empty, 1) is None
    assert decode_messages([empty]) == ([Message("x", 1.0, 2, None, None, {})], 0)
    for bad in (
        b'{"type":"x","t":1,"seq":true,"payload":{}}',
        b'{"type":"x","t":"1","seq":1,"payload":{}}',
        b'{"type":"x","t":1,"seq":1,"payload":[]}',
        b'{"type":"x","t":1,"seq":1}',
    ):
        assert decode_joined(bad, 1) is None
        with pytest.raises(ProtocolError):
            Message.decode(bad)
    msgs, bad_count = decode_messages([good, b'{"type":"x","t":1,"seq":true,"payload":{}}'])
    assert len(msgs) == 1 and bad_count == 1


SCRIPT = """
import json, sys
from ocrtop.bridge import codec
from ocrtop.bridge.protocol import Message
payloads = [{"values": {"loss": float("nan"), "lr": 1e-05}}, {"message": "naïve ×2", "n": 3}]
lines = [codec.encode_event("metrics", 1.5, 1, None, 2, p).decode() for p in payloads]
back = [Message.decode(line.encode()[:-1]).to_dict() for line in lines]
print(json.dumps({"codec": codec.FAST_CODEC, "lines": lines, "back": back}))
"""


def test_both_codecs_write_and_read_the_same_messages() -> None:
    """The stdlib codec, forced in a child process, against this process's codec."""
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, codec.CODEC_ENV: "json"},
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(out.stdout)
    assert theirs["codec"] == "json"
    ns: dict[str, Any] = {}
    exec(SCRIPT.replace("print(", "result = ("), ns)  # this process: msgspec when installed
    ours = json.loads(ns["result"])
    assert all(line.isascii() and "NaN" in line for line in theirs["lines"][:1] + ours["lines"][:1])
    assert [json.loads(x, parse_constant=str) for x in ours["lines"]] == [
        json.loads(x, parse_constant=str) for x in theirs["lines"]
    ]
    assert json.dumps(ours["back"]) == json.dumps(theirs["back"])


def _frames_slow(chunks: list[bytes]) -> list[bytes | Oversized]:
    dec = LineDecoder(64)
    return [f for c in chunks for f in dec.feed(c)]


def _frames_fast(chunks: list[bytes]) -> list[bytes | Oversized]:
    """What the client does: the clean path when it can, the careful one otherwise."""
    dec = LineDecoder(64)
    out: list[bytes | Oversized] = []
    for c in chunks:
        body = dec.feed_clean(c)
        if body:
            out += body.split(b"\n")
        elif body is None:
            out += dec.feed(c)
    return out


def test_the_clean_framing_path_yields_exactly_what_the_careful_one_does() -> None:
    rng = random.Random(7)
    pieces = [b'{"a":1}\n', b"\r\n", b"\n", b"x" * 100 + b"\n", b'{"b":2}\r\n', b'{"c":3}\n']
    for _ in range(300):
        stream = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 8))))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert _frames_fast(chunks) == _frames_slow(chunks), chunks


@fast
def test_a_batch_encodes_in_one_call_to_what_the_stdlib_writes_frame_by_frame() -> None:
    """Every PAYLOADS case (NaN, non-ASCII, a null in a payload) inside one batch."""
    msgs = [
        {"type": "metrics", "t": 1796154303.5 + i, "seq": i + 1, "step": i if i % 2 else None,
         "epoch": None, "payload": payload}
        for i, payload in enumerate(PAYLOADS * 3)
    ]  # fmt: skip
    nulls = sum((m["step"] is None) + (m["epoch"] is None) for m in msgs)
    data = codec.encode_messages(msgs, nulls)
    assert data is not None and data.isascii() and data.endswith(b"\n")
    lines = data.splitlines()
    assert len(lines) == len(msgs)
    for line, msg in zip(lines, msgs, strict=True):
        assert json.loads(line, parse_constant=str) == _reference(msg)
    plain = [m for m in msgs if m["payload"] is PAYLOADS[0]]  # no frame in doubt
    joined = codec.encode_messages(plain, sum((m["step"] is None) + 1 for m in plain))
    assert joined is not None and [json.loads(x) for x in joined.splitlines()] == plain
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    bad = [{**msgs[0], "payload": cyclic}]
    assert codec.encode_messages(bad, 2) is None  # the pump then encodes it alone
