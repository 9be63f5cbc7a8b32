"""JSON codec of the bridge: compact ASCII frames out, validated objects in.

Separate from ``ocrtop.bridge.protocol`` (what the messages mean) so that the hot
encoding path can be tuned without touching the message definitions: the server
thread encodes every event once, so this is where its per-event cost lives.
"""

from __future__ import annotations

import json
import os
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

CODEC_ENV = "OCRTOP_BRIDGE_CODEC"
"""Set to ``json`` to use the stdlib codec even when msgspec is installed (benchmarks)."""

try:  # optional (extra "fast"): the same JSON, 2-4x cheaper to encode and to decode
    import msgspec

    if os.environ.get(CODEC_ENV) == "json":
        msgspec = None  # type: ignore[assignment]
except ImportError:  # pragma: no cover - exercised by the stdlib-only CI job
    msgspec = None  # type: ignore[assignment]


class ProtocolError(ValueError):
    """A frame that is well delimited but not a valid message or command."""


class ProtocolVersionError(ProtocolError):
    """The peer speaks a protocol version this code cannot read."""


def _json_default(obj: Any) -> Any:
    """Turn numpy/torch scalars and other odd values into JSON.

    A callback that hands over ``np.float32`` must not lose the event, and the
    server thread must never raise, so unknown objects degrade to ``str``.
    """
    item = getattr(obj, "item", None)
    if callable(item):
        try:
            return item()
        except Exception:
            return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


_encode_std = json.JSONEncoder(separators=(",", ":"), default=_json_default).encode
_c_iterencode = (
    c_make_encoder(None, _json_default, encode_basestring_ascii, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)


def _encode(obj: Any) -> str:
    """Compact JSON. Reuses one C encoder instead of building one per call as
    ``json.dumps`` does: a third of the server thread's per-event cost. Without
    cycle markers a circular payload raises RecursionError, which callers handle.
    """
    if _c_iterencode is None:
        return _encode_std(obj)
    return "".join(_c_iterencode(obj, 0))


decode_json = json.JSONDecoder().decode

_fast_encode = msgspec.json.Encoder(enc_hook=_json_default).encode if msgspec is not None else None
FAST_CODEC = "msgspec" if msgspec is not None else "json"
"""The library encoding the server's frames (``json`` when msgspec is not installed)."""


def encode_bytes(obj: Any) -> bytes:
    """Compact ASCII JSON bytes, identical in meaning whichever library made them.

    msgspec writes ``null`` for NaN/Infinity and raw UTF-8 for non-ASCII text, where the
    wire format wants ``NaN`` and ``\\u`` escapes: any output holding ``null`` or a
    non-ASCII byte (rare in metrics) is encoded again by the stdlib, as is anything
    msgspec refuses, so the stdlib's errors (TypeError, ValueError, RecursionError)
    are the ones callers see.
    """
    if _fast_encode is not None:
        try:
            out = _fast_encode(obj)
        except Exception:
            out = b"null"
        if b"null" not in out and out.isascii():
            return out
    return _encode(obj).encode("ascii")


def encode_obj(obj: dict[str, Any]) -> bytes:
    """Encode one frame: compact JSON, ASCII only, terminated by a newline.

    Non-finite floats are written as ``NaN``/``Infinity`` (as Python's json does):
    a diverging loss must stay visible rather than turn into ``null``.
    """
    return encode_bytes(obj) + b"\n"


_TYPE_JSON: dict[str, str] = {}

if msgspec is not None:

    class _EnvelopeStruct(msgspec.Struct):
        """The envelope's fields in wire order; ``payload`` is pre-encoded JSON."""

        type: str
        t: float
        seq: int
        step: int | None
        epoch: int | None
        payload: msgspec.Raw

    _Envelope: type[Any] | None = _EnvelopeStruct
else:  # pragma: no cover - stdlib only
    _Envelope = None


def encode_event(
    mtype: str, t: float, seq: int, step: int | None, epoch: int | None, payload: dict[str, Any]
) -> bytes:
    """Encode one message envelope, the same message as ``encode_obj`` of its dict.

    The server thread encodes every event once; formatting the envelope directly
    and handing only the payload to the encoder saves building a dict per event.
    ``step``/``epoch`` must be int or None (not bool) and ``t`` a float. With msgspec
    the envelope is one struct around the already-encoded payload (one C call, and
    its float formatting is cheaper than ``float.__repr__``); a float may then be
    spelled differently from the stdlib's (``0.00001`` for ``1e-05``), same value.
    """
    if _Envelope is not None and mtype.isascii():
        raw = msgspec.Raw(encode_bytes(payload))
        return _fast_encode(_Envelope(mtype, t, seq, step, epoch, raw)) + b"\n"
    tj = _TYPE_JSON.get(mtype)
    if tj is None:
        tj = _encode(mtype)
        if len(_TYPE_JSON) < 256:
            _TYPE_JSON[mtype] = tj
    sj = "null" if step is None else int.__repr__(step)
    ej = "null" if epoch is None else int.__repr__(epoch)
    head = f'{{"type":{tj},"t":{float.__repr__(t)},"seq":{seq},"step":{sj},"epoch":{ej},"payload":'
    return head.encode("ascii") + encode_bytes(payload) + b"}\n"


_fast_encode_lines = (
    msgspec.json.Encoder(enc_hook=_json_default).encode_lines if msgspec is not None else None
)


def encode_messages(msgs: list[dict[str, Any]], nulls: int) -> bytes | None:
    """Many message dicts as newline-terminated frames, joined, in one encoder call.

    The same bytes in meaning as ``b"".join(encode_obj(m) for m in msgs)``, for the
    pump's hot path: one C call per batch instead of one or two per event (about half
    the server's per-event encoding cost). ``nulls`` is how many ``null`` the envelopes
    hold (``step``/``epoch`` of None); a frame with any other ``null`` (a NaN msgspec
    wrote as null) or a non-ASCII byte is encoded again alone, as ``encode_obj`` does.
    Returns None when the caller must encode frame by frame (an unencodable payload,
    or no msgspec).
    """
    if _fast_encode_lines is None or not msgs:
        return None
    try:
        out = _fast_encode_lines(msgs)
    except Exception:
        return None
    if out.isascii() and out.count(b"null") == nulls:
        return out
    # A frame in doubt (a status with a null field, a non-ASCII log line): keep the
    # batch and encode again only the frames whose nulls are not their envelope's.
    lines = out.split(b"\n")  # JSON text holds no raw newline: one line per message
    if len(lines) != len(msgs) + 1:
        return None
    fixed = []
    for line, msg in zip(lines, msgs, strict=False):
        expected = (msg["step"] is None) + (msg["epoch"] is None)
        if line.isascii() and line.count(b"null") == expected:
            fixed.append(line + b"\n")
        else:
            try:
                fixed.append(encode_obj(msg))
            except (ValueError, TypeError, RecursionError):
                return None
    return b"".join(fixed)


def decode_obj(line: bytes | str) -> dict[str, Any]:
    """Decode one frame (without its newline) into a JSON object.

    Raises:
        ProtocolError: not UTF-8, not JSON, or not a JSON object.
    """
    if isinstance(line, (bytes, bytearray)):
        try:
            text = bytes(line).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"frame is not valid UTF-8 ({exc.reason})") from None
    else:
        text = line
    try:
        obj = decode_json(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"frame is not JSON: {str(exc)[:80]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"frame must be a JSON object, got {type(obj).__name__}")
    return obj
