r"""A Modbus relay board's own settings, read and written on a port with no daemon.

A Waveshare-style board keeps its device address in holding register 0x4000 and its
UART parameters in 0x2000 (high byte the parity, low byte a code of
:data:`~drivers.modbus.frames.BAUD_CODES`), and reports its firmware version x 100 in
0x8000. Every board leaves the factory at address 1, 9600 baud 8N1, so boards are given
their addresses one at a time before they join a bus. Frames (``shared/HARDWARE.md``,
CRCs checked)::

    read the address of board 1          01 03 40 00 00 01 91 CA
    read it from the only board on a line 00 03 40 00 00 01 90 1B   (address 0)
    board 1 becomes board 2              01 06 40 00 00 02 1D CB   (echoed)
    the only board becomes board 2       00 06 40 00 00 02 1C 1A   (no answer)
    board 1 to 19200 baud, no parity     01 06 20 00 00 02 03 CB

What is known and what is not [?]: an address takes effect at once (the board answers
at the new one from the next request). Whether a new baud takes effect at once or after
a power cycle is not published: :func:`set_baud` writes it at the old speed, then asks
at the new speed and, failing that, at the old one, and says which it found
(:class:`BaudChange`). The parity byte's order (1 even, 2 odd) is uncertain too, so
this module only ever writes parity 0 (none): the product's buses are 8N1.

Every frame goes through the bus's :class:`~drivers.modbus.bus.ModbusBus` (so a wire
trace sees it), opened by :func:`bench_bus` for this one use.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import serial

from drivers.errors import BoardOffline, DriverError
from drivers.modbus.bus import ModbusBus, PortRefused
from drivers.modbus.frames import (
    ADDRESS_REGISTER,
    BAUD_CODES,
    UART_REGISTER,
    VERSION_REGISTER,
    echo_complete,
    read_register_frame,
    register_value,
    silence_s,
    write_register_frame,
)
from drivers.shared_port import attach, detach

__all__ = [
    "BROADCAST",
    "BaudChange",
    "BoardSettings",
    "bench_bus",
    "read_settings",
    "set_address",
    "set_baud",
]

BROADCAST = 0
"""Address 0: every board hears it; a write is answered by none, a read by each (so
read at 0 only with one board on the line)."""
BENCH = "bench"
"""The name the bench's frames carry (in errors and the wire trace)."""
_MIN_WAIT_S = 0.1


@dataclass(frozen=True)
class BoardSettings:
    """What a board's registers say. ``baud`` is ``None`` for a code outside the table
    (``baud_code`` then says which); ``version`` as the board states it (``"2.00"``)."""

    address: int
    baud: int | None
    baud_code: int
    parity: int
    version: str | None


@dataclass(frozen=True)
class BaudChange:
    """What became of a baud change: the board's settings as read back, and whether it
    already answers at the new speed (``False``: it answered at the old one with the
    new value stored, so it speaks the new speed after a power cycle)."""

    settings: BoardSettings
    in_effect: bool


@contextlib.contextmanager
def bench_bus(port: str, baud: int, timeout_s: float) -> Iterator[ModbusBus]:
    """The bus of ``port`` at ``baud``, open for the bench's frames, closed after.

    Raises :class:`~drivers.errors.BoardOffline` when the port cannot be opened (the
    daemon holds it, say) and :class:`~drivers.errors.DriverError` when a board of
    this process already uses it at another baud.
    """
    user = object()
    try:
        bus = attach(ModbusBus, port, user, BENCH, (), baud=baud, rs485=False)
    except ValueError as exc:
        raise DriverError(BENCH, str(exc)) from exc
    try:
        with bus.hold(BENCH):
            bus.client(timeout_s)
        yield bus
    except PortRefused as exc:
        if "://" not in port and not os.path.exists(port):
            raise BoardOffline(BENCH, f"there is no serial port {port}") from exc
        raise BoardOffline(BENCH, f"{exc} (is the daemon running? it holds the port)") from exc
    finally:
        detach(bus, user)


def read_settings(bus: ModbusBus, address: int, timeout_s: float) -> BoardSettings:
    """The settings of the board at ``address`` (:data:`BROADCAST`: the only board on
    the line). Raises :class:`~drivers.errors.BoardOffline` when it does not answer."""
    board_address = _read(bus, address, ADDRESS_REGISTER, timeout_s)
    uart = _read(bus, address, UART_REGISTER, timeout_s)
    try:
        version_value: int | None = _read(bus, address, VERSION_REGISTER, timeout_s)
    except BoardOffline:
        version_value = None  # older firmware may not have it; the rest is what matters
    code = uart & 0xFF
    return BoardSettings(
        address=board_address,
        baud=BAUD_CODES[code] if code < len(BAUD_CODES) else None,
        baud_code=code,
        parity=uart >> 8,
        version=None if version_value is None else f"{version_value / 100:.2f}",
    )


def set_address(bus: ModbusBus, address: int, new: int, timeout_s: float) -> BoardSettings:
    """Give the board at ``address`` (:data:`BROADCAST`: the only board on the line) the
    address ``new`` (1..247), and read it back there. Raises
    :class:`~drivers.errors.BoardOffline` when the board does not answer, or
    :class:`~drivers.errors.DriverError` when it refuses or reads back something else."""
    if not 1 <= new <= 247:
        raise DriverError(BENCH, f"a board's address is 1..247, not {new}")
    _write(bus, address, ADDRESS_REGISTER, new, timeout_s)
    settings = read_settings(bus, new, timeout_s)
    if settings.address != new:
        raise DriverError(BENCH, f"the board at {new} reads back address {settings.address}")
    return settings


def set_baud(port: str, baud: int, address: int, new_baud: int, timeout_s: float) -> BaudChange:
    """Set the baud of the board at ``address`` on ``port`` (talking at ``baud``) to
    ``new_baud``, parity none, then find it: at ``new_baud`` (in effect at once) or at
    ``baud`` with the new value stored (in effect after a power cycle). Raises
    :class:`~drivers.errors.BoardOffline` when it answers at neither."""
    if new_baud not in BAUD_CODES:
        listed = ", ".join(str(b) for b in BAUD_CODES)
        raise DriverError(BENCH, f"a Modbus relay board knows the bauds {listed}, not {new_baud}")
    # A board that switches at once may echo at its new speed: it is asked there next.
    with bench_bus(port, baud, timeout_s) as bus, contextlib.suppress(BoardOffline):
        _write(bus, address, UART_REGISTER, BAUD_CODES.index(new_baud), timeout_s)
    asked_at = address or None
    for speed, in_effect in ((new_baud, True), (baud, False)):
        with bench_bus(port, speed, timeout_s) as bus:
            try:
                settings = read_settings(bus, address, timeout_s)
            except BoardOffline:
                continue
        if settings.baud == new_baud:
            return BaudChange(settings, in_effect)
        shown = settings.baud or f"code {settings.baud_code}"
        raise DriverError(BENCH, f"the board reads back baud {shown}, not {new_baud}")
    where = f"address {asked_at}" if asked_at else "the only board"
    raise BoardOffline(
        BENCH,
        f"{where} answers neither at {new_baud} nor at {baud} baud after the change: "
        f"switch it off and on, then read it at {new_baud}",
    )


# -- one register on the wire ----------------------------------------------------------


def _read(bus: ModbusBus, address: int, register: int, timeout_s: float) -> int:
    frame = read_register_frame(address, register)
    expect = None if address == BROADCAST else address
    heard = _exchange(bus, frame, lambda got: register_value(got, expect) is not None, timeout_s)
    value = register_value(heard, expect)
    if value is None:
        raise _silence(address, register, heard)
    return value


def _write(bus: ModbusBus, address: int, register: int, value: int, timeout_s: float) -> None:
    frame = write_register_frame(address, register, value)
    if address == BROADCAST:
        _exchange(bus, frame, lambda got: False, _wait(bus, timeout_s))  # nobody answers
        return
    heard = _exchange(bus, frame, lambda got: echo_complete(frame, got), timeout_s)
    if frame in heard:
        return
    if echo_complete(frame, heard):
        raise DriverError(BENCH, f"address {address} refused to write register {register:#06x}")
    raise _silence(address, register, heard)


def _exchange(
    bus: ModbusBus, frame: bytes, done: Callable[[bytes], bool], timeout_s: float
) -> bytes:
    """``frame`` on the wire, then what comes back until ``done`` or ``timeout_s``."""
    with bus.hold(BENCH):
        bus.wait_quiet()
        try:
            bus.client(timeout_s)
            bus.write(frame)
            return bus.read_until(done, timeout_s)
        except PortRefused as exc:
            raise BoardOffline(BENCH, str(exc)) from exc
        except (OSError, ValueError, serial.SerialException) as exc:
            raise BoardOffline(BENCH, f"serial port {bus.port}: {exc}") from exc
        finally:
            bus.quiet_at = time.monotonic() + silence_s(bus.baud)


def _wait(bus: ModbusBus, timeout_s: float) -> float:
    """How long a broadcast write is given before the next frame: the board must have
    heard it and done it (an answer would have come by then)."""
    return max(_MIN_WAIT_S, min(timeout_s, 0.2), 40 * 11 / bus.baud)


def _silence(address: int, register: int, heard: bytes) -> BoardOffline:
    who = "no board (address 0)" if address == BROADCAST else f"no board at address {address}"
    what = f"garbled bytes {heard[:16].hex(' ')}" if heard else "nothing"
    return BoardOffline(BENCH, f"{who} answered register {register:#06x}: {what} came back")
