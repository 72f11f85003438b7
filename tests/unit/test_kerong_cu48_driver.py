"""The Kerong CU48 driver against emulated CU48 boards on a real pseudo-terminal: doors of
all 48 locks, items, unlocks with and without the board's answer, the frame layout
setting, and a CU48 bus kept apart from a CU16 one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelSpec, DoorState, create_driver
from drivers.errors import BoardOffline, DriverError
from drivers.kerong import KerongCu48Driver
from hw_sim.kerong_cu48_emu import Cu48BusEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

BOARDS = {0: "left", 1: "right"}
LOCKS = (1, 8, 9, 24, 47, 48)


def cid(board: str, lock: int) -> str:
    return f"{board[0].upper()}{lock:02d}"


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for board in BOARDS.values():
        for lock in LOCKS:
            made.add_compartment(cid(board, lock), board, lock)
    return made


def start(bank: Bank, where: Path, **kwargs: Any) -> Cu48BusEmulator:
    return Cu48BusEmulator(bank, BOARDS, PtyLink(where / "ttyCU48"), seed=5, **kwargs).start()


@pytest.fixture
def emulator(bank: Bank, tmp_path: Path) -> Iterator[Cu48BusEmulator]:
    made = start(bank, tmp_path)
    yield made
    made.close()


def build(port: str, board: str = "left", **options: Any) -> KerongCu48Driver:
    address = next(a for a, name in BOARDS.items() if name == board)
    channels = tuple(ChannelSpec(lock, cid(board, lock)) for lock in LOCKS)
    settings = {"port": port, "address": address, "timeout_s": 0.05, **options}
    driver = create_driver(BoardSpec(board, "kerong-cu48", channels, options=settings))
    assert isinstance(driver, KerongCu48Driver)
    return driver


def fired(bank: Bank) -> dict[str, int]:
    """The compartments whose lock fired, and how often."""
    return {cid: n for cid, n in bank.fire_counts().items() if n}


def doors(driver: KerongCu48Driver) -> dict[int, DoorState]:
    return {lock: reading.door for lock, reading in driver.read().items()}


def test_every_door_of_the_board_reads_as_it_is_up_to_lock_48(
    bank: Bank, emulator: Cu48BusEmulator
) -> None:
    bank.open_door("L09")
    bank.open_door("L48")
    with build(emulator.device) as driver:
        assert doors(driver) == {
            1: DoorState.CLOSED, 8: DoorState.CLOSED, 9: DoorState.OPEN,
            24: DoorState.CLOSED, 47: DoorState.CLOSED, 48: DoorState.OPEN,
        }  # fmt: skip


def test_items_are_unknown_unless_item_sensors_is_on(bank: Bank, emulator: Cu48BusEmulator) -> None:
    bank.set_item("L24", True)
    with build(emulator.device) as driver:
        assert {r.item for r in driver.read().values()} == {None}
    with build(emulator.device, item_sensors=True) as driver:
        assert [lock for lock, r in driver.read().items() if r.item] == [24]


def test_an_unlock_opens_that_door_and_only_that_door(
    bank: Bank, emulator: Cu48BusEmulator
) -> None:
    with build(emulator.device, board="right") as driver:
        driver.pulse(47, 0.5)
        assert fired(bank) == {"R47": 1}
        assert doors(driver)[47] is DoorState.OPEN
        assert [lock for lock, door in doors(driver).items() if door is DoorState.OPEN] == [47]


def test_the_boards_answer_to_an_unlock_is_taken_as_an_answer(
    emulator: Cu48BusEmulator,
) -> None:
    with build(emulator.device) as driver:
        before = driver.stats()
        driver.pulse(8, 0.5)
        after = driver.stats()
    assert after["replies_ok"] == before["replies_ok"] + 1
    assert after["pulses"] == before["pulses"] + 1
    assert after["errors"] == before["errors"]  # nothing waited out as a time-out


def test_an_unlock_is_accepted_when_the_board_does_not_answer_it(
    bank: Bank, emulator: Cu48BusEmulator
) -> None:
    emulator.reply_to_unlock = False
    with build(emulator.device) as driver:
        driver.pulse(1, 0.5)
        assert driver.stats()["pulses"] == 1
    assert fired(bank) == {"L01": 1}


def test_an_unlock_on_a_silent_board_says_it_may_not_have_fired(
    bank: Bank, emulator: Cu48BusEmulator
) -> None:
    with build(emulator.device) as driver:
        emulator.set_silent(0)
        with pytest.raises(BoardOffline, match="may not have fired") as caught:
            driver.pulse(1, 0.5)
    assert (caught.value.board, caught.value.channel) == ("left", 1)
    assert fired(bank) == {}


def test_each_board_on_the_bus_reads_its_own_doors(bank: Bank, emulator: Cu48BusEmulator) -> None:
    bank.open_door("R01")
    with build(emulator.device) as left, build(emulator.device, board="right") as right:
        assert doors(left)[1] is DoorState.CLOSED
        assert doors(right)[1] is DoorState.OPEN


def test_a_board_that_reads_its_id_in_byte_2_needs_the_lock_board_layout(
    bank: Bank, tmp_path: Path
) -> None:
    bank.open_door("R09")
    with start(bank, tmp_path, layout="lock-board") as emulator:
        with build(emulator.device, board="right", frame_layout="lock-board") as driver:
            assert doors(driver)[9] is DoorState.OPEN
            driver.pulse(24, 0.5)
        assert fired(bank) == {"R24": 1}
        # The default layout asks board 1 in byte 1: the bus's boards read board 0 there.
        with (
            build(emulator.device, board="right", retries=0) as driver,
            pytest.raises(BoardOffline),
        ):
            driver.read()


def test_the_board_is_spaced_by_its_own_unlock_time(emulator: Cu48BusEmulator) -> None:
    assert build(emulator.device).pulse_length(0.3) == 0.5
    assert build(emulator.device, unlock_ms=1000).pulse_length(0.3) == 1.0


def test_a_cu16_cannot_join_a_cu48_bus(emulator: Cu48BusEmulator) -> None:
    channels = (ChannelSpec(1, "X01"),)
    cu16 = create_driver(
        BoardSpec("cu16", "kerong", channels, options={"port": emulator.device, "address": 5})
    )
    refused = pytest.raises(DriverError, match="kerong-cu48 bus of board 'left'")
    with build(emulator.device), refused:
        cu16.open()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"frame_layout": "lock-first"}, "frame_layout must be 'board-lock' or 'lock-board'"),
        ({"unlock_ms": 5000}, "unlock_ms must be 100..2000"),
        ({"address": 16}, "address must be 0..15"),
    ],
)
def test_bad_options_are_refused_naming_the_board(options: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError, match=rf"'left'.*{message}"):
        build("/dev/null", **options)


def test_a_lock_past_48_is_refused_naming_the_board() -> None:
    spec = BoardSpec("big", "kerong-cu48", (ChannelSpec(49, "X49"),), options={"port": "/x"})
    with pytest.raises(DriverError, match=r"'big'.*locks \[49\] do not exist on a CU48"):
        create_driver(spec)
