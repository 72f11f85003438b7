"""The contract every driver meets, run once per kind of board.

A *rig* is the other side of the wire for one driver: it builds the driver against a
simulated (or emulated) board and can kill and revive that board. To put a new driver
under the contract, write its rig and add one line to :data:`RIGS`.

Every simulated rig's board has four locks wired to compartments, nothing on lock 99,
and a simulated person in auto mode who closes a door shortly after it popped open.

The ``hardware`` rig (:mod:`tests.contract.rig_hardware`, ``pytest -m hardware
--board-config PATH --board NAME``) runs the same tests against a real board on a
bench: its wired locks, its config's pulse, and the person at the bench shutting doors.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from drivers.base import BoardSpec, ChannelReading, ChannelSpec, DoorState, Driver, create_driver
from drivers.errors import DriverError, UnsupportedError
from drivers.safety import MAX_PULSE_S, LockSafety
from hw_sim.model import Bank, reset_shared_banks, shared_bank
from tests.contract.rig_gpio import GpioRig
from tests.contract.rig_hardware import HardwareRig
from tests.contract.rig_kerong import KerongRig
from tests.contract.rig_kerong_cu48 import Cu48Rig
from tests.contract.rig_modbus import ModbusRig
from tests.contract.rig_modbus_wide import Modbus32Rig, ModbusWideRig

LOCKS = (1, 2, 3, 4)
NO_SUCH_LOCK = 99
DOOR_TIMEOUT_S = 3.0
PULSE_S = 0.2
GAP_S = 0.15


class Rig(Protocol):
    """What the contract needs from the far side of one driver's wire.

    A rig may also have ``locks`` (the wired locks under test, default :data:`LOCKS`),
    ``pulse_s`` (default :data:`PULSE_S`), ``door_timeout_s`` (how long a door may take,
    default :data:`DOOR_TIMEOUT_S`) and ``ask(instruction)`` (someone must act on a door:
    the simulated person does it unasked). The bench rig has them.
    """

    def make_driver(self) -> Driver:
        """A new, unopened driver for the rig's board (locks :data:`LOCKS`)."""
        ...

    def kill_board(self) -> None:
        """The board stops answering."""
        ...

    def revive_board(self) -> None:
        """The board answers again."""
        ...

    def teardown(self) -> None: ...


class SimRig:
    """The sim driver in-process, on the shared bank without files or sockets."""

    board = "contract"

    def __init__(self, tmp_path: Path) -> None:
        reset_shared_banks()
        channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in LOCKS)
        self.spec = BoardSpec(self.board, "sim", channels, options={"close_delay_s": 0.3})

    def make_driver(self) -> Driver:
        return create_driver(self.spec)

    @property
    def bank(self) -> Bank:
        return shared_bank()  # the bank the driver opened (no state file: "default")

    def leave_coil_on(self, lock: int) -> float:
        """The lock's coil on in the bank the driver will open, held until switched off
        (a previous daemon died mid-pulse)."""
        bank = shared_bank(close_delay_s=float(self.spec.options["close_delay_s"]))
        for channel in self.spec.channels:
            bank.add_compartment(channel.compartment, self.board, channel.lock)
        bank.energise(self.board, lock, 3600.0)
        return math.inf

    def kill_board(self) -> None:
        self.bank.kill_board(self.board)

    def revive_board(self) -> None:
        self.bank.revive_board(self.board)

    def teardown(self) -> None:
        reset_shared_banks()


RIGS: dict[str, Callable[[Path], Rig]] = {
    "sim": SimRig,
    "gpio": GpioRig,
    "modbus": ModbusRig,
    "modbus-16": ModbusWideRig,
    "modbus-32": Modbus32Rig,
    "kerong": KerongRig,
    "kerong-cu48": Cu48Rig,
}


@pytest.fixture(params=[*sorted(RIGS), pytest.param("hardware", marks=pytest.mark.hardware)])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param == "hardware":
        made: Rig = HardwareRig.from_options(request.config)
    else:
        made = RIGS[request.param](tmp_path)
    yield made
    made.teardown()


@pytest.fixture
def locks(rig: Rig) -> tuple[int, ...]:
    """The locks under test: 1-4 of a simulated board, the wired ones of a real one."""
    return tuple(getattr(rig, "locks", LOCKS))


@pytest.fixture
def pulse_s(rig: Rig) -> float:
    return float(getattr(rig, "pulse_s", PULSE_S))


def ask(rig: Rig, instruction: str) -> None:
    """Someone must act on a door; the simulated person needs no asking."""
    asking = getattr(rig, "ask", None)
    if asking is not None:
        asking(instruction)


@pytest.fixture
def driver(rig: Rig) -> Iterator[Driver]:
    made = rig.make_driver()
    made.open()
    made.all_off()
    yield made
    made.close()


def wait_for_door(
    driver: Driver, lock: int, state: DoorState, timeout_s: float = DOOR_TIMEOUT_S
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if driver.read()[lock].door is state:
            return True
        time.sleep(0.02)
    return False


class TestDriverContract:
    def test_close_before_open_is_harmless(self, rig: Rig) -> None:
        rig.make_driver().close()

    def test_close_is_idempotent(self, rig: Rig) -> None:
        made = rig.make_driver()
        made.open()
        made.close()
        made.close()

    def test_driver_is_a_context_manager(self, rig: Rig, locks: tuple[int, ...]) -> None:
        with rig.make_driver() as made:
            assert set(made.read()) == set(locks)

    def test_all_off_can_be_repeated(self, driver: Driver) -> None:
        driver.all_off()
        driver.all_off()

    def test_read_returns_every_configured_lock(
        self, driver: Driver, locks: tuple[int, ...]
    ) -> None:
        readings = driver.read()
        assert set(readings) == set(locks)
        assert all(isinstance(r, ChannelReading) for r in readings.values())

    def test_doors_read_closed_at_rest(self, driver: Driver) -> None:
        assert {r.door for r in driver.read().values()} == {DoorState.CLOSED}

    def test_pulse_opens_its_door_within_a_timeout(
        self, driver: Driver, locks: tuple[int, ...], pulse_s: float
    ) -> None:
        lock = locks[min(1, len(locks) - 1)]
        driver.pulse(lock, pulse_s)
        assert wait_for_door(driver, lock, DoorState.OPEN)

    def test_pulse_opens_only_that_door(
        self, driver: Driver, locks: tuple[int, ...], pulse_s: float
    ) -> None:
        lock = locks[min(2, len(locks) - 1)]
        driver.pulse(lock, pulse_s)
        assert wait_for_door(driver, lock, DoorState.OPEN)
        others = {other: r.door for other, r in driver.read().items() if other != lock}
        assert set(others.values()) <= {DoorState.CLOSED}

    def test_door_reads_closed_after_the_person_shut_it(
        self, rig: Rig, driver: Driver, locks: tuple[int, ...], pulse_s: float
    ) -> None:
        lock = locks[0]
        driver.pulse(lock, pulse_s)
        assert wait_for_door(driver, lock, DoorState.OPEN)
        ask(rig, f"Lock {lock} popped its door: shut it.")
        timeout_s = getattr(rig, "door_timeout_s", DOOR_TIMEOUT_S)
        assert wait_for_door(driver, lock, DoorState.CLOSED, timeout_s)

    def test_pulse_on_a_lock_that_is_not_wired_raises(self, driver: Driver, pulse_s: float) -> None:
        with pytest.raises(DriverError) as caught:
            driver.pulse(NO_SUCH_LOCK, pulse_s)
        assert_names(caught.value, driver, NO_SUCH_LOCK)

    def test_dead_board_raises_driver_error_never_reads_closed_and_comes_back_by_itself(
        self, rig: Rig, driver: Driver, locks: tuple[int, ...]
    ) -> None:
        driver.read()
        before = driver.stats()
        assert {"errors", "last_error"} <= set(before)
        rig.kill_board()
        with pytest.raises(DriverError) as caught:
            driver.read()
        assert_names(caught.value, driver, None)
        after = driver.stats()
        assert after["last_error"]
        assert _count(after["errors"]) > _count(before["errors"])
        # What the poller relies on: no close and open from above, just asking again.
        rig.revive_board()
        deadline = time.monotonic() + getattr(rig, "door_timeout_s", DOOR_TIMEOUT_S)
        while True:
            try:
                assert set(driver.read()) == set(locks)
                break
            except DriverError:
                assert time.monotonic() < deadline, "the board did not come back by itself"
                time.sleep(0.05)

    def test_pulse_on_a_dead_board_raises_driver_error(
        self, rig: Rig, driver: Driver, locks: tuple[int, ...], pulse_s: float
    ) -> None:
        rig.kill_board()
        with pytest.raises(DriverError) as caught:
            driver.pulse(locks[0], pulse_s)
        assert_names(caught.value, driver, locks[0])

    def test_board_answers_again_after_a_reopen(
        self, rig: Rig, driver: Driver, locks: tuple[int, ...]
    ) -> None:
        rig.kill_board()
        with pytest.raises(DriverError):
            driver.read()
        rig.revive_board()
        driver.close()
        driver.open()
        assert set(driver.read()) == set(locks)

    def test_using_a_closed_driver_raises_driver_error(
        self, driver: Driver, locks: tuple[int, ...], pulse_s: float
    ) -> None:
        driver.close()
        with pytest.raises(DriverError):
            driver.read()
        with pytest.raises(DriverError):
            driver.pulse(locks[0], pulse_s)

    def test_stats_is_a_dict_of_counters(self, driver: Driver) -> None:
        driver.read()
        assert isinstance(driver.stats(), dict)
        assert isinstance(driver.board_times_pulse, bool)


def assert_names(error: DriverError, driver: Driver, channel: int | None) -> None:
    """The error says which board and channel as fields, and its message is the board's
    name followed by the reason, as a person reads it."""
    assert (error.board, error.channel) == (driver.name, channel)
    assert str(error) == f"board {driver.name!r}: {error.reason}"


def _count(errors: int | dict[str, int]) -> int:
    return sum(errors.values()) if isinstance(errors, dict) else errors


class TestSafetyOnEveryDriver:
    """The safety layer's promises, seen at the coils of each board: simulated rigs
    only, as the coils of a board on a bench cannot be watched from here. A simulated
    rig also has ``bank`` and ``leave_coil_on(lock)``: the coil on before the driver
    starts (as a crashed run left it), returning how long the board keeps it on by
    itself (``math.inf`` when only an off command ends it)."""

    @pytest.fixture(params=sorted(RIGS))
    def rig(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
        made = RIGS[request.param](tmp_path)
        yield made
        made.teardown()

    @pytest.fixture
    def bank(self, rig: Rig) -> Bank:
        bank: Bank = getattr(rig, "bank")  # noqa: B009 - not in the Rig protocol
        return bank

    @pytest.fixture
    def safety(self, rig: Rig) -> Iterator[LockSafety]:
        layer = LockSafety([rig.make_driver()], pulse_s=PULSE_S, gap_s=GAP_S)
        layer.start()
        yield layer
        layer.close()

    def test_a_coil_left_on_is_off_once_started(
        self, rig: Rig, bank: Bank, locks: tuple[int, ...]
    ) -> None:
        held_s = getattr(rig, "leave_coil_on")(locks[-1])  # noqa: B009 - simulated rigs only
        assert bank.energised(rig.board) == {locks[-1]}
        layer = LockSafety([rig.make_driver()], pulse_s=PULSE_S, gap_s=GAP_S)
        try:
            layer.start()
            if math.isinf(held_s):  # only an off command ends it: start sent it
                assert bank.energised(rig.board) == set()
            else:  # a board with no off command (Kerong) ends its own pulse
                wait_until(lambda: bank.energised(rig.board) == set(), "its end", held_s + 1)
            assert bank.fire_counts()[f"C{locks[-1]:02d}"] == 1  # start fired nothing
        finally:
            layer.close()

    def test_no_coil_is_on_after_close(self, rig: Rig, bank: Bank, locks: tuple[int, ...]) -> None:
        driver = rig.make_driver()
        layer = LockSafety([driver], pulse_s=1.0, gap_s=GAP_S)
        layer.start()
        fired = layer.unlock(rig.board, locks[0])
        wait_until(lambda: bank.energised(rig.board) == {locks[0]}, "the coil to pull in")
        layer.close()
        assert fired.result(5).ok
        if driver.board_times_pulse:  # the board ends its own pulse, on time
            ((_, on, off),) = bank.coil_history(rig.board)
            assert off - on <= 1.0 + 0.05
            wait_until(lambda: bank.energised(rig.board) == set(), "the board's pulse to end")
        else:  # the host timed it: off by the time close() returned
            assert bank.energised(rig.board) == set()

    def test_a_pulse_asked_for_longer_than_the_cap_ends_at_two_seconds(
        self, rig: Rig, bank: Bank, safety: LockSafety, locks: tuple[int, ...]
    ) -> None:
        result = safety.unlock(rig.board, locks[0], pulse_s=10.0).result(10)
        assert result.ok
        wait_until(lambda: bank.energised(rig.board) == set(), "the coil to drop", 4.0)
        ((lock, on, off),) = bank.coil_history(rig.board)
        assert lock == locks[0]
        assert off - on <= MAX_PULSE_S + 0.05

    def test_two_locks_of_one_power_group_never_pull_in_together(
        self, rig: Rig, bank: Bank, safety: LockSafety, locks: tuple[int, ...]
    ) -> None:
        asked = [safety.unlock(rig.board, lock) for lock in locks[:3]]
        assert all(f.result(10).ok for f in asked)
        wait_until(lambda: bank.energised(rig.board) == set(), "the last coil to drop")
        coils = bank.coil_history(rig.board)
        assert [lock for lock, _, _ in coils] == list(locks[:3])  # in the order asked
        for (_, _, off), (_, on, _) in itertools.pairwise(coils):
            assert on >= off + GAP_S - 0.01


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class TestTechnicianCapabilities:
    """The *may* methods of ``lockerctl discover`` and ``scan-bus``, on every driver."""

    def test_channel_count_covers_every_configured_lock(
        self, driver: Driver, locks: tuple[int, ...]
    ) -> None:
        assert driver.channel_count >= max(locks)

    def test_read_all_reads_the_configured_locks_and_no_channel_beyond_the_board(
        self, driver: Driver, locks: tuple[int, ...]
    ) -> None:
        readings = driver.read_all()
        assert set(locks) <= set(readings) <= set(range(1, driver.channel_count + 1))
        assert {readings[lock].door for lock in locks} == {DoorState.CLOSED}

    def test_pulse_channel_opens_a_configured_lock_as_pulse_does(
        self, driver: Driver, locks: tuple[int, ...], pulse_s: float
    ) -> None:
        lock = locks[min(1, len(locks) - 1)]
        driver.pulse_channel(lock, pulse_s)
        assert wait_for_door(driver, lock, DoorState.OPEN)

    def test_pulse_channel_refuses_a_channel_the_board_does_not_have(
        self, driver: Driver, pulse_s: float
    ) -> None:
        with pytest.raises(DriverError) as caught:
            driver.pulse_channel(driver.channel_count + 1, pulse_s)
        assert_names(caught.value, driver, driver.channel_count + 1)

    def test_scan_bus_finds_the_board_or_says_it_has_no_bus(self, driver: Driver) -> None:
        try:
            found = driver.scan_bus()
        except UnsupportedError:
            return
        assert found and found == sorted(found)
