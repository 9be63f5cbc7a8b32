"""Wire format of the bridge: messages, commands, versions and their validation.

The codec sits above the framing layer (``ocrtop.bridge.framing``) and below the session
(``ocrtop.bridge.session`` / ``ocrtop.bridge.client``). Keeping it free of sockets lets the same
``Message`` objects come from a live stream and from ``events.jsonl``. The protocol
version is independent of the package version: bump it only when an old client
could no longer read what a new server sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocrtop.bridge.codec import (
    ProtocolError,
    ProtocolVersionError,
    decode_json,
    decode_obj,
    encode_event,
    encode_obj,
    msgspec,
)

__all__ = [
    "COMMANDS",
    "MAX_CLIENT_FRAME_BYTES",
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "Message",
    "ProtocolError",
    "ProtocolVersionError",
    "check_hello",
    "decode_messages",
    "decode_obj",
    "encode_event",
    "encode_obj",
    "make_command",
    "parse_command",
]

PROTOCOL_VERSION = 1
"""Version carried by ``hello``; a client refuses any other (see ``check_hello``)."""

MAX_FRAME_BYTES = 1 << 20
"""Default cap on one server frame (a line, newline excluded)."""

MAX_CLIENT_FRAME_BYTES = 64 << 10
"""Cap on one client frame: commands are tiny, so anything bigger is abuse."""

EVENT_TYPES = ("metrics", "status", "progress", "alert", "profile", "log")
"""Types a trainer publishes; they are logged to events.jsonl and fanned out."""

SESSION_TYPES = ("hello", "snapshot", "ack", "dropped")
"""Types the server sends to one client about its own session."""

MESSAGE_TYPES = EVENT_TYPES + SESSION_TYPES

COMMANDS = ("profile", "stop", "ping")
PROFILE_MAX_STEPS = 10_000
STOP_MODES = ("graceful",)


@dataclass(slots=True)
class Message:
    """One server-to-client message; the unit of the live stream and of events.jsonl.

    Attributes:
        type: one of ``MESSAGE_TYPES``; clients must ignore types they don't know.
        t: unix time at which the event was published.
        seq: publisher-wide sequence number of events (1, 2, ...). Session messages
            (hello, snapshot, ack, dropped) carry the seq of the last event the
            client has been given, so events with a larger seq are newer.
        step: global training step, if known.
        epoch: epoch, if known.
        payload: type-specific fields, see PROTOCOL.md.
    """

    type: str
    t: float
    seq: int
    step: int | None = None
    epoch: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The wire form (also what events.jsonl holds)."""
        return {
            "type": self.type,
            "t": self.t,
            "seq": self.seq,
            "step": self.step,
            "epoch": self.epoch,
            "payload": self.payload,
        }

    def encode(self) -> bytes:
        """One newline-terminated frame."""
        return encode_obj(self.to_dict())

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Message:
        """Validate a decoded frame and build a Message.

        Raises:
            ProtocolError: a required field is missing or has the wrong type.
        """
        # Fast path for well-formed frames (type() is, not isinstance: bool is no int).
        mtype, t, seq = obj.get("type"), obj.get("t"), obj.get("seq")
        payload, step, epoch = obj.get("payload"), obj.get("step"), obj.get("epoch")
        if (
            type(mtype) is str
            and type(seq) is int
            and type(payload) is dict
            and (type(t) is float or type(t) is int)
            and (step is None or type(step) is int)
            and (epoch is None or type(epoch) is int)
        ):
            return cls(mtype, float(t), seq, step, epoch, payload)
        return cls._from_dict_checked(obj)

    @classmethod
    def _from_dict_checked(cls, obj: dict[str, Any]) -> Message:
        """Slow path of ``from_dict`` that says exactly what is wrong."""
        mtype = obj.get("type")
        t = obj.get("t")
        seq = obj.get("seq")
        payload = obj.get("payload")
        step = obj.get("step")
        epoch = obj.get("epoch")
        if not isinstance(mtype, str):
            raise ProtocolError("message needs a string 'type'")
        if not isinstance(t, (int, float)) or isinstance(t, bool):
            raise ProtocolError(f"{mtype} message needs a numeric 't'")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ProtocolError(f"{mtype} message needs an integer 'seq'")
        if not isinstance(payload, dict):
            raise ProtocolError(f"{mtype} message needs an object 'payload'")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
            raise ProtocolError(f"{mtype} message has a non-integer 'step'")
        if epoch is not None and (not isinstance(epoch, int) or isinstance(epoch, bool)):
            raise ProtocolError(f"{mtype} message has a non-integer 'epoch'")
        return cls(mtype, float(t), seq, step, epoch, payload)

    @classmethod
    def decode(cls, line: bytes | str) -> Message:
        """Decode one frame (see ``decode_obj`` and ``from_dict``)."""
        if _fast_decode_one is not None:
            try:
                msg = _fast_decode_one(line)
            except _FAST_ERRORS:
                pass  # the stdlib path says exactly what is wrong (or reads NaN)
            else:
                if msg.payload:  # an empty one may be a missing one: let from_dict judge
                    return msg
        return cls.from_dict(decode_obj(line))


if msgspec is not None:
    # Typed decoding checks the envelope as ``from_dict`` does (bool is no int, t a
    # number, payload an object); anything it rejects, NaN included, takes the stdlib path.
    _fast_decode_one = msgspec.json.Decoder(Message).decode
    _fast_decode_many = msgspec.json.Decoder(list[Message]).decode
    _FAST_ERRORS: tuple[type[Exception], ...] = (msgspec.DecodeError, msgspec.ValidationError)
else:  # pragma: no cover - stdlib only
    _fast_decode_one = _fast_decode_many = None
    _FAST_ERRORS = ()


def decode_joined(body: bytes, count: int) -> list[Message] | None:
    """Decode ``count`` frames joined by commas in one call, or None when any is in doubt."""
    if _fast_decode_many is not None:
        try:
            msgs = _fast_decode_many(b"[" + body + b"]")
        except _FAST_ERRORS:
            return None
        # Message's defaults would pass a frame without payload: such (rare) batches
        # take the careful path, where a missing payload is an error.
        return msgs if len(msgs) == count and all(m.payload for m in msgs) else None
    try:
        objs = decode_json("[" + body.decode("utf-8") + "]")
    except (ValueError, RecursionError):
        return None
    if len(objs) != count:
        return None
    try:
        return [_from_obj(obj) for obj in objs]
    except ProtocolError:
        return None


def _from_obj(obj: Any) -> Message:
    if not isinstance(obj, dict):
        raise ProtocolError("not an object")
    return Message.from_dict(obj)


def decode_messages(frames: list[bytes]) -> tuple[list[Message], int]:
    """Decode many frames at once; returns the messages and how many frames were bad.

    One decoder call over a JSON array of all frames costs far less per frame
    than a call each, which matters to a viewer at 100k events/s. Any doubt (a
    bad frame, a count mismatch) falls back to decoding frame by frame.
    """
    if _fast_decode_many is not None and frames:
        msgs = decode_joined(b",".join(frames), len(frames))
        if msgs is not None:
            return msgs, 0
    if len(frames) > 1:
        try:
            objs = decode_json("[" + b",".join(frames).decode("utf-8") + "]")
        except (ValueError, RecursionError):
            objs = None
        if objs is not None and len(objs) == len(frames):
            out, bad = [], 0
            for obj in objs:
                try:
                    if not isinstance(obj, dict):
                        raise ProtocolError("not an object")
                    out.append(Message.from_dict(obj))
                except ProtocolError:
                    bad += 1
            return out, bad
    out, bad = [], 0
    for frame in frames:
        try:
            out.append(Message.decode(frame))
        except ProtocolError:
            bad += 1
    return out, bad


def check_hello(msg: Message) -> dict[str, Any]:
    """Validate the first message of a stream and return its payload.

    Raises:
        ProtocolError: the stream does not start with a hello.
        ProtocolVersionError: the server speaks another protocol version.
    """
    if msg.type != "hello":
        raise ProtocolError(f"stream must start with 'hello', got {msg.type!r}")
    version = msg.payload.get("protocol")
    if version != PROTOCOL_VERSION:
        raise ProtocolVersionError(
            f"the job speaks bridge protocol {version!r} but this client speaks "
            f"{PROTOCOL_VERSION}; install the same ocrtop version on both ends"
        )
    return msg.payload


def make_command(command: str, cmd_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """Build a client command frame (validated, so a client fails before sending)."""
    frame = {"type": "command", "id": cmd_id, "command": command, "args": args}
    parse_command(frame)
    return frame


def parse_command(obj: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Validate a client command frame.

    Returns:
        ``(id, command, args)`` with defaults filled in.

    Raises:
        ProtocolError: with a message that tells the client what to fix.
    """
    if obj.get("type") != "command":
        raise ProtocolError(f"unknown client frame type {obj.get('type')!r}; expected 'command'")
    cmd_id = obj.get("id")
    if not isinstance(cmd_id, str) or not 0 < len(cmd_id) <= 128:
        raise ProtocolError("command needs a string 'id' of 1..128 characters")
    command = obj.get("command")
    if command not in COMMANDS:
        raise ProtocolError(f"unknown command {command!r}; expected one of {list(COMMANDS)}")
    args = obj.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ProtocolError("command 'args' must be an object")
    if command == "profile":
        steps = args.get("steps")
        if not isinstance(steps, int) or isinstance(steps, bool):
            raise ProtocolError("profile needs an integer 'steps'")
        if not 1 <= steps <= PROFILE_MAX_STEPS:
            raise ProtocolError(f"profile 'steps' must be in 1..{PROFILE_MAX_STEPS}, got {steps}")
        args = {**args, "steps": steps}
    elif command == "stop":
        mode = args.get("mode", "graceful")
        if mode not in STOP_MODES:
            raise ProtocolError(f"stop 'mode' must be one of {list(STOP_MODES)}, got {mode!r}")
        args = {**args, "mode": mode}
    return cmd_id, command, args
