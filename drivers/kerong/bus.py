"""Serial ports shared by the Kerong boards chained on them.

Several boards on one RS-485 bus share ONE port. :func:`attach_bus` hands every board of
a port the same :class:`KerongBus` (keyed by the port's real path, or its URL), counts
its users and closes the port when the last one detaches.

What a caller may rely on: holding :attr:`KerongBus.lock` around a whole request and
its reply means no other board's frame is on the wire meanwhile (a poll of board 0 and
an unlock of board 2 never interleave). :func:`attach_bus` refuses (``ValueError``) a
board whose baud or kernel RS-485 setting differs from the bus's (every device on one
pair of wires talks at one speed), or whose address another board on the bus already
has. Methods other than :func:`attach_bus` and :func:`detach_bus` expect the caller to
hold that lock. Errors are those of :data:`SERIAL_ERRORS`, left for the driver to wrap
with the board's name.
"""

from __future__ import annotations

import contextlib
import termios
import threading

import serial
import serial.rs485

from drivers.base import port_key

__all__ = ["SERIAL_ERRORS", "KerongBus", "attach_bus", "bus_users", "detach_bus"]

SERIAL_ERRORS = (OSError, ValueError, termios.error)
"""What pyserial raises on a port: ``SerialException`` is an ``OSError``; ``termios.error``
(a vanished pty, say) is not; ``ValueError`` for settings the port refuses."""

_WRITE_TIMEOUT_S = 1.0


class KerongBus:
    """One serial port and the lock that keeps its frames apart."""

    def __init__(self, key: str, port: str, baud: int, rs485: bool) -> None:
        self.key = key
        self.port = port
        self.baud = baud
        self.rs485 = rs485
        self.lock = threading.Lock()
        self.users = 0
        self.boards: dict[int, str] = {}  # address -> the board at it
        self._serial: serial.Serial | None = None

    def connection(self, baud: int, timeout_s: float) -> serial.Serial:
        """The open port at ``baud``, opened first if it is closed.

        Raises one of :data:`SERIAL_ERRORS` (``ValueError`` when kernel RS-485 mode is
        refused, as on a pty).
        """
        ser = self._serial
        if ser is None or not ser.is_open:
            ser = self._serial = self._open(baud, timeout_s)
        elif ser.baudrate != baud:
            ser.baudrate = baud
        return ser

    def shut(self) -> None:
        """Close the port (best effort); the next :meth:`connection` opens it again."""
        ser, self._serial = self._serial, None
        if ser is not None:
            # A port that fails to close is gone anyway.
            with contextlib.suppress(*SERIAL_ERRORS):
                ser.close()

    def _open(self, baud: int, timeout_s: float) -> serial.Serial:
        ser = serial.serial_for_url(
            self.port,
            baudrate=baud,
            timeout=timeout_s,
            write_timeout=_WRITE_TIMEOUT_S,
            exclusive=True,
            do_not_open=True,
        )
        if self.rs485:
            # Applied by open(); on a port without kernel RS-485 support (a pty, most
            # USB adapters) the ioctl fails and pyserial raises ValueError.
            ser.rs485_mode = serial.rs485.RS485Settings()
        ser.open()
        return ser


_BUSES: dict[str, KerongBus] = {}
_BUSES_LOCK = threading.Lock()


def attach_bus(port: str, board: str, address: int, *, baud: int, rs485: bool) -> KerongBus:
    """The bus of ``port``, shared with the other boards on it; ``board`` at ``address``
    one more user.

    The port is not opened here. Raises ``ValueError`` when the board's baud or kernel
    RS-485 mode differs from the bus's, or another board has its address.
    """
    key = port_key(port)
    with _BUSES_LOCK:
        bus = _BUSES.get(key)
        if bus is None:
            bus = _BUSES[key] = KerongBus(key, port, baud, rs485)
        _check_fit(bus, board, address, baud, rs485)
        bus.boards[address] = board
        bus.users += 1
        return bus


def _check_fit(bus: KerongBus, board: str, address: int, baud: int, rs485: bool) -> None:
    if bus.rs485 != rs485:
        raise ValueError(
            f"{bus.port} is already in use with rs485 = {str(bus.rs485).lower()}; "
            "every board on one bus needs the same rs485 setting"
        )
    if bus.baud != baud:
        raise ValueError(
            f"{bus.port} is already in use at {bus.baud} baud; every board on one bus needs "
            "the same baud"
        )
    other = bus.boards.get(address)
    if other is not None:
        raise ValueError(f"address {address} on {bus.port} is already used by board {other!r}")


def detach_bus(bus: KerongBus, address: int) -> None:
    """The board at ``address`` leaves the bus; the last one closes the port. Idempotent
    per attach."""
    with _BUSES_LOCK:
        if bus.boards.pop(address, None) is None or bus.users <= 0:
            return
        bus.users -= 1
        if bus.users:
            return
        if _BUSES.get(bus.key) is bus:
            del _BUSES[bus.key]
        # Closed before the registry lock is let go: a board attaching right after must
        # not find the port still locked (exclusive=True) by this bus.
        with bus.lock:
            bus.shut()


def bus_users(port: str) -> int:
    """How many open boards share ``port`` now (0 when none)."""
    with _BUSES_LOCK:
        bus = _BUSES.get(port_key(port))
        return bus.users if bus is not None else 0
