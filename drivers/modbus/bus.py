"""Serial ports shared by the Modbus boards on one RS-485 bus.

Several Modbus boards (relay boards, an input board) hang on one pair of wires, each at
its own address, and the port can be opened once only (pymodbus opens it with
``exclusive=True``). :func:`attach_bus` hands every board of a port the same
:class:`ModbusBus`, with one pymodbus ``ModbusSerialClient``, counts its users and
closes the port when the last one detaches.

What a caller may rely on:

* Holding :attr:`ModbusBus.lock` around a whole request and its reply means no other
  board's frame is on the wire meanwhile: a poll of the board at address 1 and a flash
  of the board at address 2 never interleave.
* :attr:`ModbusBus.quiet_at` is the bus's, not a board's: the 3.5 character times of
  silence that Modbus RTU needs between frames are kept across boards.
* pymodbus's packet trace hook goes to :attr:`ModbusBus.tracer`, which the board holding
  the lock sets for its exchange.
* :func:`attach_bus` refuses (``ValueError``) a board whose baud or kernel RS-485 setting
  differs from the bus's (every device on one bus talks at one speed), or whose address
  another board on the bus already answers at.

Methods other than :func:`attach_bus` and :func:`detach_bus` expect the caller to hold
the lock. Errors from the port are left for the driver to wrap with the board's name.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection

import serial
import serial.rs485
from pymodbus.client import ModbusSerialClient
from pymodbus.framer import FramerType

from drivers.base import port_key
from drivers.modbus.frames import (
    ADDRESS_REGISTER,
    read_register_frame,
    register_reply_from,
    silence_s,
)

__all__ = ["ModbusBus", "PortRefused", "attach_bus", "bus_users", "detach_bus", "read_until"]

Tracer = Callable[[bool, bytes], bytes]


class PortRefused(Exception):
    """The port cannot be opened, or refuses a setting (kernel RS-485 mode)."""

    def __init__(self, message: str, rs485: bool = False) -> None:
        super().__init__(message)
        self.rs485 = rs485


class ModbusBus:
    """One serial port, its pymodbus client and the lock that keeps its frames apart."""

    def __init__(self, key: str, port: str, baud: int, rs485: bool) -> None:
        self.key = key
        self.port = port
        self.baud = baud
        self.rs485 = rs485
        self.lock = threading.Lock()
        # driver -> (board name, the addresses it talks to)
        self.users: dict[object, tuple[str, frozenset[int]]] = {}
        self.quiet_at = 0.0
        self.tracer: Tracer | None = None
        self._client: ModbusSerialClient | None = None

    def client(self, timeout_s: float) -> ModbusSerialClient:
        """The connected client, opened first if need be, its time-out ``timeout_s``.

        Boards on one bus may wait for replies for different times: the time-out is set
        before each exchange. Raises :class:`PortRefused`.
        """
        client = self._client
        if client is None:
            client = self._client = self._open(timeout_s)
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
        return self._client is not None and not self._client.connected

    def wait_quiet(self) -> None:
        """Sleep until the silence after the bus's last frame has passed."""
        wait = self.quiet_at - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def probe(self, address: int, timeout_s: float) -> bool:
        """Whether ``address`` answers a read of the address register within
        ``timeout_s`` (any CRC-valid answer, an exception included). Raises
        :class:`PortRefused` or the port's own error."""
        port = self.client(timeout_s).socket
        if port is None:
            raise PortRefused(f"serial port {self.port!r} is not open")
        frame = read_register_frame(address, ADDRESS_REGISTER)
        self.wait_quiet()
        try:
            port.reset_input_buffer()
            port.write(frame)
            heard = read_until(port, lambda got: register_reply_from(address, got), timeout_s)
        finally:
            self.quiet_at = time.monotonic() + silence_s(self.baud)
        return register_reply_from(address, heard)

    def shut(self) -> None:
        """Close the port (best effort); the next :meth:`client` opens it again."""
        client, self._client = self._client, None
        if client is not None:
            # A port that fails to close is gone anyway.
            with contextlib.suppress(OSError, ValueError, serial.SerialException):
                client.close()

    def _trace(self, sending: bool, data: bytes) -> bytes:
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
                client.close()
                raise PortRefused(f"kernel RS-485 mode refused: {exc}", rs485=True) from exc
        return client


def read_until(port: serial.Serial, done: Callable[[bytes], bool], timeout_s: float) -> bytes:
    """Bytes from ``port`` until ``done(bytes so far)`` or ``timeout_s`` has passed."""
    heard = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not done(heard):
        waiting = port.in_waiting
        if waiting:
            heard += port.read(waiting)
        else:
            time.sleep(max(0.0005, 20 / port.baudrate))
    return heard


_BUSES: dict[str, ModbusBus] = {}
_BUSES_LOCK = threading.Lock()


def attach_bus(
    port: str,
    user: object,
    board: str,
    addresses: Collection[int],
    *,
    baud: int,
    rs485: bool,
) -> ModbusBus:
    """The bus of ``port``, shared with the other boards on it; ``user`` (the driver of
    ``board``) one more user.

    ``addresses`` are those the board talks to (its own and its input board's). The
    port is not opened here. Raises ``ValueError`` on a clash with the bus's settings
    or with another board's addresses.
    """
    key = port_key(port)
    mine = frozenset(addresses)
    with _BUSES_LOCK:
        bus = _BUSES.get(key)
        if bus is None:
            bus = _BUSES[key] = ModbusBus(key, port, baud, rs485)
        _check_fit(bus, board, mine, baud, rs485)
        bus.users[user] = (board, mine)
        return bus


def _check_fit(
    bus: ModbusBus, board: str, addresses: frozenset[int], baud: int, rs485: bool
) -> None:
    if (baud, rs485) != (bus.baud, bus.rs485):
        raise ValueError(
            f"{bus.port} is already in use at {bus.baud} baud with rs485 = "
            f"{str(bus.rs485).lower()}; every board on one bus needs the same baud and rs485"
        )
    for other, theirs in bus.users.values():
        shared = sorted(addresses & theirs)
        if other != board and shared:
            raise ValueError(
                f"address {shared[0]} on {bus.port} is already used by board {other!r}"
            )


def detach_bus(bus: ModbusBus, user: object) -> None:
    """``user`` leaves the bus; the last one closes the port. Idempotent per attach."""
    with _BUSES_LOCK:
        if bus.users.pop(user, None) is None or bus.users:
            return
        if _BUSES.get(bus.key) is bus:
            del _BUSES[bus.key]
        # Closed before the registry lock is let go: a board attaching right after must
        # not find the port still held (exclusive) by this bus.
        with bus.lock:
            bus.shut()


def bus_users(port: str) -> tuple[str, ...]:
    """The boards that share ``port`` now (empty when none)."""
    with _BUSES_LOCK:
        bus = _BUSES.get(port_key(port))
        return tuple(name for name, _ in bus.users.values()) if bus is not None else ()
