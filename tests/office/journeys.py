"""What the office's journeys share: waiting for rows, and what a kiosk and the office hold."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from testkit.broker import Broker
from testkit.daemon import TECHNICIAN, Daemon
from testkit.fleet import USERS
from testkit.mqtt_peer import Peer

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout_s: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}: last saw {value!r}")
        time.sleep(0.1)


def office_events(engine: Engine, kiosk: str) -> list[tuple[int, str]]:
    """``(seq, kind)`` of a kiosk's events as the office stored them, in arrival order."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq, kind FROM events WHERE kiosk = :k ORDER BY id"), {"k": kiosk}
        ).all()
    return [(int(seq), str(kind)) for seq, kind in rows]


def kiosk_events(daemon: Daemon) -> list[tuple[int, str]]:
    """``(seq, kind)`` of the kiosk's own event log."""
    return [(int(e["seq"]), str(e["kind"])) for e in daemon.events()]


def caught_up(
    engine: Engine, daemon: Daemon, kiosk: str, in_order: bool = True
) -> Callable[[], bool]:
    """True once the office holds exactly the kiosk's log; ``in_order``: and stored it in
    the kiosk's order (not so where a repaired gap arrived after later events)."""

    def check() -> bool:
        ours = office_events(engine, kiosk)
        return (ours if in_order else sorted(ours)) == kiosk_events(daemon)

    return check


def open_door(daemon: Daemon, compartment: str) -> None:
    """A technician at the kiosk opens one door (the simulated person closes it)."""
    done = daemon.ctl("open", compartment, pin=TECHNICIAN[1])
    assert done.returncode == 0, done.stderr


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


@contextmanager
def peer(broker: Broker, kiosk: str) -> Iterator[Peer]:
    """An MQTT client logged in with ``kiosk``'s own account (as a simulated kiosk)."""
    client = Peer(broker, kiosk, USERS[kiosk])
    try:
        yield client
    finally:
        client.close()
