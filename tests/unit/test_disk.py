"""A full disk in the store and under the daemon's watch: nothing lost, nothing said twice.

The store is made full as SQLite sees a full disk (no page may be added, the last
filled), and the free space the watch reads is the test's to set.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from kiosk.config.host import StorageSection
from kiosk.disk import DiskWatch, StorageState
from kiosk.store import Store
from kiosk.store.base import StoreFull

MB = 1024 * 1024


class Disk:
    """The free space :class:`DiskWatch` reads."""

    def __init__(self) -> None:
        self.free = 500 * MB

    def __call__(self, path: Path) -> int:
        return self.free


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "kiosk.db", clock=lambda: 1_000_000.0)


def fill_up(store: Store) -> None:
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")
    for size in (2000, 200, 20, 0):
        with contextlib.suppress(StoreFull):
            for _ in range(1000):
                store.log_event_or_refuse("filler", detail="x" * size)


def room_again(store: Store) -> None:
    store._db.execute("PRAGMA max_page_count = 1000000")


def kinds(store: Store) -> list[str]:
    return [e.kind for e in store.events(limit=100_000) if e.kind != "filler"]


def watch(store: Store, disk: Disk, told: list[dict[str, Any]]) -> DiskWatch:
    return DiskWatch(store, StorageSection(low_space_mb=100), told.append, disk)


def test_an_event_the_full_disk_refused_is_kept_and_written_later_in_its_place(
    store: Store,
) -> None:
    seen: list[str] = []
    store.unwritten_listeners.append(lambda e: seen.append(e.kind))
    fill_up(store)

    store.clock = lambda: 1_000_010.0
    kept = store.log_event("forced_open", "alarm", None, "A01")
    assert (kept.seq, seen, store.unwritten_count) == (0, ["forced_open"], 1)
    assert store.is_full
    room_again(store)
    store.clock = lambda: 1_000_020.0
    store.log_event("door_closed", "info", None, "A01")

    log = [e for e in store.events(limit=100_000) if e.kind != "filler"]
    assert [(e.kind, e.ts) for e in log] == [("forced_open", 1_000_010.0),
                                             ("door_closed", 1_000_020.0)]  # fmt: skip
    assert store.unwritten_count == 0
    assert store.verify_events().ok


def test_an_event_that_must_precede_a_fire_is_refused_on_a_full_disk(store: Store) -> None:
    fill_up(store)
    with pytest.raises(StoreFull, match="database or disk is full"):
        store.log_event_or_refuse("discover_fire", "info", "tomas", "A01")
    assert store.unwritten_count == 0


def test_the_low_space_alarm_is_raised_once_and_cleared_above_the_mark(store: Store) -> None:
    disk, told = Disk(), []
    watcher = watch(store, disk, told)
    assert watcher.check() is StorageState.OK
    disk.free = 90 * MB
    assert watcher.check() is StorageState.LOW
    disk.free = 101 * MB  # just above the mark: the alarm stands
    assert watcher.check() is StorageState.LOW
    disk.free = 120 * MB
    assert watcher.check() is StorageState.OK

    assert kinds(store) == ["disk_space_low", "disk_space_ok"]
    low = store.events(limit=10)[0]
    assert (low.severity, low.detail) == ("alarm", {"free_mb": 90.0, "low_space_mb": 100})
    assert [m["state"] for m in told] == ["ok", "low", "ok"]


def test_a_full_disk_is_said_once_and_what_it_held_back_is_written_when_room_returns(
    store: Store,
) -> None:
    disk, told = Disk(), []
    watcher = watch(store, disk, told)
    watcher.check()
    fill_up(store)
    disk.free = 0
    store.log_event("board_offline", "alarm", None, None, board="bank")  # refused: kept

    assert watcher.check() is StorageState.FULL
    assert watcher.check() is StorageState.FULL
    assert watcher.view()["unwritten_events"] == 2  # board_offline, disk_full
    room_again(store)
    disk.free = 50 * MB  # room again, but still below the mark
    assert watcher.check() is StorageState.LOW
    disk.free = 500 * MB
    assert watcher.check() is StorageState.OK

    assert kinds(store) == ["board_offline", "disk_full", "disk_space_low", "disk_space_ok"]
    assert [m["state"] for m in told] == ["ok", "full", "low", "ok"]


def test_a_write_that_fits_the_files_slack_does_not_end_the_full_state(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite may fit a small write into its files on a disk with no room left: the kiosk
    stays "full" until the disk itself has room, instead of "full" and "room" by turns."""
    disk, told = Disk(), []
    watcher = watch(store, disk, told)
    watcher.check()
    fill_up(store)
    store.log_event("door_closed", "info", None, "A01")  # refused: kept
    room_again(store)  # the slack: SQLite writes again ...
    disk.free = 0
    monkeypatch.setattr("kiosk.store.base.free_bytes", disk)  # ... on a disk with no room

    store.log_event("door_closed", "info", None, "A02")
    assert watcher.check() is StorageState.FULL
    assert kinds(store) == ["door_closed", "door_closed", "disk_full"]  # written all the same

    disk.free = 500 * MB
    assert watcher.check() is StorageState.OK
    assert [m["state"] for m in told] == ["ok", "full", "ok"]


def test_a_refused_write_puts_the_kiosk_out_of_service_at_once_not_at_the_next_round(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk, told = Disk(), []
    monkeypatch.setattr("kiosk.store.base.free_bytes", disk)

    async def a_write_refused_on_the_loop() -> None:
        watch(store, disk, told).check()
        disk.free = 0
        fill_up(store)  # a use case meets the full disk
        await asyncio.sleep(0)  # the loop's next turn, long before the next round

    asyncio.run(a_write_refused_on_the_loop())
    assert [m["state"] for m in told] == ["ok", "full"]
