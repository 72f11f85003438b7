"""The Modbus boards installers buy: relay boards of 8, 16 and 32 channels, input boards
shared between relay boards at an offset, and the (D) board's relay modes.

Every test runs the real driver (pymodbus and the driver's own flash frames) against
emulated boards on one pseudo-terminal, as they hang on one RS-485 bus.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelSpec, DoorState, create_driver
from drivers.errors import DriverError
from drivers.modbus import ModbusRelayDriver
from hw_sim.modbus_emu import ModbusBusEmulator, ModbusInputEmulator, ModbusRelayEmulator
from hw_sim.model import Bank

INPUT_BOARD = 9


def cid(board: str, lock: int) -> str:
    return f"{board}-{lock}"


def fired(bank: Bank) -> dict[str, int]:
    return {name: n for name, n in bank.fire_counts().items() if n}


MakeDriver = Callable[..., ModbusRelayDriver]


@pytest.fixture
def made(tmp_path: Path) -> Iterator[list[Any]]:
    """What a test started (emulators, drivers): closed after it, drivers first."""
    things: list[Any] = []
    yield things
    for thing in reversed(things):
        thing.close()


def driver_for(
    made: list[Any], port: str, board: str, locks: tuple[int, ...], **options: Any
) -> ModbusRelayDriver:
    channels = tuple(ChannelSpec(lock, cid(board, lock)) for lock in locks)
    settings = {"port": port, "timeout_s": 0.05, "retries": 1, **options}
    driver = create_driver(BoardSpec(board, "modbus", channels, options=settings))
    assert isinstance(driver, ModbusRelayDriver)
    driver.open()
    made.append(driver)
    return driver


def open_doors(driver: ModbusRelayDriver) -> list[int]:
    return [lock for lock, r in driver.read().items() if r.door is DoorState.OPEN]


# -- one 16-input board serving two 8-relay boards --------------------------------------


@pytest.fixture
def shared_inputs(tmp_path: Path, made: list[Any]) -> tuple[Bank, ModbusBusEmulator]:
    """Relay boards 'left' (address 1) and 'right' (address 2), 8 relays each; their doors
    on inputs 1-8 and 9-16 of the 16-input board at address 9."""
    bank = Bank(person="manual")
    inputs = ModbusInputEmulator(bank, INPUT_BOARD, 16)
    for first, board in ((1, "left"), (9, "right")):
        for lock in range(1, 9):
            bank.add_compartment(cid(board, lock), board, lock)
            inputs.wire(first + lock - 1, board, lock)
    relays = [ModbusRelayEmulator(bank, b, address=a, has_inputs=False)
              for a, b in ((1, "left"), (2, "right"))]  # fmt: skip
    bus = ModbusBusEmulator([*relays, inputs], link_path=tmp_path / "ttyMB").start()
    made.append(bus)
    return bank, bus


def test_two_8_relay_boards_read_their_own_doors_from_one_16_input_board(
    shared_inputs: tuple[Bank, ModbusBusEmulator], made: list[Any]
) -> None:
    bank, bus = shared_inputs
    locks = tuple(range(1, 9))
    left = driver_for(made, bus.device, "left", locks, address=1, input_address=INPUT_BOARD)
    right = driver_for(made, bus.device, "right", locks, address=2, input_address=INPUT_BOARD,
                       input_first=9)  # fmt: skip
    bank.open_door("right-3")
    bank.open_door("left-8")
    assert (open_doors(left), open_doors(right)) == ([8], [3])


def test_each_board_sharing_an_input_board_fires_only_its_own_locks(
    shared_inputs: tuple[Bank, ModbusBusEmulator], made: list[Any]
) -> None:
    bank, bus = shared_inputs
    locks = tuple(range(1, 9))
    right = driver_for(made, bus.device, "right", locks, address=2, input_address=INPUT_BOARD,
                       input_first=9)  # fmt: skip
    right.pulse(5, 0.3)
    assert fired(bank) == {"right-5": 1}
    assert open_doors(right) == [5]


def test_two_boards_reading_one_input_for_their_doors_are_refused_naming_the_input(
    shared_inputs: tuple[Bank, ModbusBusEmulator], made: list[Any]
) -> None:
    _, bus = shared_inputs
    locks = tuple(range(1, 9))
    driver_for(made, bus.device, "left", locks, address=1, input_address=INPUT_BOARD)
    with pytest.raises(DriverError, match=r"'right'.*input 8 of address 9 .* board 'left'"):
        driver_for(made, bus.device, "right", locks, address=2, input_address=INPUT_BOARD,
                   input_first=8)  # fmt: skip


def test_a_dead_relay_board_is_offline_though_its_input_board_answers(
    shared_inputs: tuple[Bank, ModbusBusEmulator], made: list[Any]
) -> None:
    bank, bus = shared_inputs
    left = driver_for(made, bus.device, "left", (1, 2), address=1, input_address=INPUT_BOARD)
    left.read()
    bank.kill_board("left")
    with pytest.raises(DriverError, match=r"'left'.*read relays at address 1"):
        left.read()
    # A poll asks the relay board itself once it was last heard a while ago: polls fail
    # again soon (the input board alone would have answered every one of them).
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        try:
            left.read_within(0.05)
        except DriverError as exc:
            assert "read relays at address 1" in str(exc)
            break
        time.sleep(0.05)
    else:
        pytest.fail("polls of a dead relay board kept answering from its input board")


# -- 16 and 32 channels -------------------------------------------------------------------


@pytest.mark.parametrize("channels", [16, 32])
def test_a_wide_board_fires_and_reads_its_last_relay_and_switches_every_relay_off(
    tmp_path: Path, made: list[Any], channels: int
) -> None:
    bank = Bank(person="manual")
    inputs = ModbusInputEmulator(bank, INPUT_BOARD, channels)
    for lock in range(1, channels + 1):
        bank.add_compartment(cid("wall", lock), "wall", lock)
        inputs.wire(lock, "wall", lock)
    relays = ModbusRelayEmulator(bank, "wall", address=3, channels=channels, has_inputs=False)
    bus = ModbusBusEmulator([relays, inputs], link_path=tmp_path / "ttyMB").start()
    made.append(bus)
    wall = driver_for(made, bus.device, "wall", (1, channels), address=3, channels=channels,
                      input_address=INPUT_BOARD)  # fmt: skip
    assert wall.channel_count == channels
    wall.pulse(channels, 0.3)
    assert fired(bank) == {f"wall-{channels}": 1}
    assert open_doors(wall) == [channels]
    wall.pulse_channel(channels - 1, 2.0)  # held on by the board for 2 s ...
    assert relays.relays()[channels - 2]
    wall.all_off()  # ... unless switched off
    assert not any(relays.relays())


# -- the (D) board's relay modes ------------------------------------------------------------


@pytest.fixture
def d_board(tmp_path: Path, made: list[Any]) -> Callable[..., tuple[Bank, ModbusRelayEmulator]]:
    def start(modes: list[int] | None) -> tuple[Bank, ModbusRelayEmulator]:
        bank = Bank(person="manual")
        for lock in range(1, 9):
            bank.add_compartment(cid("d", lock), "d", lock)
        emulator = ModbusRelayEmulator(bank, "d", address=1, relay_modes=modes,
                                       link_path=tmp_path / "ttyD")  # fmt: skip
        made.append(emulator.start())
        return bank, emulator

    return start


def test_a_d_board_with_relays_in_linkage_mode_is_refused_saying_why(
    d_board: Callable[..., tuple[Bank, ModbusRelayEmulator]], made: list[Any]
) -> None:
    bank, emulator = d_board([0, 0, 1, 0, 0, 0, 1, 0])
    driver = driver_for(made, emulator.device, "d", (1, 2, 3))
    with pytest.raises(DriverError) as caught:
        driver.read()
    message = str(caught.value)
    assert message.startswith("board 'd': relay control modes not normal")
    assert "relay 3 linkage, relay 7 linkage" in message
    assert "a door switch could fire its lock" in message
    with pytest.raises(DriverError, match="relay control modes not normal") as refused:
        driver.pulse(1, 0.3)
    assert refused.value.channel == 1
    assert fired(bank) == {}  # refused before any flash
    assert emulator.relay_modes() == [0, 0, 1, 0, 0, 0, 1, 0]  # left as found


def test_relay_modes_reset_writes_normal_and_the_board_then_works(
    d_board: Callable[..., tuple[Bank, ModbusRelayEmulator]], made: list[Any]
) -> None:
    bank, emulator = d_board([1] * 8)
    driver = driver_for(made, emulator.device, "d", (1, 2, 3), relay_modes="reset")
    bank.open_door("d-2")
    assert open_doors(driver) == [2]
    assert emulator.relay_modes() == [0] * 8


def test_a_board_without_relay_modes_works_and_counts_no_error(
    d_board: Callable[..., tuple[Bank, ModbusRelayEmulator]], made: list[Any]
) -> None:
    _, emulator = d_board(None)
    emulator.units[0].modes = None  # a board whose firmware has no such registers
    driver = driver_for(made, emulator.device, "d", (1, 2))
    assert open_doors(driver) == []
    assert open_doors(driver) == []
    assert sum(driver.stats()["errors"].values()) == 0
    assert emulator.counters.by_function[3] == 1  # asked once after the open, not each read


def test_the_relay_modes_are_read_once_after_each_open(
    d_board: Callable[..., tuple[Bank, ModbusRelayEmulator]], made: list[Any]
) -> None:
    _, emulator = d_board([0] * 8)
    driver = driver_for(made, emulator.device, "d", (1, 2))
    for _ in range(3):
        driver.read_within(0.05)
    driver.pulse(1, 0.3)
    assert emulator.counters.by_function[3] == 1
    driver.close()
    driver.open()
    driver.read()
    assert emulator.counters.by_function[3] == 2


# -- options --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "locks", "complaint"),
    [
        ({"channels": 12}, (1,), "channels must be one of 8, 16, 32, not 12"),
        ({"channels": 16}, (17,), r"locks must be in 1\.\.16"),
        ({"inputs": "none", "input_first": 9}, (1,), "input_first need inputs = 'self'"),
        ({"input_first": 0}, (1,), r"input_first must be in 1\.\.249"),
        ({"relay_modes": "ignore"}, (1,), "relay_modes must be 'check' or 'reset'"),
    ],
)
def test_bad_options_are_refused_naming_the_board(
    options: dict[str, Any], locks: tuple[int, ...], complaint: str
) -> None:
    channels = tuple(ChannelSpec(lock, f"X{lock}") for lock in locks)
    spec = BoardSpec("relays", "modbus", channels, options={"port": "/dev/x", **options})
    with pytest.raises(DriverError, match=rf"'relays'.*{complaint}"):
        create_driver(spec)
