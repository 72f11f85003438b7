"""How far a request has arrived on one connection: its head, its body, or nothing yet.

uvicorn parses the requests; :class:`RequestFraming` follows the same bytes beside it,
just far enough to police the connection:

* a head (request line and headers) longer than ``max_head_bytes`` is refused before
  uvicorn parses it (431), whether it comes in one piece or trickles in;
* a body longer than ``max_body_bytes`` is refused, as soon as ``Content-Length``
  announces it or the chunks sent pass it (413);
* :attr:`arriving` says whether a request has begun and not yet arrived whole, so the
  connection can hold the client to a deadline while it sends, and to none while the
  kiosk answers (a long-poll, the event stream).

It reads framing as h11 does: a head ends at an empty line (CRLF or a bare LF); the
body is ``Content-Length`` bytes, or chunked. Where a request is malformed in a way
h11 refuses anyway (a bad ``Content-Length``), this reads it as bodiless and leaves
the refusal to h11.
"""

from __future__ import annotations

import enum
import re

__all__ = ["FramingRefusal", "Phase", "RequestFraming"]

_HEAD_END = re.compile(rb"\n\r?\n")
# A header line starts its line; one that starts with a space continues the line above
# (obsolete folding), as h11 reads it.
_FRAMING_HEADER = re.compile(rb"\n(content-length|transfer-encoding)[ \t]*:([^\r\n]*)", re.I)
_MAX_CHUNK_LINE = 1024  # a chunk's size line: hex digits and extensions


class FramingRefusal(Exception):
    """The request breaks a limit; ``status`` and ``message`` are the answer to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Phase(enum.Enum):
    BETWEEN = "between requests"
    HEAD = "head"
    BODY = "body"
    CHUNK_SIZE = "chunk size line"
    CHUNK_DATA = "chunk data"
    CHUNK_END = "end of a chunk"
    TRAILER = "trailer"


class RequestFraming:
    """Feed it every byte that arrives on a connection, in order (:meth:`feed`)."""

    def __init__(self, max_head_bytes: int, max_body_bytes: int) -> None:
        self.max_head_bytes = max_head_bytes
        self.max_body_bytes = max_body_bytes
        self.phase = Phase.BETWEEN
        #: requests that arrived whole so far
        self.requests = 0
        #: bytes received so far, of every request
        self.received = 0
        self._buffer = bytearray()  # the head, or a chunk's size line or a trailer line
        self._left = 0  # bytes still to come of the body, or of the current chunk
        self._body = 0  # body bytes so far (chunked)

    @property
    def arriving(self) -> bool:
        """A request has begun and has not arrived whole."""
        return self.phase is not Phase.BETWEEN

    def feed(self, data: bytes) -> None:
        """Follow ``data``; :class:`FramingRefusal` when it breaks a limit."""
        self.received += len(data)
        at = 0
        while at < len(data):
            at = _STEPS[self.phase](self, data, at)

    # -- one step per phase: each consumes from ``data[at:]`` and returns where it stopped

    def _between(self, data: bytes, at: int) -> int:
        # Empty lines before a request line are skipped (RFC 9112, 2.2).
        while at < len(data) and data[at] in b"\r\n":
            at += 1
        if at < len(data):
            self.phase = Phase.HEAD
        return at

    def _head(self, data: bytes, at: int) -> int:
        if not self._buffer:  # the usual case: the whole head in this piece, no copy
            end = _HEAD_END.search(data, at, at + self.max_head_bytes + 1)
            if end is not None and end.end() - at <= self.max_head_bytes:
                self._begin_body(data[at : end.end()])
                return end.end()
        had = len(self._buffer)
        piece = data[at : at + self.max_head_bytes + 1 - had]
        self._buffer += piece
        end = _HEAD_END.search(self._buffer, max(0, had - 2))
        if end is None or end.end() > self.max_head_bytes:
            if len(self._buffer) > self.max_head_bytes:
                raise FramingRefusal(
                    431, f"the request's headers are larger than {self.max_head_bytes:,} bytes"
                )
            return at + len(piece)
        head = bytes(self._buffer[: end.end()])
        self._buffer.clear()
        self._begin_body(head)
        return at + end.end() - had

    def _begin_body(self, head: bytes) -> None:
        length, chunked = _body_framing(head)
        if chunked:
            self._body = 0
            self.phase = Phase.CHUNK_SIZE
        elif length > self.max_body_bytes:
            raise FramingRefusal(413, self._body_too_large())
        elif length:
            self._left = length
            self.phase = Phase.BODY
        else:
            self._whole()

    def _body_bytes(self, data: bytes, at: int) -> int:
        taken = min(self._left, len(data) - at)
        self._left -= taken
        if not self._left:
            self._whole()
        return at + taken

    def _chunk_size(self, data: bytes, at: int) -> int:
        line, at = self._line(data, at, _MAX_CHUNK_LINE)
        if line is None:
            return at
        digits = line.split(b";", 1)[0].strip()
        try:
            size = int(digits, 16)
        except ValueError:
            raise FramingRefusal(400, "the request's chunked body is malformed") from None
        if size == 0:
            self.phase = Phase.TRAILER
            return at
        self._body += size
        if self._body > self.max_body_bytes:
            raise FramingRefusal(413, self._body_too_large())
        self._left = size
        self.phase = Phase.CHUNK_DATA
        return at

    def _chunk_data(self, data: bytes, at: int) -> int:
        taken = min(self._left, len(data) - at)
        self._left -= taken
        if not self._left:
            self.phase = Phase.CHUNK_END
        return at + taken

    def _chunk_end(self, data: bytes, at: int) -> int:
        line, at = self._line(data, at, _MAX_CHUNK_LINE)
        if line is not None:
            self.phase = Phase.CHUNK_SIZE
        return at

    def _trailer(self, data: bytes, at: int) -> int:
        line, at = self._line(data, at, self.max_head_bytes)
        if line is not None and not line.strip(b"\r"):
            self._whole()
        return at

    def _line(self, data: bytes, at: int, limit: int) -> tuple[bytes | None, int]:
        """A line up to LF (without it), or ``None`` while it is not complete."""
        newline = data.find(b"\n", at)
        stop = len(data) if newline < 0 else newline
        self._buffer += data[at:stop]
        if len(self._buffer) > limit:
            raise FramingRefusal(431, f"a line of the request is longer than {limit:,} bytes")
        if newline < 0:
            return None, len(data)
        line = bytes(self._buffer)
        self._buffer.clear()
        return line, newline + 1

    def _whole(self) -> None:
        self.requests += 1
        self.phase = Phase.BETWEEN

    def _body_too_large(self) -> str:
        return f"the request's body is larger than {self.max_body_bytes:,} bytes"


_STEPS = {
    Phase.BETWEEN: RequestFraming._between,
    Phase.HEAD: RequestFraming._head,
    Phase.BODY: RequestFraming._body_bytes,
    Phase.CHUNK_SIZE: RequestFraming._chunk_size,
    Phase.CHUNK_DATA: RequestFraming._chunk_data,
    Phase.CHUNK_END: RequestFraming._chunk_end,
    Phase.TRAILER: RequestFraming._trailer,
}


def _body_framing(head: bytes) -> tuple[int, bool]:
    """``(Content-Length, chunked)`` from a request head; 0 where h11 would refuse it."""
    length, chunked = 0, False
    for name, value in _FRAMING_HEADER.findall(head):
        value = value.strip()
        if name.lower() == b"transfer-encoding":
            chunked = value.lower() == b"chunked"
        elif value.isdigit():
            length = int(value)
    return length, chunked
