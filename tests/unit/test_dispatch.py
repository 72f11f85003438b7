"""The outbox dispatcher: at least once, with backoff, and the code only in flight."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from kiosk.access import codes
from kiosk.config import Config, load_config
from kiosk.notify import DeliveryError, Notification
from kiosk.notify.dispatcher import Dispatcher
from kiosk.store import OutboxItem, Store
from kiosk.store.base import StoreFull

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 32


class Recorder:
    def __init__(self, failures: list[DeliveryError] | None = None) -> None:
        self.sent: list[Notification] = []
        self.failures = list(failures or [])

    async def send(self, n: Notification) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(n)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config() -> Config:
    cfg = load_config(ROOT / "config" / "demo.toml")
    notify = dataclasses.replace(cfg.notify, max_attempts=3, retry_initial_s=10, retry_max_s=10)
    return dataclasses.replace(cfg, notify=notify)


def setup(tmp_path: Path, config: Config, backend: Recorder) -> tuple[Store, Dispatcher, Clock]:
    clock = Clock()
    store = Store(tmp_path / "k.db", clock=clock)
    with store._tx():
        store._queue([OutboxItem("K1", "parcel_stored", "sms", "+4915112345678",
                                 {"code_nonce": "00ff", "compartment": "A01"})])  # fmt: skip
    return store, Dispatcher(config, store, KEY, backend, clock=clock), clock


def test_the_code_is_derived_just_before_sending_and_the_nonce_dropped_after(
    tmp_path: Path, config: Config
) -> None:
    backend = Recorder()
    store, dispatcher, _ = setup(tmp_path, config, backend)
    assert asyncio.run(dispatcher.deliver_due()) == 1
    digits = config.policy.pickup_code_digits
    assert backend.sent[0].payload["code"] == codes.derive_code(KEY, "00ff", digits)
    assert "code_nonce" not in backend.sent[0].payload
    raw = store._db.execute("SELECT payload FROM outbox").fetchone()[0]
    assert "00ff" not in raw
    assert [e.kind for e in store.events()][-1] == "notification_sent"


def test_a_failed_delivery_is_retried_later_with_the_same_key(
    tmp_path: Path, config: Config
) -> None:
    backend = Recorder([DeliveryError("gateway down", retryable=True)])
    store, dispatcher, clock = setup(tmp_path, config, backend)
    assert asyncio.run(dispatcher.deliver_due()) == 0
    assert store.outbox_depth() == 1
    assert asyncio.run(dispatcher.deliver_due()) == 0  # not due yet
    clock.now += 11
    assert asyncio.run(dispatcher.deliver_due()) == 1
    assert [n.key for n in backend.sent] == ["K1"]
    assert "notification_retry" in [e.kind for e in store.events()]


def test_a_notification_is_given_up_after_max_attempts_with_an_alarm(
    tmp_path: Path, config: Config
) -> None:
    backend = Recorder([DeliveryError("down", retryable=True) for _ in range(3)])
    store, dispatcher, clock = setup(tmp_path, config, backend)
    for _ in range(3):
        asyncio.run(dispatcher.deliver_due())
        clock.now += 11
    assert store.outbox_depth() == 0
    failed = [e for e in store.events() if e.kind == "notification_failed"]
    assert failed and failed[0].severity == "alarm"


def test_a_permanent_failure_is_not_retried(tmp_path: Path, config: Config) -> None:
    backend = Recorder([DeliveryError("no such number", retryable=False)])
    _, dispatcher, clock = setup(tmp_path, config, backend)
    asyncio.run(dispatcher.deliver_due())
    clock.now += 3600
    assert asyncio.run(dispatcher.deliver_due()) == 0
    assert backend.sent == []


def test_a_message_sent_while_the_disk_is_full_is_recorded_later_and_never_sent_twice(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = Recorder()
    store, dispatcher, _ = setup(tmp_path, config, backend)
    record = store.outbox_delivered

    def disk_full(item_id: int) -> None:
        store.is_full = True  # as the store says after a write the disk refused
        raise StoreFull("the database could not be written (database or disk is full)")

    monkeypatch.setattr(store, "outbox_delivered", disk_full)
    with pytest.raises(StoreFull):
        asyncio.run(dispatcher.deliver_due())  # accepted, but not recorded as sent
    assert asyncio.run(dispatcher.deliver_due()) == 0  # the disk is full: nothing is sent
    assert [n.key for n in backend.sent] == ["K1"]  # not sent again meanwhile

    monkeypatch.setattr(store, "outbox_delivered", record)  # room again
    store.is_full = False
    asyncio.run(dispatcher.deliver_due())
    assert [n.key for n in backend.sent] == ["K1"]
    assert store.outbox_depth() == 0
    assert [e.kind for e in store.events()][-1] == "notification_sent"


def test_a_retry_planned_beyond_the_longest_delay_is_due_at_once(
    tmp_path: Path, config: Config
) -> None:
    """Only a move of the kiosk's timeline puts a retry there; it must not wait for it."""
    backend = Recorder()
    store, dispatcher, clock = setup(tmp_path, config, backend)
    store._db.execute("UPDATE outbox SET next_at = ?", (clock.now + 86400,))

    assert asyncio.run(dispatcher.deliver_due()) == 1
    assert [n.key for n in backend.sent] == ["K1"]
