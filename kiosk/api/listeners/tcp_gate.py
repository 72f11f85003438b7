"""The API over TCP: off by default; when on, TLS, a token and a rate limit, always.

On the kiosk itself the API is a Unix socket whose file permissions decide who may talk
to the daemon. A TCP listener (``[api] tcp_listen``, for a maintenance laptop on the
kiosk's service network) has no such gate, so :class:`TcpGate` stands in front of the
same application:

* TLS from ``tls_cert``/``tls_key`` (the listener terminates it, with a handshake
  time-out; there is no plain-HTTP mode);
* every request carries ``X-Kiosk-Token: <token>``, compared in constant time with the
  token in ``token_file`` (32 or more characters; a file others may read is refused);
  a missing or wrong token is 401 and logged, never echoed;
* at most ``rate_per_minute`` requests per client address (a token bucket), else 429
  with ``Retry-After``; a wrong token costs as much as a right one, so guessing is
  bounded by the same rate. The address is the connection's own peer: an
  ``X-Forwarded-For`` header is never read (uvicorn's proxy headers are off too), so a
  client cannot buy a fresh allowance by naming another address;
* a connection that brings the right token is marked
  (:meth:`~kiosk.api.listeners.connection.Connection.authenticated`): until then it counts
  against the listener's cap of connections per address that have not shown it.

Sessions (``Authorization: Bearer ...``) work over TCP exactly as on the socket: the
token only lets a client reach the API, it signs nobody in.

What opens many doors at once or lifts the mass-open guard is for the kiosk itself
only (:data:`LOCAL_ONLY`: open all, self-test, discovery, the guard's reset), and so
are the bench tools that put frames on the buses or switch the wire trace (bus scans,
the trace): over TCP it is 403, whoever asks. So is the touchscreen's stream, which
carries the scanner's scans (a scan may be a pickup code), and which the application
itself serves only on the touchscreen's socket. Only HTTP passes; a WebSocket is refused
before it opens.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import ssl
import stat
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from kiosk.api.listeners.connection import connection_of
from kiosk.errors import NeedsAPerson

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_HEADER = b"x-kiosk-token"
MIN_TOKEN_CHARS = 32
LOCAL_ONLY = re.compile(
    r"/v1/(compartments/open-all|selftest|discover|guard/reset|boards/[^/]+/scan-bus"
    r"|bus-scan|boards/[^/]+/trace|touchscreen/stream)/?"
)
_MAX_CLIENTS = 1024  # buckets kept; the oldest is dropped past this


class TcpSetupError(NeedsAPerson):
    """The TCP listener cannot be set up as configured (token file, certificate)."""


def read_token(path: Path) -> str:
    """The token in ``path``: refused if others may read the file or it is too short."""
    try:
        info = path.stat()
        token = path.read_text().strip()
    except OSError as exc:
        raise TcpSetupError(f"cannot read the API token file {path}: {exc.strerror}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TcpSetupError(
            f"the API token file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); fix it with: chmod 600 {path}"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise TcpSetupError(
            f"the API token in {path} is too short ({len(token)} characters, at least "
            f"{MIN_TOKEN_CHARS}); make one with: openssl rand -hex 32 > {path}"
        )
    return token


def check_tls_files(cert: Path, key: Path) -> None:
    """Load the pair once, so that a bad file stops the start with its name."""
    server_context(cert, key)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The listener's TLS: the certificate and key, Python's defaults for a server
    (TLS 1.2 or newer), HTTP/1.1 offered by ALPN."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(os.fspath(cert), os.fspath(key))
    except (OSError, ssl.SSLError) as exc:
        raise TcpSetupError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from exc
    context.set_alpn_protocols(["http/1.1"])
    return context


class TokenBucket:
    """``rate_per_minute`` requests a minute per client, with a burst of a tenth of it."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_s = rate_per_minute / 60.0
        self.burst = max(1.0, rate_per_minute / 10.0)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """0 if ``client`` may go on, else the seconds until it may."""
        now = self._clock()
        tokens, then = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate_s)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate_s
        self._buckets[client] = (tokens, now)  # re-inserted: the dict stays oldest-first
        if len(self._buckets) > _MAX_CLIENTS:
            del self._buckets[next(iter(self._buckets))]
        return wait


class TcpGate:
    """ASGI middleware: a request reaches ``app`` only within the rate and with the token."""

    def __init__(self, app: App, token: str, rate_per_minute: int) -> None:
        self.app = app
        self._token = token.encode()
        self.bucket = TokenBucket(rate_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        connection = connection_of(scope)
        client = connection.peer if connection else (scope.get("client") or ("?", 0))[0]
        wait = self.bucket.take(client)
        if wait > 0:
            await _refuse(send, 429, "too many requests; slow down", {"retry-after": wait})
            return
        given = dict(scope.get("headers") or []).get(TOKEN_HEADER, b"")
        if not hmac.compare_digest(given, self._token):
            log.warning("API over TCP: %s token from %s refused",
                        "a wrong" if given else "no", client)  # fmt: skip
            await _refuse(send, 401, "this listener needs the kiosk's API token", {})
            return
        if connection is not None:
            connection.authenticated()
        if LOCAL_ONLY.fullmatch(scope.get("path", "")):
            log.warning("API over TCP: %s %s from %s refused: only at the kiosk",
                        scope.get("method"), scope.get("path"), client)  # fmt: skip
            await _refuse(send, 403, "this can only be done at the kiosk itself", {})
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str, extra: dict[str, float]) -> None:
    body = json.dumps({"error": message, "kind": "TcpGate"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if "retry-after" in extra:
        headers.append((b"retry-after", str(int(extra["retry-after"] + 0.999)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
