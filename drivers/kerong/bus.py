"""The serial port shared by the Kerong boards chained on one RS-485 bus.

A :class:`~drivers.shared_port.SharedPort` whose connection is the pyserial port itself,
opened exclusively at the bus's baud (kernel RS-485 mode if the bus asks for it). Boards
attach to it with :func:`~drivers.shared_port.attach`; what a caller may rely on is said
there.

CU16 boards (:class:`KerongBus`) and CU48 boards (:class:`Cu48Bus`) speak two frame
families: one bus is one family's ([?] whether the two kinds ignore each other's frames on
one pair of wires is not known, so a config gives each its own port).
"""

from __future__ import annotations

import serial
import serial.rs485

from drivers.shared_port import SharedPort

__all__ = ["Cu48Bus", "KerongBus", "KerongSerial"]

_WRITE_TIMEOUT_S = 1.0


class KerongSerial(SharedPort[serial.Serial]):
    """One Kerong bus: its port, its lock, the boards on it."""

    def connection(self, timeout_s: float) -> serial.Serial:
        """The open port, opened first if it is closed; the caller holds the lock.

        Raises one of :data:`~drivers.shared_port.SERIAL_ERRORS` (``ValueError`` when
        kernel RS-485 mode is refused, as on a pty).
        """
        ser = self._connection
        if ser is None or not ser.is_open:
            ser = self._connection = self._open(timeout_s)
        return ser

    def _open(self, timeout_s: float) -> serial.Serial:
        ser = serial.serial_for_url(
            self.port,
            baudrate=self.baud,
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

    def _close(self, connection: serial.Serial) -> None:
        connection.close()

    def _raw(self) -> serial.Serial | None:
        ser = self._connection
        return ser if ser is not None and ser.is_open else None


class KerongBus(KerongSerial):
    """A bus of CU12/CU16/CU24 boards (5-byte requests)."""

    protocol = "kerong"


class Cu48Bus(KerongSerial):
    """A bus of CU48 boards (6-byte requests)."""

    protocol = "kerong-cu48"
