"""Several Modbus boards on one RS-485 bus: one port, one client, frames kept apart.

Two relay boards and a separate input board answer on one pseudo-terminal
(:class:`hw_sim.modbus_emu.ModbusBusEmulator`); a driver per relay board opens the same
port, which pymodbus can open only once (exclusively).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelSpec, DoorState, create_driver
from drivers.errors import BoardOffline, DriverError
from drivers.modbus import ERROR_KINDS, ModbusRelayDriver
from drivers.shared_port import port_users
from hw_sim.modbus_emu import ModbusBusEmulator, ModbusRelayEmulator
from hw_sim.model import Bank

LOCKS = (1, 2, 3, 4)
MakeDriver = Callable[..., ModbusRelayDriver]


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for board, letter in (("upper", "U"), ("lower", "L")):
        for lock in LOCKS:
            made.add_compartment(f"{letter}{lock:02d}", board, lock)
    return made


@pytest.fixture
def bus(bank: Bank, tmp_path: Path) -> Iterator[ModbusBusEmulator]:
    boards = [
        ModbusRelayEmulator(bank, "upper", address=1),
        ModbusRelayEmulator(bank, "lower", address=2, input_address=3),
    ]
    with ModbusBusEmulator(boards, link_path=tmp_path / "ttyRS485") as emulator:
        yield emulator


@pytest.fixture
def make_driver(bus: ModbusBusEmulator) -> Iterator[MakeDriver]:
    made: list[ModbusRelayDriver] = []

    def make(board: str, **options: Any) -> ModbusRelayDriver:
        letter = board[0].upper()
        channels = tuple(ChannelSpec(lock, f"{letter}{lock:02d}") for lock in LOCKS)
        merged = {"port": bus.device, "timeout_s": 0.05, "retries": 1, **options}
        driver = create_driver(BoardSpec(board, "modbus", channels, options=merged))
        assert isinstance(driver, ModbusRelayDriver)
        made.append(driver)
        return driver

    yield make
    for driver in made:
        driver.close()


@pytest.fixture
def pair(make_driver: MakeDriver) -> tuple[ModbusRelayDriver, ModbusRelayDriver]:
    upper = make_driver("upper", address=1)
    lower = make_driver("lower", address=2, input_address=3)
    upper.open()
    lower.open()
    return upper, lower


def open_doors(driver: ModbusRelayDriver) -> set[int]:
    return {lock for lock, r in driver.read().items() if r.door is DoorState.OPEN}


def test_two_relay_boards_open_one_port_and_each_reads_its_own_doors(
    pair: tuple[ModbusRelayDriver, ModbusRelayDriver], bank: Bank, bus: ModbusBusEmulator
) -> None:
    upper, lower = pair
    assert sorted(port_users(bus.device)) == ["lower", "upper"]
    bank.open_door("U02")
    bank.open_door("L04")
    assert open_doors(upper) == {2}
    assert open_doors(lower) == {4}  # read from the input board at address 3


def test_each_board_fires_only_its_own_locks(
    pair: tuple[ModbusRelayDriver, ModbusRelayDriver], bank: Bank
) -> None:
    upper, lower = pair
    upper.pulse(1, 0.2)
    lower.pulse(3, 0.2)
    fired = {cid for cid, count in bank.fire_counts().items() if count}
    assert fired == {"U01", "L03"}


def test_polling_one_board_while_firing_the_other_never_garbles_a_frame(
    pair: tuple[ModbusRelayDriver, ModbusRelayDriver], bank: Bank, bus: ModbusBusEmulator
) -> None:
    upper, lower = pair
    stop = threading.Event()
    reads = 0

    def poll() -> None:
        nonlocal reads
        while not stop.is_set():
            upper.read()
            reads += 1

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for lock in LOCKS * 3:
            lower.pulse(lock, 0.1)
    finally:
        stop.set()
        poller.join()
    assert reads > 0
    assert upper.stats()["errors"] == lower.stats()["errors"] == dict.fromkeys(ERROR_KINDS, 0)
    assert [board.counters.crc_errors for board in bus.boards] == [0, 0]
    assert sum(board.counters.flashes for board in bus.boards) == 12  # every flash arrived
    counts = bank.fire_counts()
    assert all(counts[f"L0{lock}"] >= 1 for lock in LOCKS)  # a flash while on: one unlock


def test_the_port_stays_open_until_the_last_board_leaves(
    pair: tuple[ModbusRelayDriver, ModbusRelayDriver], make_driver: MakeDriver, bus: Any
) -> None:
    upper, lower = pair
    upper.close()
    assert port_users(bus.device) == ("lower",)
    assert set(lower.read()) == set(LOCKS)
    lower.close()
    assert port_users(bus.device) == ()
    again = make_driver("upper", address=1)
    again.open()  # the port was let go: an exclusive open works again
    assert set(again.read()) == set(LOCKS)


def test_a_silent_board_does_not_take_the_other_one_offline(
    pair: tuple[ModbusRelayDriver, ModbusRelayDriver], bus: ModbusBusEmulator
) -> None:
    upper, lower = pair
    bus.boards[0].faults.silent = True
    with pytest.raises(BoardOffline, match="upper"):
        upper.read()
    assert set(lower.read()) == set(LOCKS)
    bus.boards[0].faults.silent = False
    assert set(upper.read()) == set(LOCKS)


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"address": 2}, "address 2 .* already used by board 'lower'"),
        (
            {"address": 5, "input_address": 3},
            "input 1 of address 3 .* already read by board 'lower'",
        ),
        ({"address": 3}, "address 3 .* already used by board 'lower'"),
        ({"address": 5, "baud": 19200}, "same baud"),
    ],
)
def test_a_board_that_does_not_fit_the_bus_is_refused_naming_it(
    pair: tuple[ModbusRelayDriver, ModbusRelayDriver],
    make_driver: MakeDriver,
    options: dict[str, Any],
    complaint: str,
) -> None:
    stray = make_driver("stray", **options)
    with pytest.raises(DriverError, match=complaint) as caught:
        stray.open()
    assert "'stray'" in str(caught.value)
    assert set(pair[0].read()) == set(LOCKS)


def test_the_emulated_bus_refuses_two_boards_at_one_address(bank: Bank) -> None:
    boards = [
        ModbusRelayEmulator(bank, "upper", address=1),
        ModbusRelayEmulator(bank, "lower", address=4, input_address=1),
    ]
    with pytest.raises(ValueError, match="address 1"):
        ModbusBusEmulator(boards)
