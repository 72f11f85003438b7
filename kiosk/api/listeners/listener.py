"""A listening socket with its own accept loop, its caps and, over TCP, its TLS.

asyncio's own server accepts whatever comes, and once the process is out of file
descriptors it logs a traceback for every try, thousands a second. A :class:`Listener`
accepts itself, so it can:

* cap the connections it holds (``max_connections``); one past the cap is answered
  503 "busy" on a Unix socket (:class:`TurnAways`) and simply closed over TCP, where an
  answer would first cost a TLS handshake;
* over TCP, cap the connections of one client address that have not shown the token
  yet (``max_unauthenticated_per_client``), the handshake included, so one machine
  cannot take every place;
* give TLS handshakes ``tls_handshake_timeout_s``;
* refuse at most :data:`REFUSE_BURST` connections per :data:`REFUSE_REST_S` and then
  rest, so a crowd that reconnects as fast as it is refused costs the daemon a bounded
  share of its loop: the rest wait in the kernel's backlog, which holds no descriptor
  of the daemon's;
* pause for a second when accepting fails (no descriptor left), with one log line.

The connections are counted from ``accept()`` to the close of their socket, so the
caps bound the descriptors the listener can hold: ``max_connections`` plus
:data:`TURN_AWAY_MAX`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kiosk.api.listeners.connection import Connection, InnerFactory, answer
from kiosk.api.listeners.framing import RequestFraming

__all__ = ["ACCEPT_BATCH", "TURN_AWAY_MAX", "Limits", "Listener", "TurnAways"]

log = logging.getLogger(__name__)

#: connections turned away with a 503 at one time (a new one ends the oldest)
TURN_AWAY_MAX = 8
#: how long a turned-away connection is kept for its client to read the 503
TURN_AWAY_S = 1.0
#: accepts per wake-up, so that one busy listener cannot hold the event loop
ACCEPT_BATCH = 64
#: the pause after ``accept()`` failed (no descriptor or memory left)
PAUSE_S = 1.0
#: refusals at a cap within :data:`REFUSE_REST_S`; past them the listener rests that long
REFUSE_BURST = 16
REFUSE_REST_S = 0.1


@dataclass(frozen=True)
class Limits:
    """One listener's caps and time-outs (``kiosk.api.listeners.server`` reads the config)."""

    name: str  # socket | touchscreen | tcp
    label: str  # how the log names it
    max_connections: int
    request_timeout_s: float
    idle_timeout_s: int  # a kept-alive connection with nothing to do (uvicorn's)
    max_header_bytes: int
    max_body_bytes: int
    #: over TCP: connections of one address not past the token yet; 0: no token here
    max_unauthenticated_per_client: int = 0
    tls: ssl.SSLContext | None = None
    tls_handshake_timeout_s: float = 5.0


class Listener:
    """Accepts on ``sockets`` and serves each connection with ``inner`` (uvicorn's HTTP
    protocol) behind a :class:`Connection`. Also stands in as uvicorn's "server"
    (:meth:`close`, :meth:`wait_closed`)."""

    def __init__(self, limits: Limits, sockets: Sequence[socket.socket], inner: InnerFactory
                 ) -> None:  # fmt: skip
        self.limits = limits
        self.connections: set[Connection] = set()
        #: connections refused at a cap since the start
        self.refused = 0
        self._sockets = list(sockets)
        self._inner = inner
        self._waiting: collections.Counter[str] = collections.Counter()
        self._turned_away: TurnAways | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._paused = False
        self._round = (0.0, 0)  # when the current round of refusals began, and how many

    @property
    def name(self) -> str:
        return self.limits.name

    @property
    def label(self) -> str:
        return self.limits.label

    def view(self) -> dict[str, Any]:
        """What ``GET /v1/status`` shows of this listener."""
        return {"connections": len(self.connections), "max_connections":
                self.limits.max_connections, "refused": self.refused}  # fmt: skip

    # -- accepting ------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._turned_away = TurnAways(loop)
        for sock in self._sockets:
            sock.setblocking(False)
        self._watch(True)

    def _watch(self, on: bool) -> None:
        assert self._loop is not None
        for sock in self._sockets:
            if on:
                self._loop.add_reader(sock.fileno(), self._accept, sock)
            else:
                self._loop.remove_reader(sock.fileno())

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            if self._must_rest():
                return
            try:
                conn, address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while it waited in the backlog
            except OSError as exc:
                self._pause(exc)
                return
            self._admit(conn, address)

    def _pause(self, exc: OSError) -> None:
        # On Linux the socket stays readable while accept() fails: without the pause
        # this would spin, and asyncio's own loop logs a traceback on every turn.
        log.error("%s: cannot accept connections (%s); trying again in %g s",
                  self.label, exc.strerror or exc, PAUSE_S)  # fmt: skip
        self._rest(PAUSE_S)

    def _must_rest(self) -> bool:
        """Rest if this round has had its refusals: the listener is full and pressed."""
        assert self._loop is not None
        began, refusals = self._round
        left = began + REFUSE_REST_S - self._loop.time()
        if refusals < REFUSE_BURST or left <= 0:
            return False
        self._rest(left)
        return True

    def _rest(self, seconds: float) -> None:
        if self._paused or self._loop is None:
            return
        self._paused = True
        self._watch(False)
        self._loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        if self._paused and self._sockets:
            self._paused = False
            self._watch(True)

    def _admit(self, conn: socket.socket, address: Any) -> None:
        peer = address[0] if isinstance(address, tuple) else ""
        why = self._refusal(peer)
        if why is not None:
            self._refuse(conn, why)
            return
        limits = self.limits
        framing = RequestFraming(limits.max_header_bytes, limits.max_body_bytes)
        connection = Connection(self, peer, self._inner, framing, limits.request_timeout_s)
        self.connections.add(connection)
        if limits.max_unauthenticated_per_client:
            self._waiting[peer] += 1
        self._spawn(self._serve(conn, connection))

    def _refusal(self, peer: str) -> str | None:
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            return f"all {limits.max_connections} connections are in use"
        most = limits.max_unauthenticated_per_client
        if most and self._waiting[peer] >= most:
            return f"{most} connections from {peer} have not shown the token yet"
        return None

    def _refuse(self, conn: socket.socket, why: str) -> None:
        self.refused += 1
        assert self._loop is not None
        now, (began, refusals) = self._loop.time(), self._round
        self._round = (began, refusals + 1) if now - began < REFUSE_REST_S else (now, 1)
        log.warning("%s: refused a connection: %s", self.label, why)
        if self.limits.tls is not None or self._turned_away is None:
            conn.close()
            return
        message = f"the kiosk's {self.label} is busy: {why}; try again in a few seconds"
        self._turned_away.add(conn, answer(503, message, "TooManyConnections"))

    async def _serve(self, conn: socket.socket, connection: Connection) -> None:
        assert self._loop is not None
        limits, began = self.limits, self._loop.time()
        served = False
        try:
            await self._loop.connect_accepted_socket(
                lambda: connection, conn, ssl=limits.tls,
                ssl_handshake_timeout=limits.tls_handshake_timeout_s if limits.tls else None,
            )  # fmt: skip
            served = True
        except (OSError, TimeoutError) as exc:
            if limits.tls is not None:
                self._handshake_failed(exc, self._loop.time() - began)
        finally:
            if not served:
                conn.close()
                self.release(connection)

    def _handshake_failed(self, exc: Exception, took_s: float) -> None:
        if took_s >= self.limits.tls_handshake_timeout_s:
            why = f"did not finish within {self.limits.tls_handshake_timeout_s:g} s"
        else:
            why = f"failed ({getattr(exc, 'reason', None) or type(exc).__name__})"
        # No address: one line per connection would make every line of a flood from
        # many addresses a new one, which no count can collapse.
        log.warning("%s: closed a connection whose TLS handshake %s", self.label, why)

    def _spawn(self, coro: Any) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)  # asyncio keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    # -- what connections tell the listener ----------------------------------------

    def release(self, connection: Connection) -> None:
        """The connection is closed (or never opened): its place is free."""
        if connection not in self.connections:
            return
        self.connections.discard(connection)
        if self.limits.max_unauthenticated_per_client and not connection.is_authenticated:
            self._no_longer_waiting(connection.peer)

    def authenticated(self, connection: Connection) -> None:
        """The connection showed the token: it no longer counts as waiting."""
        if connection in self.connections and self.limits.max_unauthenticated_per_client:
            self._no_longer_waiting(connection.peer)

    def _no_longer_waiting(self, peer: str) -> None:
        self._waiting[peer] -= 1
        if self._waiting[peer] <= 0:
            del self._waiting[peer]

    # -- closing (uvicorn's server interface) --------------------------------------

    def close(self) -> None:
        """Stop accepting; drop connections uvicorn does not know of (a handshake, a
        503 under way). uvicorn ends the others as it shuts down."""
        if self._loop is not None and not self._paused:
            self._watch(False)
        self._paused = True
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        for connection in list(self.connections):
            if connection.transport is None:
                self.release(connection)
        for task in self._tasks:
            task.cancel()
        if self._turned_away is not None:
            self._turned_away.close()

    async def wait_closed(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class TurnAways:
    """The connections a full listener is answering 503, at most :data:`TURN_AWAY_MAX`.

    The answer goes out at once and our side is shut for writing; then what the client
    sends is read and dropped, so it reads the answer instead of a broken pipe, until
    it closes or :data:`TURN_AWAY_S` passed. A new one past the most ends the oldest,
    so a crowd that never reads its answers cannot keep the next client from reading
    its own. Plain sockets, no transport: a storm of them costs no task each.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._held: dict[socket.socket, asyncio.TimerHandle] = {}  # oldest first

    def add(self, conn: socket.socket, response: bytes) -> None:
        if len(self._held) >= TURN_AWAY_MAX:
            self._drop(next(iter(self._held)))
        try:
            conn.setblocking(False)
            conn.send(response)  # a few hundred bytes into an empty socket buffer
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            conn.close()
            return
        self._loop.add_reader(conn.fileno(), self._drain, conn)
        self._held[conn] = self._loop.call_later(TURN_AWAY_S, self._drop, conn)

    def _drain(self, conn: socket.socket) -> None:
        try:
            if conn.recv(65536):
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        self._drop(conn)  # the client closed, or the connection broke

    def _drop(self, conn: socket.socket) -> None:
        timer = self._held.pop(conn, None)
        if timer is None:
            return
        timer.cancel()
        self._loop.remove_reader(conn.fileno())
        conn.close()

    def close(self) -> None:
        for conn in list(self._held):
            self._drop(conn)
