"""Modbus RTU framing for the relay-board driver: CRC, the flash and read frames, checks.

Pure functions, no I/O, so the golden frame and the fuzz tests pin them directly.
Relay 1 on for 700 ms at address 1 (the golden frame from ``HARDWARE.md``)::

    01  05  02 00  00 07  8D B0
    |   |   |      |      CRC-16/MODBUS, low byte first
    |   |   |      on-time in 100 ms units (1..20 here: 0.1-2.0 s)
    |   |   coil 0x0200 + relay index
    |   FC05 write single coil
    address

The hardware emulator (:mod:`hw_sim.modbus_emu`) has its own framing on purpose: the
two sides meet only on the wire and in the golden frames.
"""

from __future__ import annotations

from collections.abc import Iterable

from pymodbus.pdu import ModbusPDU

from drivers.base import ChannelReading, DoorState
from drivers.errors import BoardOffline, DriverError

__all__ = [
    "ADDRESS_REGISTER",
    "BAUD_CODES",
    "CHANNEL_COUNTS",
    "FC_READ_COILS",
    "FC_READ_INPUTS",
    "FC_READ_REGISTERS",
    "FC_WRITE_COIL",
    "FC_WRITE_REGISTER",
    "FC_WRITE_REGISTERS",
    "FLASH_BASE",
    "MODE_REGISTER",
    "RELAYS",
    "UART_REGISTER",
    "VERSION_REGISTER",
    "BadReply",
    "ModbusExceptionReply",
    "bits_reply_missing",
    "check_echo",
    "check_response",
    "crc16_modbus",
    "damaged_reply",
    "decode_bits_reply",
    "door_readings",
    "echo_complete",
    "flash_frame",
    "flash_units",
    "frame_start",
    "read_bits_frame",
    "read_register_frame",
    "register_reply_from",
    "register_value",
    "silence_s",
    "with_crc",
    "write_register_frame",
]

RELAYS = 8
"""The relays of the (D) board and of the 8-channel board, the default."""
CHANNEL_COUNTS = (8, 16, 32)
"""The relay boards of the family: 8 (and its (D) variant with 8 inputs), 16 and 32."""
FLASH_BASE = 0x0200  # [?] for relays past the 8th (16/32-channel boards): unverified
FC_READ_COILS, FC_READ_INPUTS, FC_READ_REGISTERS, FC_WRITE_COIL = 0x01, 0x02, 0x03, 0x05
FC_WRITE_REGISTER, FC_WRITE_REGISTERS = 0x06, 0x10
ADDRESS_REGISTER = 0x4000  # the board's device address (FC03 read / FC06 write)
UART_REGISTER = 0x2000  # high byte the parity, low byte a code of BAUD_CODES (FC03 / FC06)
VERSION_REGISTER = 0x8000  # the firmware version x 100 (FC03)
BAUD_CODES = (4800, 9600, 19200, 38400, 57600, 115200, 128000, 256000)
"""The UART register's low byte (code = index), as Waveshare's family table gives it [?]:
``00 06 20 00 00 05 43 D8`` sets 115200, no parity, on the only board of a line."""
MODE_REGISTER = 0x1000
"""[?] The control mode of relay 1 on a board with inputs ((D)), then one register per
relay: 0 normal, 1 linkage (the input drives its relay), 2 toggle, 3 edge trigger."""
_EXCEPTION_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value"}


class BadReply(DriverError):
    """A reply with a CRC error, garbled (``kind`` ``"crc"``), or not the answer to the
    request (``kind`` ``"bad_reply"``)."""

    def __init__(
        self, board: str, reason: str, kind: str = "bad_reply", *, channel: int | None = None
    ) -> None:
        super().__init__(board, reason, channel=channel)
        self.kind = kind


class ModbusExceptionReply(DriverError):
    """The board answered with a Modbus exception response; ``code`` is its code."""

    def __init__(self, board: str, reason: str, code: int, *, channel: int | None = None) -> None:
        super().__init__(board, reason, channel=channel)
        self.code = code


# -- framing (pure; pinned by the golden frame in tests/unit/test_modbus_frames.py) --


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF). ``b"123456789"`` -> 0x4B37."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC, low byte first, as RTU sends it."""
    return body + crc16_modbus(body).to_bytes(2, "little")


def flash_units(seconds: float) -> int:
    """A pulse length as the board's on-time: 100 ms units, rounded, clamped to 1..20."""
    return max(1, min(20, round(seconds * 10)))


def flash_frame(address: int, relay: int, seconds: float, relays: int = RELAYS) -> bytes:
    """The "flash on" request: relay ``relay`` (from 0, of ``relays``) on for ``seconds``,
    board-timed.

    ``flash_frame(1, 0, 0.7) == bytes.fromhex("0105020000078DB0")``. [?] Relays past the
    8th of a 16- or 32-channel board are taken to follow at ``0x0208`` on (no public
    source shows them).
    """
    if not 0 <= relay < relays:
        raise ValueError(f"relay index {relay} outside 0..{relays - 1}")
    units = flash_units(seconds)
    body = bytes([address, FC_WRITE_COIL]) + (FLASH_BASE + relay).to_bytes(2, "big")
    return with_crc(body + units.to_bytes(2, "big"))


def read_register_frame(address: int, register: int) -> bytes:
    """FC03 for one holding register: ``read_register_frame(1, 0x4000)`` is
    ``01 03 40 00 00 01 91 CA``."""
    body = bytes([address, FC_READ_REGISTERS]) + register.to_bytes(2, "big") + b"\x00\x01"
    return with_crc(body)


def write_register_frame(address: int, register: int, value: int) -> bytes:
    """FC06 of one holding register: ``write_register_frame(1, 0x4000, 2)`` is
    ``01 06 40 00 00 02 1D CB`` (address 1 becomes address 2)."""
    body = bytes([address, FC_WRITE_REGISTER]) + register.to_bytes(2, "big")
    return with_crc(body + value.to_bytes(2, "big"))


def register_value(data: bytes, address: int | None) -> int | None:
    """The value in a CRC-valid answer to a one-register FC03 (``ADDR 03 02 HI LO CRC``)
    from ``address``, or from any address when ``None`` (a read at address 0, which
    the only board on a line answers); ``None`` when ``data`` holds no such answer."""
    for start in range(len(data) - 6):
        reply = data[start : start + 7]
        if address is not None and reply[0] != address:
            continue
        if reply[1:3] == bytes([FC_READ_REGISTERS, 2]) and with_crc(reply[:5]) == reply:
            return int.from_bytes(reply[3:5], "big")
    return None


def register_reply_from(address: int, data: bytes) -> bool:
    """Whether ``data`` holds a CRC-valid answer of ``address`` to a one-register FC03:
    the register (``ADDR 03 02 HI LO CRC``) or an exception (a device that refuses
    the request is still a device at that address)."""
    for start in range(len(data) - 4):
        if data[start] != address:
            continue
        reply = data[start : start + 7]
        if reply[1:3] == bytes([FC_READ_REGISTERS, 2]) and with_crc(reply[:5]) == reply:
            return True
    return _exception_code(address, FC_READ_REGISTERS, data) is not None


def check_echo(request: bytes, reply: bytes, board: str) -> None:
    """Accept ``reply`` if it holds the echo of the FC05 ``request``; raise otherwise.

    Bytes before the echo (line noise) are skipped. No bytes at all is
    :class:`~drivers.errors.BoardOffline`; an exception frame from the addressed board
    is :class:`ModbusExceptionReply`; anything else is :class:`BadReply`.
    """
    if request in reply:
        return
    if not reply:
        raise BoardOffline(board, "no reply")
    code = _exception_code(request[0], request[1], reply)
    if code is not None:
        name = _EXCEPTION_NAMES.get(code, "unknown")
        raise ModbusExceptionReply(board, f"Modbus exception {code:02X} ({name})", code)
    raise BadReply(board, f"CRC error or garbled reply: {reply[:32].hex(' ')}", "crc")


def _exception_code(address: int, function: int, reply: bytes) -> int | None:
    """The code of a CRC-valid exception frame for ``function`` from ``address``."""
    for start in range(len(reply) - 4):
        frame = reply[start : start + 5]
        if frame[:2] == bytes([address, function | 0x80]) and with_crc(frame[:3]) == frame:
            return frame[2]
    return None


def frame_start(data: bytes, address: int, function: int) -> int:
    """Where a reply from ``address`` to ``function`` (or its exception) may start in
    ``data``: the first such header, else 0. Skips line noise before a reply."""
    for start in range(len(data) - 1):
        if data[start] == address and data[start + 1] in (function, function | 0x80):
            return start
    return 0


def damaged_reply(data: bytes) -> bool:
    """Whether ``data``, starting at a reply's header, holds the whole reply (by the
    length its function code implies) with a wrong CRC: no other reply is coming."""
    if len(data) < 3:
        return False
    if data[1] & 0x80:
        size = 5
    elif data[1] in (1, 2, 3, 4):
        size = 5 + data[2]
    elif data[1] in (5, 6):
        size = 8
    else:
        return False
    return len(data) >= size and with_crc(data[: size - 2]) != data[:size]


def echo_complete(request: bytes, reply: bytes) -> bool:
    """Whether ``reply`` holds the echo of ``request`` or an exception frame for it."""
    return request in reply or _exception_code(request[0], request[1], reply) is not None


def read_bits_frame(address: int, function: int, start: int, count: int) -> bytes:
    """FC01 (relays) or FC02 (inputs): ``count`` bits from ``start`` (from 0).
    ``read_bits_frame(1, 2, 0, 8)`` is ``01 02 00 00 00 08 79 CC``."""
    body = bytes([address, function]) + start.to_bytes(2, "big") + count.to_bytes(2, "big")
    return with_crc(body)


def _bits_reply_size(count: int) -> int:
    return 5 + (count + 7) // 8


def _header_at(data: bytes, address: int, function: int) -> int | None:
    """Where the first reply header of ``address`` to ``function`` (or its exception)
    starts in ``data``, or ``None``."""
    for start in range(len(data) - 1):
        if data[start] == address and data[start + 1] in (function, function | 0x80):
            return start
    return None


def bits_reply_missing(address: int, function: int, count: int, data: bytes) -> int:
    """How many more bytes the reply to a read of ``count`` bits needs after ``data``: 0
    once it holds a whole reply or exception frame (valid or not) after any noise."""
    start = _header_at(data, address, function)
    if start is None:
        return _bits_reply_size(count)  # noise so far: at least a whole reply is to come
    size = 5 if data[start + 1] & 0x80 else _bits_reply_size(count)
    return max(0, start + size - len(data))


def decode_bits_reply(
    address: int, function: int, count: int, data: bytes, board: str
) -> list[bool]:
    """The ``count`` bits of a reply to :func:`read_bits_frame` found in ``data`` (after
    any noise), first bit first; raise unless it is a whole, valid one.

    No bytes: :class:`~drivers.errors.BoardOffline`; an exception frame:
    :class:`ModbusExceptionReply`; a damaged, cut or garbled reply: :class:`BadReply`
    (``"crc"``); a valid one of another length: :class:`BadReply`.
    """
    if not data:
        raise BoardOffline(board, "no reply")
    code = _exception_code(address, function, data)
    if code is not None:
        name = _EXCEPTION_NAMES.get(code, "unknown")
        raise ModbusExceptionReply(board, f"Modbus exception {code:02X} ({name})", code)
    size = _bits_reply_size(count)
    header = bytes([address, function])
    replies = [
        data[start : start + 5 + data[start + 2]]
        for start in range(len(data) - 2)
        if data[start : start + 2] == header
    ]
    valid = [reply for reply in replies if len(reply) >= 5 and with_crc(reply[:-2]) == reply]
    if not valid:
        raise BadReply(board, f"CRC error or garbled reply: {data[:32].hex(' ')}", "crc")
    reply = valid[0]
    if len(reply) != size:
        raise BadReply(board, f"reply holds {reply[2]} bytes of bits, expected {size - 5}")
    bits = int.from_bytes(reply[3:-2], "little")
    return [bool(bits >> n & 1) for n in range(count)]


def check_response(response: ModbusPDU, function: int, board: str) -> None:
    """Raise unless a pymodbus ``response`` is a normal reply with ``function``."""
    if response.isError():
        code = int(getattr(response, "exception_code", 0))
        name = _EXCEPTION_NAMES.get(code, "unknown")
        raise ModbusExceptionReply(board, f"Modbus exception {code:02X} ({name})", code)
    if response.function_code != function:
        raise BadReply(board, f"reply to another request (function {response.function_code})")


def door_readings(
    bits: list[bool], locks: Iterable[int], closed_level: int, first: int = 1
) -> dict[int, ChannelReading]:
    """Door states from the input bits of locks ``first`` on (``bits[0]`` is lock
    ``first``'s input): at ``closed_level`` ``CLOSED``, at the other level ``OPEN``."""
    closed = bool(closed_level)
    return {
        lock: ChannelReading(DoorState.CLOSED if bits[lock - first] is closed else DoorState.OPEN)
        for lock in locks
    }


def silence_s(baud: int) -> float:
    """The 3.5-character gap Modbus RTU needs between frames (11-bit characters)."""
    return 0.00175 if baud > 19200 else 3.5 * 11 / baud
