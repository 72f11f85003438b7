"""The daemon's API listeners, from its config, with uvicorn around each.

Three listeners serve the one application, each with a cap of its own (defaults):

* ``kiosk.socket``: ``lockerctl`` and scripts, the socket's group; ``max_connections`` (64);
* ``api.touchscreen_socket``: the touchscreen alone, given to ``touchscreen_group``;
  ``touchscreen_max_connections`` (8), so no other client can use up the screen's way in;
* ``api.tcp_listen``, when set: a technician's laptop, TLS and a token;
  ``tcp_max_connections`` (32), of which ``tcp_max_unauthenticated_per_client`` (4) per
  address before the token.

The process's file-descriptor limit must hold every cap at once, and the rest of the
daemon beside them: :func:`ensure_fd_limit` raises the soft limit as far as needed,
and refuses to start (a person must raise ``LimitNOFILE``) when the hard limit is
lower. The unit's ``LimitNOFILE`` holds the arithmetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import grp
import logging
import os
import resource
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from kiosk.api.listeners.listener import TURN_AWAY_MAX, Limits, Listener
from kiosk.api.listeners.tcp_gate import TcpGate, server_context
from kiosk.config import Config
from kiosk.errors import LockerError, NeedsAPerson

__all__ = [
    "RESERVED_FDS",
    "AlreadyRunning",
    "ApiServer",
    "api_servers",
    "bind_socket",
    "check_sockets_free",
    "connections_view",
    "ensure_fd_limit",
    "fds_needed",
    "remove_sockets",
    "started",
]

log = logging.getLogger(__name__)

#: descriptors the daemon needs beside its listeners: the database and its journal,
#: the key, the data dir's lock, serial ports, a scanner, the fleet link, notification
#: back ends, the event loop's own, a backup's copy; about 20 in use when idle
RESERVED_FDS = 128
#: connections the kernel holds for a listener until it accepts them (no descriptor
#: of the daemon's); it accepts at once, refusing those past a cap
BACKLOG = 128


class AlreadyRunning(LockerError):
    """Another daemon owns this data dir or this socket."""


# -- the sockets ---------------------------------------------------------------------


def check_socket_free(path: Path) -> None:
    """Refuse if a daemon answers on ``path``; remove a stale socket file."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # stale, from a daemon that did not exit cleanly
    else:
        raise AlreadyRunning(f"another daemon is already listening on {path}")
    finally:
        probe.close()


def check_sockets_free(config: Config) -> None:
    """Both of the daemon's Unix sockets, before anything else starts."""
    for path in (config.kiosk.socket, config.api.touchscreen_socket):
        check_socket_free(path)


def bind_socket(path: Path, group: str = "") -> socket.socket:
    """Bind a Unix socket with mode 0660, never wider, not even for a moment; given to
    ``group`` (a name) before it listens, so no one else can connect first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    check_socket_free(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # bind() creates the file at 0777 less the umask; a chmod after it would leave a
    # moment in which anyone may connect. The umask is the process's, but only for these
    # few microseconds, while the API and the scanner are not running yet.
    umask = os.umask(0o117)
    try:
        sock.bind(str(path))
    finally:
        os.umask(umask)
    if group:
        _give_to_group(path, group)
    sock.listen(BACKLOG)
    return sock


def _give_to_group(path: Path, group: str) -> None:
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        log.warning("there is no group %r on this machine: %s keeps the daemon's own group, "
                    "whose members may all use it", group, path)  # fmt: skip
        return
    try:
        os.chown(path, -1, gid)
    except PermissionError:
        raise NeedsAPerson(
            f"cannot give the socket {path} to group {group!r}: the daemon's user must be a "
            f"member of it (systemd/locker-kiosk.sysusers.conf: m locker-kiosk {group})"
        ) from None


def bind_tcp(listen: str, host: str, port: int) -> list[socket.socket]:
    """A listening socket for each address ``host`` names (as asyncio would bind them)."""
    found: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)  # fmt: skip
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            found.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError as exc:
        for sock in found:
            sock.close()
        raise LockerError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    return found


def remove_sockets(config: Config) -> None:
    """At the end: the socket files go, so the next start finds none."""
    for path in (config.kiosk.socket, config.api.touchscreen_socket):
        with contextlib.suppress(OSError):
            path.unlink()


# -- the limits ----------------------------------------------------------------------


def limits_of(config: Config) -> list[Limits]:
    """Each listener the config asks for, with its caps (TLS set up by the caller)."""
    api = config.api
    socket = Limits("socket", "API socket", api.max_connections, api.request_timeout_s,
                    api.idle_timeout_s, api.max_header_bytes, api.max_body_bytes)  # fmt: skip
    found = [
        socket,
        dataclasses.replace(socket, name="touchscreen", label="touchscreen socket",
                            max_connections=api.touchscreen_max_connections),
    ]  # fmt: skip
    if api.tcp_listen:
        found.append(dataclasses.replace(
            socket, name="tcp", label="API over TCP", max_connections=api.tcp_max_connections,
            max_unauthenticated_per_client=api.tcp_max_unauthenticated_per_client,
            tls_handshake_timeout_s=api.tls_handshake_timeout_s,
        ))  # fmt: skip
    return found


def fds_needed(config: Config) -> tuple[int, str]:
    """The descriptors the daemon may need at once, and the sum that makes them."""
    parts = [(limits.max_connections + TURN_AWAY_MAX, limits.label)
             for limits in limits_of(config)]  # fmt: skip
    parts.append((RESERVED_FDS, "the rest of the daemon"))
    told = " + ".join(f"{n} ({what})" for n, what in parts)
    return sum(n for n, _ in parts), told


def ensure_fd_limit(config: Config) -> int:
    """Raise the soft limit on open files to what the caps need; the limit in force."""
    need, told = fds_needed(config)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return soft
    if hard != resource.RLIM_INFINITY and hard < need:
        raise NeedsAPerson(
            f"the daemon may open only {hard} files, fewer than the {need} its API's "
            f"connection caps and the rest of it need: {told}; raise LimitNOFILE in the unit, "
            "or lower the caps in [api]"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return need


# -- uvicorn -------------------------------------------------------------------------


def _uvicorn_settings(limits: Limits) -> dict[str, Any]:
    return {
        "log_config": None,
        "access_log": False,
        "lifespan": "off",
        "timeout_graceful_shutdown": 3,
        # A WebSocket upgrade would take the connection out of the listener's hands;
        # the API has no WebSocket route.
        "ws": "none",
        # X-Forwarded-For from a loopback peer would otherwise replace the client's
        # address: the TCP rate limit would be per forged address.
        "proxy_headers": False,
        "timeout_keep_alive": limits.idle_timeout_s,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
    }


class ApiServer(uvicorn.Server):
    """uvicorn on one listener: the listener's own accept loop in place of asyncio's
    server, and no signal handling (the daemon owns SIGTERM)."""

    def __init__(self, app: Any, limits: Limits, bind: Callable[[], Sequence[socket.socket]],
                 ready: str = "") -> None:  # fmt: skip
        super().__init__(uvicorn.Config(app, **_uvicorn_settings(limits)))
        self.limits = limits
        self.listener: Listener | None = None
        self._bind = bind
        self._ready = ready

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        loop = asyncio.get_running_loop()
        config, state, shared = self.config, self.server_state, self.lifespan.state

        def inner(app_state: dict[str, Any]) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state={**shared, **app_state}, _loop=loop
            )

        self.listener = Listener(self.limits, self._bind(), inner)
        self.listener.start(loop)
        self.servers = [self.listener]  # type: ignore[list-item]  # close() and wait_closed()
        if self._ready:
            log.info("%s", self._ready)
        self.started = True


def api_servers(config: Config, app: Any, tcp_token: str | None) -> list[ApiServer]:
    """One server per listener, in the order they start; each binds as it starts."""
    api = config.api
    by_name = {limits.name: limits for limits in limits_of(config)}
    servers = [
        ApiServer(app, by_name["socket"], lambda: [bind_socket(config.kiosk.socket)]),
        ApiServer(app, by_name["touchscreen"],
                  lambda: [bind_socket(api.touchscreen_socket, api.touchscreen_group)],
                  ready=f"touchscreen socket on {api.touchscreen_socket}"),
    ]  # fmt: skip
    if tcp_token is not None and "tcp" in by_name:
        assert api.tls_cert and api.tls_key  # the config insists
        limits = by_name["tcp"]
        tls = server_context(api.tls_cert, api.tls_key)
        host, port = api.host_port
        servers.append(ApiServer(
            TcpGate(app, tcp_token, api.rate_per_minute),
            dataclasses.replace(limits, tls=tls),
            lambda: bind_tcp(api.tcp_listen, host, port),
            ready=f"API also on TCP {api.tcp_listen} (TLS, token, {api.rate_per_minute} "
                  "requests a minute per client)",
        ))  # fmt: skip
    return servers


async def started(server: ApiServer, task: asyncio.Task[None]) -> None:
    """Wait until ``server`` serves; what stopped it while starting is raised."""
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it (a port in use, say)
            raise LockerError("the API server stopped while starting")
        await asyncio.sleep(0.01)


def connections_view(servers: Sequence[ApiServer]) -> dict[str, Any]:
    """Each listener's connections, for ``GET /v1/status``."""
    return {s.limits.name: s.listener.view() for s in servers if s.listener is not None}
