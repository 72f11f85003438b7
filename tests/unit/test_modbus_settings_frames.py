"""The frames that read and set a Modbus relay board's address and baud, pinned on both
sides of the wire: the driver's builder against the published golden frames, and the
emulator (its own CRC and framing) against the replies a board gives."""

from __future__ import annotations

import pytest

from drivers.modbus.frames import (
    ADDRESS_REGISTER,
    UART_REGISTER,
    VERSION_REGISTER,
    read_register_frame,
    register_value,
    write_register_frame,
)
from hw_sim.modbus_emu import ModbusBusEmulator, ModbusRelayEmulator, frame_with_crc
from hw_sim.model import Bank


def frame(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("built", "golden"),
    [
        (read_register_frame(1, ADDRESS_REGISTER), "01 03 40 00 00 01 91 CA"),
        (read_register_frame(0, ADDRESS_REGISTER), "00 03 40 00 00 01 90 1B"),
        (write_register_frame(0, ADDRESS_REGISTER, 1), "00 06 40 00 00 01 5C 1B"),
        (write_register_frame(0, ADDRESS_REGISTER, 2), "00 06 40 00 00 02 1C 1A"),
        (write_register_frame(0, ADDRESS_REGISTER, 3), "00 06 40 00 00 03 DD DA"),
        (write_register_frame(1, ADDRESS_REGISTER, 2), "01 06 40 00 00 02 1D CB"),
        (read_register_frame(1, UART_REGISTER), "01 03 20 00 00 01 8F CA"),
        (write_register_frame(0, UART_REGISTER, 5), "00 06 20 00 00 05 43 D8"),
        (read_register_frame(0, VERSION_REGISTER), "00 03 80 00 00 01 AC 1B"),
    ],
)
def test_the_settings_frames_are_the_published_ones(built: bytes, golden: str) -> None:
    assert built == frame(golden)


def test_a_register_value_is_read_from_its_reply_and_only_from_a_whole_one() -> None:
    assert register_value(frame("01 03 02 00 01 79 84"), 1) == 1
    assert register_value(frame("FF 00 01 03 02 00 C8 B9 D2"), 1) == 200  # noise first
    assert register_value(frame("00 03 02 00 01 44 44"), None) == 1  # a read at address 0
    assert register_value(frame("01 03 02 00 01 79 85"), 1) is None  # a bad CRC
    assert register_value(frame("01 03 02 00 01 79 84"), 2) is None  # another board's


@pytest.fixture
def board() -> ModbusRelayEmulator:
    bank = Bank(person="manual")
    bank.add_compartment("A01", "relays", 1)
    return ModbusRelayEmulator(bank, "relays")  # not started: handle() is called directly


def test_the_emulated_board_answers_its_settings_registers(board: ModbusRelayEmulator) -> None:
    assert board.handle(frame("01 03 20 00 00 01 8F CA")) == frame("01 03 02 00 01 79 84")
    assert board.handle(frame("01 03 80 00 00 01 AD CA")) == frame("01 03 02 00 C8 B9 D2")
    assert board.handle(frame("00 03 40 00 00 01 90 1B")) == frame("00 03 02 00 01 44 44")


def test_the_emulated_board_stores_a_baud_and_speaks_it_from_the_next_power_on(
    board: ModbusRelayEmulator,
) -> None:
    set_19200 = write_register_frame(1, UART_REGISTER, 2)
    assert board.handle(set_19200) == set_19200  # echoed
    assert board.handle(read_register_frame(1, UART_REGISTER)) == frame_with_crc(
        frame("01 03 02 00 02")
    )
    strict = ModbusRelayEmulator(board.bank, "relays", strict_baud=True)
    strict.handle(set_19200, 9600)
    assert strict.handle(read_register_frame(1, ADDRESS_REGISTER), 19200) is None
    board.bank.kill_board("relays")
    board.bank.revive_board("relays")
    assert strict.handle(read_register_frame(1, ADDRESS_REGISTER), 9600) is None
    assert strict.handle(read_register_frame(1, ADDRESS_REGISTER), 19200) is not None
    assert strict.counters.wrong_baud == 2


def test_the_emulated_board_refuses_a_baud_code_beyond_the_table(
    board: ModbusRelayEmulator,
) -> None:
    assert board.handle(write_register_frame(1, UART_REGISTER, 8)) == frame("01 86 03 02 61")


def test_two_boards_answering_a_read_at_address_0_garble_each_other() -> None:
    bank = Bank(person="manual")
    boards = [ModbusRelayEmulator(bank, "a", address=1), ModbusRelayEmulator(bank, "b", address=2)]
    bus = ModbusBusEmulator(boards)

    reply = bus.handle(read_register_frame(0, ADDRESS_REGISTER))

    assert reply is not None and register_value(reply, None) is None
    assert bus.counters.collisions == 1
