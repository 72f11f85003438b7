"""One Kerong board's exchanges on its bus: requests, replies, retries, reopens.

:class:`KerongLink` is the wire side of :class:`~drivers.kerong.KerongDriver` (and of
the CU48's): it sends a board's frames, in its :class:`~drivers.kerong.frames.Dialect`,
on the :class:`~drivers.kerong.bus.KerongSerial` bus it shares with the other boards of
the port, waits for the reply of its address (skipping noise, and another
board's late reply), retries with growing waits (or, within a poll's budget, with a short
gap: :mod:`drivers.retry`), flushes and reopens a port that heard nothing (the field's
"stuck busy" cure) and counts what happened. What the replies mean (doors, items) and
what may be asked of a board is the driver's.

Errors leave as :class:`~drivers.errors.BoardOffline` or
:class:`~drivers.errors.DriverError` naming the board.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from drivers.budget import ReadBudget
from drivers.counters import BusCounters
from drivers.errors import BoardOffline, DriverError
from drivers.kerong.bus import KerongBus, KerongSerial
from drivers.kerong.frames import (
    CU16,
    BadAddress,
    BadChecksum,
    Dialect,
    FrameError,
    StatusReply,
    energise_time_request,
)
from drivers.retry import Backoff, Exhausted, retry
from drivers.shared_port import SERIAL_ERRORS, attach, detach

__all__ = ["ERROR_KINDS", "SCANNER", "KerongLink", "probe_status"]

log = logging.getLogger(__name__)

ERROR_KINDS = ("timeout", "checksum", "framing", "io")
"""How a Kerong exchange fails: no (whole) reply in time, a reply with a wrong checksum,
one that is not a status reply of this board, an error of the port itself."""
BACKOFF = Backoff(first_s=0.02, max_s=0.16)
"""Between an exchange's attempts: 20, 40, 80, 160, 160 ms ... (a poll's: 2 ms)."""
_AT_ONCE = Backoff(first_s=0.0)
_REPLY_MARGIN_S = 0.005

SCANNER = "bus scan"
"""The holder of the bus for a scan's frames (:func:`probe_status`)."""

_Received = tuple[StatusReply | None, FrameError | None, bool]
"""(the reply or ``None``, the last rejected frame's error or ``None``, any byte heard)"""


class Failure(Exception):
    """One failed exchange; ``stuck`` when the port should be reopened before the next."""

    def __init__(self, message: str, stuck: bool) -> None:
        super().__init__(message)
        self.stuck = stuck


class Garbled(Exception):
    """Bytes came back from a bus scan's probe, but no valid reply."""


def probe_status(
    bus: KerongSerial,
    address: int,
    timeout_s: float,
    holder: str = SCANNER,
    check: Callable[[], None] | None = None,
    dialect: Dialect = CU16,
) -> bool:
    """Whether a board of ``dialect``'s family answers its status request at ``address``
    on ``bus`` (a CU16's 0x30 unless another family is given: a CU48's 0x60).

    One request and ``timeout_s`` for a valid reply; a second request only after a
    garbled answer (silence is an answer here). The bus is held (for ``holder``, as the
    wire trace names it) for one exchange at a time, and opened if it is closed;
    ``check`` runs under the hold first and may raise to stop. Raises one of
    :data:`~drivers.shared_port.SERIAL_ERRORS` when the port fails.
    """
    probe = partial(_probe_once, bus, address, timeout_s, holder, check, dialect)
    try:
        return retry(probe, retries=1, backoff=_AT_ONCE, retry_on=(Garbled,), counters=None)
    except Exhausted:
        return False


def _probe_once(
    bus: KerongSerial,
    address: int,
    timeout_s: float,
    holder: str,
    check: Callable[[], None] | None,
    dialect: Dialect,
) -> bool:
    """One status exchange with ``address``: whether a valid reply came; raises
    :class:`Garbled` when bytes came but no valid reply."""

    def answered(heard: bytes) -> bool:
        return dialect.scan(bytearray(heard), address)[0] is not None

    with bus.hold(holder):
        if check is not None:
            check()
        bus.connection(timeout_s)
        bus.write(dialect.status_request(address))
        heard = bus.read_until(answered, timeout_s)
    if answered(heard):
        return True
    if heard:
        raise Garbled(f"garbled answer at address {address}")
    return False


@dataclass(eq=False)  # a user of its bus, known by identity
class KerongLink:
    """Board ``name`` at ``address`` on ``port``; see the module docstring."""

    name: str
    port: str
    address: int
    baud: int
    timeout_s: float
    retries: int
    rs485: bool
    dialect: Dialect = CU16
    bus_kind: type[KerongSerial] = KerongBus
    counters: BusCounters = field(default_factory=lambda: BusCounters(ERROR_KINDS))
    _bus: KerongSerial | None = None
    _is_stuck: bool = False  # the last attempt heard nothing: reopen before the next

    def open(self) -> None:
        """Claim the bus and open its port (shared with the other boards on it)."""
        if self._bus is not None:
            return
        try:
            bus = attach(
                self.bus_kind, self.port, self, self.name, (self.address,), baud=self.baud,
                rs485=self.rs485,
            )  # fmt: skip
        except ValueError as exc:
            raise DriverError(self.name, str(exc)) from exc
        try:
            with bus.hold(self.name):
                bus.connection(self.timeout_s)
        except SERIAL_ERRORS as exc:
            detach(bus, self)
            raise self._open_error(exc) from exc
        self._bus = bus

    def close(self) -> None:
        """Release the bus; the last board on it closes the port. Idempotent."""
        bus, self._bus = self._bus, None
        if bus is not None:
            detach(bus, self)

    def scan(self) -> list[int]:
        """The addresses 0..15 that answer a status request on this bus."""
        bus = self.attached()

        def still_open() -> None:
            if self._bus is not bus:
                raise BoardOffline(self.name, "closed during the bus scan")

        try:
            return [
                address
                for address in range(self.dialect.max_address + 1)
                if probe_status(bus, address, self.timeout_s, self.name, still_open, self.dialect)
            ]
        except SERIAL_ERRORS as exc:
            raise BoardOffline(self.name, f"bus scan on {self.port} failed: {exc}") from exc

    def read_status(self, budget_s: float | None = None) -> StatusReply:
        """The board's status (:meth:`exchange` of its status request)."""
        return self.exchange(self.dialect.status_request(self.address), budget_s)

    def exchange(self, request: bytes, budget_s: float | None = None) -> StatusReply:
        """Send ``request`` until a valid status reply comes back, or raise BoardOffline.

        Each attempt holds the bus only for itself: the waits between attempts let the
        other boards on the bus be polled. After an attempt that heard nothing at all
        (the field's "stuck busy" board) or an I/O error, the port is flushed and reopened,
        before the next attempt of this exchange or, when none was left (a poll's budget
        spent), of the next one. With ``budget_s`` (a poll's:
        :meth:`~drivers.kerong.KerongDriver.read_within`), attempts stop when it is spent.
        """
        bus = self.attached()
        budget = None if budget_s is None else ReadBudget(budget_s, self._least_s)
        try:
            return retry(
                partial(self._exchange_once, bus, request, budget),
                retries=self.retries,
                backoff=BACKOFF,
                retry_on=(Failure,),
                counters=self.counters,
                budget=budget,
            )
        except Exhausted as spent:
            raise BoardOffline(
                self.name,
                f"no valid reply from address {self.address} on {self.port} "
                f"after {spent.tried}: {spent.last}",
            ) from None

    def _exchange_once(
        self, bus: KerongSerial, request: bytes, budget: ReadBudget | None
    ) -> StatusReply:
        """One attempt of :meth:`exchange`, holding the bus; raises :class:`Failure`."""
        with bus.hold(self.name):
            # A budget counts from when the bus is ours (drivers.budget).
            timeout_s = self.timeout_s if budget is None else budget.timeout(self.timeout_s)
            if self._is_stuck:
                self._reopen(bus)
            try:
                reply = self._attempt(bus, request, timeout_s)
            except Failure as exc:
                self._is_stuck = exc.stuck
                raise
            self._is_stuck = False
            return reply

    @property
    def _least_s(self) -> float:
        """The shortest wait for a reply worth an attempt: request and reply on the wire,
        and a margin for the board and the host."""
        frames = self.dialect.request_len + self.dialect.reply_len
        return frames * 10 / self.baud + _REPLY_MARGIN_S

    def unlock(self, lock: int) -> None:
        """The unlock exchange of :meth:`pulse`, for any channel of the board."""
        bus = self.attached()
        with bus.hold(self.name):
            if self._is_stuck:
                self._reopen(bus)
                self._is_stuck = False
            try:
                self._send(bus, self.dialect.unlock_request(self.address, lock))
                reply, _, heard = self._receive(bus, unlock=True)
            except SERIAL_ERRORS as exc:
                self._count_error("io", str(exc))
                self._is_stuck = True  # reopen before the next exchange
                raise BoardOffline(
                    self.name, f"unlock of lock {lock} not sent: {exc}", channel=lock
                ) from exc
        if reply is not None:
            self.counters.answered()
        if heard:
            self.counters.pulses += 1
            return
        try:
            # One time-out's worth of asking, not the retry schedule: the polls that
            # follow are the retries, and a board that fell silent as its lock fired
            # must be reported offline in a few poll periods (drivers.poller).
            self.read_status(self.timeout_s)
        except BoardOffline as exc:
            raise BoardOffline(
                self.name,
                f"no answer after the unlock of lock {lock}; it may not have fired",
                channel=lock,
            ) from exc
        self.counters.pulses += 1

    def _attempt(self, bus: KerongSerial, request: bytes, timeout_s: float) -> StatusReply:
        try:
            self._send(bus, request)
            reply, rejected, heard = self._receive(bus, timeout_s=timeout_s)
        except SERIAL_ERRORS as exc:
            self._count_error("io", str(exc))
            raise Failure(f"serial error: {exc}", stuck=True) from exc
        if reply is not None:
            self.counters.answered()
            return reply
        if rejected is not None:
            self._count_error(rejected.kind, str(rejected))
            raise Failure(f"bad reply: {rejected}", stuck=False)
        message = f"no reply within {timeout_s:.3g} s" if not heard else "incomplete reply"
        self._count_error("timeout", message)
        raise Failure(message, stuck=not heard)

    def _send(self, bus: KerongSerial, frame: bytes) -> None:
        """Flush what is left of earlier replies, then write ``frame``; caller holds the bus."""
        bus.connection(self.timeout_s)
        bus.write(frame)
        self.counters.frames_sent += 1

    def _receive(
        self,
        bus: KerongSerial,
        address: int | None = None,
        timeout_s: float | None = None,
        *,
        unlock: bool = False,
    ) -> _Received:
        """Read until a valid status reply of this board (or of ``address``; with
        ``unlock``, its reply to an unlock where the dialect has one of its own) or
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
            reply, last = self.dialect.scan(buffer, address, unlock=unlock)
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
            chunk = bus.read(max(1, self.dialect.reply_len - len(buffer)), remaining)
            heard = heard or bool(chunk)
            buffer += chunk

    def _reopen(self, bus: KerongSerial) -> None:
        self.counters.reopens += 1
        log.debug("board %r: reopening %s", self.name, self.port)
        bus.shut()  # the attempt that follows opens the port again

    def set_energise_time(self, energise_ms: int) -> None:
        # [?] Unconfirmed command: whatever the board answers (or not) is drained.
        bus = self.attached()
        with bus.hold(self.name):
            try:
                self._send(bus, energise_time_request(self.address, energise_ms))
                self._receive(bus)
            except SERIAL_ERRORS as exc:
                self._count_error("io", str(exc))
                raise BoardOffline(self.name, f"energise time not sent: {exc}") from exc
        log.info("board %r: energise time set to %d ms", self.name, energise_ms)

    def attached(self) -> KerongSerial:
        bus = self._bus
        if bus is None:
            raise DriverError(self.name, "not open")
        return bus

    def _count_error(self, kind: str, message: str) -> None:
        self.counters.failed(kind, f"{kind}: {message}")

    def _open_error(self, exc: Exception) -> DriverError:
        if isinstance(exc, ValueError) and self.rs485:
            return DriverError(
                self.name,
                f"kernel RS-485 mode is not available on {self.port} ({exc}); "
                "set rs485 = false for an adapter that switches direction itself",
            )
        return BoardOffline(self.name, f"cannot open {self.port}: {exc}")
