"""A Waveshare-style Modbus RTU relay board (8, 16 or 32 relays), with door inputs.

Lock ``n`` is relay ``n - 1`` and reads door input ``input_first + n - 2`` (from 0;
input ``input_first + n - 1`` counting from 1). The inputs are the board's own (the
8-relay board's "(D)" variant: FC02 discrete inputs 0-7) or those of a separate Modbus
input board on the same bus (``input_address``), which several relay boards may share,
each reading inputs of its own (a 16-input board serving two 8-relay boards: the second
one has ``input_first = 9``). The reads of a poll (FC01 relays, FC02 inputs) are
hand-built frames through the shared port, taken as soon as the reply's last byte is in
(pymodbus waits for the line to fall quiet after a reply, which made a poll a third
longer than its wire time); the relay modes, the address register and the off writes go
through pymodbus's serial client. A lock fires with the board-timed "flash on" command,
which pymodbus's ``write_coil`` cannot send (it only knows ``FF00``/``0000``), so it is a
hand-built frame with CRC-16/MODBUS too. Relay 1 on for 700 ms at address 1 (the golden
frame)::

    01  05  02 00  00 07  8D B0
    |   |   |      |      CRC-16/MODBUS, low byte first
    |   |   |      on-time in 100 ms units (1..20 here: 0.1-2.0 s)
    |   |   coil 0x0200 + relay index
    |   FC05 write single coil
    address

The board switches the relay off by itself, so a Pi that dies mid-pulse cannot leave a
lock energised (``board_times_pulse``). The board echoes the request; the echo is read
and checked. The on-time has a resolution of 100 ms (rounded, then clamped to 1..20).

Options (``[[boards]]`` keys, validated against :attr:`ModbusRelayDriver.OPTIONS`):

``port`` (required), ``baud`` (9600), ``address`` (1..247), ``channels`` (8, 16 or 32:
the board's relays), ``timeout_s`` (0.2), ``retries`` (2: attempts after the first),
``inputs`` (``"self"``: doors are read over FC02, from this board or from
``input_address``; ``"none"``: no door inputs), ``input_address`` (0 = the relay board
itself), ``input_first`` (1: the input, counting from 1, that reads lock 1's door),
``input_closed_level`` (1 or 0: the input level that means "door closed"),
``relay_modes`` (``"check"`` or ``"reset"``, below), ``rs485`` (kernel RS-485 mode, off).

[?] A relay board with inputs of its own (the (D) variant) has a control mode per relay
(holding registers 0x1000 on, :data:`~drivers.modbus.frames.MODE_REGISTER`): 0 normal, 1
"linkage", where an input drives its relay, so that a door switch would fire its own
lock. Such a board's modes are read before it is first read or fired after each
:meth:`~ModbusRelayDriver.open` (the open itself sends nothing, so a technician can scan
the bus of a board that does not answer): with ``relay_modes = "check"`` a relay in any
mode but normal fails every read and pulse (the board stays offline, the error says
which relays and why, and the kiosk raises its alarm) until the modes are normal; with
``"reset"`` the driver writes normal to them and reads them back. A board that answers
the read with a Modbus exception (illegal function or address) has no modes.

Several boards on one port (two relay boards and an input board on one RS-485 bus) share
one :class:`~drivers.modbus.bus.ModbusBus`: one pymodbus client, one lock. Each
exchange holds the bus, so frames of different boards never interleave, and the waits
between retries leave the bus to the others. Every board on a port needs the same
``baud`` and ``rs485``, and addresses no other board on it uses (an input board's
address is shared by the boards that read it, each reading inputs of its own).

A relay board whose doors come from an input board is asked itself too: :meth:`read`
reads its relays (FC01) before the inputs, and a poll
(:meth:`~ModbusRelayDriver.read_within`) does once the relay board was last heard
:data:`RELAYS_SEEN_S` ago, so a dead relay board behind a live input board is offline as
any other.

With ``inputs = "none"`` every door reads ``UNKNOWN`` (a poll of the relays still tells
whether the board answers). Such a board cannot confirm a door: the closed loop will
record ``OPEN_NOT_DETECTED`` for every unlock, so it suits only boards whose doors are
sensed elsewhere.

Errors: a time-out is :class:`~drivers.errors.BoardOffline`; a CRC error or a garbled or
mismatched reply is :class:`BadReply`; a Modbus exception response is
:class:`ModbusExceptionReply`; each names the board. Time-outs and bad replies are
retried (``retries`` times, waits growing 20, 40, 80 ms ...: a silent board costs a read
0.66 s with the defaults); a poll (:meth:`~ModbusRelayDriver.read_within`) stops at its
budget instead; a flash is sent again after a lost echo only while the board's timer of
the first one would still be running when it arrives (so a first flash the board did
take is made longer, never followed by a second unlock the journal does not know of),
and the lock's longest possible continuous on-time stays within
:data:`~drivers.safety.MAX_PULSE_S`. Every frame starts after at
least 3.5 character times of silence on the bus (4 ms at 9600 baud; 1.75 ms above 19200).

For the technician's tools: the board has ``channels`` channels (``channel_count``),
whatever the config wires; :meth:`~ModbusRelayDriver.read_all` and
:meth:`~ModbusRelayDriver.pulse_channel` reach all of them. :meth:`~ModbusRelayDriver.scan_bus`
reads the device address register (FC03 0x4000) at addresses 1..32 (all 247 would take
too long) with a short time-out; any CRC-valid answer, an exception included, counts.
A scan runs beside polling: every frame on the port, the scan's and those of every
board on the bus, is sent under the bus's lock, so they interleave frame by frame. Scan
frames are not counted in :meth:`~ModbusRelayDriver.stats`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar, TypeVar

import serial
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from drivers.base import (
    MAX_PULSE_S,
    BoardKind,
    BoardSpec,
    BusClaim,
    ChannelReading,
    DoorState,
    Driver,
)
from drivers.budget import ReadBudget
from drivers.counters import BusCounters
from drivers.errors import BoardOffline, DriverError
from drivers.modbus.bus import ModbusBus, PortRefused
from drivers.modbus.frames import (
    CHANNEL_COUNTS,
    FC_READ_COILS,
    FC_READ_INPUTS,
    FC_READ_REGISTERS,
    FC_WRITE_COIL,
    FC_WRITE_REGISTERS,
    MODE_REGISTER,
    RELAYS,
    BadReply,
    ModbusExceptionReply,
    bits_reply_missing,
    check_echo,
    check_response,
    damaged_reply,
    decode_bits_reply,
    door_readings,
    echo_complete,
    flash_frame,
    flash_units,
    frame_start,
    read_bits_frame,
    silence_s,
)
from drivers.retry import Backoff, Exhausted, retry
from drivers.shared_port import attach, detach

__all__ = [
    "ERROR_KINDS",
    "BadReply",
    "ModbusExceptionReply",
    "ModbusRelayDriver",
    "probe_relay_board",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_Request = Callable[[ModbusBus, ModbusSerialClient], _T]
"""One request's attempt on the wire: the bus is held, the client connected."""

ERROR_KINDS = ("timeout", "crc", "bad_reply", "exception", "port")
"""How a Modbus exchange fails: no reply in time, a damaged or garbled reply, a reply
that does not answer the request, a Modbus exception response, an error of the port."""
BACKOFF = Backoff(first_s=0.02)
"""Between a request's attempts: 20, 40, 80 ms ...; a poll's: 2 ms, and the silence after
a frame comes on top."""
_REPLY_MARGIN_S = 0.01  # for the board and the host (pymodbus looks for bytes every 4 chars)
SCAN_ADDRESSES = range(1, 33)
"""What :meth:`ModbusRelayDriver.scan_bus` asks by default (1..247 would take minutes)."""
SCAN_TIMEOUT_S = 0.05
RELAYS_SEEN_S = 0.3
"""A poll of a relay board whose doors come from another board also reads its relays
once they were last heard this long ago: a dead relay board is noticed though its
input board answers."""
SCANNER = "bus scan"
"""The holder of the bus for a scan's frames (:func:`probe_relay_board`)."""
_INPUTS = ("self", "none")
_RELAY_MODES = ("check", "reset")
_MODE_NAMES = {0: "normal", 1: "linkage", 2: "toggle", 3: "edge trigger"}
_NO_SUCH_REGISTER = (1, 2)  # illegal function, illegal data address: a board without modes
_MAX_INPUT = 256


class ModbusRelayDriver(Driver):
    """One Waveshare-style Modbus RTU relay board. See the module docstring."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {
        "port": (str, ""),
        "baud": (int, 9600),
        "address": (int, 1),
        "channels": (int, RELAYS),
        "timeout_s": (float, 0.2),
        "retries": (int, 2),
        "inputs": (str, "self"),
        "input_address": (int, 0),
        "input_first": (int, 1),
        "input_closed_level": (int, 1),
        "relay_modes": (str, "check"),
        "rs485": (bool, False),
    }

    board_times_pulse = True

    def __init__(self, spec: BoardSpec) -> None:
        super().__init__(spec)
        self.port = spec.resolve_port(str(self._option("port")))
        self.baud = int(self._option("baud"))
        self.address = int(self._option("address"))
        self.channels = int(self._option("channels"))
        self.timeout_s = float(self._option("timeout_s"))
        self.retries = int(self._option("retries"))
        self.inputs = str(self._option("inputs"))
        self.input_address = int(self._option("input_address")) or self.address
        self.input_first = int(self._option("input_first"))
        self.closed_level = int(self._option("input_closed_level"))
        self.relay_modes = str(self._option("relay_modes"))
        self.rs485 = bool(self._option("rs485"))
        self._locks = tuple(sorted(channel.lock for channel in spec.channels))
        self._all_locks = tuple(range(1, self.channels + 1))
        self._check_options()
        self._bus: ModbusBus | None = None  # shared with the other boards on the port
        self._rx_seen = False
        self._expect = (self.address, FC_READ_INPUTS)  # the reply _trace resyncs on
        self._foreseen: tuple[int, ...] = ()  # exception codes an exchange expects: not errors
        self._modes_ok = False  # the relay modes were checked since the last open
        self._relays_seen_at = -math.inf  # when the relay board itself last answered
        self._wait_s = self.timeout_s  # the reply wait of the attempt under way
        self._counters = BusCounters(ERROR_KINDS)

    @property
    def has_own_inputs(self) -> bool:
        """Whether its doors are read from its own inputs (a (D) board)."""
        return self.inputs == "self" and self.input_address == self.address

    def input_of(self, lock: int) -> int:
        """The input, counting from 1, that reads ``lock``'s door."""
        return self.input_first + lock - 1

    @property
    def bus(self) -> BusClaim:
        """Its address on its port, and the inputs of its input board that it reads (other
        boards may read other inputs of that board); every board on the port shares baud
        and rs485."""
        settings = {"baud": self.baud, "rs485": self.rs485}
        inputs = {}
        if self.inputs == "self" and not self.has_own_inputs:
            read = frozenset(self.input_of(lock) for lock in self._locks)
            inputs[self.input_address] = (read, "input_address")
        return BusClaim(self.port, "modbus", settings, {self.address: "address"}, inputs)

    def _option(self, key: str) -> Any:
        return self.spec.options.get(key, self.OPTIONS[key][1])

    def _check_options(self) -> None:
        problems = []
        if not self.port:
            problems.append("option port is required")
        if self.baud <= 0 or self.timeout_s <= 0 or not 0 <= self.retries <= 10:
            problems.append("options need baud > 0, timeout_s > 0 and retries in 0..10")
        if not 1 <= self.address <= 247 or not 0 <= int(self._option("input_address")) <= 247:
            problems.append("address must be in 1..247 and input_address in 0..247")
        if self.channels not in CHANNEL_COUNTS:
            counts = ", ".join(map(str, CHANNEL_COUNTS))
            problems.append(f"option channels must be one of {counts}, not {self.channels}")
        if self.inputs not in _INPUTS:
            problems.append(f"option inputs must be one of {_INPUTS}, not {self.inputs!r}")
        elif self.inputs == "none" and (self._option("input_address") or self.input_first != 1):
            problems.append("input_address and input_first need inputs = 'self'")
        if not 1 <= self.input_first <= _MAX_INPUT - self.channels + 1:
            top = _MAX_INPUT - self.channels + 1
            problems.append(f"option input_first must be in 1..{top}, not {self.input_first}")
        if self.closed_level not in (0, 1):
            problems.append("option input_closed_level must be 0 or 1")
        if self.relay_modes not in _RELAY_MODES:
            choices = " or ".join(repr(mode) for mode in _RELAY_MODES)
            problems.append(f"option relay_modes must be {choices}, not {self.relay_modes!r}")
        if any(not 1 <= lock <= self.channels for lock in self._locks):
            problems.append(f"locks must be in 1..{self.channels} on this board")
        if problems:
            raise DriverError(self.name, "; ".join(problems))

    # -- life cycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Claim the bus and open its port (shared with the other boards on it). Nothing
        is sent: a board with inputs of its own has its relays' control modes checked
        before its first read or pulse (see the module docstring)."""
        if self._bus is not None:
            return
        self._modes_ok = False
        shared = {address: inputs for address, (inputs, _) in self.bus.inputs.items()}
        try:
            bus = attach(
                ModbusBus, self.port, self, self.name, {self.address}, baud=self.baud,
                rs485=self.rs485, shared=shared,
            )  # fmt: skip
        except ValueError as exc:
            raise DriverError(self.name, str(exc)) from exc
        try:
            with bus.hold(self.name):
                bus.client(self.timeout_s)
        except PortRefused as exc:
            detach(bus, self)
            kind = DriverError if exc.rs485 else BoardOffline
            raise kind(self.name, str(exc)) from exc
        self._bus = bus

    def _ensure_relay_modes(
        self, budget: ReadBudget | None = None, channel: int | None = None
    ) -> None:
        """Refuse (or, with ``relay_modes = "reset"``, reset) relays whose inputs drive
        them, once after each open; a board that has no such registers passes. Errors
        name ``channel``: the pulse that asked first."""
        if self._modes_ok or not self.has_own_inputs:
            return
        if budget is not None:  # a poll's: as long again, for a longer reply (2 bytes a relay)
            frames = 8 + 5 + 2 * self.channels
            least_s = frames * 10 / self.baud + silence_s(self.baud) + _REPLY_MARGIN_S
            budget = ReadBudget(budget.seconds, least_s)
        modes = self._relay_modes(budget, channel)
        if modes is None:
            log.info(
                "board %r: no relay control modes (registers 0x%04X)", self.name, MODE_REGISTER
            )
            self._modes_ok = True
            return
        if self.relay_modes == "reset" and any(modes):
            normal = self._write_modes([0] * len(modes))
            self._exchange(self._at("set relay modes normal"), normal, channel=channel)
            modes = self._relay_modes(channel=channel) or modes
        odd = {relay + 1: mode for relay, mode in enumerate(modes) if mode}
        if odd:
            raise DriverError(self.name, _modes_refused(odd, self.relay_modes), channel=channel)
        self._modes_ok = True

    def _relay_modes(
        self, budget: ReadBudget | None = None, channel: int | None = None
    ) -> list[int] | None:
        """The control mode of every relay, or ``None`` for a board without modes (whose
        refusal is not counted as an error)."""
        what = self._at("read relay modes")
        try:
            return self._exchange(
                what, self._read_modes, budget=budget, channel=channel, foreseen=_NO_SUCH_REGISTER
            )
        except ModbusExceptionReply as exc:
            if exc.code in _NO_SUCH_REGISTER:
                return None
            raise

    def close(self) -> None:
        """Relays off (best effort), then leave the bus; the last board on it closes the
        port. Idempotent."""
        if self._bus is None:
            return
        try:
            self.all_off()
        except DriverError as exc:
            self._counters.last_error = str(exc)
        finally:
            bus, self._bus = self._bus, None
            if bus is not None:
                detach(bus, self)

    # -- what the safety layer calls ------------------------------------------------------

    def all_off(self) -> None:
        """FC05 ``0000`` to every relay. Stops at the first relay the board ignores."""
        if self._bus is None:
            raise BoardOffline(self.name, "not open")
        failures = []
        for relay in range(self.channels):
            try:
                self._exchange(self._at(f"relay {relay + 1} off"), self._switch_off(relay))
            except BoardOffline:
                raise
            except DriverError as exc:
                failures.append(exc.reason)
        if failures:
            raise DriverError(self.name, "; ".join(failures))

    def pulse(self, lock: int, seconds: float) -> None:
        """Send the flash command for ``lock`` and check the echo; returns at once."""
        if lock not in self._locks:
            raise DriverError(self.name, f"no lock {lock} on this board", channel=lock)
        self._flash(lock, seconds)

    def pulse_length(self, seconds: float) -> float:
        """The flash's on-time: ``seconds`` in the board's 100 ms steps (0.1-2.0 s)."""
        return flash_units(seconds) / 10

    def _flash(self, lock: int, seconds: float) -> None:
        """The flash of ``lock``, its echo checked. After an attempt that got no good echo
        the relay itself is asked (FC01) before anything is sent again: on, the board
        took the flash and only its echo was lost, and nothing more is sent; off while
        the flash would still hold it, the board never took it, and it is sent again.
        Past that time, or past the cap, nothing is sent again: the flash may have come
        and gone, and a second one would be an unlock the journal does not know of."""
        self._ensure_relay_modes(channel=lock)
        relay = lock - 1
        frame = flash_frame(self.address, relay, seconds, self.channels)
        on_s = flash_units(seconds) / 10
        arrives_s = len(frame) * 10 / self.baud + silence_s(self.baud)
        send = self._send_raw(frame)
        first_sent: list[float] = []

        def still_on(at: float) -> bool:
            # A flash sent ``at`` s after the first still finds the first one's timer
            # running if the board took it (then the coil is on longer, one unlock).
            return at + arrives_s < on_s and at + on_s <= MAX_PULSE_S

        def in_time() -> bool:
            return still_on(time.monotonic() - first_sent[0])

        def attempt(bus: ModbusBus, client: ModbusSerialClient) -> None:
            # Asked with the bus held: the wait for it (another board's poll) may have
            # taken this attempt past the first flash.
            if first_sent:
                if not in_time():
                    raise _NotSent(frames=0)
                if self._read_bits(self.address, FC_READ_COILS, relay, 1)(bus, client)[0]:
                    return  # on: the board took the flash; only its echo was lost
                if not in_time():
                    raise _NotSent(frames=1)  # the relay read went out, no flash
                self._counters.frames_sent += 1  # the relay read, and now the flash
            else:
                first_sent.append(time.monotonic())
            send(bus, client)

        what = self._at(f"flash lock {lock}")
        try:
            self._exchange(what, attempt, may_retry=still_on, channel=lock)
        except _NotSent:
            reason = f"{what}: no echo, and the flash may have ended since: not sent again"
            error = BoardOffline(self.name, reason, channel=lock)
            self._counters.last_error = str(error)
            raise error from None
        self._counters.pulses += 1

    def read(self) -> dict[int, ChannelReading]:
        """One read of the doors (with retries); raises :class:`BoardOffline`."""
        return self._read(self._locks)

    def read_within(self, budget_s: float) -> dict[int, ChannelReading]:
        """:meth:`read`, given up after about ``budget_s`` (from when the bus is ours).

        Each attempt waits ``timeout_s`` or what is left of the budget, whichever is
        less, but never less than the request's and reply's wire time, the silence
        before the request and a margin; a retry starts only while that much is left.
        A garbled reply comes back early, so it is usually asked again within the
        budget; a lost one usually is not: the next poll is the retry.
        """
        span = self._locks[-1] - self._locks[0] + 1 if self._locks else 1
        widest = max(span, self.channels)  # inputs, or the relays as the poll reads them
        poll_bytes = 8 + 5 + math.ceil(widest / 8)  # a read request and its reply
        least_s = poll_bytes * 10 / self.baud + silence_s(self.baud) + _REPLY_MARGIN_S
        return self._read(self._locks, ReadBudget(budget_s, least_s), every_time=False)

    def _read(
        self, locks: tuple[int, ...], budget: ReadBudget | None = None, every_time: bool = True
    ) -> dict[int, ChannelReading]:
        """The doors of ``locks``, and whether the relay board itself answers: where the
        doors come from another board, its relays are read too, every time
        (``every_time``) or, for a poll, once it has not answered for
        :data:`RELAYS_SEEN_S`."""
        self._ensure_relay_modes(budget)
        if self.inputs == "none":
            self._exchange(self._at("read relays"), self._read_relays, budget=budget)
            return {lock: ChannelReading(DoorState.UNKNOWN) for lock in locks}
        stale = time.monotonic() - self._relays_seen_at >= RELAYS_SEEN_S
        if not self.has_own_inputs and (every_time or stale):
            self._exchange(self._at("read relays"), self._read_relays, budget=budget)
            self._relays_seen_at = time.monotonic()
        read_inputs = self._read_inputs(locks)
        where = self._at("read inputs", self.input_address)
        return self._exchange(where, read_inputs, budget=budget)

    def stats(self) -> dict[str, Any]:
        """Where the board is (``port``, ``address``, ``baud``) and its
        :class:`~drivers.counters.BusCounters`, errors by :data:`ERROR_KINDS` (a
        reopen: the port pymodbus closed after an I/O error, opened again)."""
        where = {"port": self.port, "address": self.address, "baud": self.baud}
        return {**where, **self._counters.stats()}

    # -- the technician's tools ---------------------------------------------------------

    @property
    def channel_count(self) -> int:
        return self.channels

    def read_all(self) -> dict[int, ChannelReading]:
        """Like :meth:`read`, for the door input of every relay."""
        return self._read(self._all_locks)

    def pulse_channel(self, channel: int, seconds: float) -> None:
        """Like :meth:`pulse`, for any relay of the board, wired in the config or not."""
        if channel not in self._all_locks:
            raise DriverError(
                self.name, f"no channel {channel} on this board (1..{self.channels})",
                channel=channel,
            )  # fmt: skip
        self._flash(channel, seconds)

    def scan_bus(self, addresses: Iterable[int] = SCAN_ADDRESSES) -> list[int]:
        """The ``addresses`` that answer a read of the address register, sorted.

        Each gets one request and :data:`SCAN_TIMEOUT_S` (more at a slow baud); the
        port is held for one exchange at a time. Raises :class:`BoardOffline` when the
        port cannot be used.
        """
        timeout_s = max(SCAN_TIMEOUT_S, 40 * 11 / self.baud)
        return sorted(a for a in set(addresses) if self._answers(a, timeout_s))

    def _answers(self, address: int, timeout_s: float) -> bool:
        bus = self._bus
        if bus is None:
            raise BoardOffline(self.name, "not open")

        def still_open() -> None:
            if self._bus is not bus:  # closed meanwhile: the port must not be reopened
                raise BoardOffline(self.name, "closed during the bus scan")

        try:
            return probe_relay_board(bus, address, timeout_s, self.name, still_open)
        except (OSError, ValueError, serial.SerialException) as exc:
            raise BoardOffline(self.name, f"bus scan on {self.port} failed: {exc}") from exc

    @classmethod
    def bus_kinds(cls) -> tuple[BoardKind, ...]:
        """A relay board of the family (8, 16 or 32 channels, with inputs or not) or an
        input board of it at 1..32, found by a read of its address register, which
        they all answer (:func:`probe_relay_board`)."""
        kind = BoardKind(
            "Modbus relay board", "modbus", ModbusBus, SCAN_ADDRESSES, SCAN_TIMEOUT_S,
            probe_relay_board,
        )  # fmt: skip
        return (kind,)

    # -- one request, its retries and its errors -----------------------------------------

    def _exchange(
        self,
        what: str,
        attempt: _Request[_T],
        *,
        may_retry: Callable[[float], bool] | None = None,
        budget: ReadBudget | None = None,
        channel: int | None = None,
        foreseen: tuple[int, ...] = (),
    ) -> _T:
        """``attempt`` with retries; its final failure names ``what`` (and ``channel``).
        An exception reply with a code in ``foreseen`` is an answer the caller expects
        from some boards: it is not counted as an error."""
        bus = self._bus
        if bus is None:
            raise BoardOffline(self.name, "not open")
        self._foreseen = foreseen
        try:
            result = retry(
                partial(self._attempt, bus, attempt, budget),
                retries=self.retries,
                backoff=BACKOFF,
                retry_on=(BadReply, BoardOffline),
                counters=self._counters,
                budget=budget,
                may_retry=may_retry,
            )
        except ModbusExceptionReply as exc:
            refused = ModbusExceptionReply(
                self.name, f"{what}: {exc.reason}", exc.code, channel=channel
            )
            if exc.code in foreseen:
                self._counters.answered()
            else:
                self._counters.last_error = str(refused)
            raise refused from None
        except Exhausted as spent:
            raise self._gave_up(what, spent, channel) from None
        finally:
            self._foreseen = ()
        self._counters.answered()
        return result

    def _gave_up(self, what: str, spent: Exhausted, channel: int | None) -> DriverError:
        """The error of a request none of whose attempts succeeded: of the last one's
        kind, naming the request and how many attempts were made."""
        last = spent.last
        reason = last.reason if isinstance(last, DriverError) else str(last)
        context = f"{what}: {reason} ({spent.tried})"
        final = (
            BadReply(self.name, context, last.kind, channel=channel)
            if isinstance(last, BadReply)
            else BoardOffline(self.name, context, channel=channel)
        )
        self._counters.last_error = str(final)
        return final

    def _attempt(self, bus: ModbusBus, attempt: _Request[_T], budget: ReadBudget | None) -> _T:
        with bus.hold(self.name):
            if self._bus is not bus:  # closed meanwhile: the port must not be reopened
                raise BoardOffline(self.name, "closed")
            # A poll's budget counts from when the bus is ours: waiting for another
            # board's exchange must not cost this board its answer.
            timeout_s = self.timeout_s if budget is None else budget.timeout(self.timeout_s)
            self._wait_s = timeout_s
            reopening = bus.is_lost
            try:
                client = bus.client(timeout_s)
            except PortRefused as exc:
                raise self._count("port", BoardOffline(self.name, str(exc))) from exc
            if reopening:
                self._counters.reopens += 1
            bus.tracer = self._trace
            try:
                return self._attempt_on_wire(bus, client, attempt)
            finally:
                bus.tracer = None

    def _attempt_on_wire(
        self,
        bus: ModbusBus,
        client: ModbusSerialClient,
        attempt: _Request[_T],
    ) -> _T:
        """One request and its reply; the caller holds the bus."""
        bus.wait_quiet()
        self._rx_seen = False
        self._counters.frames_sent += 1
        try:
            return attempt(bus, client)
        except _NotSent as not_sent:
            self._counters.frames_sent += not_sent.frames - 1
            raise
        except ModbusExceptionReply as exc:
            if exc.code in self._foreseen:
                raise
            raise self._count("exception", exc) from None
        except BadReply as exc:
            raise self._count(exc.kind, exc) from None
        except BoardOffline as exc:
            raise self._count("timeout", exc) from None
        except ConnectionException as exc:
            raise self._count("port", BoardOffline(self.name, f"serial port: {exc}")) from exc
        except ModbusIOException as exc:
            if self._rx_seen:  # bytes came, no valid frame: pymodbus dropped a CRC error
                garbled = BadReply(self.name, "CRC error or garbled reply", "crc")
                raise self._count("crc", garbled) from exc
            raise self._count("timeout", BoardOffline(self.name, "no reply")) from exc
        except (ModbusException, OSError, ValueError, serial.SerialException) as exc:
            raise self._count("port", BoardOffline(self.name, f"serial port: {exc}")) from exc
        finally:
            bus.quiet_at = time.monotonic() + silence_s(self.baud)

    def _at(self, what: str, address: int | None = None) -> str:
        return f"{what} at address {address or self.address}"

    def _count(self, kind: str, error: DriverError) -> DriverError:
        self._counters.failed(kind, str(error))
        return error

    def _trace(self, sending: bool, data: bytes) -> bytes:
        """pymodbus's hook on raw bytes: note that bytes came, drop line noise before
        the reply's header (pymodbus's own hunt gives up on a false start), and end the
        attempt at a whole reply with a wrong CRC (pymodbus would wait out its time-out
        for a reply that is not coming, the whole of a poll's budget)."""
        if sending or not data:
            return data
        self._rx_seen = True
        reply = data[frame_start(data, *self._expect) :]
        if reply[:1] == bytes([self._expect[0]]) and damaged_reply(reply):
            raise BadReply(self.name, "CRC error or garbled reply", "crc")
        return reply

    # -- the requests ---------------------------------------------------------------------

    def _switch_off(self, relay: int) -> _Request[None]:
        def attempt(bus: ModbusBus, client: ModbusSerialClient) -> None:
            self._expect = (self.address, FC_WRITE_COIL)
            reply = client.write_coil(relay, False, device_id=self.address)
            check_response(reply, FC_WRITE_COIL, self.name)
            if reply.address != relay:
                raise BadReply(self.name, f"reply for coil {reply.address}, not {relay}")

        return attempt

    def _send_raw(self, frame: bytes) -> _Request[None]:
        def attempt(bus: ModbusBus, client: ModbusSerialClient) -> None:
            if not bus.is_open:
                raise BoardOffline(self.name, "serial port closed")
            bus.write(frame)
            echo = bus.read_until(lambda got: echo_complete(frame, got), self.timeout_s)
            self._rx_seen = bool(echo)
            check_echo(frame, echo, self.name)

        return attempt

    def _read_relays(self, bus: ModbusBus, client: ModbusSerialClient) -> list[bool]:
        return self._read_bits(self.address, FC_READ_COILS, 0, self.channels)(bus, client)

    def _read_inputs(self, locks: tuple[int, ...]) -> _Request[dict[int, ChannelReading]]:
        """FC02 of the inputs from ``locks[0]``'s to ``locks[-1]``'s (sorted), no more:
        an input board may have fewer inputs than the relay board has relays."""
        first, count = locks[0], locks[-1] - locks[0] + 1
        read = self._read_bits(self.input_address, FC_READ_INPUTS, self.input_of(first) - 1, count)

        def attempt(bus: ModbusBus, client: ModbusSerialClient) -> dict[int, ChannelReading]:
            return door_readings(read(bus, client), locks, self.closed_level, first)

        return attempt

    def _read_bits(
        self, address: int, function: int, start: int, count: int
    ) -> _Request[list[bool]]:
        """FC01 or FC02 of ``count`` bits from ``start``, as a hand-built frame through the
        shared port (as the flash is): the reply is read as soon as its last byte is in,
        where pymodbus waits for the line to fall quiet after it (several character
        times: a poll a third longer than its wire time)."""
        frame = read_bits_frame(address, function, start, count)

        def attempt(bus: ModbusBus, client: ModbusSerialClient) -> list[bool]:
            if not bus.is_open:
                raise BoardOffline(self.name, "serial port closed")
            bus.write(frame)
            heard = b""
            deadline = time.monotonic() + self._wait_s
            while (missing := bits_reply_missing(address, function, count, heard)) > 0:
                remaining = deadline - time.monotonic()
                chunk = bus.read(missing, remaining) if remaining > 0 else b""
                if not chunk:
                    break
                heard += chunk
            self._rx_seen = bool(heard)
            return decode_bits_reply(address, function, count, heard, self.name)

        return attempt

    def _read_modes(self, bus: ModbusBus, client: ModbusSerialClient) -> list[int]:
        self._expect = (self.address, FC_READ_REGISTERS)
        reply = client.read_holding_registers(MODE_REGISTER, count=self.channels,
                                              device_id=self.address)  # fmt: skip
        check_response(reply, FC_READ_REGISTERS, self.name)
        modes = list(reply.registers or ())
        if len(modes) != self.channels:
            raise BadReply(self.name, f"{len(modes)} relay modes, expected {self.channels}")
        return modes

    def _write_modes(self, modes: list[int]) -> _Request[None]:
        def attempt(bus: ModbusBus, client: ModbusSerialClient) -> None:
            self._expect = (self.address, FC_WRITE_REGISTERS)
            reply = client.write_registers(MODE_REGISTER, modes, device_id=self.address)
            check_response(reply, FC_WRITE_REGISTERS, self.name)

        return attempt


class _NotSent(Exception):
    """An attempt that, with the bus held, decided not to send its frame after all;
    ``frames`` it did send before deciding."""

    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        self.frames = frames


def _modes_refused(odd: dict[int, int], setting: str) -> str:
    """Why a board whose relays are not all in normal mode is not opened."""
    shown = ", ".join(
        f"relay {relay} {_MODE_NAMES.get(mode, str(mode))}" for relay, mode in odd.items()
    )
    if setting == "reset":
        return f"relay modes still not normal after writing them ({shown}): refusing the board"
    return (
        f"relay control modes not normal ({shown}; registers 0x{MODE_REGISTER:04X} on): in "
        "linkage mode a door input drives its relay, so a door switch could fire its lock; "
        'set them to normal with a Modbus tool, or relay_modes = "reset" to let the '
        "driver do it at start"
    )


def probe_relay_board(
    bus: ModbusBus,
    address: int,
    timeout_s: float,
    holder: str = SCANNER,
    check: Callable[[], None] | None = None,
) -> bool:
    """Whether a board answers a read of the address register (FC03 0x4000) at
    ``address`` on ``bus``; any CRC-valid answer, an exception included, counts. The bus
    is held (for ``holder``, as the wire trace names it) for the one exchange, and
    opened if it is closed; ``check`` runs under the hold first and may raise to stop.
    Raises ``serial.SerialException`` (an ``OSError``) when the port fails."""
    with bus.hold(holder):
        if check is not None:
            check()
        try:
            return bus.probe(address, timeout_s)
        except PortRefused as exc:
            raise serial.SerialException(str(exc)) from exc
