"""The ``[api]`` section: the API's listeners, their caps and time-outs.

The Unix socket (``kiosk.socket``) is always on; beside it the touchscreen has a socket
of its own (``touchscreen_socket``, given to ``touchscreen_group``) with its own small
cap, so no other client can use up the screen's way in. A TCP listener is on only
with ``tcp_listen``, and then only with TLS and a token. Each listener caps its
connections and holds every client to the time-outs and sizes here; the defaults suit
a kiosk, whose clients are the screen, ``lockerctl`` and a technician's laptop.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.config.check import Table
from kiosk.config.model import ApiSection

UNIX_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL
#: a TLS handshake gets at most this long, whatever the config says
MAX_TLS_HANDSHAKE_S = 5.0
_D = ApiSection()


def read_api(t: Table, base: Path, socket: Path) -> ApiSection:
    """``[api]``; the touchscreen's socket defaults to ``touchscreen.sock`` beside
    ``socket`` (the kiosk's API socket)."""
    listen = t.get_str("tcp_listen", "")
    files = {name: _file(t, name, base) for name in ("tls_cert", "tls_key", "token_file")}
    section = ApiSection(
        tcp_listen=listen,
        tls_cert=files["tls_cert"],
        tls_key=files["tls_key"],
        token_file=files["token_file"],
        rate_per_minute=t.get_int("rate_per_minute", 120, minimum=1, maximum=100_000),
        max_connections=t.get_int("max_connections", _D.max_connections, minimum=4, maximum=1024),
        touchscreen_socket=_touchscreen_socket(t, base, socket),
        touchscreen_group=t.get_str("touchscreen_group", _D.touchscreen_group),
        touchscreen_max_connections=t.get_int(
            "touchscreen_max_connections", _D.touchscreen_max_connections, minimum=2, maximum=32
        ),
        tcp_max_connections=t.get_int(
            "tcp_max_connections", _D.tcp_max_connections, minimum=1, maximum=1024
        ),
        tcp_max_unauthenticated_per_client=t.get_int(
            "tcp_max_unauthenticated_per_client", _D.tcp_max_unauthenticated_per_client,
            minimum=1, maximum=64,
        ),
        tls_handshake_timeout_s=t.get_float(
            "tls_handshake_timeout_s", _D.tls_handshake_timeout_s,
            minimum=0.5, maximum=MAX_TLS_HANDSHAKE_S,
        ),
        request_timeout_s=t.get_float(
            "request_timeout_s", _D.request_timeout_s, minimum=1, maximum=120
        ),
        idle_timeout_s=t.get_int("idle_timeout_s", _D.idle_timeout_s, minimum=1, maximum=300),
        max_header_bytes=t.get_int(
            "max_header_bytes", _D.max_header_bytes, minimum=1024, maximum=65536
        ),
        max_body_bytes=t.get_int(
            "max_body_bytes", _D.max_body_bytes, minimum=1024, maximum=16 * 1024 * 1024
        ),
    )  # fmt: skip
    if listen:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            t.problem("tcp_listen", f"must be HOST:PORT like '0.0.0.0:8443', got {listen!r}")
        for name, value in files.items():
            if value is None:
                t.problem(name, "is required when tcp_listen is set (TLS and a token, always)")
    if section.touchscreen_socket == socket:
        t.problem("touchscreen_socket", "must not be the kiosk's API socket (kiosk.socket)")
    t.check_unknown()
    return section


def _file(t: Table, name: str, base: Path) -> Path | None:
    text = t.get_str(name, "")
    return base / text if text else None


def _touchscreen_socket(t: Table, base: Path, socket: Path) -> Path:
    text = t.get_str("touchscreen_socket", "")
    path = base / text if text else socket.parent / "touchscreen.sock"
    if len(str(path).encode()) > UNIX_SOCKET_PATH_MAX:
        limit = f"path is too long for a Unix socket ({UNIX_SOCKET_PATH_MAX} bytes)"
        t.problem("touchscreen_socket", limit)
    return path
