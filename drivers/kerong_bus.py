"""Serial ports shared by the Kerong boards chained on them.

Several boards on one RS-485 bus share ONE port. :func:`attach_bus` hands every board of
a port the same :class:`KerongBus` (keyed by the port's real path, or its URL), counts
its users and closes the port when the last one detaches.

What a caller may rely on: holding :attr:`KerongBus.lock` around a whole request and
its reply means no other board's frame is on the wire meanwhile (a poll of board 0 and
an unlock of board 2 never interleave). Methods other than :func:`attach_bus` and
:func:`detach_bus` expect the caller to hold that lock. Errors are those of
:data:`SERIAL_ERRORS`, left for the driver to wrap with the board's name.
"""

from __future__ import annotations

import contextlib
import os
import termios
import threading

import serial
import serial.rs485

__all__ = ["SERIAL_ERRORS", "KerongBus", "attach_bus", "bus_users", "detach_bus"]

SERIAL_ERRORS = (OSError, ValueError, termios.error)
"""What pyserial raises on a port: ``SerialException`` is an ``OSError``; ``termios.error``
(a vanished pty, say) is not; ``ValueError`` for settings the port refuses."""

_WRITE_TIMEOUT_S = 1.0


class KerongBus:
    """One serial port and the lock that keeps its frames apart."""

    def __init__(self, key: str, port: str, rs485: bool) -> None:
        self.key = key
        self.port = port
        self.rs485 = rs485
        self.lock = threading.Lock()
        self.users = 0
        self._serial: serial.Serial | None = None

    def connection(self, baud: int, timeout_s: float) -> serial.Serial:
        """The open port at ``baud``, opened first if it is closed.

        Boards on one bus may differ in baud (a board that answers only at 9600): the
        port is switched before each exchange. Raises one of :data:`SERIAL_ERRORS`
        (``ValueError`` when kernel RS-485 mode is refused, as on a pty).
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


def _bus_key(port: str) -> str:
    if "://" in port:
        return port
    return os.path.realpath(port)


def attach_bus(port: str, rs485: bool) -> KerongBus:
    """The bus of ``port``, shared with the other boards on it; one more user.

    The port is not opened here. Raises ``ValueError`` when a board asks for kernel
    RS-485 mode on a bus that another board opened without it, or the other way round.
    """
    key = _bus_key(port)
    with _BUSES_LOCK:
        bus = _BUSES.get(key)
        if bus is None:
            bus = _BUSES[key] = KerongBus(key, port, rs485)
        elif bus.rs485 != rs485:
            raise ValueError(
                f"{port} is already in use with rs485 = {str(bus.rs485).lower()}; "
                "every board on one bus needs the same rs485 setting"
            )
        bus.users += 1
        return bus


def detach_bus(bus: KerongBus) -> None:
    """One user fewer; the last one closes the port. Idempotent per attach."""
    with _BUSES_LOCK:
        if bus.users <= 0:
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
        bus = _BUSES.get(_bus_key(port))
        return bus.users if bus is not None else 0
