"""The ``[api]`` section: the API's listeners, their caps and time-outs.

The Unix socket (``kiosk.socket``) is always on; beside it the touchscreen has a socket
of its own (``touchscreen_socket``, given to ``touchscreen_group``) with its own small
cap, so no other client can use up the screen's way in. A TCP listener is on only
with ``tcp_listen``, and then only with TLS and a token. Each listener caps its
connections and holds every client to the time-outs and sizes here; the defaults suit
a kiosk, whose clients are the screen, ``lockerctl`` and a technician's laptop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field

from kiosk.config.check import Problems
from kiosk.config.schema import SECTION, File, Float, Int, OptionalFile, Str

UNIX_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL
#: a TLS handshake gets at most this long, whatever the config says
MAX_TLS_HANDSHAKE_S = 5.0


@dataclass(frozen=True)
class ApiSection:
    """The API's listeners (docs/security.md: "The local API", "The API over TCP"). The
    kiosk's socket serves lockerctl and scripts; the touchscreen has a socket of its own,
    given to the touchscreen's group, with a small cap of its own, so that no other client
    can use up the screen's way in. Every listener caps its connections and holds each
    client to the time-outs and sizes below: an idle or slow (slowloris) client is closed,
    a flood of headers refused. The unit's LimitNOFILE holds every cap at once (the daemon
    refuses to start if it does not).

    The local API also over TCP, for a maintenance laptop on the kiosk's service network:
    off unless tcp_listen is set; then TLS and a token are required, and each client is
    rate limited. The token file holds 32+ characters (openssl rand -hex 32) and must be
    readable by the daemon only (mode 0600). Clients send it as "X-Kiosk-Token: ..."."""

    __pydantic_config__ = SECTION

    tcp_listen: Annotated[Str, Field(description='e.g. "0.0.0.0:8443"; empty: no TCP listener')] = (
        ""
    )
    tls_cert: Annotated[
        OptionalFile, Field(description="PEM certificate (chain) for the listener")
    ] = None
    tls_key: Annotated[OptionalFile, Field(description="its PEM private key")] = None
    token_file: Annotated[OptionalFile, Field(description="file holding the API token")] = None
    rate_per_minute: Annotated[
        Int,
        Field(
            ge=1,
            le=100_000,
            description="requests a minute per client address (bursts of a tenth); the "
            "connection's own address: X-Forwarded-For is never read",
        ),
    ] = 120
    max_connections: Annotated[
        Int,
        Field(
            ge=4,
            le=1024,
            description="connections at once on kiosk.socket (lockerctl, scripts); one more is "
            'answered 503 "busy"',
        ),
    ] = 64
    touchscreen_socket: Annotated[
        File,
        Field(
            description='the touchscreen\'s socket; left out or "": touchscreen.sock beside '
            "kiosk.socket",
            json_schema_extra={"default": ""},  # the file's default; the loader puts it there
        ),
    ] = Path("/run/locker-kiosk/touchscreen.sock")
    touchscreen_group: Annotated[
        Str,
        Field(
            description="its group (the daemon's user must be a member); \"\": the daemon's own "
            "group (a demo, a desk)"
        ),
    ] = "locker-ui"
    touchscreen_max_connections: Annotated[
        Int, Field(ge=2, le=32, description="on the touchscreen's socket")
    ] = 8
    tcp_max_connections: Annotated[Int, Field(ge=1, le=1024, description="on the TCP listener")] = (
        32
    )
    tcp_max_unauthenticated_per_client: Annotated[
        Int,
        Field(
            ge=1,
            le=64,
            description="of those, per client address before it has shown the token, the TLS "
            "handshake included",
        ),
    ] = 4
    tls_handshake_timeout_s: Annotated[
        Float,
        Field(
            ge=0.5,
            le=MAX_TLS_HANDSHAKE_S,
            description="a TLS handshake not done by then is dropped",
        ),
    ] = 5.0
    request_timeout_s: Annotated[
        Float,
        Field(
            ge=1,
            le=120,
            description="a request must arrive whole within this (a new connection's first one: "
            "of the connect), else 408 and closed",
        ),
    ] = 10.0
    idle_timeout_s: Annotated[
        Int, Field(ge=1, le=300, description="a kept-alive connection with nothing to do is closed")
    ] = 5
    max_header_bytes: Annotated[
        Int, Field(ge=1024, le=65536, description="request line and headers; more: 431")
    ] = 8192
    max_body_bytes: Annotated[
        Int, Field(ge=1024, le=16 * 1024 * 1024, description="a request's body; more: 413")
    ] = 65536

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.tcp_listen.rpartition(":")
        return host.strip("[]"), int(port)


def touchscreen_beside(raw: dict[str, object], socket: Path) -> dict[str, object]:
    """``[api]`` as written, with the touchscreen's socket beside ``socket`` (the
    kiosk's API socket) where it is left out or ``""``."""
    if raw.get("touchscreen_socket", "") == "":
        return {**raw, "touchscreen_socket": str(socket.parent / "touchscreen.sock")}
    return raw


def check_api(section: ApiSection, socket: Path, problems: Problems) -> None:
    """What ``[api]`` must agree on, within itself and with ``socket`` (``kiosk.socket``)."""
    path = section.touchscreen_socket
    if len(str(path).encode()) > UNIX_SOCKET_PATH_MAX:
        limit = f"path is too long for a Unix socket ({UNIX_SOCKET_PATH_MAX} bytes)"
        problems.add("api.touchscreen_socket", limit)
    listen = section.tcp_listen
    if listen:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            message = f"must be HOST:PORT like '0.0.0.0:8443', got {listen!r}"
            problems.add("api.tcp_listen", message)
        for name in ("tls_cert", "tls_key", "token_file"):
            if getattr(section, name) is None:
                message = "is required when tcp_listen is set (TLS and a token, always)"
                problems.add(f"api.{name}", message)
    if path == socket:
        problems.add("api.touchscreen_socket", "must not be the kiosk's API socket (kiosk.socket)")
