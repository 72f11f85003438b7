"""Tell systemd how the daemon is doing (``sd_notify``), without a dependency.

Under a unit with ``Type=notify`` systemd passes a datagram socket in ``$NOTIFY_SOCKET``; the
daemon sends ``READY=1`` once it serves, ``WATCHDOG=1`` at least every ``watchdog_interval()``
seconds, and ``STOPPING=1`` on its way out. Outside systemd every call is a harmless no-op that
returns False, so callers never need to check whether they run under systemd.

Sends never block: they are made from the event loop, and a full socket queue is reported as
False rather than waited out.
"""

from __future__ import annotations

import os
import socket

__all__ = ["notify", "ready", "status", "stopping", "watchdog", "watchdog_interval"]


def notify(message: str) -> bool:
    """Send ``message`` (e.g. ``"READY=1"``) to ``$NOTIFY_SOCKET``.

    Supports filesystem sockets (``/run/...``) and abstract ones (``@name``). Returns True if
    the datagram was sent, False if there is no socket to send to or the send failed.
    """
    address = _socket_address(os.environ.get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(message.encode("utf-8"), address)
    except OSError:
        return False
    return True


def _socket_address(value: str) -> str | None:
    if not hasattr(socket, "AF_UNIX"):
        return None
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]  # an abstract socket: a leading NUL byte in the address
    if value.startswith("/"):
        return value
    return None  # unset, or a kind of address this module does not speak (vsock:)


def ready() -> bool:
    """The daemon has started and serves: ``READY=1``."""
    return notify("READY=1")


def stopping() -> bool:
    """The daemon is shutting down: ``STOPPING=1``."""
    return notify("STOPPING=1")


def watchdog() -> bool:
    """The daemon is alive: ``WATCHDOG=1``."""
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """A one-line status shown by ``systemctl status``: ``STATUS=<text>``.

    Line breaks become spaces: the protocol is one assignment per line, and a status text must
    not be able to send ``READY=1`` on its own.
    """
    return notify("STATUS=" + " ".join(text.splitlines()))


def watchdog_interval() -> float | None:
    """Seconds between ``WATCHDOG=1`` pings, or None if no watchdog is asked of this process.

    Half of ``$WATCHDOG_USEC``, as systemd recommends. None when the variable is unset,
    malformed or not positive, or when ``$WATCHDOG_PID`` names another process (a child that
    inherited the environment must not ping on its parent's behalf).
    """
    pid = os.environ.get("WATCHDOG_PID")
    if pid is not None and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 2 / 1_000_000
