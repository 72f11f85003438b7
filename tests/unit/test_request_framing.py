"""How far a request has arrived on a connection (kiosk/api/listeners/framing.py): it must
agree with h11, which parses the same bytes behind it, on where every request ends,
however the bytes are cut; and it refuses a flood of headers or an oversized body
before h11 reads it."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.api.listeners.framing import FramingRefusal, RequestFraming

HEAD = 8192
BODY = 65536


def framing() -> RequestFraming:
    return RequestFraming(HEAD, BODY)


def request(body: bytes = b"", chunks: list[int] | None = None, extra: int = 0) -> bytes:
    """A POST with ``body``, sent with Content-Length or, given ``chunks``, chunked."""
    headers = [b"Host: kiosk", b"X-Pad: " + b"p" * extra]
    if chunks is None:
        headers.append(b"Content-Length: %d" % len(body))
        payload = body
    else:
        headers.append(b"Transfer-Encoding: chunked")
        payload, at = b"", 0
        for size in [*chunks, len(body)]:
            piece = body[at : at + size]
            at += len(piece)
            if piece:
                payload += b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
        payload += b"0\r\nX-Trailer: t\r\n\r\n"
    return b"POST /v1/pickup HTTP/1.1\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + payload


def h11_requests(stream: bytes) -> int:
    """How many requests h11, the parser behind the framing, reads whole from ``stream``."""
    conn, whole = h11.Connection(h11.SERVER), 0
    conn.receive_data(stream)
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            return whole
        if event is h11.PAUSED:
            conn.send(h11.Response(status_code=200, headers=[("content-length", "0")]))
            conn.send(h11.EndOfMessage())
            conn.start_next_cycle()
        elif isinstance(event, h11.EndOfMessage):
            whole += 1


def fed_in_pieces(stream: bytes, cuts: list[int]) -> RequestFraming:
    seen, at = framing(), 0
    for cut in sorted(set(cuts)):
        seen.feed(stream[at:cut])
        at = cut
    seen.feed(stream[at:])
    return seen


one_request = st.builds(
    request,
    body=st.binary(max_size=300),
    chunks=st.none() | st.lists(st.integers(1, 64), max_size=5),
    extra=st.integers(0, 200),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(one_request, min_size=1, max_size=4), st.data())
def test_every_request_ends_where_h11_ends_it_however_the_bytes_are_cut(
    requests: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(requests)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    assert h11_requests(stream) == len(requests)
    whole = fed_in_pieces(stream, cuts)
    assert (whole.requests, whole.arriving) == (len(requests), False)
    short = fed_in_pieces(stream[:-1], cuts)
    assert (short.requests, short.arriving) == (len(requests) - 1, True)


def test_a_request_trickled_byte_by_byte_is_arriving_until_its_last_byte() -> None:
    stream = request(b'{"code": "12345678"}', chunks=[3, 5])
    seen = framing()
    for byte in stream[:-1]:
        seen.feed(bytes([byte]))
        assert seen.arriving and seen.requests == 0
    seen.feed(stream[-1:])
    assert (seen.arriving, seen.requests, seen.received) == (False, 1, len(stream))


def test_a_hundred_kilobytes_of_headers_are_refused_431_in_one_piece_or_trickled() -> None:
    flood = request(extra=100_000)
    with pytest.raises(FramingRefusal) as at_once:
        framing().feed(flood)
    assert at_once.value.status == 431
    assert at_once.value.message == "the request's headers are larger than 8,192 bytes"
    trickled = framing()
    with pytest.raises(FramingRefusal) as slowly:
        for at in range(0, len(flood), 100):
            trickled.feed(flood[at : at + 100])
    assert slowly.value.status == 431
    assert trickled.received <= HEAD + 100  # refused as soon as the limit was passed


def test_a_head_of_exactly_the_limit_passes_and_one_byte_more_is_refused() -> None:
    pad = HEAD - len(request(extra=0))
    assert len(request(extra=pad)) == HEAD
    exact = framing()
    exact.feed(request(extra=pad))
    assert exact.requests == 1
    with pytest.raises(FramingRefusal):
        framing().feed(request(extra=pad + 1))


def test_a_body_announced_or_sent_past_the_limit_is_refused_413() -> None:
    with pytest.raises(FramingRefusal) as announced:
        framing().feed(b"POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 65537\r\n\r\n")
    assert (announced.value.status, announced.value.message) == (
        413,
        "the request's body is larger than 65,536 bytes",
    )
    chunked = framing()
    chunked.feed(b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunked.feed(b"8000\r\n" + b"x" * 0x8000 + b"\r\n")
    with pytest.raises(FramingRefusal) as sent:
        chunked.feed(b"8001\r\n")
    assert sent.value.status == 413


def test_a_chunk_size_that_is_not_hex_is_refused_400() -> None:
    seen = framing()
    seen.feed(b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(FramingRefusal) as refused:
        seen.feed(b"zz\r\n")
    assert (refused.value.status, refused.value.message) == (
        400,
        "the request's chunked body is malformed",
    )


def test_a_get_without_a_body_ends_at_its_blank_line_even_with_bare_newlines() -> None:
    seen = framing()
    seen.feed(b"\r\nGET /v1/status HTTP/1.1\nHost: k\n\n")
    assert (seen.requests, seen.arriving) == (1, False)


def test_a_folded_line_that_looks_like_a_length_is_read_as_h11_reads_it() -> None:
    stream = b"POST / HTTP/1.1\r\nHost: k\r\nX-A: a\r\n Content-Length: 5\r\n\r\n"
    seen = framing()
    seen.feed(stream)
    assert (seen.requests, seen.arriving) == (h11_requests(stream), False) == (1, False)
