"""The kiosk's clock: a timeline no step of the wall clock moves, trusted only when it
may be (synchronised since boot, or confirmed by a technician after a jump)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from kiosk.clock import ClockState, KioskClock, read_boot_id, run_sync_command
from kiosk.config.host import ClockSection
from kiosk.domain import Purpose
from kiosk.errors import ConflictError
from kiosk.store import OutboxItem, Store
from kiosk.store.base import StoreFull
from kiosk.store.store import CompartmentSpec

DAY = 86400.0


class Clocks:
    """The machine's two clocks: the wall clock a step can move, the monotonic one not."""

    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 5_000.0

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def step(self, seconds: float) -> None:
        self.wall += seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "kiosk.db")
    s.sync_compartments([CompartmentSpec(f"A0{i}", "S", "bank", i, False) for i in (1, 2, 3)])
    return s


def kiosk_clock(store: Store, clocks: Clocks, boot: str = "boot-1", **settings: Any) -> KioskClock:
    return KioskClock(ClockSection(**{"trust": "always", **settings}), store,
                      wall=lambda: clocks.wall, mono=lambda: clocks.mono, boot=boot)  # fmt: skip


def check(clock: KioskClock) -> ClockState:
    asyncio.run(clock.check())
    return clock.state


def stored(store: Store, cid: str, hold_s: float) -> int:
    """A parcel deposited in ``cid`` now, held ``hold_s`` by the store's clock."""
    details = {"barcode": f"P-{cid}", "size": "S", "phone": "+4915112345678"}
    op = store.begin_op(cid, Purpose.DEPOSIT, "carla", details=details)
    store.op_opened(op.id)
    notes = [OutboxItem(f"k:{cid}", "parcel_stored", "sms", "+49151", {})]
    return store.finish_deposit(op.id, f"tag-{cid}", store.clock() + hold_s, lambda _: notes).id


def held(store: Store, cid: str, hold_s: float) -> int:
    """A parcel announced now, with ``cid`` held for it ``hold_s`` by the store's clock."""
    parcel = store.announce(f"P-{cid}", "S", "+4915112345678", None, "fleet:ops")
    store.hold(cid, parcel.id, store.clock() + hold_s, "fleet:ops")
    return parcel.id


def fill_up(store: Store) -> None:
    """The database may grow no more and its pages are full: a full disk, as SQLite sees it."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")
    for size in (2000, 200, 20, 0):
        with contextlib.suppress(StoreFull):
            for _ in range(1000):
                store.log_event_or_refuse("filler", detail="x" * size)


def kinds(store: Store) -> list[str]:
    return [e.kind for e in store.events(limit=1000)]


def test_the_kiosks_time_runs_with_the_time_that_passed_and_not_with_a_step(
    store: Store, clocks: Clocks
) -> None:
    clock = kiosk_clock(store, clocks)
    start = clock.now()
    clocks.run(10)
    clocks.step(4 * DAY)

    assert clock.now() == pytest.approx(start + 10)
    assert store.clock() == clock.now()  # everything the store stamps is on this timeline


def test_a_jump_forward_is_an_alarm_that_holds_expiry_until_a_technician_confirms(
    store: Store, clocks: Clocks
) -> None:
    clock = kiosk_clock(store, clocks)
    clocks.run(60)
    clocks.step(4 * DAY)

    assert check(clock) is ClockState.JUMPED
    assert not clock.is_trusted
    (alarm,) = store.events(limit=1000, newest_first=True)[:1]
    assert (alarm.kind, alarm.severity, alarm.detail["step_s"]) == ("clock_jump", "alarm", 4 * DAY)

    clock.confirm("tomas")

    assert clock.is_trusted and clock.now() == clocks.wall
    (confirmed,) = store.events(limit=1000, newest_first=True)[:1]
    assert (confirmed.kind, confirmed.actor, confirmed.detail["step_s"]) == (
        "clock_confirmed", "tomas", 4 * DAY)  # fmt: skip


def test_a_step_back_beyond_the_tolerance_is_a_jump_too(store: Store, clocks: Clocks) -> None:
    clock = kiosk_clock(store, clocks, max_step_s=60)
    clocks.step(-59)
    assert check(clock) is ClockState.TRUSTED  # within the tolerance: nothing to say
    clocks.step(-2)
    assert check(clock) is ClockState.JUMPED
    assert kinds(store).count("clock_jump") == 1


def test_a_false_jump_ends_by_itself_when_the_wall_clock_comes_back(
    store: Store, clocks: Clocks
) -> None:
    clock = kiosk_clock(store, clocks)
    clocks.step(4 * DAY)
    check(clock)
    clocks.run(30)
    clocks.step(-4 * DAY)

    assert check(clock) is ClockState.TRUSTED
    assert kinds(store)[-2:] == ["clock_jump", "clock_returned"]


def test_a_restarted_daemon_carries_on_the_timeline_of_its_boot(
    store: Store, clocks: Clocks
) -> None:
    first = kiosk_clock(store, clocks)
    asyncio.run(first.check())  # the timeline is kept
    clocks.run(100)
    clocks.step(DAY)  # while the daemon was down

    again = kiosk_clock(store, clocks)

    assert again.now() == pytest.approx(first.now())
    assert check(again) is ClockState.JUMPED


def test_a_new_boot_waits_for_synchronisation_then_moves_what_it_stamped(
    store: Store, clocks: Clocks, tmp_path: Path
) -> None:
    synced = tmp_path / "synchronized"
    before = stored(store, "A01", 3600)  # a parcel from the boot before
    earlier = store.parcel(before).expires_at
    clocks.step(-4 * DAY)  # the next boot starts at the time it last saved
    clock = kiosk_clock(store, clocks, boot="boot-2", trust="timesyncd", sync_file=synced)
    now_stale = stored(store, "A02", 3600)
    stale_expiry = store.parcel(now_stale).expires_at

    assert check(clock) is ClockState.WAITING and not clock.is_trusted
    clocks.run(60)
    clocks.step(4 * DAY)  # a time server answers
    assert check(clock) is ClockState.WAITING  # timesyncd has not said so yet
    synced.touch()

    assert check(clock) is ClockState.TRUSTED
    (event,) = [e for e in store.events(limit=1000) if e.kind == "clock_synchronised"]
    assert event.detail == {"step_s": pytest.approx(4 * DAY), "parcels_moved": 1}
    assert store.parcel(now_stale).expires_at == pytest.approx(stale_expiry + 4 * DAY)
    assert store.parcel(before).expires_at == earlier  # measured by the wall clock, as it is


def test_a_compartment_held_since_boot_stays_held_as_long_as_asked_when_the_time_moves(
    store: Store, clocks: Clocks, tmp_path: Path
) -> None:
    synced = tmp_path / "synchronized"
    check(kiosk_clock(store, clocks))
    held(store, "A01", 2 * DAY)  # held in the boot before, for two days
    until_before = store.compartment("A01").held_until
    clocks.step(-4 * DAY)  # the next boot starts at the time it last saved
    clock = kiosk_clock(store, clocks, boot="boot-2", trust="timesyncd", sync_file=synced)
    parcel = held(store, "A02", 4 * 3600)  # held for four hours on the stale time
    clocks.run(60)
    clocks.step(4 * DAY)  # a time server answers
    synced.touch()

    assert check(clock) is ClockState.TRUSTED
    assert store.release_expired_holds(clock.now()) == []
    assert store.compartment("A02").held_for == parcel
    assert store.compartment("A02").held_until == pytest.approx(clock.now() + 4 * 3600 - 60)
    assert store.compartment("A01").held_until == until_before  # by the wall clock, as it is


def test_a_jump_seen_before_a_reboot_still_waits_for_a_technician(
    store: Store, clocks: Clocks
) -> None:
    clock = kiosk_clock(store, clocks)
    clocks.step(4 * DAY)
    check(clock)

    after_reboot = kiosk_clock(store, clocks, boot="boot-2")

    assert check(after_reboot) is ClockState.JUMPED


def test_on_a_full_disk_a_jump_holds_expiry_and_its_alarm_waits_for_room(
    store: Store, clocks: Clocks
) -> None:
    clock = kiosk_clock(store, clocks)
    asyncio.run(clock.check())
    fill_up(store)
    clocks.step(4 * DAY)

    assert check(clock) is ClockState.JUMPED
    assert store.unwritten_count == 1  # the alarm, kept until there is room
    with pytest.raises(StoreFull):
        clock.confirm("tomas")
    assert clock.state is ClockState.JUMPED  # nothing moved

    store._db.execute("PRAGMA max_page_count = 1000000")
    clock.confirm("tomas")
    assert [k for k in kinds(store) if k != "filler"][-2:] == ["clock_jump", "clock_confirmed"]


def test_confirming_a_trusted_clock_is_refused(store: Store, clocks: Clocks) -> None:
    with pytest.raises(ConflictError) as refused:
        kiosk_clock(store, clocks).confirm("tomas")
    assert refused.value.reason == "clock_trusted"


def test_a_sync_command_says_by_its_exit_status_whether_the_clock_is_synchronised() -> None:
    assert run_sync_command(["true"]) is True
    assert run_sync_command(["false"]) is False
    assert run_sync_command(["/no/such/command"]) is False


def test_the_boot_is_known_from_the_unit_where_its_hardening_hides_the_kernels_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernels = tmp_path / "boot_id"
    kernels.write_text("5b990ac3-4110-4c76-a5e9-bb113193149e\n")
    monkeypatch.delenv("LOCKER_BOOT_ID", raising=False)
    assert read_boot_id(kernels) == "5b990ac341104c76a5e9bb113193149e"
    monkeypatch.setenv("LOCKER_BOOT_ID", "5b990ac341104c76a5e9bb113193149e")  # systemd's %b
    assert read_boot_id(tmp_path / "hidden") == "5b990ac341104c76a5e9bb113193149e"
    monkeypatch.delenv("LOCKER_BOOT_ID")
    assert read_boot_id(tmp_path / "hidden") == ""  # every start a new boot: the safe side


def test_a_time_servers_fine_corrections_are_followed_without_a_word(
    store: Store, clocks: Clocks
) -> None:
    clock = kiosk_clock(store, clocks, max_step_s=60)
    for _ in range(3):
        clocks.run(60)
        clocks.step(0.4)
        assert check(clock) is ClockState.TRUSTED

    assert clock.now() == pytest.approx(clocks.wall)
    assert "clock_jump" not in kinds(store)
    clocks.step(30)  # more than a correction: it counts towards max_step_s
    assert check(clock) is ClockState.TRUSTED
    assert clock.now() == pytest.approx(clocks.wall - 30)
