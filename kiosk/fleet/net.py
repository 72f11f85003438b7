"""Small network helpers shared by the kiosk's link and the operator's client."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from typing import Any


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address: the only place a broker may go without TLS."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """paho's ``on_socket_open``: small messages (a command, its result, an alarm) go out
    at once, not after Nagle's 40 ms wait for more to send."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
