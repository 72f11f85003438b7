"""The Kerong KR-CU driver: one CU16 board (16 locks) on an RS-485 bus, over pyserial.

Frames are in :mod:`drivers.kerong.frames`; a board's exchanges (retries, reopens,
counters) in :mod:`drivers.kerong.link`; boards on one port share a
:class:`~drivers.kerong.bus.KerongBus`. Golden frames (``shared/HARDWARE.md``)::

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

:class:`KerongBoard` is what the CU16 shares with the CU48
(:class:`~drivers.kerong.cu48.KerongCu48Driver`): everything but the frame family, the
options that only one of them has, and what the board's energise time is.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from drivers.base import BoardKind, BoardSpec, BusClaim, ChannelReading, DoorState, Driver
from drivers.errors import DriverError
from drivers.kerong.bus import KerongBus, KerongSerial
from drivers.kerong.frames import CU16, Dialect, StatusReply, decode_status_reply
from drivers.kerong.link import ERROR_KINDS, KerongLink, probe_status

__all__ = ["ERROR_KINDS", "KerongBoard", "KerongBus", "KerongDriver", "readings_from_reply"]

_MAX_ENERGISE_MS = 2000  # the safety layer's hard cap on a pulse
_ASSUMED_ENERGISE_S = 0.5  # [?] a board's own unlock time: Kerong's advice for solenoids

Options = dict[str, tuple[type, object]]

COMMON_OPTIONS: Options = {
    "port": (str, ""),
    "baud": (int, 19200),
    "address": (int, 0),
    "lock_closed_bit": (int, 1),
    "timeout_s": (float, 0.1),
    "retries": (int, 3),
    "rs485": (bool, False),
    "item_sensors": (bool, True),
}
"""The ``[[boards]]`` keys every Kerong board has, with their defaults."""


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


class KerongBoard(Driver):
    """One Kerong board of some frame family: see the module docstring.

    A subclass sets :attr:`OPTIONS` (:data:`COMMON_OPTIONS` and its own), :attr:`bus_kind`
    and :attr:`protocol` (one bus speaks one family), says its :meth:`dialect`, and may
    check its own options in :meth:`_model_problems`.
    """

    OPTIONS: ClassVar[Options] = COMMON_OPTIONS
    bus_kind: ClassVar[type[KerongSerial]] = KerongBus
    protocol: ClassVar[str] = "kerong"
    family: ClassVar[Dialect] = CU16
    """The frame family with its default settings: what :meth:`dialect` says unless an
    option changes it, and what a bus scan asks (:meth:`bus_kinds`)."""

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
        self._read_model_options()
        self._dialect = self.dialect()
        self._check_options()
        self._locks = tuple(sorted(channel.lock for channel in spec.channels))
        self._all_locks = tuple(range(1, self._dialect.locks + 1))
        self._link = KerongLink(
            self.name, self.port, self.address, self.baud, self.timeout_s, self.retries,
            self.rs485, dialect=self._dialect, bus_kind=self.bus_kind,
        )  # fmt: skip

    def dialect(self) -> Dialect:
        """The frame family this board speaks, as its options set it."""
        return self.family

    def _read_model_options(self) -> None:
        """Read the options only this model has (none here)."""

    # -- the contract ---------------------------------------------------------------

    def open(self) -> None:
        """Claim the bus and open its port (shared with the other boards on it)."""
        self._link.open()

    def close(self) -> None:
        """Release the bus; the last board on it closes the port. Idempotent."""
        self._link.close()

    def all_off(self) -> None:
        """Check that the board answers; there is nothing to switch off.

        Kerong boards have no "off" command: each unlock is timed by the board itself, so
        no output can be left on by the host. Raises :class:`BoardOffline` if the board
        does not answer a status request (after the retries).
        """
        self._link.read_status()

    def pulse(self, lock: int, seconds: float) -> None:
        """Send the unlock frame of ``lock``; ``seconds`` is not sent (board-timed).

        Any reply within ``timeout_s``, or none, is accepted and drained [?]. With no
        reply at all the board is asked for its status, within one ``timeout_s`` (as a
        poll reads, :meth:`read_within`: the polls after it are its retries), and
        :class:`BoardOffline` is raised if it does not answer (the lock may or may not
        have fired). Whether the door opened is for polling to say.
        """
        if lock not in self._locks:
            raise DriverError(
                self.name, f"no lock {lock} on this board (wired: {self._locks})", channel=lock
            )
        self._link.unlock(lock)

    @property
    def bus(self) -> BusClaim:
        """Its address on its port; every board on the port shares baud and rs485."""
        settings = {"baud": self.baud, "rs485": self.rs485}
        return BusClaim(self.port, self.protocol, settings, {self.address: "address"})

    def pulse_length(self, seconds: float) -> float:
        """The board's own unlock time, which the host cannot read: taken to be at least
        Kerong's 500 ms for solenoid locks."""
        return max(seconds, _ASSUMED_ENERGISE_S)

    def read(self) -> dict[int, ChannelReading]:
        """One status exchange (with retries); raises :class:`BoardOffline`."""
        reply = self._link.read_status()
        return readings_from_reply(reply, self._locks, self.closed_bit, self.item_sensors)

    def read_within(self, budget_s: float) -> dict[int, ChannelReading]:
        """:meth:`read`, given up after about ``budget_s`` (from when the bus is ours).

        Each attempt waits ``timeout_s`` or what is left of the budget, whichever is
        less, but never less than the exchange's wire time and a margin; a retry
        starts only while that much is left. A damaged reply comes back early, so it
        is usually retried within the budget; a lost one usually is not.
        """
        reply = self._link.read_status(budget_s)
        return readings_from_reply(reply, self._locks, self.closed_bit, self.item_sensors)

    def stats(self) -> dict[str, Any]:
        """Where the board is (``port``, ``address``, ``baud``) and its
        :class:`~drivers.counters.BusCounters`, errors by :data:`ERROR_KINDS` (a
        reopen is the "stuck busy" cure)."""
        where = {"port": self.port, "address": self.address, "baud": self.baud}
        return {**where, **self._link.counters.stats()}

    # -- the technician's tools -----------------------------------------------------

    @property
    def channel_count(self) -> int:
        return self._dialect.locks

    def read_all(self) -> dict[int, ChannelReading]:
        """Like :meth:`read`, for every channel of the board."""
        reply = self._link.read_status()
        return readings_from_reply(reply, self._all_locks, self.closed_bit, self.item_sensors)

    def pulse_channel(self, channel: int, seconds: float) -> None:
        """Like :meth:`pulse`, for any channel of the board, wired in the config or not."""
        if channel not in self._all_locks:
            model, locks = self._dialect.model, self._dialect.locks
            raise DriverError(
                self.name, f"no channel {channel} on a {model} (1..{locks})", channel=channel
            )
        self._link.unlock(channel)

    def scan_bus(self) -> list[int]:
        """The addresses 0..15 that answer a status request on this board's bus.

        Each address gets one request (a second one if something garbled came back)
        and ``timeout_s`` to answer; the bus is held for one exchange at a time. Raises
        :class:`BoardOffline` when the port cannot be used.
        """
        return self._link.scan()

    @classmethod
    def bus_kinds(cls) -> tuple[BoardKind, ...]:
        """A board of this family at ids 0..15, found by its status request (a CU16's
        0x30, a CU48's 0x60): :func:`probe_status` in :attr:`family`. The driver's name
        is its bus's protocol (one family, one driver, one bus)."""
        family = cls.family
        addresses = range(family.max_address + 1)
        timeout_s = float(cls.OPTIONS["timeout_s"][1])  # type: ignore[arg-type]
        probe = partial(probe_status, dialect=family)
        kind = BoardKind(
            f"Kerong {family.model}", cls.protocol, cls.bus_kind, addresses, timeout_s, probe
        )
        return (kind,)

    # -- options --------------------------------------------------------------------

    def _option(self, key: str, kind: type) -> Any:
        value = self.spec.options.get(key, self.OPTIONS[key][1])
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise DriverError(self.name, f"option {key} must be {kind.__name__}, not {value!r}")
        return value

    def _check_options(self) -> None:
        problems = []
        top = self._dialect.max_address
        if not self.port:
            problems.append("option port is required (a device path or a pyserial URL)")
        if not 0 <= self.address <= top:
            problems.append(f"option address must be 0..{top}, not {self.address}")
        if self.closed_bit not in (0, 1):
            problems.append(f"option lock_closed_bit must be 1 or 0, not {self.closed_bit}")
        if self.baud <= 0 or self.timeout_s <= 0 or self.retries < 0:
            problems.append("options baud and timeout_s must be positive, retries >= 0")
        problems += self._model_problems()
        locks = self._dialect.locks
        wrong = [c.lock for c in self.spec.channels if not 1 <= c.lock <= locks]
        if wrong:
            problems.append(f"locks {wrong} do not exist on a {self._dialect.model} (1..{locks})")
        if problems:
            raise DriverError(self.name, "; ".join(problems))

    def _model_problems(self) -> list[str]:
        """What is wrong with the options only this model has."""
        return []


class KerongDriver(KerongBoard):
    """One Kerong CU16 board. See the module docstring for options and guarantees."""

    OPTIONS: ClassVar[Options] = {**COMMON_OPTIONS, "energise_ms": (int, 0)}

    def _read_model_options(self) -> None:
        self.energise_ms: int = self._option("energise_ms", int)

    def open(self) -> None:
        """Claim the bus and open its port (shared with the other boards on it), then
        set the board's energise time if ``energise_ms`` asks for it."""
        self._link.open()
        if self.energise_ms:
            try:
                self._link.set_energise_time(self.energise_ms)
            except DriverError:
                self.close()
                raise

    def pulse_length(self, seconds: float) -> float:
        """The board's energise time: ``energise_ms`` when set; otherwise the board's own
        setting, which the host cannot read, taken to be at least Kerong's 500 ms for
        solenoid locks (set ``energise_ms`` for motor locks, 1000 ms)."""
        if self.energise_ms:
            return self.energise_ms / 1000
        return super().pulse_length(seconds)

    def _model_problems(self) -> list[str]:
        if self.energise_ms and not 10 <= self.energise_ms <= _MAX_ENERGISE_MS:
            return [f"option energise_ms must be 0 (board's own) or 10..{_MAX_ENERGISE_MS}"]
        return []
