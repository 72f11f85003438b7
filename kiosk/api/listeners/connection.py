"""One accepted connection of a listener, policed on its way to uvicorn.

:class:`Connection` is the protocol asyncio feeds; it passes every byte on to uvicorn's
own HTTP protocol (``inner``) once :class:`~kiosk.api.listeners.framing.RequestFraming` has
seen it, and it holds the client to a deadline:

* a new connection must deliver its first request whole within ``request_timeout_s``
  (an idle connection and a slowloris alike);
* on a kept-alive connection the clock starts again with the first byte of the next
  request (uvicorn's keep-alive time-out closes one that sends nothing);
* while the kiosk answers (a long-poll, the event stream) no clock runs.

Past the deadline the connection is closed, with a 408 if part of a request came.
A head or body over the limits is answered 431 or 413 and the connection closed.
Each is one warning in the log, which :mod:`kiosk.daemon.logrepeat` turns into one line and
a count when a flood repeats it. So that it can, the line names no client address
(one per connection, it would make every line of a many-address flood new); the
per-address cap's own refusal names it.

The ASGI application finds its connection in ``scope["state"][CONNECTION]``
(:func:`connection_of`): the listener it came through (the touchscreen's stream is only
on the touchscreen's socket) and, over TCP, :meth:`Connection.authenticated`, which the
token gate calls once the token checked out.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from kiosk.api.listeners.framing import FramingRefusal, RequestFraming

__all__ = [
    "CONNECTION",
    "Connection",
    "answer",
    "connection_of",
    "listener_of",
]

log = logging.getLogger(__name__)

#: the key of ``scope["state"]`` that holds the request's :class:`Connection`
CONNECTION = "kiosk.connection"
InnerFactory = Callable[[dict[str, Any]], asyncio.Protocol]


class Owner(Protocol):
    """What a connection needs of its listener (:class:`~kiosk.api.listeners.listener.Listener`)."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    def release(self, connection: Connection) -> None: ...
    def authenticated(self, connection: Connection) -> None: ...


def answer(status: int, message: str, kind: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, with the API's error body."""
    body = json.dumps({"error": message, "kind": kind}).encode()
    phrase = http.HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def connection_of(scope: MutableMapping[str, Any]) -> Connection | None:
    """The connection a request came on; ``None`` for one that came no other way (a
    test's in-process transport)."""
    state = scope.get("state")
    found = state.get(CONNECTION) if isinstance(state, dict) else None
    return found if isinstance(found, Connection) else None


def listener_of(scope: MutableMapping[str, Any]) -> str | None:
    """The name of the listener a request came through (``socket``, ``touchscreen``,
    ``tcp``), or ``None``."""
    connection = connection_of(scope)
    return connection.owner.name if connection is not None else None


class Connection(asyncio.Protocol):
    """Between asyncio and uvicorn's protocol for one connection (see the module)."""

    def __init__(
        self,
        owner: Owner,
        peer: str,
        inner: InnerFactory,
        framing: RequestFraming,
        request_timeout_s: float,
    ) -> None:
        self.owner = owner
        #: the client's address over TCP; "" on a Unix socket
        self.peer = peer
        self.framing = framing
        self.request_timeout_s = request_timeout_s
        self.is_authenticated = False
        self.transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._inner = inner({CONNECTION: self})

    # -- asyncio's protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._arm()  # the first request is due from the start, not from its first byte
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        done = self.framing.requests
        try:
            self.framing.feed(data)
        except FramingRefusal as refusal:
            self._refuse(refusal)
            return
        if self.framing.requests != done:
            self._disarm()
        if self.framing.arriving and self._deadline is None:
            self._arm()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.owner.release(self)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    # -- what the application and the listener call ---------------------------------

    def authenticated(self) -> None:
        """The token gate let a request of this connection through."""
        if not self.is_authenticated:
            self.is_authenticated = True
            self.owner.authenticated(self)

    def abort(self) -> None:
        """Close at once, whatever is under way (the daemon is stopping)."""
        if self.transport is not None:
            self.transport.abort()

    # -- the deadline and the refusals ----------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.request_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        what = "sent only part of a request" if self.framing.arriving else "sent no request"
        log.warning("%s: closed a connection that %s within %g s", self.owner.label, what,
                    self.request_timeout_s)  # fmt: skip
        if self.framing.arriving:
            message = f"the request did not arrive whole within {self.request_timeout_s:g} s"
            self.transport.write(answer(408, message, "RequestTimeout"))
        self.transport.close()

    def _refuse(self, refusal: FramingRefusal) -> None:
        log.warning("%s: refused a request (%d): %s", self.owner.label, refusal.status,
                    refusal.message)  # fmt: skip
        self._disarm()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer(refusal.status, refusal.message, "RequestRefused"))
            self.transport.close()
