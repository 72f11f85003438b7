"""The outbox keeps a code's nonce only while it can still reach its recipient.

The database's bytes (the file and its write-ahead log) are searched for the nonce, as
someone holding a copy of the SD card and the kiosk key would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import sqlite3
from pathlib import Path

import pytest

from kiosk.config import Config, load_config
from kiosk.daemon.housekeeping import ExpiryClock
from kiosk.domain import Purpose
from kiosk.notify import DeliveryError, Notification
from kiosk.notify.dispatcher import Dispatcher
from kiosk.notify.text import Notices
from kiosk.store import OutboxItem, Store
from kiosk.store.schema import MIGRATIONS, _split
from kiosk.store.store import CompartmentSpec

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Gateway:
    """A recipient's gateway that refuses every message for good, or takes them all."""

    def __init__(self, refuses: bool) -> None:
        self.refuses = refuses
        self.sent: list[Notification] = []

    async def send(self, n: Notification) -> None:
        if self.refuses:
            raise DeliveryError("no such number", retryable=False)
        self.sent.append(n)


@pytest.fixture
def config() -> Config:
    return load_config(ROOT / "config" / "demo.toml")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    s = Store(tmp_path / "kiosk.db", clock=clock)
    s.sync_compartments([CompartmentSpec(f"A0{i}", "M", "bank", i, False) for i in (1, 2)])
    return s


def deposit(store: Store, cid: str, nonce: str) -> int:
    """A parcel stored in ``cid`` whose notification carries ``nonce``."""
    details = {"barcode": f"PKG-{cid}", "size": "M", "phone": "+49151"}
    op = store.begin_op(cid, Purpose.DEPOSIT, "carla", details=details)
    store.op_opened(op.id)

    def notes(pid: int) -> list[OutboxItem]:
        return [OutboxItem(f"K:parcel:{pid}:stored:sms", "parcel_stored", "sms", "+49151",
                           {"code_nonce": nonce}, pid)]  # fmt: skip

    return store.finish_deposit(op.id, f"tag-{cid}", store.clock() + 3 * DAY, notes).id


def pick_up(store: Store, cid: str, pid: int) -> None:
    op = store.begin_op(cid, Purpose.PICKUP, None, parcel_id=pid)
    store.op_opened(op.id)
    store.finish_removal(op.id)


def on_disk(store: Store) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(store.path.parent.glob("kiosk.db*")))


def test_a_notification_given_up_leaves_no_nonce_on_the_disk(
    store: Store, config: Config, clock: Clock
) -> None:
    nonce = secrets.token_hex(16)
    deposit(store, "A01", nonce)
    gateway = Gateway(refuses=True)
    asyncio.run(Dispatcher(config, store, b"k" * 32, gateway, clock=clock).deliver_due())

    assert [e.kind for e in store.events()][-1] == "notification_failed"
    assert store.scrub()
    assert nonce.encode() not in on_disk(store)


def test_a_picked_up_parcel_leaves_no_nonce_and_its_waiting_notification_is_withdrawn(
    store: Store, config: Config, clock: Clock
) -> None:
    gone, kept = secrets.token_hex(16), secrets.token_hex(16)
    pid = deposit(store, "A01", gone)
    deposit(store, "A02", kept)
    pick_up(store, "A01", pid)
    assert store.scrub()

    data = on_disk(store)
    assert gone.encode() not in data
    assert kept.encode() in data  # the other parcel's notification still waits
    withdrawn = [e for e in store.events() if e.kind == "notification_withdrawn"]
    assert [e.detail["parcel"] for e in withdrawn] == [pid]
    gateway = Gateway(refuses=False)
    asyncio.run(Dispatcher(config, store, b"k" * 32, gateway, clock=clock).deliver_due())
    assert [n.key for n in gateway.sent] == [f"K:parcel:{pid + 1}:stored:sms"]


def test_the_housekeeping_deletes_notifications_done_longer_ago_than_the_keep_days(
    store: Store, config: Config, clock: Clock
) -> None:
    keep = dataclasses.replace(config.notify, outbox_keep_days=30)
    config = dataclasses.replace(config, notify=keep)
    delivered = deposit(store, "A01", secrets.token_hex(16))
    asyncio.run(Dispatcher(config, store, b"k" * 32, Gateway(False), clock=clock).deliver_due())
    clock.now += 20 * DAY
    waiting = deposit(store, "A02", secrets.token_hex(16))
    housekeeping = ExpiryClock(store, config, Notices(config), clock=clock)

    def stored_notifications() -> list[int]:
        rows = store._db.execute("SELECT parcel_id FROM outbox WHERE kind = 'parcel_stored'")
        return [r["parcel_id"] for r in rows]

    clock.now += 9 * DAY
    housekeeping.tick()
    assert stored_notifications() == [delivered, waiting]
    clock.now += 2 * DAY
    housekeeping.tick()
    assert stored_notifications() == [waiting]  # never delivered: kept however old


def test_a_reader_in_the_way_postpones_the_scrub_without_waiting(store: Store) -> None:
    nonce = secrets.token_hex(16)
    pick_up(store, "A01", deposit(store, "A01", nonce))
    reader = sqlite3.connect(store.path)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM outbox").fetchone()

    assert store.scrub() is False
    reader.close()
    assert store.scrub() is True
    assert nonce.encode() not in on_disk(store)


def test_an_upgraded_database_drops_nonces_of_notifications_given_up(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in _split(MIGRATIONS[0]) + _split(MIGRATIONS[1]):
        db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO parcels (id, barcode, state) VALUES (7, 'JJD7', 'RETURNED')")
    db.execute(
        "INSERT INTO outbox (key, kind, channel, recipient, payload, next_at, created_at,"
        " failed) VALUES ('K-1:parcel:7:stored:sms', 'parcel_stored', 'sms', '+49',"
        ' \'{"code_nonce": "ab", "compartment": "A01"}\', 1, 1, 1)'
    )
    db.close()
    path.chmod(0o600)

    row = Store(path)._db.execute("SELECT parcel_id, payload FROM outbox").fetchone()
    assert (row["parcel_id"], row["payload"]) == (7, '{"compartment":"A01"}')
