"""The event stream as server-sent events: the bus, after a replay of the log."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from kiosk.api.listeners.connection import listener_of
from kiosk.api.models import Seq
from kiosk.broadcast import CLOSED
from kiosk.core import Kiosk
from kiosk.errors import Forbidden
from kiosk.protocol.stream import StreamKind

#: how ``/openapi.json`` describes the streams' answer: server-sent events, each a
#: ``data:`` line of one JSON message whose ``type`` is a :class:`StreamKind`
SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: `data:` lines of JSON messages, each with a "
        "`type`: " + ", ".join(kind.value for kind in StreamKind),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
TOUCHSCREEN_ONLY = "this stream is the touchscreen's own: it is only on the touchscreen's socket"


def router(kiosk: Kiosk) -> APIRouter:
    api = APIRouter()

    @api.get("/v1/stream", response_class=StreamingResponse, responses=SSE)
    async def stream(after: Seq | None = None) -> StreamingResponse:
        """Server-sent events. With ``after``, logged events after that sequence number are
        replayed first, so a client that read the log and then connects misses nothing.
        Scans from the kiosk's scanner are not on it: see ``/v1/touchscreen/stream``."""
        return event_stream(kiosk, after, scans=False)

    @api.get("/v1/touchscreen/stream", response_class=StreamingResponse, responses=SSE)
    async def touchscreen_stream(request: Request, after: Seq | None = None) -> StreamingResponse:
        """The same stream with the scanner's scans (``{"type": "scan", "text": ...}``), for
        the touchscreen only: a scan may be a pickup code. Only on the touchscreen's own
        socket, which only the touchscreen's group may use."""
        if listener_of(request.scope) != "touchscreen":
            raise Forbidden(TOUCHSCREEN_ONLY)
        return event_stream(kiosk, after, scans=True)

    return api


def frame(msg: dict[str, Any]) -> bytes:
    """One message of the stream's wire format (JSON: its edge)."""
    return f"data: {json.dumps(msg, default=str)}\n\n".encode()


def event_stream(kiosk: Kiosk, after: int | None, scans: bool) -> StreamingResponse:
    """The bus as server-sent events, after a replay of the log past ``after`` if given."""

    async def gen() -> AsyncIterator[bytes]:
        async with kiosk.bus.subscribe(scans=scans) as queue:
            yield b": connected\n\n"
            last = after
            if after is not None:
                for event in kiosk.store.events(after, limit=10000):
                    last = event.seq
                    yield frame({"type": StreamKind.EVENT, **event.as_dict()})
            while True:
                try:
                    async with asyncio.timeout(15):  # not wait_for: see dispatch.py
                        msg = await queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if msg is CLOSED or kiosk.bus.closed:
                    return
                if last is not None and msg.get("type") == StreamKind.EVENT and msg["seq"] <= last:
                    continue  # already replayed
                yield frame(msg)

    return StreamingResponse(gen(), media_type="text/event-stream")
