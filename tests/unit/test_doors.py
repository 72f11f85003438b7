"""The door-operation state machine, driven through a fake hardware view."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers.base import DoorState
from kiosk.broadcast import Bus
from kiosk.config import DoorsSection
from kiosk.domain import CompartmentState, OpStatus, Purpose
from kiosk.doors import operations as doors_module
from kiosk.doors.operations import Doors
from kiosk.store import OpRow, Store, StoreError
from kiosk.store.store import CompartmentSpec

FAST = DoorsSection(open_timeout_s=0.2, open_retries=1, remind_after_s=0.2,
                    left_open_after_s=0.4)  # fmt: skip


@dataclass
class Result:
    ok: bool
    error: str | None = None


class FakeHardware:
    """Doors that open after each fire unless jammed; tests close them by hand."""

    def __init__(self) -> None:
        self.state: dict[str, DoorState] = {}
        self.fires: list[str] = []
        self.jammed: set[str] = set()
        self.items: dict[str, bool | None] = {}
        self._waiters: list[tuple[str, DoorState, asyncio.Future[bool]]] = []

    def door(self, cid: str) -> DoorState:
        return self.state.get(cid, DoorState.CLOSED)

    def item(self, cid: str) -> bool | None:
        return self.items.get(cid)

    def set(self, cid: str, state: DoorState) -> None:
        self.state[cid] = state
        for c, want, fut in list(self._waiters):
            if c == cid and want == state and not fut.done():
                fut.set_result(True)

    async def unlock(self, cid: str, dropped: Any = None) -> Result:
        if dropped is not None and dropped():
            raise asyncio.CancelledError
        self.fires.append(cid)
        if cid not in self.jammed:
            asyncio.get_running_loop().call_later(0.02, self.set, cid, DoorState.OPEN)
        return Result(True)

    def queue_unlock(self, cid: str, dropped: Any = None) -> asyncio.Future[Result]:
        return asyncio.ensure_future(self.unlock(cid, dropped))

    async def wait_for_door(self, cid: str, state: DoorState, timeout: float | None) -> bool:
        if self.door(cid) == state:
            return True
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        entry = (cid, state, fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return False
        finally:
            self._waiters.remove(entry)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "kiosk.db")
    s.sync_compartments([CompartmentSpec(f"A0{i}", "M", "bank", i, False) for i in (1, 2)])
    return s


def make_doors(store: Store, hw: FakeHardware, closed: list[OpRow], not_opened: list[OpRow]
               ) -> Doors:  # fmt: skip
    def finish(op: OpRow) -> None:
        closed.append(op)
        store.finish_plain(op.id)

    return Doors(store, hw, FAST, Bus(), finish, not_opened.append)  # type: ignore[arg-type]


def run(coro_fn: Callable[[], object]) -> None:
    asyncio.run(coro_fn())  # type: ignore[arg-type]


def test_an_operation_goes_unlock_sent_opened_closed(store: Store) -> None:
    hw, closed, not_opened = FakeHardware(), [], []  # type: ignore[var-annotated]

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        op = store.begin_op("A01", Purpose.TECHNICIAN, "tomas")
        assert op.status is OpStatus.UNLOCK_SENT
        live = doors.start(op)
        assert await live.opened is True
        assert store.op(op.id).status is OpStatus.OPENED
        hw.set("A01", DoorState.CLOSED)
        assert await live.done is OpStatus.CLOSED

    run(journey)
    assert [o.compartment_id for o in closed] == ["A01"]
    assert hw.fires == ["A01"]


def test_the_first_pulse_is_queued_as_the_operation_starts(store: Store) -> None:
    # Nothing on the loop may stand between a committed intent and its lock: the pulse
    # is in the lock queue when start() returns, before the door task has run at all.
    queued: list[str] = []

    class Recording(FakeHardware):
        def queue_unlock(self, cid: str, dropped: Any = None) -> asyncio.Future[Result]:
            queued.append(cid)
            return super().queue_unlock(cid, dropped)

    hw, closed, not_opened = Recording(), [], []  # type: ignore[var-annotated]

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        live = doors.start(store.begin_op("A01", Purpose.PICKUP, "customer"))
        assert queued == ["A01"]
        assert await live.opened is True
        hw.set("A01", DoorState.CLOSED)
        assert await live.done is OpStatus.CLOSED

    run(journey)
    assert hw.fires == ["A01"]


def test_a_jammed_lock_is_fired_twice_then_open_not_detected(store: Store) -> None:
    hw, closed, not_opened = FakeHardware(), [], []  # type: ignore[var-annotated]
    hw.jammed.add("A01")

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        live = doors.start(store.begin_op("A01", Purpose.PICKUP, "customer"))
        assert await live.opened is False
        assert await live.done is OpStatus.OPEN_NOT_DETECTED

    run(journey)
    assert hw.fires == ["A01", "A01"]
    assert store.compartment("A01").state is CompartmentState.OUT_OF_SERVICE
    assert store.compartment("A01").oos_reason == "door did not open"
    kinds = [e.kind for e in store.events(limit=100)]
    assert "unlock_retry" in kinds and "open_not_detected" in kinds


def test_a_door_left_open_gets_a_reminder_then_a_left_open_alarm(store: Store) -> None:
    hw, closed, not_opened = FakeHardware(), [], []  # type: ignore[var-annotated]

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        live = doors.start(store.begin_op("A01", Purpose.TECHNICIAN, "tomas"))
        await live.opened
        await asyncio.sleep(0.55)
        assert store.op(live.op_id).status is OpStatus.LEFT_OPEN
        hw.set("A01", DoorState.CLOSED)
        assert await live.done is OpStatus.CLOSED

    run(journey)
    events = store.events(limit=100)
    reminder = next(e for e in events if e.kind == "door_open_reminder")
    alarm = next(e for e in events if e.kind == "door_left_open")
    assert reminder.seq < alarm.seq and alarm.severity == "alarm"


def test_an_adopted_operation_whose_door_is_closed_is_abandoned_without_firing(
    store: Store,
) -> None:
    hw, closed, not_opened = FakeHardware(), [], []  # type: ignore[var-annotated]
    op = store.begin_op("A01", Purpose.DEPOSIT, "carla", details={"barcode": "X", "size": "M"})

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        live = doors.adopt(store.op(op.id))
        assert await live.done is OpStatus.ABANDONED

    run(journey)
    assert hw.fires == []
    assert store.compartment("A01").state is CompartmentState.AVAILABLE


def test_an_interrupted_deposit_with_something_inside_is_kept_for_a_person_to_check(
    store: Store,
) -> None:
    # The daemon died after the intent; the door opened and closed while it was away.
    hw, closed, not_opened = FakeHardware(), [], []  # type: ignore[var-annotated]
    op = store.begin_op("A01", Purpose.DEPOSIT, "carla", details={"barcode": "X", "size": "M"})
    hw.items["A01"] = True

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        assert await doors.adopt(store.op(op.id)).done is OpStatus.ABANDONED

    run(journey)
    assert hw.fires == []
    a01 = store.compartment("A01")
    assert a01.state is CompartmentState.OUT_OF_SERVICE
    assert a01.oos_reason == "something inside after an interrupted deposit: check it"
    (alarm,) = [e for e in store.events(limit=100) if e.kind == "deposit_needs_check"]
    assert (alarm.severity, alarm.detail["barcode"]) == ("alarm", "X")


def test_an_adopted_operation_whose_door_is_open_finishes_when_it_closes(store: Store) -> None:
    hw, closed, not_opened = FakeHardware(), [], []  # type: ignore[var-annotated]
    op = store.begin_op("A02", Purpose.TECHNICIAN, "tomas")
    hw.state["A02"] = DoorState.OPEN

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        live = doors.adopt(store.op(op.id))
        assert await live.opened is True
        hw.set("A02", DoorState.CLOSED)
        assert await live.done is OpStatus.CLOSED

    run(journey)
    assert hw.fires == []
    assert store.op(op.id).status is OpStatus.CLOSED


def test_reopen_updates_the_journal_before_firing_again(store: Store) -> None:
    hw, closed, not_opened = FakeHardware(), [], []  # type: ignore[var-annotated]

    async def journey() -> None:
        doors = make_doors(store, hw, closed, not_opened)
        live = doors.start(store.begin_op("A01", Purpose.TECHNICIAN, "tomas"))
        await live.opened
        assert await doors.reopen(live.op_id) is True
        assert store.op(live.op_id).fires == 2
        hw.set("A01", DoorState.CLOSED)
        await live.done

    run(journey)
    assert hw.fires == ["A01", "A01"]


class SlowHardware(FakeHardware):
    """A lock queue that holds every fire after the first until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def unlock(self, cid: str, dropped: Any = None) -> Result:
        if self.fires:
            await self.gate.wait()
        return await super().unlock(cid, dropped)


def test_reopens_pressed_twice_fire_nothing_once_the_door_has_closed(store: Store) -> None:
    # The courier presses Reopen twice, then pushes the door shut before the lock
    # queue gets to either: the parcel is stored and the door must stay shut.
    hw, closed, not_opened = SlowHardware(), [], []  # type: ignore[var-annotated]

    async def journey() -> tuple[bool, bool, bool]:
        doors = make_doors(store, hw, closed, not_opened)
        live = doors.start(store.begin_op("A01", Purpose.TECHNICIAN, "tomas"))
        await live.opened
        first = asyncio.ensure_future(doors.reopen(live.op_id))
        second = asyncio.ensure_future(doors.reopen(live.op_id))
        await asyncio.sleep(0.01)  # the first waits in the queue, the second behind it
        hw.set("A01", DoorState.CLOSED)
        await live.done
        hw.gate.set()
        late = await doors.reopen(live.op_id)
        return await first, await second, late

    assert asyncio.run(journey()) == (False, False, False)
    assert hw.fires == ["A01"]
    assert hw.door("A01") is DoorState.CLOSED


def test_a_door_closed_on_a_full_disk_is_finished_once_there_is_room(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doors_module, "FINISH_RETRY_S", 0.02)
    hw, tries = FakeHardware(), []

    def finish(op: OpRow) -> None:
        tries.append(op.id)
        if len(tries) < 3:  # the disk is full twice, then there is room again
            raise StoreError("the database could not be written (database or disk is full)")
        store.finish_plain(op.id)

    op = store.begin_op("A02", Purpose.TECHNICIAN, "tomas")

    async def journey() -> None:
        doors = Doors(store, hw, FAST, Bus(), finish, lambda op: None)  # type: ignore[arg-type]
        live = doors.start(op)
        assert await live.opened is True
        hw.set("A02", DoorState.CLOSED)
        assert await asyncio.wait_for(live.done, 2) is OpStatus.CLOSED

    run(journey)
    assert len(tries) == 3
    assert store.op(op.id).status is OpStatus.CLOSED
