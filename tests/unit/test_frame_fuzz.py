"""Random bytes on the wire, into the decoders that ``test_kerong_frames.py`` and
``test_modbus_frames.py`` do not already feed them to: the Kerong driver's whole read
(stream scanning, retries and all, on a real pty), and the Modbus emulator's request
parser. None may crash, and none may read a door as closed from bytes that do not hold
a valid reply.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.base import BoardSpec, ChannelSpec, DoorState
from drivers.errors import DriverError
from drivers.kerong import KerongDriver
from hw_sim.kerong_emu import encode_status_reply
from hw_sim.modbus_emu import ModbusRelayEmulator, frame_with_crc
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

BOARD = "fuzz"
LOCKS = (1, 2, 3, 4)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _Parrot:
    """A 'board' on a pty that answers every request with whatever it is told to."""

    def __init__(self) -> None:
        self.reply = b""
        self.link = PtyLink()
        self.link.start(lambda data, t: self.link.write(self.reply) if self.reply else None)


def _holds_valid_status_reply(data: bytes, board: int = 0) -> bool:
    """Whether any 9 bytes of ``data`` are a status reply of ``board`` (the rule of
    ``shared/HARDWARE.md``, written out here once more)."""
    for i in range(len(data) - 8):
        f = data[i : i + 9]
        framed = (f[0], f[2], f[7]) == (0x02, 0x35, 0x03) and f[1] in (board << 4, board)
        if framed and f[8] == sum(f[:8]) & 0xFF:
            return True
    return False


@pytest.fixture(scope="module")
def kerong_parrot() -> Iterator[tuple[_Parrot, KerongDriver]]:
    parrot = _Parrot()
    channels = tuple(ChannelSpec(lock, f"K{lock:02d}") for lock in LOCKS)
    options = {"port": parrot.link.device, "address": 0, "timeout_s": 0.02, "retries": 1}
    driver = KerongDriver(BoardSpec(BOARD, "kerong", channels, options=options))
    driver.open()
    yield parrot, driver
    driver.close()
    parrot.link.close()


def _damaged(reply: bytes, damage: int) -> bytes:
    frame = bytearray(reply)
    frame[damage % len(frame)] ^= damage >> 8 or 1
    return bytes(frame)


_STATUS = st.builds(encode_status_reply, st.sampled_from([0x00, 0x10, 0x01]),
                    st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))  # fmt: skip
_KERONG_REPLIES = st.one_of(
    st.binary(max_size=24),  # noise
    _STATUS,  # good replies (of this board or another)
    st.builds(_damaged, _STATUS, st.integers(0, 0xFFFF)),
    st.builds(bytes.__add__, st.binary(min_size=1, max_size=8), _STATUS),
    st.lists(st.one_of(st.binary(max_size=6), _STATUS), max_size=4).map(b"".join),
)


@FUZZ
@given(reply=_KERONG_REPLIES)
def test_random_replies_to_a_kerong_poll_never_crash_nor_read_closed(
    kerong_parrot: tuple[_Parrot, KerongDriver], reply: bytes
) -> None:
    parrot, driver = kerong_parrot
    time.sleep(0.03)  # a late answer to the last example lands now; the driver flushes it
    parrot.reply = reply
    try:
        readings = driver.read_within(0.05)
    except DriverError as error:
        assert BOARD in str(error)
        return
    assert set(readings) == set(LOCKS)
    closed = [lock for lock, r in readings.items() if r.door is DoorState.CLOSED]
    assert not closed or _holds_valid_status_reply(reply)


# -- the Modbus emulator's request parser ------------------------------------------------


def _relay_board(bank: Bank | None = None) -> ModbusRelayEmulator:
    bank = bank or Bank(person="manual")
    for lock in LOCKS:
        bank.add_compartment(f"M{lock:02d}", BOARD, lock)
    return ModbusRelayEmulator(bank, BOARD, baud=115200)


@given(st.binary(max_size=40))
def test_random_bytes_never_crash_the_modbus_emulator_and_a_bad_crc_does_nothing(
    data: bytes,
) -> None:
    emulator = _relay_board()
    reply = emulator.handle(data)
    if len(data) < 4 or frame_with_crc(data[:-2]) != data:
        assert reply is None
        assert set(emulator.bank.fire_counts().values()) == {0}


@given(st.binary(min_size=2, max_size=20))
def test_random_frames_with_a_good_crc_are_answered_sanely_and_only_fc05_fires(
    body: bytes,
) -> None:
    emulator = _relay_board()
    reply = emulator.handle(frame_with_crc(body))
    if reply is not None:
        assert frame_with_crc(reply[:-2]) == reply
        assert reply[0] == body[0] and reply[1] in (body[1], body[1] | 0x80)
    if any(emulator.bank.fire_counts().values()):
        assert body[1] == 5  # only "write single coil" moves a relay


def _drain(port: serial.Serial, quiet_s: float = 0.05) -> None:
    """Read until the line has been quiet for ``quiet_s`` (a busy machine answers late)."""
    timeout = port.timeout
    port.timeout = quiet_s
    try:
        while port.read(256):
            pass
    finally:
        port.timeout = timeout


@pytest.fixture(scope="module")
def modbus_port() -> Iterator[tuple[ModbusRelayEmulator, serial.Serial]]:
    emulator = _relay_board().start()
    port = serial.Serial(emulator.device, 115200, timeout=0.5)
    yield emulator, port
    port.close()
    emulator.close()


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=16), max_size=6))
def test_the_modbus_emulator_answers_a_good_request_after_any_line_noise(
    modbus_port: tuple[ModbusRelayEmulator, serial.Serial], chunks: list[bytes]
) -> None:
    emulator, port = modbus_port
    for chunk in chunks:
        port.write(chunk)
    time.sleep(0.01)  # over 3.5 character times: the board drops a half frame
    _drain(port)  # noise that happened to hold a good frame has its answer: discard it
    request = frame_with_crc(bytes.fromhex("01 02 00 00 00 08"))
    expected = emulator.handle(request)
    assert expected is not None
    port.write(request)
    assert port.read(len(expected)) == expected
