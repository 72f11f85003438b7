"""The Modbus relay driver against the relay (D) board emulator on a pseudo-terminal.

Everything here runs the real serial code: pymodbus's client and the driver's own flash
frames on the pty's slave, :mod:`hw_sim.modbus_emu` on its master, a bank of doors
behind it. Doors are opened and closed by hand (manual person) unless a test says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelSpec, DoorState, create_driver
from drivers.errors import BoardOffline, DriverError
from drivers.modbus import ERROR_KINDS, BadReply, ModbusExceptionReply, ModbusRelayDriver
from hw_sim.modbus_emu import Faults, ModbusRelayEmulator, frame_with_crc
from hw_sim.model import Bank

BOARD = "wall-left"
LOCKS = (1, 2, 3, 4)

Rig = Callable[..., tuple[ModbusRelayEmulator, ModbusRelayDriver]]


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for lock in LOCKS:
        made.add_compartment(f"C{lock:02d}", BOARD, lock)
    return made


@pytest.fixture
def rig(bank: Bank) -> Iterator[Rig]:
    """``rig(emulator options..., driver={driver options})``: both started and open."""
    made: list[tuple[ModbusRelayEmulator, ModbusRelayDriver]] = []

    def build(
        driver: dict[str, Any] | None = None, **emulator: Any
    ) -> tuple[ModbusRelayEmulator, ModbusRelayDriver]:
        emu = ModbusRelayEmulator(bank, BOARD, **emulator).start()
        options = {"port": emu.device, "timeout_s": 0.05, "retries": 1, **(driver or {})}
        channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in LOCKS)
        made_driver = create_driver(BoardSpec(BOARD, "modbus", channels, options=options))
        assert isinstance(made_driver, ModbusRelayDriver)
        made_driver.open()
        made.append((emu, made_driver))
        return emu, made_driver

    yield build
    for emu, driver in made:
        emu.faults = Faults()
        driver.close()
        emu.close()


def doors(driver: ModbusRelayDriver) -> dict[int, DoorState]:
    return {lock: reading.door for lock, reading in driver.read().items()}


ALL_CLOSED = dict.fromkeys(LOCKS, DoorState.CLOSED)
NO_ERRORS = dict.fromkeys(ERROR_KINDS, 0)


# -- reads --------------------------------------------------------------------------


def test_closed_doors_read_closed_and_an_opened_door_reads_open(rig: Rig, bank: Bank) -> None:
    _, driver = rig()
    assert doors(driver) == ALL_CLOSED
    bank.open_door("C02")
    assert doors(driver) == {**ALL_CLOSED, 2: DoorState.OPEN}


def test_inputs_wired_active_low_read_the_same_doors(rig: Rig, bank: Bank) -> None:
    _, driver = rig(input_closed_level=0, driver={"input_closed_level": 0})
    bank.open_door("C04")
    assert doors(driver) == {**ALL_CLOSED, 4: DoorState.OPEN}


def test_doors_on_a_separate_input_board_are_read_at_its_address(rig: Rig, bank: Bank) -> None:
    _, driver = rig(address=1, input_address=9, driver={"input_address": 9})
    bank.open_door("C03")
    assert doors(driver) == {**ALL_CLOSED, 3: DoorState.OPEN}


def test_a_board_without_inputs_reads_every_door_unknown_but_still_notices_death(
    rig: Rig, bank: Bank
) -> None:
    _, driver = rig(has_inputs=False, driver={"inputs": "none"})
    assert set(doors(driver).values()) == {DoorState.UNKNOWN}
    bank.kill_board(BOARD)
    with pytest.raises(BoardOffline):
        driver.read()


# -- pulses and all_off ------------------------------------------------------------------


def test_a_flash_pulse_opens_exactly_the_right_door(rig: Rig, bank: Bank) -> None:
    emu, driver = rig()
    driver.pulse(3, 0.5)
    assert bank.fire_counts() == {"C01": 0, "C02": 0, "C03": 1, "C04": 0}
    assert emu.relays()[:4] == (False, False, True, False)
    assert doors(driver) == {**ALL_CLOSED, 3: DoorState.OPEN}
    assert emu.counters.flashes == 1


def test_the_board_switches_a_flashed_relay_off_by_itself(rig: Rig) -> None:
    emu, driver = rig()
    assert driver.board_times_pulse
    driver.pulse(1, 0.1)
    assert emu.relays()[0]
    time.sleep(0.15)
    assert not any(emu.relays())


def test_all_off_switches_every_relay_off(rig: Rig) -> None:
    emu, driver = rig()
    for relay in (0, 5, 7):  # held on with plain FF00 writes, as a stray master might
        emu.handle(frame_with_crc(bytes([1, 5, 0, relay, 0xFF, 0x00])))
    assert sum(emu.relays()) == 3
    driver.all_off()
    assert not any(emu.relays())


def test_a_pulse_on_a_lock_with_no_compartment_is_refused(rig: Rig, bank: Bank) -> None:
    _, driver = rig()
    with pytest.raises(DriverError, match=BOARD):
        driver.pulse(7, 0.5)
    assert sum(bank.fire_counts().values()) == 0


# -- errors, with the board's name -------------------------------------------------------


def test_a_modbus_exception_reply_is_a_driver_error_naming_the_board(rig: Rig) -> None:
    emu, driver = rig(has_inputs=False)  # a plain relay board: FC02 is not supported
    with pytest.raises(ModbusExceptionReply) as caught:
        driver.read()
    assert caught.value.code == 1
    assert BOARD in str(caught.value)
    # No relay modes either (asked before the first read: an answer, not an error), then
    # FC02 refused once: a refusal is final, not retried.
    assert emu.counters.exceptions == 2
    assert driver.stats()["errors"] == {**NO_ERRORS, "exception": 1}


def test_crc_errors_on_reads_are_retried_then_a_driver_error_naming_the_board(
    rig: Rig,
) -> None:
    emu, driver = rig()
    emu.faults.corrupt_crc_p = 1.0
    with pytest.raises(BadReply) as caught:
        driver.read()
    assert BOARD in str(caught.value)
    assert caught.value.kind == "crc"
    assert driver.stats()["errors"] == {**NO_ERRORS, "crc": 2}
    assert driver.stats()["retries"] == 1


def lose_echoes(emu: ModbusRelayEmulator, first_frame_too: bool = False) -> None:
    """The board's echoes of FC05 never reach the driver (the board did act on the
    frame); with ``first_frame_too`` the first FC05 never reaches the board either."""
    inner = emu.handle
    lost: list[bytes] = []

    def handle(frame: bytes, line_baud: int | None = None) -> bytes | None:
        if len(frame) > 1 and frame[1] == 0x05:
            if first_frame_too and not lost:
                lost.append(frame)
                return None
            inner(frame, line_baud)
            return None
        return inner(frame, line_baud)

    emu.handle = handle  # type: ignore[method-assign]


def test_a_lost_echo_of_a_flash_the_board_took_is_made_good_by_asking_the_relay(
    rig: Rig, bank: Bank
) -> None:
    emu, driver = rig()
    driver.read()  # the relay modes are checked: the pulse's frames are its own
    lose_echoes(emu)
    driver.pulse(1, 0.5)  # the relay reads on: the board took it; nothing is sent again
    assert emu.counters.flashes == 1
    assert bank.fire_counts()["C01"] == 1
    assert driver.stats()["pulses"] == 1


def test_a_flash_the_board_never_heard_is_sent_again_while_it_would_still_be_on(
    rig: Rig, bank: Bank
) -> None:
    emu, driver = rig(driver={"retries": 2})
    driver.read()
    lose_echoes(emu, first_frame_too=True)
    driver.pulse(1, 0.5)  # the relay reads off within the 500 ms: sent again, fired once
    assert emu.counters.flashes == 1  # the board heard only the second
    assert bank.fire_counts()["C01"] == 1


def test_a_lost_echo_is_not_made_good_by_a_flash_that_may_come_after_the_first(
    rig: Rig, bank: Bank
) -> None:
    emu, driver = rig(driver={"timeout_s": 0.1})
    driver.read()
    lose_echoes(emu)
    with pytest.raises(BoardOffline, match=BOARD):
        driver.pulse(1, 0.1)  # asked again after 120 ms: the 100 ms flash may be over
    with pytest.raises(BoardOffline, match=BOARD):
        driver.pulse(2, 2.0)  # a second 2 s flash could hold the coil past 2 s
    assert emu.counters.flashes == 2
    assert (bank.fire_counts()["C01"], bank.fire_counts()["C02"]) == (1, 1)


def test_a_damaged_echo_makes_the_driver_ask_the_relay_not_fire_again(rig: Rig, bank: Bank) -> None:
    emu, driver = rig()
    driver.read()
    emu.faults.corrupt_crc_p = 1.0  # every reply damaged, the relay read's too
    with pytest.raises(BadReply, match=BOARD):
        driver.pulse(1, 0.5)
    assert emu.counters.flashes == 1
    assert bank.fire_counts()["C01"] == 1


def test_a_resend_that_waited_for_the_bus_past_the_flash_is_not_sent(rig: Rig, bank: Bank) -> None:
    # Another board's poll holds the bus between the lost echo and the resend: by the
    # time the bus is free the first flash (200 ms) is over, so a resend would be a
    # second unlock.
    emu, driver = rig(driver={"timeout_s": 0.05})
    driver.read()
    emu.faults.drop_p = 1.0
    failed: list[Exception] = []

    def pulse() -> None:
        try:
            driver.pulse(1, 0.2)
        except BoardOffline as exc:
            failed.append(exc)

    firing = threading.Thread(target=pulse)
    firing.start()
    deadline = time.monotonic() + 2
    while emu.counters.flashes < 1:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    bus = driver._bus
    assert bus is not None
    with bus.lock:  # taken as the first attempt lets go of it, before the resend
        time.sleep(0.25)
    firing.join(5)
    assert emu.counters.flashes == 1
    assert bank.fire_counts()["C01"] == 1
    assert [str(e) for e in failed] == [
        f"board {BOARD!r}: flash lock 1 at address 1: no echo, and the flash may have "
        "ended since: not sent again"
    ]


def test_line_noise_before_a_reply_is_skipped(rig: Rig, bank: Bank) -> None:
    emu, driver = rig()
    emu.faults.garbage_p = 1.0
    bank.open_door("C01")
    assert doors(driver) == {**ALL_CLOSED, 1: DoorState.OPEN}
    driver.pulse(2, 0.3)
    assert bank.fire_counts()["C02"] == 1
    assert driver.stats()["errors"] == NO_ERRORS


def test_a_lost_reply_is_made_good_by_a_retry(rig: Rig) -> None:
    emu, driver = rig(seed=1, driver={"retries": 3})
    emu.faults.drop_p = 0.3
    for _ in range(10):
        assert doors(driver) == ALL_CLOSED
    assert emu.counters.dropped > 0
    assert driver.stats()["retries"] == emu.counters.dropped


def test_a_late_reply_is_not_taken_for_the_answer_to_the_next_request(rig: Rig, bank: Bank) -> None:
    emu, driver = rig(driver={"retries": 0})
    emu.faults.late_s, emu.faults.late_p = 0.08, 1.0
    with pytest.raises(BoardOffline):
        driver.read()
    emu.faults.late_s = 0.0
    time.sleep(0.1)  # the stale "all closed" reply is in the port's buffer now
    bank.open_door("C02")
    assert doors(driver) == {**ALL_CLOSED, 2: DoorState.OPEN}


def test_a_silent_board_is_offline_then_answers_again_without_a_reopen(
    rig: Rig, bank: Bank
) -> None:
    emu, driver = rig()
    emu.faults.silent = True
    with pytest.raises(BoardOffline, match=BOARD):
        driver.read()
    with pytest.raises(BoardOffline, match=BOARD):
        driver.pulse(1, 0.5)
    assert bank.fire_counts()["C01"] == 0
    emu.faults.silent = False
    assert doors(driver) == ALL_CLOSED
    driver.pulse(1, 0.5)
    assert bank.fire_counts()["C01"] == 1


def test_an_unopenable_port_is_offline_naming_the_board(bank: Bank) -> None:
    spec = BoardSpec(BOARD, "modbus", (ChannelSpec(1, "C01"),), options={"port": "/nonexistent"})
    with pytest.raises(BoardOffline, match=BOARD):
        create_driver(spec).open()


def test_kernel_rs485_mode_on_a_pty_is_refused_naming_the_board(bank: Bank) -> None:
    with ModbusRelayEmulator(bank, BOARD) as emu:
        options = {"port": emu.device, "rs485": True}
        driver = create_driver(
            BoardSpec(BOARD, "modbus", (ChannelSpec(1, "C01"),), options=options)
        )
        with pytest.raises(DriverError, match="RS-485"):
            driver.open()


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({}, "port is required"),
        ({"port": "/dev/ttyUSB0", "address": 0}, "address"),
        ({"port": "/dev/ttyUSB0", "inputs": "sometimes"}, "inputs"),
        ({"port": "/dev/ttyUSB0", "inputs": "none", "input_address": 3}, "input_address"),
        ({"port": "/dev/ttyUSB0", "input_closed_level": 2}, "input_closed_level"),
    ],
)
def test_bad_options_are_refused_naming_the_board(options: dict[str, Any], complaint: str) -> None:
    with pytest.raises(DriverError, match=complaint) as caught:
        create_driver(BoardSpec(BOARD, "modbus", (ChannelSpec(1, "C01"),), options=options))
    assert BOARD in str(caught.value)


def test_a_lock_beyond_the_eighth_relay_is_refused() -> None:
    spec = BoardSpec(BOARD, "modbus", (ChannelSpec(9, "C09"),), options={"port": "/dev/x"})
    with pytest.raises(DriverError, match=r"1\.\.8"):
        create_driver(spec)


# -- counters and pacing -------------------------------------------------------------------


def test_stats_count_frames_errors_retries_and_last_seen(rig: Rig) -> None:
    emu, driver = rig()
    before = time.time()
    driver.read()
    driver.pulse(1, 0.2)
    emu.faults.silent = True
    with pytest.raises(BoardOffline):
        driver.read()
    stats = driver.stats()
    assert stats["frames_sent"] == 5  # the relay modes (first), read, flash, read + its retry
    assert stats["replies_ok"] == 3
    assert stats["errors"] == {**NO_ERRORS, "timeout": 2}
    assert stats["retries"] == 1
    assert stats["pulses"] == 1
    assert stats["last_seen"] >= before
    assert BOARD in stats["last_error"]


def test_a_paced_board_at_9600_baud_still_reads_and_fires(rig: Rig, bank: Bank) -> None:
    _, driver = rig(pacing=True, driver={"timeout_s": 0.2})
    bank.open_door("C04")
    assert doors(driver) == {**ALL_CLOSED, 4: DoorState.OPEN}
    driver.pulse(2, 0.2)
    assert bank.fire_counts()["C02"] == 1


# -- polls: a read within a budget --------------------------------------------------


def test_a_poll_of_a_silent_board_gives_up_at_its_budget_not_after_the_retries(
    rig: Rig,
) -> None:
    emu, driver = rig(driver={"timeout_s": 0.2, "retries": 2})  # read(): 0.66 s
    emu.faults.silent = True
    with pytest.raises(BoardOffline, match=rf"'{BOARD}'.*\(1 attempt\)"):
        driver.read_within(0.05)
    assert driver.stats()["retries"] == 0
    emu.faults.silent = False
    assert {lock: r.door for lock, r in driver.read_within(0.05).items()} == ALL_CLOSED


def test_a_poll_asks_again_within_its_budget_after_a_garbled_reply(rig: Rig) -> None:
    emu, driver = rig(driver={"timeout_s": 0.5, "retries": 2})
    emu.faults.corrupt_crc_p = 1.0
    with pytest.raises(BadReply, match=r"\(3 attempts\)"):
        driver.read_within(1.0)
    assert driver.stats()["errors"] == {**NO_ERRORS, "crc": 3}


def test_a_poll_with_a_budget_too_short_for_the_wire_still_makes_one_attempt(rig: Rig) -> None:
    _, driver = rig(pacing=True, driver={"timeout_s": 0.5})  # 9600 baud, paced
    assert {lock: r.door for lock, r in driver.read_within(0.001).items()} == ALL_CLOSED
