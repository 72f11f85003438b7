"""Modbus RTU framing, pinned on both sides of the wire by byte-exact frames.

The driver (:mod:`drivers.modbus.frames`) and the emulator (:mod:`hw_sim.modbus_emu`)
share no code; these frames come from ``shared/HARDWARE.md`` or were checked by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ModbusPDU

from drivers.base import BoardSpec, ChannelSpec, DoorState
from drivers.errors import BoardOffline, DriverError
from drivers.modbus import ModbusRelayDriver
from drivers.modbus.frames import (
    BadReply,
    ModbusExceptionReply,
    bits_reply_missing,
    check_echo,
    crc16_modbus,
    decode_bits_reply,
    door_readings,
    flash_frame,
    flash_units,
    read_bits_frame,
    silence_s,
    with_crc,
)
from hw_sim.modbus_emu import ModbusRelayEmulator, crc16, frame_with_crc
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

GOLDEN_FLASH = bytes.fromhex("01 05 02 00 00 07 8D B0")  # relay 1 on for 700 ms
INPUTS_1_AND_3 = bytes.fromhex("01 02 01 05 61 8B")  # FC02 reply, inputs 0 and 2 high
FLASH_REFUSED = bytes.fromhex("01 85 02 C3 51")  # exception 02 to an FC05
LOCKS = (1, 2, 3, 4)
BOARD = "frames"


def _decode(frame: bytes, address: int = 1) -> ModbusPDU | None:
    """What pymodbus's RTU framer (the one the serial client uses) makes of ``frame``."""
    return FramerRTU(DecodePDU(False)).handleFrame(frame, address, 0)[1]


def _reply(frame: bytes, address: int = 1) -> ModbusPDU:
    pdu = _decode(frame, address)
    assert pdu is not None
    return pdu


# -- CRC-16/MODBUS known answers --------------------------------------------------------


def test_driver_crc_gives_the_catalogue_check_value() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37


def test_emulator_crc_gives_the_catalogue_check_value() -> None:
    assert crc16(b"123456789") == 0x4B37


# -- the golden frame, on the driver's encoder ------------------------------------------


def test_driver_encodes_relay_1_on_for_700_ms_as_the_golden_frame() -> None:
    assert flash_frame(1, 0, 0.7) == GOLDEN_FLASH
    assert with_crc(GOLDEN_FLASH[:-2]) == GOLDEN_FLASH


@pytest.mark.parametrize(
    ("seconds", "units"), [(0.01, 1), (0.1, 1), (0.5, 5), (0.7, 7), (2.0, 20), (9.0, 20)]
)
def test_flash_on_time_is_clamped_to_the_board_range(seconds: float, units: int) -> None:
    assert flash_units(seconds) == units
    assert flash_frame(1, 0, seconds)[4:6] == units.to_bytes(2, "big")


def test_flash_frame_addresses_coil_0x0200_plus_relay() -> None:
    assert flash_frame(5, 7, 0.5)[:4] == bytes.fromhex("05 05 02 07")


# [?] relays past the 8th: the family's flash coils by analogy (docs/hardware.md), CRCs
# computed independently of both sides.
RELAY_16_FLASH = bytes.fromhex("01 05 02 0F 00 07 BD B3")
RELAY_32_FLASH = bytes.fromhex("01 05 02 1F 00 07 BC 76")


def test_driver_encodes_the_flash_of_relay_16_and_32_of_the_wider_boards() -> None:
    assert flash_frame(1, 15, 0.7, relays=16) == RELAY_16_FLASH
    assert flash_frame(1, 31, 0.7, relays=32) == RELAY_32_FLASH
    with pytest.raises(ValueError):
        flash_frame(1, 8, 0.7)  # an 8-relay board has no ninth


def test_silence_between_frames_matches_the_hardware_table() -> None:
    assert silence_s(9600) == pytest.approx(0.0040, abs=1e-4)
    assert silence_s(19200) == pytest.approx(0.0020, abs=1e-4)
    assert silence_s(115200) == pytest.approx(0.00175)


# -- the driver's decoders ---------------------------------------------------------------


def _inputs(frame: bytes, address: int = 1, count: int = 4) -> list[bool]:
    return decode_bits_reply(address, 2, count, frame, BOARD)


def test_driver_reads_inputs_low_bit_first() -> None:
    readings = door_readings(_inputs(INPUTS_1_AND_3), LOCKS, 1)
    doors = {lock: r.door for lock, r in readings.items()}
    assert doors == {1: DoorState.CLOSED, 2: DoorState.OPEN, 3: DoorState.CLOSED, 4: DoorState.OPEN}


def test_driver_reads_inverted_inputs_when_closed_level_is_0() -> None:
    readings = door_readings(_inputs(INPUTS_1_AND_3), LOCKS, 0)
    assert readings[1].door is DoorState.OPEN
    assert readings[2].door is DoorState.CLOSED


def test_driver_refuses_an_input_reply_from_another_address() -> None:
    other = bytes.fromhex("05 02 01 05 60 BB")
    with pytest.raises(BadReply):
        _inputs(other)


# HARDWARE notes, "Modbus RTU": the read requests (CRCs recomputed) and a reply captured
# from a board (8 relays, all off).
@pytest.mark.parametrize(
    ("function", "count", "frame"),
    [
        (2, 8, "01 02 00 00 00 08 79 CC"),
        (2, 16, "01 02 00 00 00 10 79 C6"),
        (1, 8, "01 01 00 00 00 08 3D CC"),
        (1, 16, "01 01 00 00 00 10 3D C6"),
        (1, 32, "01 01 00 00 00 20 3D D2"),
    ],
)
def test_driver_encodes_the_read_requests(function: int, count: int, frame: str) -> None:
    assert read_bits_frame(1, function, 0, count) == bytes.fromhex(frame)


def test_driver_decodes_the_captured_relay_reply_and_skips_noise_before_it() -> None:
    reply = bytes.fromhex("01 01 01 00 51 88")
    assert decode_bits_reply(1, 1, 8, reply, BOARD) == [False] * 8
    assert decode_bits_reply(1, 1, 8, b"\x00\xff\x01" + reply, BOARD) == [False] * 8
    assert bits_reply_missing(1, 1, 8, b"\x00\xff" + reply[:4]) == 2


def test_a_bit_read_refused_cut_or_unanswered_is_the_projects_error() -> None:
    with pytest.raises(ModbusExceptionReply) as refused:
        decode_bits_reply(1, 2, 8, bytes.fromhex("01 82 01 81 60"), BOARD)
    assert refused.value.code == 1
    with pytest.raises(BadReply) as cut:
        decode_bits_reply(1, 2, 4, INPUTS_1_AND_3[:-1], BOARD)
    assert cut.value.kind == "crc"
    with pytest.raises(BoardOffline):
        decode_bits_reply(1, 2, 4, b"", BOARD)


def test_echo_of_the_golden_frame_is_accepted_even_after_line_noise() -> None:
    check_echo(GOLDEN_FLASH, GOLDEN_FLASH, BOARD)
    check_echo(GOLDEN_FLASH, b"\x00\xff" + GOLDEN_FLASH, BOARD)


def test_exception_reply_to_a_flash_names_its_code_and_the_board() -> None:
    with pytest.raises(ModbusExceptionReply) as caught:
        check_echo(GOLDEN_FLASH, FLASH_REFUSED, BOARD)
    assert caught.value.code == 2
    assert BOARD in str(caught.value)


def test_no_echo_is_offline_and_a_damaged_echo_is_a_crc_error() -> None:
    with pytest.raises(BoardOffline):
        check_echo(GOLDEN_FLASH, b"", BOARD)
    with pytest.raises(BadReply) as caught:
        check_echo(GOLDEN_FLASH, GOLDEN_FLASH[:-1] + b"\x00", BOARD)
    assert caught.value.kind == "crc"


@given(st.binary(max_size=40))
def test_random_bytes_as_a_flash_echo_raise_only_the_projects_error(reply: bytes) -> None:
    try:
        check_echo(GOLDEN_FLASH, reply, BOARD)
    except DriverError:
        return
    assert GOLDEN_FLASH in reply


@given(st.integers(0, len(INPUTS_1_AND_3) - 1), st.integers(1, 255))
def test_an_input_reply_with_any_byte_damaged_is_never_decoded(index: int, flip: int) -> None:
    damaged = bytearray(INPUTS_1_AND_3)
    damaged[index] ^= flip
    assert _decode(bytes(damaged)) is None  # pymodbus's framer, for the writes it reads
    with pytest.raises(DriverError):
        _inputs(bytes(damaged))  # the driver's own, for the polls


# -- random replies through the driver's real read path (pty, its framing, door_readings) --


def _holds_valid_inputs_reply(data: bytes) -> bool:
    """Whether ``data`` holds a CRC-good FC02 reply from address 1 (emulator's CRC)."""
    for start in range(len(data)):
        if data[start : start + 2] != b"\x01\x02" or start + 3 > len(data):
            continue
        end = start + 3 + data[start + 2] + 2
        if end <= len(data) and frame_with_crc(data[start : end - 2]) == data[start:end]:
            return True
    return False


class _Parrot:
    """A 'board' on a pty that answers every request with whatever it is told to."""

    def __init__(self) -> None:
        self.reply = b""
        self.link = PtyLink()
        self.link.start(lambda data, t: self.link.write(self.reply) if self.reply else None)


@pytest.fixture(scope="module")
def parrot_driver() -> Iterator[tuple[_Parrot, ModbusRelayDriver]]:
    parrot = _Parrot()
    channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in LOCKS)
    options = {"port": parrot.link.device, "timeout_s": 0.02, "retries": 0}
    driver = ModbusRelayDriver(BoardSpec(BOARD, "modbus", channels, options=options))
    driver.open()
    # A (D) board's relay modes are read before its first read: this one has none.
    parrot.reply = frame_with_crc(bytes([1, 0x83, 0x02]))
    with contextlib.suppress(DriverError):
        driver.read()
    yield parrot, driver
    parrot.reply = b""  # silent: close()'s all_off gives up after one time-out
    driver.close()
    parrot.link.close()


def _inputs_reply(data: bytes, damage: int = 0) -> bytes:
    """An FC02 reply from address 1, with one byte XORed by ``damage >> 8``."""
    frame = bytearray(frame_with_crc(bytes([1, 2, len(data)]) + data))
    frame[damage % len(frame)] ^= damage >> 8
    return bytes(frame)


_INPUT_BYTES = st.binary(max_size=3)
_REPLIES = st.one_of(
    st.binary(max_size=24),  # noise
    st.builds(_inputs_reply, _INPUT_BYTES),  # good (or short) replies
    st.builds(_inputs_reply, _INPUT_BYTES, st.integers(0x100, 0xFFFF)),  # damaged
    st.builds(
        bytes.__add__, st.binary(min_size=1, max_size=3), st.builds(_inputs_reply, _INPUT_BYTES)
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=_REPLIES)
def test_random_replies_to_a_read_never_crash_nor_read_closed(
    parrot_driver: tuple[_Parrot, ModbusRelayDriver], reply: bytes
) -> None:
    parrot, driver = parrot_driver
    parrot.reply = reply
    try:
        readings = driver.read()
    except DriverError as error:
        assert BOARD in str(error)
        return
    closed = [lock for lock, r in readings.items() if r.door is DoorState.CLOSED]
    assert not closed or _holds_valid_inputs_reply(reply)


# -- the golden frame, on the emulator's decoder -----------------------------------------


@pytest.fixture
def emulator() -> Iterator[ModbusRelayEmulator]:
    bank = Bank(person="manual")
    for lock in LOCKS:
        bank.add_compartment(f"C{lock:02d}", BOARD, lock)
    emu = ModbusRelayEmulator(bank, BOARD)  # not started: handle() is called directly
    yield emu
    emu.close()


def test_emulator_builds_the_golden_frame() -> None:
    assert frame_with_crc(GOLDEN_FLASH[:-2]) == GOLDEN_FLASH


def test_emulator_fires_lock_1_for_700_ms_on_the_golden_frame(
    emulator: ModbusRelayEmulator,
) -> None:
    assert emulator.handle(GOLDEN_FLASH) == GOLDEN_FLASH  # the echo
    c01 = emulator.bank.snapshot()["C01"]
    assert (c01["fires"], c01["door_open"], c01["energised"]) == (1, True, True)
    assert emulator.relays()[:2] == (True, False)
    assert emulator.bank.fire_counts() == {"C01": 1, "C02": 0, "C03": 0, "C04": 0}


@pytest.mark.parametrize(("channels", "frame"), [(16, RELAY_16_FLASH), (32, RELAY_32_FLASH)])
def test_emulator_fires_the_last_relay_of_a_wider_board_on_its_flash_frame(
    channels: int, frame: bytes
) -> None:
    bank = Bank(person="manual")
    bank.add_compartment("Z", BOARD, channels)
    wide = ModbusRelayEmulator(bank, BOARD, channels=channels, has_inputs=False)
    assert wide.handle(frame) == frame  # the echo
    assert bank.fire_counts() == {"Z": 1}
    assert wide.relays()[-1] and not any(wide.relays()[:-1])


def test_emulator_answers_inputs_low_bit_first(emulator: ModbusRelayEmulator) -> None:
    emulator.bank.open_door("C02")
    emulator.bank.open_door("C04")
    request = frame_with_crc(bytes.fromhex("01 02 00 00 00 08"))
    assert emulator.handle(request) == bytes.fromhex("01 02 01 05 61 8B")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("01 07", 1),  # read exception status: not supported
        ("01 05 03 00 00 07", 2),  # no such coil
        ("01 01 00 04 00 08", 2),  # coils 4..11 of 8
        ("01 03 00 00 00 01", 2),  # only register 0x4000 exists
        ("01 05 00 00 12 34", 3),  # a plain coil takes FF00 or 0000 only
    ],
)
def test_emulator_refuses_with_a_modbus_exception(
    emulator: ModbusRelayEmulator, body: str, code: int
) -> None:
    request = bytes.fromhex(body)
    reply = emulator.handle(frame_with_crc(request))
    assert reply == frame_with_crc(bytes([1, request[1] | 0x80, code]))


def test_emulator_is_silent_on_a_crc_error_and_to_other_addresses(
    emulator: ModbusRelayEmulator,
) -> None:
    assert emulator.handle(GOLDEN_FLASH[:-1] + b"\x00") is None
    assert emulator.handle(frame_with_crc(bytes.fromhex("02 02 00 00 00 08"))) is None
    assert (emulator.counters.crc_errors, emulator.counters.ignored) == (1, 1)
    assert emulator.bank.fire_counts()["C01"] == 0


def test_emulator_does_a_broadcast_write_without_answering(
    emulator: ModbusRelayEmulator,
) -> None:
    assert emulator.handle(frame_with_crc(bytes.fromhex("00 05 02 01 00 03"))) is None
    assert emulator.bank.fire_counts()["C02"] == 1


def test_emulator_reads_and_sets_its_address(emulator: ModbusRelayEmulator) -> None:
    read = frame_with_crc(bytes.fromhex("01 03 40 00 00 01"))
    assert emulator.handle(read) == frame_with_crc(bytes.fromhex("01 03 02 00 01"))
    write = frame_with_crc(bytes.fromhex("01 06 40 00 00 07"))
    assert emulator.handle(write) == write
    assert emulator.handle(read) is None  # address 1 is nobody now
