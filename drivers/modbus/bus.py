"""The serial port shared by the Modbus boards on one RS-485 bus, with its pymodbus client.

A :class:`~drivers.shared_port.SharedPort` whose connection is one pymodbus
``ModbusSerialClient`` (pymodbus opens the port with ``exclusive=True``, so there can be
only one). Boards attach to it with :func:`~drivers.shared_port.attach`; what a caller
may rely on is said there, and besides:

* :attr:`ModbusBus.quiet_at` is the bus's, not a board's: the 3.5 character times of
  silence that Modbus RTU needs between frames are kept across boards.
* pymodbus's packet trace hook goes to the wire trace (:meth:`SharedPort.traced
  <drivers.shared_port.SharedPort.traced>`) and to :attr:`ModbusBus.tracer`, which the
  board holding the lock sets for its exchange.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import serial
import serial.rs485
from pymodbus.client import ModbusSerialClient
from pymodbus.framer import FramerType

from drivers.modbus.frames import (
    ADDRESS_REGISTER,
    read_register_frame,
    register_reply_from,
    silence_s,
)
from drivers.shared_port import SharedPort

__all__ = ["ModbusBus", "PortRefused"]

Tracer = Callable[[bool, bytes], bytes]


class PortRefused(Exception):
    """The port cannot be opened, or refuses a setting (kernel RS-485 mode)."""

    def __init__(self, message: str, rs485: bool = False) -> None:
        super().__init__(message)
        self.rs485 = rs485


class ModbusBus(SharedPort[ModbusSerialClient]):
    """One Modbus bus: its port and pymodbus client, its lock, the boards on it."""

    protocol = "modbus"

    def __init__(self, key: str, port: str, baud: int, rs485: bool) -> None:
        super().__init__(key, port, baud, rs485)
        self.quiet_at = 0.0
        self.tracer: Tracer | None = None

    def client(self, timeout_s: float) -> ModbusSerialClient:
        """The connected client, opened first if need be, its time-out ``timeout_s``.

        Boards on one bus may wait for replies for different times: the time-out is set
        before each exchange. Raises :class:`PortRefused`.
        """
        client = self._connection
        if client is None:
            client = self._connection = self._open(timeout_s)
        elif not client.connect():  # pymodbus closes the port on an I/O error
            raise PortRefused(f"cannot reopen serial port {self.port!r}")
        client.comm_params.timeout_connect = timeout_s  # pymodbus's wait for a reply
        port = client.socket
        if port is not None and port.timeout != timeout_s:
            port.timeout = timeout_s  # and pyserial's, for a reply that stops half-way
        return client

    @property
    def is_lost(self) -> bool:
        """Whether pymodbus closed the port after an I/O error (:meth:`client` reopens it)."""
        return self._connection is not None and not self._connection.connected

    def wait_quiet(self) -> None:
        """Sleep until the silence after the bus's last frame has passed."""
        wait = self.quiet_at - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def probe(self, address: int, timeout_s: float) -> bool:
        """Whether ``address`` answers a read of the address register within
        ``timeout_s`` (any CRC-valid answer, an exception included). Raises
        :class:`PortRefused` or the port's own error."""
        self.client(timeout_s)
        frame = read_register_frame(address, ADDRESS_REGISTER)
        self.wait_quiet()
        try:
            self.write(frame)
            heard = self.read_until(lambda got: register_reply_from(address, got), timeout_s)
        finally:
            self.quiet_at = time.monotonic() + silence_s(self.baud)
        return register_reply_from(address, heard)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        self.traced(sending, data, so_far=not sending)
        tracer = self.tracer
        return tracer(sending, data) if tracer is not None else data

    def _open(self, timeout_s: float) -> ModbusSerialClient:
        client = ModbusSerialClient(
            self.port,
            framer=FramerType.RTU,
            baudrate=self.baud,
            timeout=timeout_s,
            retries=0,  # the drivers retry, with growing waits and per-kind counters
            name=f"modbus:{self.port}",
            trace_packet=self._trace,
        )
        if not client.connect() or client.socket is None:
            raise PortRefused(f"cannot open serial port {self.port!r}")
        if self.rs485:
            try:
                client.socket.rs485_mode = serial.rs485.RS485Settings()
            except (ValueError, OSError, serial.SerialException) as exc:
                self._close(client)
                raise PortRefused(f"kernel RS-485 mode refused: {exc}", rs485=True) from exc
        return client

    def _close(self, connection: ModbusSerialClient) -> None:
        connection.close()  # type: ignore[no-untyped-call]  # pymodbus leaves it unannotated

    def _raw(self) -> serial.Serial | None:
        client = self._connection
        return client.socket if client is not None else None
