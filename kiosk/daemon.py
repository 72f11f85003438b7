"""The daemon: one asyncio loop that owns the boards, the store and the local API.

Start order: data dir and key, store, boards (every output off first), use cases,
then the socket; ``READY=1`` goes to systemd once the socket accepts requests. Stop
order (SIGTERM, SIGINT): stop accepting, park live door operations in the journal
(the next start reconciles them), every output off, store closed, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from drivers.scanner import Scanner, create_scanner
from kiosk import sdnotify
from kiosk.api import create_app
from kiosk.barcode import display_barcode
from kiosk.bus import Bus
from kiosk.bus_tools import start_wire_trace, stop_wire_trace
from kiosk.codes import load_or_create_key
from kiosk.config import Config
from kiosk.courier import Courier
from kiosk.data_dir import prepare_data_dir
from kiosk.dispatch import Dispatcher, ExpiryClock, backend_from_config
from kiosk.errors import LockerError
from kiosk.hardware import Hardware
from kiosk.service import Kiosk
from kiosk.store import Event, Store
from kiosk.tcp_gate import TcpGate, check_tls_files, read_token
from kiosk.technician import Technician

if TYPE_CHECKING:
    from kiosk.fleet.link import FleetLink

log = logging.getLogger("kiosk")
event_log = logging.getLogger("kiosk.event")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def log_event(event: Event) -> None:
    """One line per event on stderr (the journal). Events never hold a code or PIN; a
    GS1 barcode's group separator (0x1D) is written as ``<GS>``, never as the raw byte."""
    detail = " ".join(f"{k}={_shown(v)}" for k, v in sorted(event.detail.items()))
    level = {"info": logging.INFO, "warning": logging.WARNING}.get(event.severity, logging.ERROR)
    event_log.log(
        level,
        "%s%s%s %s",
        event.kind,
        f" compartment={event.compartment}" if event.compartment else "",
        f" actor={event.actor}" if event.actor else "",
        detail,
    )


def _shown(value: Any) -> Any:
    return display_barcode(value) if isinstance(value, str) else value


class EventLines:
    """Writes events' log lines a moment later, in order, not inside the use case that
    logged them: a pickup's ``unlock`` line is formatted after its lock is queued and
    after the lock's thread has had the interpreter to send it, not between the
    intent's commit and the pulse. :meth:`flush` at the end."""

    DELAY_S = 0.002

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[Event] = []

    def __call__(self, event: Event) -> None:
        if not self._pending:
            self._loop.call_later(self.DELAY_S, self.flush)
        self._pending.append(event)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for event in pending:
            log_event(event)


class AlreadyRunning(LockerError):
    """Another daemon owns this data dir or this socket."""


def lock_data_dir(data_dir: Path) -> int:
    """Hold an exclusive lock on the data dir for the daemon's lifetime."""
    fd = os.open(data_dir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyRunning(f"another daemon is already running on {data_dir}") from None
    return fd


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


def bind_socket(path: Path) -> socket.socket:
    """Bind the API's Unix socket with mode 0660: never wider, not even for a moment."""
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
    sock.listen(64)
    sock.setblocking(False)
    return sock


async def serve(config: Config, ready_file: Path | None = None) -> int:
    loop = asyncio.get_running_loop()
    data_dir = config.kiosk.data_dir
    prepare_data_dir(data_dir)
    lock_fd = lock_data_dir(data_dir)
    check_socket_free(config.kiosk.socket)
    key = load_or_create_key(data_dir / "kiosk.key")
    tcp_token = _check_tcp(config)
    store = Store(data_dir / "kiosk.db")
    lines = EventLines(loop)
    store.listeners.append(lines)
    bus = Bus()
    hardware = Hardware(config)
    trace = start_wire_trace(config)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    scanner: Scanner | None = None
    servers: list[_Server] = []
    kiosk: Kiosk | None = None
    link: FleetLink | None = None
    try:
        hardware.start(loop)
        kiosk = Kiosk(config, store, hardware, key, bus)
        kiosk.start()
        if not await hardware.settled(timeout=3.0):
            log.warning("starting with some doors not yet read")
        tech = Technician(kiosk)
        dispatcher = Dispatcher(config, store, key, backend_from_config(config))
        expiry = ExpiryClock(store, config, kiosk.notices, period_s=config.policy.expiry_check_s,
                             on_released=kiosk.refresh)  # fmt: skip
        tasks += [
            loop.create_task(dispatcher.run(), name="outbox"),
            loop.create_task(expiry.run(), name="expiry"),
        ]
        courier = Courier(kiosk)
        app = create_app(kiosk, courier, tech)
        sock = bind_socket(config.kiosk.socket)
        servers.append(_Server(uvicorn.Config(app, **_UVICORN)))
        tasks.append(loop.create_task(servers[-1].serve(sockets=[sock]), name="api"))
        await _started(servers[-1], tasks[-1])
        if tcp_token is not None:
            servers.append(_tcp_server(config, app, tcp_token))
            tasks.append(loop.create_task(servers[-1].serve(), name="api"))
            await _started(servers[-1], tasks[-1])
            log.info("API also on TCP %s (TLS, token, %d requests a minute per client)",
                     config.api.tcp_listen, config.api.rate_per_minute)  # fmt: skip
        log.info("ready: kiosk %s, API on %s", config.kiosk.id, config.kiosk.socket)
        sdnotify.ready()
        if ready_file is not None:
            ready_file.write_text(str(os.getpid()))
        tasks.append(loop.create_task(_watchdog(), name="watchdog"))
        scanner = start_scanner(config, loop, bus)
        link = start_fleet(kiosk, courier, tech)
        await stop.wait()
        log.info("stopping")
        sdnotify.stopping()
        return 0
    finally:
        for server in servers:
            server.should_exit = True
        bus.close()
        if link is not None:
            await link.stop()
        if kiosk is not None:
            await kiosk.doors.park()
        for task in tasks:
            if task.get_name() != "api":
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if scanner is not None:
            scanner.stop()
        hardware.close()
        stop_wire_trace(trace)
        if kiosk is not None:  # tries refused in a lockout still going on: their count
            with contextlib.suppress(LockerError):
                kiosk.keypads.flush()
        with contextlib.suppress(Exception):
            store.log_event("kiosk_stopped", "info", None, None)
        lines.flush()
        store.close()
        if servers:
            with contextlib.suppress(OSError):
                config.kiosk.socket.unlink()
        os.close(lock_fd)


_UVICORN: dict[str, Any] = {
    "log_config": None,
    "access_log": False,
    "lifespan": "off",
    "timeout_graceful_shutdown": 3,
}


async def _started(server: _Server, task: asyncio.Task[None]) -> None:
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it (a port in use, say)
            raise LockerError("the API server stopped while starting")
        await asyncio.sleep(0.01)


def _check_tcp(config: Config) -> str | None:
    """The TCP listener's token, its files checked; None when the listener is off."""
    api = config.api
    if not api.tcp_listen:
        return None
    assert api.token_file and api.tls_cert and api.tls_key  # the config insists
    token = read_token(api.token_file)
    check_tls_files(api.tls_cert, api.tls_key)
    return token


def _tcp_server(config: Config, app: Any, token: str) -> _Server:
    api = config.api
    host, port = api.host_port
    gate = TcpGate(app, token, api.rate_per_minute)
    return _Server(uvicorn.Config(
        gate, host=host, port=port, ssl_certfile=str(api.tls_cert),
        ssl_keyfile=str(api.tls_key), **_UVICORN,
    ))  # fmt: skip


def start_scanner(config: Config, loop: asyncio.AbstractEventLoop, bus: Bus) -> Scanner | None:
    """Scans go to the touchscreen's stream only, never to a log: one may be a code."""
    sc = config.scanner
    if sc.backend == "none":
        return None

    def on_scan(text: str) -> None:
        loop.call_soon_threadsafe(bus.publish_scan, text)

    scanner = create_scanner(sc.backend, sc.device, on_scan, sc.baud)
    scanner.start()
    log.info("reading the %s scanner at %s", sc.backend, sc.device)
    return scanner


def start_fleet(kiosk: Kiosk, courier: Courier, tech: Technician) -> FleetLink | None:
    """The link to the operator's broker, if configured. A link that cannot start is an
    event and a status line; the kiosk itself runs on without it."""
    fleet = kiosk.config.fleet
    if not fleet.enabled:
        return None
    # Loaded here: MQTT and the signature code (about 9 MB) only where a fleet is.
    from kiosk.fleet.commands import Commands
    from kiosk.fleet.envelope import Keyring
    from kiosk.fleet.link import FleetLink

    try:
        assert fleet.keyring is not None  # the config insists
        keyring = Keyring.load(fleet.keyring)
        password = read_secret(fleet.password_file) if fleet.password_file else None
    except LockerError as exc:
        error = f"the fleet link is off: {exc}"
        kiosk.store.log_event("fleet_link_down", "warning", None, None, error=error)
        kiosk.fleet_status = lambda: {"enabled": True, "state": "off", "broker": fleet.broker,
                                      "last_error": error, "unacked": 0}  # fmt: skip
        log.error("%s", error)
        return None
    link = FleetLink(kiosk, Commands(kiosk, courier, tech, keyring), password)
    kiosk.fleet_status = link.status
    link.start()
    log.info("fleet link to %s (kiosk %s)", fleet.broker, kiosk.config.kiosk.id)
    return link


def read_secret(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise LockerError(f"cannot read {path}: {exc}") from exc
    if not text:
        raise LockerError(f"{path} is empty")
    return text


async def _watchdog() -> None:
    interval = sdnotify.watchdog_interval()
    if interval is None:
        return
    while True:
        sdnotify.watchdog()
        await asyncio.sleep(interval)


def run(config: Config, ready_file: Path | None = None) -> int:
    return asyncio.run(serve(config, ready_file))
