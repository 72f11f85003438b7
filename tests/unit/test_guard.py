"""The mass-open guard's timeline, on a clock the test turns by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.doors.guard import MassOpenGuard, OpensPaused
from kiosk.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "kiosk.db")


def open_door(guard: MassOpenGuard, cid: str = "A01", technician: bool = False) -> None:
    guard.admit(cid, "pickup", "customer", technician)
    guard.opened()


def kinds(store: Store) -> list[str]:
    return [e.kind for e in store.events(limit=100)]


def test_opens_up_to_the_limit_pass_and_the_next_one_trips_the_guard(store: Store) -> None:
    clock = Clock()
    guard = MassOpenGuard(store, max_opens=3, window_s=60, help_line="+49 30 999", clock=clock)
    for _ in range(3):
        open_door(guard)
        clock.now += 1
    with pytest.raises(OpensPaused) as refused:
        open_door(guard, "A04")
    assert str(refused.value) == (
        "The kiosk has paused opening doors for safety. For help: +49 30 999"
    )
    assert guard.is_tripped
    assert kinds(store) == ["mass_open_guard_tripped", "open_refused_by_guard"]
    (alarm,) = [e for e in store.events(limit=10) if e.severity == "alarm"]
    assert (alarm.compartment, alarm.detail["opens"]) == ("A04", 3)


def test_opens_spread_wider_than_the_window_never_trip_it(store: Store) -> None:
    clock = Clock()
    guard = MassOpenGuard(store, max_opens=3, window_s=60, clock=clock)
    for _ in range(100):
        open_door(guard)
        clock.now += 21  # three in any 60 s, never four
    assert not guard.is_tripped
    assert guard.view()["opens_in_window"] == 2  # 21 and 42 s ago


def test_a_tripped_guard_stays_tripped_across_a_restart_until_a_technician_resets_it(
    store: Store,
) -> None:
    clock = Clock()
    guard = MassOpenGuard(store, max_opens=1, window_s=60, clock=clock)
    open_door(guard)
    with pytest.raises(OpensPaused):
        open_door(guard)
    clock.now += 3600  # long after the window: still stopped

    restarted = MassOpenGuard(store, max_opens=1, window_s=60, clock=clock)
    with pytest.raises(OpensPaused):
        open_door(restarted)
    open_door(restarted, technician=True)  # the technician can still work on the doors

    restarted.reset("tomas")
    open_door(restarted)
    assert not restarted.is_tripped
    assert kinds(store)[-1] == "mass_open_guard_reset"
    assert not MassOpenGuard(store, max_opens=1, window_s=60, clock=clock).is_tripped


def test_a_restart_does_not_empty_the_window(tmp_path: Path) -> None:
    from kiosk.domain import Purpose
    from kiosk.store.store import CompartmentSpec

    wall = Clock()
    store = Store(tmp_path / "k.db", clock=wall)
    store.sync_compartments([CompartmentSpec(f"A0{i}", "M", "bank", i, False) for i in range(1, 6)])
    for cid in ("A01", "A02"):
        store.finish_plain(store.begin_op(cid, Purpose.PICKUP, "customer").id)
    for cid in ("A03", "A04"):  # a technician's open-all: not counted
        store.finish_plain(
            store.begin_op(cid, Purpose.TECHNICIAN, "tomas", details={"bulk": True}).id
        )
    wall.now += 10
    # The daemon restarts: a new guard, on a fresh monotonic clock.
    guard = MassOpenGuard(store, max_opens=3, window_s=60, clock=Clock())
    assert guard.view()["opens_in_window"] == 2
    open_door(guard, "A05")
    with pytest.raises(OpensPaused):
        open_door(guard, "A01")
    assert "mass_open_guard_tripped" in kinds(store)


def test_opens_older_than_the_window_are_not_counted_after_a_restart(tmp_path: Path) -> None:
    from kiosk.domain import Purpose
    from kiosk.store.store import CompartmentSpec

    wall = Clock()
    store = Store(tmp_path / "k.db", clock=wall)
    store.sync_compartments([CompartmentSpec("A01", "M", "bank", 1, False)])
    store.finish_plain(store.begin_op("A01", Purpose.PICKUP, "customer").id)
    wall.now += 61
    guard = MassOpenGuard(store, max_opens=3, window_s=60, clock=Clock())
    assert guard.view()["opens_in_window"] == 0
