"""A serial port shared by the boards of one bus, and counted by who uses it.

Several boards hang on one pair of RS-485 wires, each at its own address, and the port can
be opened once only (exclusively). :func:`attach` hands every board of a port the same
:class:`SharedPort` (keyed by the port's real path, or its URL: :func:`~drivers.base.port_key`),
of the bus's protocol (:class:`~drivers.kerong.bus.KerongBus`,
:class:`~drivers.modbus.bus.ModbusBus`); the port is opened on first use and closed when
the last board detaches.

What a caller may rely on:

* Holding :attr:`SharedPort.lock` around a whole request and its reply means no other
  board's frame is on the wire meanwhile: a poll of one board and an unlock of the next
  never interleave.
* :func:`attach` refuses (``ValueError``) a board that speaks another protocol than the
  port's, whose baud or kernel RS-485 setting differs from the bus's (every device on one
  pair of wires talks at one speed), or that talks to an address another board on the
  bus already answers at. An address a board only reads inputs at (``shared``: an
  input board) may be shared with other boards that read other inputs there, never
  with a board that answers there.
* Every byte a driver puts on the wire goes through :meth:`SharedPort.write`, and every
  byte it takes off through :meth:`SharedPort.read` or :meth:`SharedPort.read_until` (or,
  for what pymodbus sends and reads itself, its packet hook on the Modbus bus, which
  hands them to :meth:`SharedPort.traced`): the wire trace (:mod:`drivers.wire_trace`)
  hooks in here, and nowhere in the drivers.
* :meth:`SharedPort.hold` holds the lock for a named board: what is written and read
  meanwhile is that board's, in the wire trace (a frame out, then the reply's chunks
  joined into one frame in). Frames sent under the bare :attr:`SharedPort.lock` are
  nobody's and are not traced.

Methods other than :func:`attach`, :func:`detach` and :func:`port_users` expect the caller
to hold the lock. Errors from the port are those of :data:`SERIAL_ERRORS`, left for the
driver to wrap with the board's name.
"""

from __future__ import annotations

import contextlib
import fcntl
import termios
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

import serial

from drivers import wire_trace
from drivers.base import port_key

__all__ = ["SERIAL_ERRORS", "PortClosed", "SharedPort", "attach", "detach", "port_users"]

SERIAL_ERRORS = (OSError, ValueError, termios.error)
"""What pyserial raises on a port: ``SerialException`` is an ``OSError``; ``termios.error``
(a vanished pty, say) is not; ``ValueError`` for settings the port refuses."""

_Reads = dict[int, frozenset[int]]
"""The inputs a board reads at each address it shares with other boards (from 1)."""
_C = TypeVar("_C")  # what the bus's protocol talks through: a pyserial port, a pymodbus client
_P = TypeVar("_P", bound="SharedPort[Any]")


class PortClosed(serial.SerialException):
    """Bytes were to go through a port that is not open."""


class SharedPort(ABC, Generic[_C]):
    """One serial port of one protocol, the boards on it, and the lock that keeps their
    frames apart. A subclass opens its protocol's connection (:attr:`_connection`) and
    says how to close it and which pyserial port lies beneath it."""

    protocol: ClassVar[str]

    def __init__(self, key: str, port: str, baud: int, rs485: bool) -> None:
        self.key = key
        self.port = port
        self.baud = baud
        self.rs485 = rs485
        self.lock = threading.Lock()
        self._connection: _C | None = None
        # user (a board's driver or link) -> (the board's name, the addresses that are its
        # own, the inputs it reads at addresses it shares: an input board several read)
        self._users: dict[object, tuple[str, frozenset[int], _Reads]] = {}
        self._holder: str | None = None  # the board holding the lock, for the trace
        self._heard = bytearray()  # a reply coming in, for the trace
        self._heard_at: datetime | None = None
        self._asked = False  # a frame went out and its reply is not traced yet

    @property
    def boards(self) -> tuple[str, ...]:
        """The boards on the bus now, in the order they came."""
        return tuple(name for name, _, _ in self._users.values())

    @property
    def is_open(self) -> bool:
        """Whether the port is open beneath the connection."""
        return self._raw() is not None

    def shut(self) -> None:
        """Close the port (best effort); the next use opens it again, exclusively.

        The port's lock is let go first. Closing the descriptor alone does not let it go
        while a copy of it lives on: a child of this process holds one from its fork to
        its exec (the daemon's clock check starts a program now and then), and the
        port's next open, this bus's own, was then refused ("Could not exclusively lock
        port")."""
        raw = self._raw()
        connection, self._connection = self._connection, None
        if raw is not None:
            with contextlib.suppress(*SERIAL_ERRORS):
                fcntl.flock(raw.fileno(), fcntl.LOCK_UN)
        if connection is not None:
            # A port that fails to close is gone anyway.
            with contextlib.suppress(*SERIAL_ERRORS):
                self._close(connection)

    @contextlib.contextmanager
    def hold(self, board: str) -> Iterator[None]:
        """Hold the bus (:attr:`lock`) for ``board``: its frames, in the wire trace."""
        with self.lock:
            self._holder = board
            try:
                yield
            finally:
                self._trace_reply()
                self._holder = None

    # -- the bytes on the wire --------------------------------------------------------

    def write(self, frame: bytes) -> None:
        """Drop what is left of earlier replies, then put ``frame`` on the wire."""
        port = self._open_port()
        port.reset_input_buffer()
        port.write(frame)
        self.traced(True, frame)

    def read(self, size: int, timeout_s: float) -> bytes:
        """Up to ``size`` bytes, as pyserial reads them within ``timeout_s``."""
        port = self._open_port()
        if port.timeout is None or abs(port.timeout - timeout_s) > 0.001:
            port.timeout = timeout_s
        data = bytes(port.read(size))
        self.traced(False, data)
        return data

    def read_until(self, done: Callable[[bytes], bool], timeout_s: float) -> bytes:
        """Bytes until ``done(bytes so far)`` or ``timeout_s`` has passed. What came in
        by the deadline is taken even when this thread runs again only after it (a busy
        host): a reply in the port's buffer is an answer in time."""
        port = self._open_port()
        heard = b""
        deadline = time.monotonic() + timeout_s
        while not done(heard):
            past = time.monotonic() >= deadline
            waiting = port.in_waiting
            if waiting:
                chunk = port.read(waiting)
                self.traced(False, chunk)
                heard += chunk
            if past:
                break  # one look after the deadline, however noisy the line
            if not waiting:
                time.sleep(max(0.0005, 20 / port.baudrate))
        return heard

    def traced(self, sending: bool, data: bytes, *, so_far: bool = False) -> None:
        """Hand bytes that went out (``sending``) or came in to the wire trace, if the
        board holding the bus is traced: a frame out is a line at once; what comes in
        is gathered into one reply until the next frame out or the end of the hold.
        ``so_far``: ``data`` is the whole reply heard until now, not a new chunk (as
        pymodbus hands its receive buffer)."""
        trace = wire_trace.current()
        if trace is None or not trace.wants(self._holder):
            return
        if sending:
            self._trace_reply()
            trace.record(str(self._holder), self.port, wire_trace.OUT, data, _now())
            self._asked = True
        elif data:
            self._heard_at = self._heard_at or _now()
            if so_far and data.startswith(self._heard):
                self._heard[:] = data
            else:
                self._heard += data

    def _trace_reply(self) -> None:
        """The reply gathered since the last frame out (or that none came), as a line."""
        trace = wire_trace.current()
        if trace is not None and (self._asked or self._heard):
            at = self._heard_at or _now()
            trace.record(str(self._holder), self.port, wire_trace.IN, bytes(self._heard), at)
        self._heard.clear()
        self._heard_at = None
        self._asked = False

    def _open_port(self) -> serial.Serial:
        port = self._raw()
        if port is None:
            raise PortClosed(f"serial port {self.port!r} is not open")
        return port

    # -- the protocol's connection ------------------------------------------------------

    @abstractmethod
    def _close(self, connection: _C) -> None:
        """Close ``connection``; may raise one of :data:`SERIAL_ERRORS`."""

    @abstractmethod
    def _raw(self) -> serial.Serial | None:
        """The open pyserial port beneath the connection, or ``None``."""


def _now() -> datetime:
    return datetime.now(UTC)


_PORTS: dict[str, SharedPort[Any]] = {}
_PORTS_LOCK = threading.Lock()


def attach(
    kind: type[_P],
    port: str,
    user: object,
    board: str,
    addresses: Collection[int],
    *,
    baud: int,
    rs485: bool,
    shared: Mapping[int, Collection[int]] | None = None,
) -> _P:
    """The bus of ``port``, a ``kind`` shared with the other boards on it; ``user`` (the
    driver of ``board``, talking to ``addresses`` and reading ``{address: inputs}`` of
    ``shared``) one more of its users.

    The port is not opened here. Raises ``ValueError`` on a clash with the bus's
    protocol or settings, or with another board's addresses.
    """
    key = port_key(port)
    mine = frozenset(addresses)
    reads = {address: frozenset(inputs) for address, inputs in (shared or {}).items()}
    with _PORTS_LOCK:
        bus = _PORTS.get(key)
        if bus is None:
            bus = _PORTS[key] = kind(key, port, baud, rs485)
        if not isinstance(bus, kind):
            raise ValueError(
                f"{bus.port} is already the {bus.protocol} bus of board {bus.boards[0]!r}: "
                f"a {kind.protocol} board cannot share it (one bus speaks one protocol)"
            )
        _check_fit(bus, board, mine, reads, baud, rs485)
        bus._users[user] = (board, mine, reads)
        return bus


def _check_fit(
    bus: SharedPort[Any],
    board: str,
    addresses: frozenset[int],
    reads: _Reads,
    baud: int,
    rs485: bool,
) -> None:
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
    for other, theirs, their_reads in bus._users.values():
        if other == board:
            continue
        shared = sorted((addresses & (theirs | their_reads.keys())) | (reads.keys() & theirs))
        if shared:
            raise ValueError(
                f"address {shared[0]} on {bus.port} is already used by board {other!r}"
            )
        for address in sorted(reads.keys() & their_reads.keys()):
            both = sorted(reads[address] & their_reads[address])
            if both:
                raise ValueError(
                    f"input {both[0]} of address {address} on {bus.port} is already read by "
                    f"board {other!r}"
                )


def detach(bus: SharedPort[Any], user: object) -> None:
    """``user`` leaves the bus; the last one closes the port. Idempotent per attach."""
    with _PORTS_LOCK:
        if bus._users.pop(user, None) is None or bus._users:
            return
        if _PORTS.get(bus.key) is bus:
            del _PORTS[bus.key]
        # Closed before the registry lock is let go: a board attaching right after must
        # not find the port still held (exclusively) by this bus.
        with bus.lock:
            bus.shut()


def port_users(port: str) -> tuple[str, ...]:
    """The boards that share ``port`` now (empty when none)."""
    with _PORTS_LOCK:
        bus = _PORTS.get(port_key(port))
        return bus.boards if bus is not None else ()
