"""Framing on in-memory bytes: split reads, oversized lines, garbage, non-UTF-8."""

from __future__ import annotations

import pytest

from ocrtop.bridge.framing import LineDecoder, Oversized
from ocrtop.bridge.protocol import Message, ProtocolError, decode_obj


def test_split_reads_reassemble_byte_by_byte() -> None:
    msg = Message("metrics", 1.5, 7, 3, 0, {"values": {"train/loss": 0.25}})
    data = msg.encode() * 3
    dec = LineDecoder(1024)
    frames: list[bytes] = []
    for i in range(len(data)):
        for frame in dec.feed(data[i : i + 1]):
            assert isinstance(frame, bytes)
            frames.append(frame)
    assert [Message.decode(f) for f in frames] == [msg, msg, msg]
    assert dec.pending == 0


def test_many_frames_in_one_chunk_with_partial_tail() -> None:
    dec = LineDecoder(64)
    assert dec.feed(b'{"a":1}\n{"b":2}\r\n\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert dec.feed(b":3}\n") == [b'{"c":3}']


def test_oversized_line_is_skipped_and_stream_resyncs() -> None:
    dec = LineDecoder(16)
    out = dec.feed(b'{"ok":1}\n' + b"x" * 40)
    assert out == [b'{"ok":1}']
    assert dec.pending == 0  # not buffering beyond the cap
    out = dec.feed(b"y" * 10 + b'\n{"ok":2}\n')
    assert out == [Oversized(50), b'{"ok":2}']


def test_oversized_line_inside_one_chunk() -> None:
    dec = LineDecoder(8)
    assert dec.feed(b"0123456789\nshort\n") == [Oversized(10), b"short"]


def test_garbage_and_non_utf8_are_protocol_errors_not_crashes() -> None:
    dec = LineDecoder(1024)
    frames = dec.feed(b'not json\n\xff\xfe\x00garbage\n[1,2]\n{"type":"x"}\n')
    assert len(frames) == 4
    with pytest.raises(ProtocolError, match="not JSON"):
        decode_obj(frames[0])  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="UTF-8"):
        decode_obj(frames[1])  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="object"):
        decode_obj(frames[2])  # type: ignore[arg-type]
    assert decode_obj(frames[3]) == {"type": "x"}  # type: ignore[arg-type]


def test_invalid_max_size_rejected() -> None:
    with pytest.raises(ValueError):
        LineDecoder(0)
