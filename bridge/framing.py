"""Newline-delimited framing with a size cap and resynchronisation.

Framing is separate from the codec so that it can be tested on in-memory bytes:
split reads, oversized lines, garbage and non-UTF-8 never reach ``json``. An
oversized line is skipped up to the next newline, so one bad frame costs one
frame, not the connection. The cap is the caller's: the server reads client frames
under ``protocol.MAX_CLIENT_FRAME_BYTES``, a viewer reads server frames under
``protocol.MAX_FRAME_BYTES``, and this layer imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Oversized:
    """Marker for a line that exceeded the cap and was discarded.

    Attributes:
        size: bytes discarded (the line length, newline excluded).
    """

    size: int


class LineDecoder:
    """Incremental splitter of a byte stream into lines of at most ``max_size`` bytes.

    Feed it whatever ``recv`` returned; it returns complete lines (without the
    trailing ``\\n`` or ``\\r\\n``) and ``Oversized`` markers. Empty lines are
    skipped, so a peer may send blank lines as keep-alives.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be positive, got {max_size}")
        self.max_size = max_size
        self._buf = bytearray()
        self._discarding = 0  # >0: inside an oversized line, this many bytes dropped

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the end of a line."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        """Consume a chunk and return the frames it completed, in order."""
        out: list[bytes | Oversized] = []
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                self._discarding += len(data)
                return out
            out.append(Oversized(self._discarding + nl))
            self._discarding = 0
            data = data[nl + 1 :]
        if b"\n" not in data:
            self._buf += data
            self._check_pending()
            return out
        self._buf += data
        parts = self._buf.split(b"\n")
        self._buf = parts.pop()
        limit = self.max_size
        for part in parts:
            if part.endswith(b"\r"):
                part = part[:-1]
            if not part:
                continue
            if len(part) > limit:
                out.append(Oversized(len(part)))
            else:
                out.append(bytes(part))
        self._check_pending()
        return out

    def feed_clean(self, data: bytes) -> bytes | None:
        """The complete lines ``data`` finishes, newline-joined, when nothing needs care.

        A viewer's hot path: one slice instead of a ``bytes`` per frame, ready for one
        decoder call (``body.replace(b"\\n", b",")``). Returns None (and consumes
        nothing) unless every line is plain: no ``\\r``, no blank line, none over the
        cap (the whole body is within it), not inside a discarded line; then ``feed``
        does the careful work. ``b""`` means no line is complete yet.
        """
        if self._discarding:
            return None
        buf = self._buf
        last = data.rfind(b"\n")
        if last < 0:
            if len(buf) + len(data) > self.max_size:
                return None
            buf += data
            return b""
        size = len(buf) + last
        if size > self.max_size or size == 0:
            return None
        body = bytes(buf) + data[:last] if buf else data[:last]
        if b"\r" in body or b"\n\n" in body or body[:1] == b"\n" or body[-1:] == b"\n":
            return None
        self._buf = bytearray(data[last + 1 :])
        return body

    def _check_pending(self) -> None:
        """Start discarding once the unfinished line can no longer fit."""
        if len(self._buf) > self.max_size:
            self._discarding = len(self._buf)
            self._buf = bytearray()
