"""The contract every driver meets, run once per kind of board.

A *rig* is the other side of the wire for one driver: it builds the driver against a
simulated (or emulated) board and can kill and revive that board. To put a new driver
under the contract, write its rig and add one line to :data:`RIGS`.

Every rig's board has four locks wired to compartments, nothing on lock 99, and a
simulated person in auto mode who closes a door shortly after it popped open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from drivers.base import BoardSpec, ChannelReading, ChannelSpec, DoorState, Driver, create_driver
from drivers.errors import DriverError
from hw_sim.model import Bank, reset_shared_banks, shared_bank
from tests.contract.rig_gpio import GpioRig
from tests.contract.rig_kerong import KerongRig
from tests.contract.rig_modbus import ModbusRig

LOCKS = (1, 2, 3, 4)
NO_SUCH_LOCK = 99
DOOR_TIMEOUT_S = 3.0
PULSE_S = 0.2


class Rig(Protocol):
    """What the contract needs from the far side of one driver's wire."""

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

    def _bank(self) -> Bank:
        return shared_bank()  # the bank the driver opened (no state file: "default")

    def kill_board(self) -> None:
        self._bank().kill_board(self.board)

    def revive_board(self) -> None:
        self._bank().revive_board(self.board)

    def teardown(self) -> None:
        reset_shared_banks()


RIGS: dict[str, Callable[[Path], Rig]] = {
    "sim": SimRig,
    "gpio": GpioRig,
    "modbus": ModbusRig,
    "kerong": KerongRig,
}


@pytest.fixture(params=sorted(RIGS))
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    made = RIGS[request.param](tmp_path)
    yield made
    made.teardown()


@pytest.fixture
def driver(rig: Rig) -> Iterator[Driver]:
    made = rig.make_driver()
    made.open()
    made.all_off()
    yield made
    made.close()


def wait_for_door(driver: Driver, lock: int, state: DoorState) -> bool:
    deadline = time.monotonic() + DOOR_TIMEOUT_S
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

    def test_driver_is_a_context_manager(self, rig: Rig) -> None:
        with rig.make_driver() as made:
            assert set(made.read()) == set(LOCKS)

    def test_all_off_can_be_repeated(self, driver: Driver) -> None:
        driver.all_off()
        driver.all_off()

    def test_read_returns_every_configured_lock(self, driver: Driver) -> None:
        readings = driver.read()
        assert set(readings) == set(LOCKS)
        assert all(isinstance(r, ChannelReading) for r in readings.values())

    def test_doors_read_closed_at_rest(self, driver: Driver) -> None:
        assert {r.door for r in driver.read().values()} == {DoorState.CLOSED}

    def test_pulse_opens_its_door_within_a_timeout(self, driver: Driver) -> None:
        driver.pulse(2, PULSE_S)
        assert wait_for_door(driver, 2, DoorState.OPEN)

    def test_pulse_opens_only_that_door(self, driver: Driver) -> None:
        driver.pulse(3, PULSE_S)
        assert wait_for_door(driver, 3, DoorState.OPEN)
        others = {lock: r.door for lock, r in driver.read().items() if lock != 3}
        assert set(others.values()) == {DoorState.CLOSED}

    def test_door_reads_closed_after_the_person_shut_it(self, driver: Driver) -> None:
        driver.pulse(1, PULSE_S)
        assert wait_for_door(driver, 1, DoorState.OPEN)
        assert wait_for_door(driver, 1, DoorState.CLOSED)

    def test_pulse_on_a_lock_that_is_not_wired_raises(self, driver: Driver) -> None:
        with pytest.raises(DriverError):
            driver.pulse(NO_SUCH_LOCK, PULSE_S)

    def test_dead_board_raises_driver_error_never_reads_closed(
        self, rig: Rig, driver: Driver
    ) -> None:
        rig.kill_board()
        with pytest.raises(DriverError) as caught:
            driver.read()
        assert driver.name in str(caught.value)

    def test_pulse_on_a_dead_board_raises_driver_error(self, rig: Rig, driver: Driver) -> None:
        rig.kill_board()
        with pytest.raises(DriverError):
            driver.pulse(1, PULSE_S)

    def test_board_answers_again_after_a_reopen(self, rig: Rig, driver: Driver) -> None:
        rig.kill_board()
        with pytest.raises(DriverError):
            driver.read()
        rig.revive_board()
        driver.close()
        driver.open()
        assert set(driver.read()) == set(LOCKS)

    def test_using_a_closed_driver_raises_driver_error(self, driver: Driver) -> None:
        driver.close()
        with pytest.raises(DriverError):
            driver.read()
        with pytest.raises(DriverError):
            driver.pulse(1, PULSE_S)

    def test_stats_is_a_dict(self, driver: Driver) -> None:
        driver.read()
        assert isinstance(driver.stats(), dict)
        assert isinstance(driver.board_times_pulse, bool)
