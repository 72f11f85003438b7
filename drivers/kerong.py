"""The Kerong KR-CU driver: one CU16 board (16 locks) on an RS-485 bus, over pyserial.

Frames are in :mod:`drivers.kerong_frames`; boards on one port share a
:class:`~drivers.kerong_bus.KerongBus`. Golden frames (``shared/HARDWARE.md``)::

    status, board 0          02 00 30 03 35
    unlock lock 5, board 1   02 14 31 03 4A
    reply: lock 1 open       02 00 35 FE FF 00 00 03 37

Options (``[[boards]]`` keys, declared in :attr:`KerongDriver.OPTIONS`):

``port``             required: a device path or a pyserial URL (``socket://host:port``
                     for a network front end); a relative path is taken inside the data
                     dir, where ``locker-kiosk sim`` links its emulated buses.
``baud``             19200, the factory default (one field board answered only at 9600).
``address``          the board's id, 0..15.
``lock_closed_bit``  [?] the value of a lock-feedback bit that means latched (closed): 1
                     by default, 0 on boards wired the other way.
``timeout_s``        how long to wait for a reply after a request (0.1). A poll has half
                     a poll period: under a quarter period, a lost reply is asked
                     again within the same poll.
``retries``          further attempts after a failed one (waits 20, 40, 80 ms, ...; within a
                     poll's budget, a gap of 2 ms, so a lost reply is asked again twice).
``rs485``            kernel RS-485 mode; off by default: most USB adapters switch
                     direction themselves, and a pty refuses it.
``item_sensors``     report the infrared item bits (else ``item`` is ``None``).
``energise_ms``      [?] unconfirmed: if non-zero, set the board's unlock time with
                     command 0x37 at open (10 ms units, at most 2000 ms). 0 leaves the
                     board's own setting (Kerong suggests 500 ms solenoid, 1000 ms motor).
                     The safety layer spaces a power group's fires by this time (by
                     500 ms at least when 0: :meth:`~KerongDriver.pulse_length`).

What a caller may rely on:

* :meth:`~KerongDriver.read` returns a reading of every configured lock only from a
  reply that passed every check; otherwise it retries and finally raises
  :class:`~drivers.errors.BoardOffline`. It never guesses ``CLOSED``. A board that
  does not answer costs it ``retries + 1`` time-outs and the waits between them
  (0.1 s x 4 + 20 + 40 + 80 ms = 0.54 s with the defaults);
  :meth:`~KerongDriver.read_within`, the poller's read, stops at its budget instead.
* The board times every pulse itself (``board_times_pulse``): ``seconds`` of
  :meth:`~KerongDriver.pulse` is not sent; the board's energise time applies.
* Every pyserial or OS error leaves as a :class:`~drivers.errors.DriverError` naming
  the board.

For the technician's tools: a CU16 has 16 channels (``channel_count``), whatever the
config wires; :meth:`~KerongDriver.read_all` and :meth:`~KerongDriver.pulse_channel`
reach all of them, and :meth:`~KerongDriver.scan_bus` sends a status request (0x30) to
every address 0..15 of the bus, one exchange at a time under the bus lock (the boards'
polls go on between them), at this board's baud. Scan frames are not counted in
:meth:`~KerongDriver.stats`: they are the bus's, not this board's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import serial

from drivers.base import BoardSpec, ChannelReading, DoorState, Driver
from drivers.budget import ReadBudget
from drivers.errors import BoardOffline, DriverError
from drivers.kerong_bus import SERIAL_ERRORS, KerongBus, attach_bus, detach_bus
from drivers.kerong_frames import (
    LOCKS_PER_BOARD,
    MAX_ADDRESS,
    STATUS_REPLY_LEN,
    BadAddress,
    BadChecksum,
    FrameError,
    StatusReply,
    decode_status_reply,
    energise_time_request,
    scan_status_reply,
    status_request,
    unlock_request,
)

__all__ = ["ERROR_KINDS", "KerongBus", "KerongDriver", "readings_from_reply"]

log = logging.getLogger(__name__)

ERROR_KINDS = ("timeout", "checksum", "framing", "io")
_FIRST_WAIT_S = 0.02
_POLL_GAP_S = 0.002  # between a poll's attempts: the line turned round, the lock let go
_MAX_WAIT_S = 0.16
_REPLY_MARGIN_S = 0.005
_REQUEST_LEN = 5
_MAX_ENERGISE_MS = 2000  # the safety layer's hard cap on a pulse
_ASSUMED_ENERGISE_S = 0.5  # [?] a board's own unlock time: Kerong's advice for solenoids
_ALL_LOCKS = tuple(range(1, LOCKS_PER_BOARD + 1))


def readings_from_reply(
    reply: StatusReply, locks: tuple[int, ...], closed_bit: int, item_sensors: bool
) -> dict[int, ChannelReading]:
    """One reading per lock in ``locks``: ``OPEN`` when the lock bit says unlatched."""
    return {
        lock: ChannelReading(
            DoorState.CLOSED if reply.lock_bit(lock) == closed_bit else DoorState.OPEN,
            reply.item(lock) if item_sensors else None,
        )
        for lock in locks
    }


def readings_from_frame(
    frame: bytes, board: int, locks: tuple[int, ...], closed_bit: int = 1
) -> dict[int, ChannelReading]:
    """Decode one status reply into readings; raises :class:`FrameError` if invalid."""
    return readings_from_reply(decode_status_reply(frame, board), locks, closed_bit, True)


_Received = tuple[StatusReply | None, FrameError | None, bool]
"""(the reply or ``None``, the last rejected frame's error or ``None``, any byte heard)"""


class _Failure(Exception):
    """One failed exchange; ``stuck`` when the port should be reopened before the next."""

    def __init__(self, message: str, stuck: bool) -> None:
        super().__init__(message)
        self.stuck = stuck


@dataclass
class _Counters:
    frames_sent: int = 0
    replies_ok: int = 0
    retries: int = 0
    reopens: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    last_seen: float | None = None
    last_error: str | None = None


class KerongDriver(Driver):
    """One Kerong CU16 board. See the module docstring for options and guarantees."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {
        "port": (str, ""),
        "baud": (int, 19200),
        "address": (int, 0),
        "lock_closed_bit": (int, 1),
        "timeout_s": (float, 0.1),
        "retries": (int, 3),
        "rs485": (bool, False),
        "item_sensors": (bool, True),
        "energise_ms": (int, 0),
    }

    board_times_pulse = True

    def __init__(self, spec: BoardSpec) -> None:
        super().__init__(spec)
        self.port: str = spec.resolve_port(self._option("port", str))
        self.address: int = self._option("address", int)
        self.baud: int = self._option("baud", int)
        self.closed_bit: int = self._option("lock_closed_bit", int)
        self.timeout_s: float = self._option("timeout_s", float)
        self.retries: int = self._option("retries", int)
        self.rs485: bool = self._option("rs485", bool)
        self.item_sensors: bool = self._option("item_sensors", bool)
        self.energise_ms: int = self._option("energise_ms", int)
        self._check_options()
        self._locks = tuple(sorted(channel.lock for channel in spec.channels))
        self._bus: KerongBus | None = None
        self._counters = _Counters()
        self._is_stuck = False  # the last attempt heard nothing: reopen before the next

    # -- the contract ---------------------------------------------------------------

    def open(self) -> None:
        """Claim the bus and open its port (shared with the other boards on it)."""
        if self._bus is not None:
            return
        try:
            bus = attach_bus(self.port, self.rs485)
        except ValueError as exc:
            raise DriverError(self.name, str(exc)) from exc
        try:
            with bus.lock:
                bus.connection(self.baud, self.timeout_s)
        except SERIAL_ERRORS as exc:
            detach_bus(bus)
            raise self._open_error(exc) from exc
        self._bus = bus
        if self.energise_ms:
            try:
                self._set_energise_time()
            except DriverError:
                self.close()
                raise

    def close(self) -> None:
        """Release the bus; the last board on it closes the port. Idempotent."""
        bus, self._bus = self._bus, None
        if bus is not None:
            detach_bus(bus)

    def all_off(self) -> None:
        """Check that the board answers; there is nothing to switch off.

        Kerong boards have no "off" command: each unlock is timed by the board itself, so
        no output can be left on by the host. Raises :class:`BoardOffline` if the board
        does not answer a status request (after the retries).
        """
        self._exchange(status_request(self.address))

    def pulse(self, lock: int, seconds: float) -> None:
        """Send the unlock frame of ``lock``; ``seconds`` is not sent (board-timed).

        Any reply within ``timeout_s``, or none, is accepted and drained [?]. With no
        reply at all the board is asked for its status, and :class:`BoardOffline` is
        raised if it does not answer (the lock may or may not have fired). Whether the
        door opened is for polling to say.
        """
        if lock not in self._locks:
            raise DriverError(self.name, f"no lock {lock} on this board (wired: {self._locks})")
        self._unlock(lock)

    def pulse_length(self, seconds: float) -> float:
        """The board's energise time: ``energise_ms`` when set; otherwise the board's own
        setting, which the host cannot read, taken to be at least Kerong's 500 ms for
        solenoid locks (set ``energise_ms`` for motor locks, 1000 ms)."""
        if self.energise_ms:
            return self.energise_ms / 1000
        return max(seconds, _ASSUMED_ENERGISE_S)

    def read(self) -> dict[int, ChannelReading]:
        """One status exchange (with retries); raises :class:`BoardOffline`."""
        reply = self._exchange(status_request(self.address))
        return readings_from_reply(reply, self._locks, self.closed_bit, self.item_sensors)

    def read_within(self, budget_s: float) -> dict[int, ChannelReading]:
        """:meth:`read`, given up after about ``budget_s`` (from when the bus is ours).

        Each attempt waits ``timeout_s`` or what is left of the budget, whichever is
        less, but never less than the exchange's wire time and a margin; a retry
        starts only while that much is left. A damaged reply comes back early, so it
        is usually retried within the budget; a lost one usually is not.
        """
        reply = self._exchange(status_request(self.address), budget_s)
        return readings_from_reply(reply, self._locks, self.closed_bit, self.item_sensors)

    def stats(self) -> dict[str, Any]:
        """``frames_sent``, ``replies_ok``, ``errors`` by kind (timeout, checksum,
        framing, io), ``retries``, ``reopens``, ``last_seen`` (wall time or ``None``),
        ``last_error``, and where the board is (``port``, ``address``, ``baud``)."""
        c = self._counters
        return {
            "port": self.port,
            "address": self.address,
            "baud": self.baud,
            "frames_sent": c.frames_sent,
            "replies_ok": c.replies_ok,
            "errors": dict(c.errors),
            "retries": c.retries,
            "reopens": c.reopens,
            "last_seen": c.last_seen,
            "last_error": c.last_error,
        }

    # -- the technician's tools -----------------------------------------------------

    @property
    def channel_count(self) -> int:
        return LOCKS_PER_BOARD

    def read_all(self) -> dict[int, ChannelReading]:
        """Like :meth:`read`, for all 16 channels of the board."""
        reply = self._exchange(status_request(self.address))
        return readings_from_reply(reply, _ALL_LOCKS, self.closed_bit, self.item_sensors)

    def pulse_channel(self, channel: int, seconds: float) -> None:
        """Like :meth:`pulse`, for any of the 16 channels, wired in the config or not."""
        if channel not in _ALL_LOCKS:
            raise DriverError(self.name, f"no channel {channel} on a CU16 (1..{LOCKS_PER_BOARD})")
        self._unlock(channel)

    def scan_bus(self) -> list[int]:
        """The addresses 0..15 that answer a status request on this board's bus.

        Each address gets one request (a second one if something garbled came back)
        and ``timeout_s`` to answer; the bus is held for one exchange at a time. Raises
        :class:`BoardOffline` when the port cannot be used.
        """
        bus = self._attached()
        return [address for address in range(MAX_ADDRESS + 1) if self._answers(bus, address)]

    def _answers(self, bus: KerongBus, address: int) -> bool:
        for _attempt in range(2):  # a second try only after a garbled answer
            replied, heard = self._probe(bus, address)
            if replied or not heard:
                return replied
        return False

    def _probe(self, bus: KerongBus, address: int) -> tuple[bool, bool]:
        """One status exchange with ``address``: (a valid reply came, any byte came)."""
        with bus.lock:
            if self._bus is not bus:
                raise BoardOffline(self.name, "closed during the bus scan")
            try:
                ser = bus.connection(self.baud, self.timeout_s)
                ser.reset_input_buffer()
                ser.write(status_request(address))
                reply, _, heard = self._receive(ser, address)
            except SERIAL_ERRORS as exc:
                raise BoardOffline(self.name, f"bus scan on {self.port} failed: {exc}") from exc
        return reply is not None, heard

    # -- exchanges ------------------------------------------------------------------

    def _exchange(self, request: bytes, budget_s: float | None = None) -> StatusReply:
        """Send ``request`` until a valid status reply comes back, or raise BoardOffline.

        Each attempt holds the bus only for itself: the waits between attempts let the
        other boards on the bus be polled. After an attempt that heard nothing at all
        (the field's "stuck busy" board) or an I/O error, the port is flushed and reopened,
        before the next attempt of this exchange or, when none was left (a poll's budget
        spent), of the next one. With ``budget_s`` (see :meth:`read_within`), attempts
        stop when it is spent.
        """
        bus = self._attached()
        budget = None if budget_s is None else ReadBudget(budget_s, self._least_s)
        wait = _FIRST_WAIT_S if budget is None else _POLL_GAP_S
        failure: _Failure | None = None
        attempts = 0
        for attempt in range(self.retries + 1):
            if attempt:
                if budget is not None and not budget.allows(wait):
                    break
                self._counters.retries += 1
                time.sleep(wait)
                if budget is None:
                    wait = min(wait * 2, _MAX_WAIT_S)
            with bus.lock:
                # A budget counts from when the bus is ours (drivers.budget).
                timeout_s = self.timeout_s if budget is None else budget.timeout(self.timeout_s)
                if self._is_stuck:
                    self._reopen(bus)
                attempts += 1
                try:
                    reply = self._attempt(bus, request, timeout_s)
                except _Failure as exc:
                    failure = exc
                    self._is_stuck = exc.stuck
                    continue
                self._is_stuck = False
                return reply
        raise BoardOffline(
            self.name,
            f"no valid reply from address {self.address} on {self.port} "
            f"after {attempts} attempt{'s' if attempts > 1 else ''}: {failure}",
        )

    @property
    def _least_s(self) -> float:
        """The shortest wait for a reply worth an attempt: request and reply on the wire,
        and a margin for the board and the host."""
        return (_REQUEST_LEN + STATUS_REPLY_LEN) * 10 / self.baud + _REPLY_MARGIN_S

    def _unlock(self, lock: int) -> None:
        """The unlock exchange of :meth:`pulse`, for any channel of the board."""
        bus = self._attached()
        with bus.lock:
            if self._is_stuck:
                self._reopen(bus)
                self._is_stuck = False
            try:
                ser = self._send(bus, unlock_request(self.address, lock))
                reply, _, heard = self._receive(ser)
            except SERIAL_ERRORS as exc:
                self._count_error("io", str(exc))
                self._is_stuck = True  # reopen before the next exchange
                raise BoardOffline(self.name, f"unlock of lock {lock} not sent: {exc}") from exc
        if reply is not None:
            self._seen()
        if heard:
            return
        try:
            self._exchange(status_request(self.address))
        except BoardOffline as exc:
            raise BoardOffline(
                self.name, f"no answer after the unlock of lock {lock}; it may not have fired"
            ) from exc

    def _attempt(self, bus: KerongBus, request: bytes, timeout_s: float) -> StatusReply:
        try:
            reply, rejected, heard = self._receive(self._send(bus, request), timeout_s=timeout_s)
        except SERIAL_ERRORS as exc:
            self._count_error("io", str(exc))
            raise _Failure(f"serial error: {exc}", stuck=True) from exc
        if reply is not None:
            self._seen()
            return reply
        if rejected is not None:
            self._count_error(rejected.kind, str(rejected))
            raise _Failure(f"bad reply: {rejected}", stuck=False)
        message = f"no reply within {timeout_s:.3g} s" if not heard else "incomplete reply"
        self._count_error("timeout", message)
        raise _Failure(message, stuck=not heard)

    def _send(self, bus: KerongBus, frame: bytes) -> serial.Serial:
        """Flush what is left of earlier replies, then write ``frame``; caller holds the bus."""
        ser = bus.connection(self.baud, self.timeout_s)
        ser.reset_input_buffer()
        ser.write(frame)
        self._counters.frames_sent += 1
        return ser

    def _receive(
        self, ser: serial.Serial, address: int | None = None, timeout_s: float | None = None
    ) -> _Received:
        """Read until a valid status reply of this board (or of ``address``) or
        ``timeout_s`` (by default the board's option) has passed.

        Returns (the reply or ``None``, the last rejected frame's error or ``None``,
        whether any byte came at all). Noise before a reply is skipped, not fatal. A
        reply of another board (one that answered its own request too late) held the
        line while ours was due: the wait starts again, once, from the end of that reply
        (at least one exchange's time on the wire).
        """
        address = self.address if address is None else address
        wait_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait_s
        buffer = bytearray()
        rejected: FrameError | None = None
        heard = stretched = False
        while True:
            reply, last = scan_status_reply(buffer, address)
            rejected = last or rejected
            if reply is not None:
                return reply, rejected, True
            if isinstance(last, BadChecksum):
                return None, last, True  # this board's reply, damaged: no other is coming
            if isinstance(last, BadAddress) and not stretched:
                stretched = True
                deadline = max(deadline, time.monotonic() + max(self._least_s, wait_s))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, rejected, heard
            if ser.timeout is None or abs(ser.timeout - remaining) > 0.001:
                ser.timeout = remaining
            chunk = ser.read(max(1, STATUS_REPLY_LEN - len(buffer)))
            heard = heard or bool(chunk)
            buffer += chunk

    def _reopen(self, bus: KerongBus) -> None:
        self._counters.reopens += 1
        log.debug("board %r: reopening %s", self.name, self.port)
        bus.shut()  # the attempt that follows opens the port again

    def _set_energise_time(self) -> None:
        # [?] Unconfirmed command: whatever the board answers (or not) is drained.
        bus = self._attached()
        with bus.lock:
            try:
                frame = energise_time_request(self.address, self.energise_ms)
                self._receive(self._send(bus, frame))
            except SERIAL_ERRORS as exc:
                self._count_error("io", str(exc))
                raise BoardOffline(self.name, f"energise time not sent: {exc}") from exc
        log.info("board %r: energise time set to %d ms", self.name, self.energise_ms)

    # -- bookkeeping ----------------------------------------------------------------

    def _attached(self) -> KerongBus:
        bus = self._bus
        if bus is None:
            raise DriverError(self.name, "not open")
        return bus

    def _seen(self) -> None:
        self._counters.replies_ok += 1
        self._counters.last_seen = time.time()

    def _count_error(self, kind: str, message: str) -> None:
        self._counters.errors[kind] += 1
        self._counters.last_error = f"{kind}: {message}"

    def _open_error(self, exc: Exception) -> DriverError:
        if isinstance(exc, ValueError) and self.rs485:
            return DriverError(
                self.name,
                f"kernel RS-485 mode is not available on {self.port} ({exc}); "
                "set rs485 = false for an adapter that switches direction itself",
            )
        return BoardOffline(self.name, f"cannot open {self.port}: {exc}")

    def _option(self, key: str, kind: type) -> Any:
        value = self.spec.options.get(key, self.OPTIONS[key][1])
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise DriverError(self.name, f"option {key} must be {kind.__name__}, not {value!r}")
        return value

    def _check_options(self) -> None:
        problems = []
        if not self.port:
            problems.append("option port is required (a device path or a pyserial URL)")
        if not 0 <= self.address <= MAX_ADDRESS:
            problems.append(f"option address must be 0..{MAX_ADDRESS}, not {self.address}")
        if self.closed_bit not in (0, 1):
            problems.append(f"option lock_closed_bit must be 1 or 0, not {self.closed_bit}")
        if self.baud <= 0 or self.timeout_s <= 0 or self.retries < 0:
            problems.append("options baud and timeout_s must be positive, retries >= 0")
        if self.energise_ms and not 10 <= self.energise_ms <= _MAX_ENERGISE_MS:
            problems.append(f"option energise_ms must be 0 (board's own) or 10..{_MAX_ENERGISE_MS}")
        wrong = [c.lock for c in self.spec.channels if not 1 <= c.lock <= LOCKS_PER_BOARD]
        if wrong:
            problems.append(f"locks {wrong} do not exist on a CU16 (1..{LOCKS_PER_BOARD})")
        if problems:
            raise DriverError(self.name, "; ".join(problems))
