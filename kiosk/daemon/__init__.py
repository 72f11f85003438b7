"""The daemon: one asyncio loop that owns the boards, the store and the local API.

Start order: data dir, the database and key checked against each other (a lost or
foreign one refuses the start: :mod:`kiosk.daemon.data_dir`), boards (every output off first),
use cases, the store against its mark (before any door is read), then the socket;
``READY=1`` goes to systemd once the socket accepts requests. Stop
order (SIGTERM, SIGINT): stop accepting, park live door operations in the journal
(the next start reconciles them), every output off, store closed, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.scanner import Scanner, create_scanner
from kiosk.api import create_app
from kiosk.api.listeners.server import (
    AlreadyRunning,
    ApiServer,
    api_servers,
    check_sockets_free,
    connections_view,
    ensure_fd_limit,
    remove_sockets,
    started,
)
from kiosk.api.listeners.tcp_gate import check_tls_files, read_token
from kiosk.barcode import display_barcode
from kiosk.broadcast import Bus
from kiosk.clock import KioskClock
from kiosk.config import Config
from kiosk.core import Kiosk, Settings
from kiosk.courier import Courier
from kiosk.daemon import sdnotify
from kiosk.daemon.data_dir import (
    DataDir,
    Opened,
    check_against_mark,
    open_data_dir,
    prepare_data_dir,
)
from kiosk.daemon.housekeeping import ExpiryClock
from kiosk.disk import DiskWatch
from kiosk.doors.hardware import Hardware
from kiosk.errors import LockerError
from kiosk.notify.dispatcher import Dispatcher, backend_from_config
from kiosk.protocol.events import EventKind, Severity
from kiosk.store import Event
from kiosk.store.mark import MarkKeeper
from kiosk.technician import Technician
from kiosk.technician.bus_tools import start_wire_trace, stop_wire_trace

if TYPE_CHECKING:
    from kiosk.fleet.link import FleetLink

log = logging.getLogger("kiosk")
event_log = logging.getLogger("kiosk.event")


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


def log_unwritten(event: Event) -> None:
    """An event the full disk refused: its line now, marked; the row when there is room."""
    log_event(dataclasses.replace(event, detail={**event.detail, "not_stored_yet": True}))


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


def lock_data_dir(data_dir: Path) -> int:
    """Hold an exclusive lock on the data dir for the daemon's lifetime."""
    fd = os.open(data_dir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyRunning(f"another daemon is already running on {data_dir}") from None
    return fd


async def serve(config: Config, ready_file: Path | None = None) -> int:
    loop = asyncio.get_running_loop()
    data_dir = config.kiosk.data_dir
    prepare_data_dir(data_dir)
    lock_fd = lock_data_dir(data_dir)
    check_sockets_free(config)
    tcp_token = _check_listeners(config)
    lines = EventLines(loop)
    opened = open_data_dir(config, listeners=[lines])
    key, store = opened.key, opened.store
    # Before the kiosk stamps anything (a first start's identity is stamped with the wall
    # clock: there is nothing else yet).
    timekeeper = KioskClock(config.clock, store)
    store.unwritten_listeners.append(log_unwritten)
    bus = Bus()
    hardware = Hardware(config)
    trace = start_wire_trace(config)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    scanner: Scanner | None = None
    servers: list[ApiServer] = []
    kiosk: Kiosk | None = None
    link: FleetLink | None = None
    keeper: MarkKeeper | None = None
    try:
        hardware.start(loop)
        settings = Settings(wall_clock=timekeeper.now)
        kiosk = Kiosk(config, store, hardware, key, bus, settings)
        kiosk.timekeeper = timekeeper
        kiosk.disk = DiskWatch(store, config.storage, bus.publish)
        kiosk.start()
        keeper = check_the_store(kiosk, opened, loop)
        if not await hardware.settled(timeout=3.0):
            log.warning("starting with some doors not yet read")
        tech = Technician(kiosk)
        dispatcher = Dispatcher(config, store, key, backend_from_config(config), timekeeper.now)
        expiry = ExpiryClock(store, config, kiosk.notices, timekeeper.now,
                             period_s=config.policy.expiry_check_s, on_released=kiosk.refresh,
                             kiosk_clock=timekeeper, disk=kiosk.disk)  # fmt: skip
        tasks += [
            loop.create_task(dispatcher.run(), name="outbox"),
            loop.create_task(expiry.run(), name="expiry"),
        ]
        courier = Courier(kiosk)
        app = create_app(kiosk, courier, tech)
        await start_api(config, app, tcp_token, kiosk, servers, tasks)
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
            store.log_event(EventKind.KIOSK_STOPPED, Severity.INFO, None, None)
        if keeper is not None:
            keeper.close()
        lines.flush()
        if store.unwritten_count:
            log.error("%d events could not be stored for want of space; their lines are "
                      "above, marked not_stored_yet", store.unwritten_count)  # fmt: skip
        store.close()
        if servers:
            remove_sockets(config)
        os.close(lock_fd)


async def start_api(config: Config, app: Any, tcp_token: str | None, kiosk: Kiosk,
                    servers: list[ApiServer], tasks: list[asyncio.Task[None]]) -> None:  # fmt: skip
    """Every listener of the API (kiosk/api/listeners/), each serving when this returns; the
    servers and their tasks join ``servers`` and ``tasks`` as they start, so a stop
    finds those that did."""
    loop = asyncio.get_running_loop()
    for server in api_servers(config, app, tcp_token):
        servers.append(server)
        tasks.append(loop.create_task(server.serve(), name="api"))
        await started(server, tasks[-1])
    kiosk.connections_status = lambda: connections_view(servers)


def check_the_store(kiosk: Kiosk, opened: Opened, loop: asyncio.AbstractEventLoop) -> MarkKeeper:
    """At start, with the compartments in the store and before any door was read: the
    store against the mark it left (an alarm, and a check for each compartment whose
    contents the store lost); then the mark kept up to date from here on. The item
    sensors are compared as each door is first read (:mod:`kiosk.doors.checks`)."""
    check_against_mark(kiosk.store, opened.mark, opened.mark_error, kiosk.start_check.flag)
    kiosk.refresh_all()
    path = DataDir(kiosk.config.kiosk.data_dir).mark
    keeper = MarkKeeper(kiosk.store, path, loop, hold=lambda: bool(kiosk.start_check.unwritten))
    keeper.write_now()
    return keeper


def _check_listeners(config: Config) -> str | None:
    """The file-descriptor limit raised for the API's caps; the TCP listener's token,
    its files checked (None when the listener is off)."""
    ensure_fd_limit(config)
    api = config.api
    if not api.tcp_listen:
        return None
    assert api.token_file and api.tls_cert and api.tls_key  # the config insists
    token = read_token(api.token_file)
    check_tls_files(api.tls_cert, api.tls_key)
    return token


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
        kiosk.staff_sync.link_down()  # sign-ins go on with the staff list the kiosk has
        kiosk.store.log_event(EventKind.FLEET_LINK_DOWN, Severity.WARNING, None, None, error=error)
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
