"""Waveshare-style Modbus RTU relay boards (8, 16, 32 relays; the 8-relay "(D)" variant
with 8 inputs) and Modbus input boards, on pseudo-terminals.

Written from ``shared/HARDWARE.md`` and the facts of ``docs/hardware.md``, not from the
driver: it has its own CRC and framing, so a framing bug in ``drivers/`` cannot pass its
own test. A relay board's relays and inputs are the :class:`~hw_sim.model.Bank`'s locks
and door sensors: relay ``n`` (from 0) drives lock ``n + 1`` of ``board``, input ``n``
reads its door.

What a relay board answers (``channels`` relays, default address 1, 8N1):

=========================  ============================================================
FC01 read coils            the relays (a flash counts as on until it ends)
FC02 read inputs           (D) only: ``input_closed_level`` for a closed door, the other
                           level for an open one; inputs with nothing wired read 0
FC05 coil n, FF00 / 0000   relay on (held) / off
FC05 coil 0x0200 + n       "flash on": on for ``value`` x 100 ms, then off by itself;
                           the lock is fired with ``bank.energise(board, n + 1, s)``
                           ([?] for n >= 8, the family's addressing by analogy)
FC03 / FC06 reg 0x4000     the device address (read / set, 1..247); the board answers
                           at the new address from the next request on
FC03 / FC06 reg 0x2000     the UART parameters: high byte the parity (0 none, 1 even,
                           2 odd [?]), low byte the baud code (0 4800, 1 9600, 2 19200,
                           3 38400, 4 57600, 5 115200, 6 128000, 7 256000); a new baud
                           is read back at once and spoken from the next power-on
                           (``bank.revive_board`` after ``kill_board``), or at once with
                           ``baud_change="at_once"``: the public facts do not say which
FC03 reg 0x8000            the firmware version x 100 (``version``, 200 = V2.00)
FC03 at address 0          a read of one of those registers is answered, with address
                           byte 0, as Waveshare's own example reads the address of the
                           only board on a line; two boards answering garble each other
FC03 / FC06 / FC16         (D) only, [?]: the relays' control modes, one register each
reg 0x1000 + n             from 0x1000 (0 normal, 1 linkage, 2 toggle, 3 edge trigger);
                           stored, not acted out
=========================  ============================================================

Relay 1 on for 700 ms (the golden frame), answered with the same 8 bytes as the echo::

    01 05 02 00 00 07 8D B0

Another function is exception 01, a coil or register out of range exception 02, a bad
value exception 03. A frame with a bad CRC, or for another address, gets silence;
address 0 is a broadcast: writes are done on every unit and nobody answers. A dead
board in the bank (``bank.kill_board``) is silent too. With ``strict_baud`` a board
hears only frames sent at its own baud (the speed the driver set on the pty,
:meth:`~hw_sim.pty_link.PtyLink.line_baud`): at another speed a real board sees framing
errors, not a request.

A request ends when it has the length its function code implies, or at 3.5 character
times of silence (what a real board goes by). With ``pacing`` a reply leaves no earlier
than the request's wire time plus the 3.5-character gap, and takes its own wire time.

An input board (:class:`ModbusInputEmulator`) answers FC02 and the address register; each
of its inputs reads the door of any lock of any board (:meth:`~ModbusInputEmulator.wire`),
so one 16-input board may read the doors of two 8-relay boards. A relay board given an
``input_address`` has such a board beside it, its inputs one to one.

Several boards on one bus: :class:`ModbusBusEmulator` puts unstarted devices
(:class:`ModbusDevice`) behind one pty; each answers at its own addresses.

The Bank has no per-lock "off": switching one held relay off leaves the model's other
coils as they were, and the bank's coils go off once every relay is off.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from hw_sim.model import Bank, BoardDead
from hw_sim.pty_link import PtyLink

__all__ = [
    "BAUD_CODES",
    "Counters",
    "Faults",
    "ModbusBusEmulator",
    "ModbusDevice",
    "ModbusInputEmulator",
    "ModbusRelayEmulator",
    "crc16",
    "frame_with_crc",
]

log = logging.getLogger(__name__)

CHANNELS = 8
BROADCAST = 0
ADDRESS_REGISTER = 0x4000
MODE_REGISTER = 0x1000  # [?] relay n's control mode at 0x1000 + n - 1 (boards with inputs)
_MODES = (0, 1, 2, 3)  # normal, linkage, toggle, edge trigger
UART_REGISTER = 0x2000
VERSION_REGISTER = 0x8000
BAUD_CODES = (4800, 9600, 19200, 38400, 57600, 115200, 128000, 256000)
"""The UART register's low byte, as Waveshare's family table gives it [?]."""
BAUD_CHANGES = ("power_on", "at_once")
FLASH_BASE = 0x0200  # [?] past relay 8 (16- and 32-channel boards): by the family's analogy
ON, OFF = 0xFF00, 0x0000
_HELD_S = 3600.0  # what the bank is told for a relay switched on until further notice


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS, bit by bit: reflected poly 0xA001, start 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            lsb = crc & 1
            crc >>= 1
            if lsb:
                crc ^= 0xA001
    return crc


def frame_with_crc(body: bytes) -> bytes:
    """``body`` and its CRC, low byte first."""
    crc = crc16(body)
    return body + bytes([crc & 0xFF, crc >> 8])


def _request_length(buffer: bytes) -> int | None:
    """How long the request starting ``buffer`` is, if its function code says so."""
    if len(buffer) < 2:
        return None
    if buffer[1] in (1, 2, 3, 4, 5, 6):
        return 8
    if buffer[1] in (15, 16) and len(buffer) >= 7:
        return 9 + buffer[6]
    return None


@dataclass
class Faults:
    """What goes wrong, set at any time. Probabilities are per reply."""

    corrupt_crc_p: float = 0.0  # reply sent with a wrong CRC
    drop_p: float = 0.0  # request done, reply not sent
    garbage_p: float = 0.0  # ``garbage`` sent before the reply
    garbage: bytes = b"\x00\xff\x5a"
    late_p: float = 0.0  # reply held back ``late_s``
    late_s: float = 0.0
    silent: bool = False  # nothing heard, nothing done, nothing said


@dataclass
class Counters:
    """What the emulated board saw and did."""

    requests: int = 0  # frames with a good CRC for a unit of this bus (or broadcast)
    replies: int = 0
    exceptions: int = 0
    broadcasts: int = 0
    crc_errors: int = 0  # frames dropped for a bad CRC (or too short)
    ignored: int = 0  # good frames for another address
    flashes: int = 0
    corrupted: int = 0
    dropped: int = 0
    garbage: int = 0
    late: int = 0
    silent: int = 0
    wrong_baud: int = 0  # frames sent at another speed than the board's: not heard
    collisions: int = 0  # replies of two boards at once (a broadcast read)
    by_function: dict[int, int] = field(default_factory=dict)


class _Refused(Exception):
    """A Modbus exception response with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Port:
    """The wire side of one pty: requests are cut out of the byte stream (at the length
    their function code implies, or at 3.5 character times of silence) and what
    :meth:`handle` answers is sent back, spoilt by :attr:`faults`, paced at :attr:`baud`.

    The pty is made when first needed (:attr:`device`, :meth:`start`), so a board that
    only ever answers through a :class:`ModbusBusEmulator` holds none.
    """

    def __init__(
        self,
        name: str,
        *,
        baud: int,
        pacing: bool,
        faults: Faults | None,
        seed: int | None,
        link_path: str | Path | None,
    ) -> None:
        self.name = name
        self.baud = baud
        self.pacing = pacing
        self.faults = faults or Faults()
        self.counters = Counters()
        self._rng = random.Random(seed)
        self._chunks: queue.SimpleQueue[tuple[bytes, float] | None] = queue.SimpleQueue()
        self._link_path = link_path
        self._link: PtyLink | None = None
        self._worker: threading.Thread | None = None

    def handle(self, frame: bytes, line_baud: int | None = None) -> bytes | None:
        """The reply to one request frame, or ``None`` for silence. ``line_baud`` is
        the speed the frame was sent at, where known."""
        raise NotImplementedError

    @property
    def device(self) -> str:
        """The serial port path for the driver."""
        return self._pty().device

    @property
    def silence_s(self) -> float:
        """3.5 character times (11-bit characters), 1.75 ms above 19200 baud."""
        return 0.00175 if self.baud > 19200 else 3.5 * 11 / self.baud

    def start(self) -> Self:
        if self._worker is None:
            link = self._pty()
            self._worker = threading.Thread(
                target=self._serve, name=f"modbus-emu:{self.name}", daemon=True
            )
            self._worker.start()
            link.start(lambda data, t: self._chunks.put((data, t)), f"pty:{self.name}")
        return self

    def close(self) -> None:
        """Stop answering and close the pty. Idempotent."""
        if self._link is not None:
            self._link.close()
        self._chunks.put(None)
        if self._worker is not None:
            self._worker.join(2.0)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pty(self) -> PtyLink:
        if self._link is None:
            self._link = PtyLink(self._link_path)
        return self._link

    def _serve(self) -> None:
        buffer, first_at = b"", 0.0
        while True:
            try:
                chunk = self._chunks.get(timeout=max(self.silence_s, 0.002) if buffer else None)
            except queue.Empty:
                self._answer(buffer, first_at)  # silence ends the frame, whatever it holds
                buffer = b""
                continue
            if chunk is None:
                return
            data, at = chunk
            first_at = first_at if buffer else at
            buffer += data
            while (size := _request_length(buffer)) is not None and len(buffer) >= size:
                self._answer(buffer[:size], first_at)
                buffer = buffer[size:]

    def _answer(self, frame: bytes, first_at: float) -> None:
        faults = self.faults
        if faults.silent:
            self.counters.silent += 1
            return
        try:
            reply = self.handle(frame, self._pty().line_baud())
        except Exception:
            log.exception("modbus emulator %s: request %s failed", self.name, frame.hex(" "))
            return
        if reply is None:
            return
        if self._rng.random() < faults.drop_p:
            self.counters.dropped += 1
            return
        self._send(self._spoil(reply), len(frame), first_at)

    def _spoil(self, reply: bytes) -> bytes:
        faults = self.faults
        if self._rng.random() < faults.corrupt_crc_p:
            self.counters.corrupted += 1
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        if self._rng.random() < faults.garbage_p:
            self.counters.garbage += 1
            reply = faults.garbage + reply
        return reply

    def _send(self, reply: bytes, request_size: int, first_at: float) -> None:
        link = self._pty()
        if self.pacing:
            link.pace(request_size, self.baud, first_at)
            time.sleep(self.silence_s)
        if self.faults.late_s > 0 and self._rng.random() < self.faults.late_p:
            self.counters.late += 1
            time.sleep(self.faults.late_s)
        link.write(reply, baud=self.baud if self.pacing else None)
        self.counters.replies += 1


@dataclass
class _Unit:
    """One device on the bus: its address, its relays (0: none) and its inputs (each the
    door it reads, ``(bank board, lock, closed level)``, or ``None``: nothing wired;
    an empty list: no inputs)."""

    address: int
    relays: int
    inputs: list[tuple[str, int, int] | None]
    modes: list[int] | None = None  # the relays' control modes; None: no such registers
    baud: int = 9600  # what its UART speaks now
    stored_baud: int = 9600  # what the UART register holds (spoken from the next power-on)
    parity: int = 0


class ModbusDevice(_Port):
    """What one emulator object answers for: a relay board, an input board, or a relay
    board and the input board its doors are read from (its :attr:`units`).

    ``strict_baud``: a unit hears only frames sent at its own baud. ``baud_change``: a
    baud written to the UART register is spoken from the next power-on (``"power_on"``)
    or at once (``"at_once"``). ``version``: the firmware version register's value."""

    def __init__(
        self,
        bank: Bank,
        board: str,
        units: list[_Unit],
        *,
        strict_baud: bool = False,
        baud_change: str = "power_on",
        version: int = 200,
        **wire: Any,
    ) -> None:
        if baud_change not in BAUD_CHANGES:
            raise ValueError(f"baud_change must be one of {BAUD_CHANGES}")
        super().__init__(board, **wire)
        self.bank = bank
        self.board = board
        self.units = units
        for unit in units:
            unit.baud = unit.stored_baud = self.baud
        self.strict_baud = strict_baud
        self.baud_change = baud_change
        self.version = version
        self.relay_count = max((unit.relays for unit in units), default=0)
        self._on_until = [0.0] * self.relay_count
        self._lock = threading.Lock()
        self._power_ons = bank.power_ons(board)

    def relays(self) -> tuple[bool, ...]:
        """Which relays are on now."""
        now = time.monotonic()
        with self._lock:
            return tuple(now < until for until in self._on_until)

    # -- one request ----------------------------------------------------------------------

    def handle(self, frame: bytes, line_baud: int | None = None) -> bytes | None:
        """Do what one request frame asks; the reply frame, or ``None`` for silence.

        No faults and no pacing here: :meth:`handle` is the board's logic alone.
        ``line_baud``, where known, is the speed the frame came at: with
        :attr:`strict_baud` a unit at another speed does not hear it.
        """
        self._after_power_on()
        hearing = self._hearing(line_baud)
        if not hearing:
            return None
        if len(frame) < 4 or frame_with_crc(frame[:-2]) != frame:
            self.counters.crc_errors += 1
            return None
        address, function, data = frame[0], frame[1], frame[2:-2]
        targets = [u for u in hearing if address in (u.address, BROADCAST)]
        if not targets or (address == BROADCAST and function not in (3, 5, 6)):
            self.counters.ignored += 1
            return None
        self.counters.requests += 1
        by_function = self.counters.by_function
        by_function[function] = by_function.get(function, 0) + 1
        try:
            self._check_alive()
            if address == BROADCAST and function != 3:
                self._broadcast(targets, function, data)
                return None
            replies = [self._reply(unit, address, function, data) for unit in targets]
        except BoardDead:
            return None
        return collide(replies, self.counters)

    def _reply(self, unit: _Unit, address: int, function: int, data: bytes) -> bytes:
        """What ``unit`` answers (with ``address``, as it was asked) to one request."""
        try:
            reply = self._execute(unit, function, data)
        except _Refused as refused:
            self.counters.exceptions += 1
            return frame_with_crc(bytes([address, function | 0x80, refused.code]))
        return frame_with_crc(bytes([address, function]) + reply)

    def _hearing(self, line_baud: int | None) -> list[_Unit]:
        """The units that hear a frame sent at ``line_baud``."""
        if not self.strict_baud or line_baud is None:
            return self.units
        hearing = [unit for unit in self.units if unit.baud == line_baud]
        if len(hearing) < len(self.units):
            self.counters.wrong_baud += 1
        return hearing

    def _after_power_on(self) -> None:
        """A power cycle (the bank revived the board) puts stored settings in force."""
        power_ons = self.bank.power_ons(self.board)
        if power_ons != self._power_ons:
            self._power_ons = power_ons
            for unit in self.units:
                unit.baud = unit.stored_baud

    def _broadcast(self, units: list[_Unit], function: int, data: bytes) -> None:
        """A write to address 0: every unit that can does it; nobody answers."""
        self.counters.broadcasts += 1
        for unit in units:
            with contextlib.suppress(_Refused):
                self._execute(unit, function, data)

    def _execute(self, unit: _Unit, function: int, data: bytes) -> bytes:
        if function == 1 and unit.relays:
            start, count = _range(data, unit.relays)
            return _bits(self.relays()[start : start + count])
        if function == 2 and unit.inputs:
            start, count = _range(data, len(unit.inputs))
            return _bits(self._levels(unit)[start : start + count])
        if function == 3:
            return self._read_registers(unit, *_pair(data))
        if function == 5 and unit.relays:
            self._write_coil(unit, *_pair(data))
            return data
        if function == 6:
            register, value = _pair(data)
            self._write_register(unit, register, value)
            return data
        if function == 16:
            start, count = _pair(data[:4])
            values = data[5:]
            if len(values) != 2 * count or data[4] != len(values):
                raise _Refused(3)
            for n in range(count):
                self._write_register(unit, start + n, int.from_bytes(values[2 * n : 2 * n + 2]))
            return data[:4]
        raise _Refused(1)

    def _read_registers(self, unit: _Unit, start: int, count: int) -> bytes:
        if count == 1 and start in (ADDRESS_REGISTER, UART_REGISTER, VERSION_REGISTER):
            return bytes([2]) + self._register(unit, start).to_bytes(2, "big")
        modes = unit.modes
        if modes is None or not (
            start >= MODE_REGISTER and start + count <= MODE_REGISTER + len(modes)
        ):
            raise _Refused(2)
        values = modes[start - MODE_REGISTER : start - MODE_REGISTER + count]
        return bytes([2 * count]) + b"".join(v.to_bytes(2, "big") for v in values)

    def _register(self, unit: _Unit, register: int) -> int:
        if register == ADDRESS_REGISTER:
            return unit.address
        if register == UART_REGISTER:
            return unit.parity << 8 | BAUD_CODES.index(unit.stored_baud)
        return self.version

    def _write_register(self, unit: _Unit, register: int, value: int) -> None:
        if register == ADDRESS_REGISTER:
            if not 1 <= value <= 247:
                raise _Refused(3)
            unit.address = value  # the reply still carries the address it was asked at
            return
        if register == UART_REGISTER:
            parity, code = value >> 8, value & 0xFF
            if parity > 2 or code >= len(BAUD_CODES):
                raise _Refused(3)
            unit.parity, unit.stored_baud = parity, BAUD_CODES[code]
            if self.baud_change == "at_once":
                unit.baud = unit.stored_baud  # the echo still leaves at the old speed
            return
        modes = unit.modes
        if modes is None or not MODE_REGISTER <= register < MODE_REGISTER + len(modes):
            raise _Refused(2)
        if value not in _MODES:
            raise _Refused(3)
        modes[register - MODE_REGISTER] = value

    def _write_coil(self, unit: _Unit, coil: int, value: int) -> None:
        if coil < unit.relays:
            if value not in (ON, OFF):
                raise _Refused(3)
            self._switch(coil, _HELD_S if value == ON else 0.0)
        elif FLASH_BASE <= coil < FLASH_BASE + unit.relays:
            if value == 0:
                raise _Refused(3)
            self.counters.flashes += 1
            self._switch(coil - FLASH_BASE, value * 0.1)
        else:
            raise _Refused(2)

    def _switch(self, relay: int, seconds: float) -> None:
        """Relay on for ``seconds`` (off for 0), and the bank's coil with it."""
        try:
            if seconds > 0:
                self.bank.energise(self.board, relay + 1, seconds)
            elif not any(on for i, on in enumerate(self.relays()) if i != relay):
                self.bank.all_off(self.board)
        except LookupError:
            pass  # a relay with no lock wired still clicks
        with self._lock:
            self._on_until[relay] = time.monotonic() + seconds if seconds > 0 else 0.0

    def _check_alive(self) -> None:
        """Raise :class:`BoardDead` if the bank has killed this board."""
        with contextlib.suppress(LookupError):  # a board the bank does not know is empty
            self.bank.sample(self.board)

    def _levels(self, unit: _Unit) -> list[bool]:
        """Each input's level: a shut door at its closed level, an open one at the other,
        nothing wired (or no door in the bank) at 0."""
        doors: dict[str, dict[int, bool]] = {}
        levels = []
        for wired in unit.inputs:
            is_open = None
            if wired is not None:
                board, lock, closed_level = wired
                if board not in doors:
                    doors[board] = self.bank.sensors(board)
                is_open = doors[board].get(lock)
            levels.append(is_open is not None and bool(closed_level) != is_open)
        return levels


class ModbusRelayEmulator(ModbusDevice):
    """One relay board of ``channels`` relays (8, 16 or 32) and, optionally, a separate
    input board its doors are read from, on a new pty; or, not started itself, one of the
    boards of a :class:`ModbusBusEmulator`.

    ``has_inputs``: the board's own inputs, one per relay, read its doors (the (D)
    board). ``input_address``: a separate input board of ``channels`` inputs at that
    address reads them instead (for input boards shared between relay boards, or mapped
    with an offset, see :class:`ModbusInputEmulator`). ``relay_modes``: the control mode
    of each relay of a board with inputs of its own (0 normal unless given; 1 linkage);
    the emulator stores them, it does not act them out.
    """

    def __init__(
        self,
        bank: Bank,
        board: str,
        *,
        address: int = 1,
        channels: int = CHANNELS,
        has_inputs: bool = True,
        input_address: int | None = None,
        input_closed_level: int = 1,
        relay_modes: Iterable[int] | None = None,
        baud: int = 9600,
        pacing: bool = False,
        faults: Faults | None = None,
        seed: int | None = None,
        link_path: str | Path | None = None,
        strict_baud: bool = False,
        baud_change: str = "power_on",
        version: int = 200,
    ) -> None:
        if input_closed_level not in (0, 1):
            raise ValueError("input_closed_level must be 0 or 1")
        separate = input_address is not None and input_address != address
        doors: list[tuple[str, int, int] | None] = [
            (board, lock, input_closed_level) for lock in range(1, channels + 1)
        ]
        own = has_inputs and not separate
        modes = list(relay_modes) if relay_modes is not None else [0] * channels
        units = [_Unit(address, channels, doors if own else [], modes if own else None)]
        if separate and input_address is not None:
            units.append(_Unit(input_address, 0, doors))
        super().__init__(
            bank, board, units, strict_baud=strict_baud, baud_change=baud_change,
            version=version, baud=baud, pacing=pacing, faults=faults, seed=seed,
            link_path=link_path,
        )  # fmt: skip
        self.closed_level = input_closed_level

    def relay_modes(self) -> list[int] | None:
        """The relays' control modes, as the board holds them now (``None``: no inputs)."""
        modes = self.units[0].modes
        return None if modes is None else list(modes)


class ModbusInputEmulator(ModbusDevice):
    """A Modbus input board at ``address`` (FC02 and the address register only), with
    ``count`` inputs (at least those wired, in steps of 8): one of the boards of a
    :class:`ModbusBusEmulator`, or started on a pty of its own. It is a board of the bank
    of its own (``name``, ``"inputs@ADDRESS"`` unless given): killing the relay boards
    whose doors it reads leaves it answering.

    :meth:`wire` says which door each input reads, so one input board may read the
    doors of several relay boards, each from an input of its own.
    """

    def __init__(
        self,
        bank: Bank,
        address: int,
        count: int = CHANNELS,
        *,
        name: str = "",
        baud: int = 9600,
        pacing: bool = False,
        faults: Faults | None = None,
        seed: int | None = None,
        link_path: str | Path | None = None,
        strict_baud: bool = False,
        baud_change: str = "power_on",
        version: int = 200,
    ) -> None:
        super().__init__(
            bank, name or f"inputs@{address}", [_Unit(address, 0, [None] * count)],
            strict_baud=strict_baud, baud_change=baud_change, version=version, baud=baud,
            pacing=pacing, faults=faults, seed=seed, link_path=link_path,
        )  # fmt: skip

    def wire(self, input_number: int, board: str, lock: int, closed_level: int = 1) -> None:
        """Input ``input_number`` (counting from 1) reads the door of ``lock`` of ``board``
        (a bank board), at ``closed_level`` while it is shut; the board grows to hold it."""
        if closed_level not in (0, 1):
            raise ValueError("closed_level must be 0 or 1")
        inputs = self.units[0].inputs
        while len(inputs) < input_number:
            inputs.extend([None] * CHANNELS)
        inputs[input_number - 1] = (board, lock, closed_level)


class ModbusBusEmulator(_Port):
    """Several Modbus boards on one pty, as on one RS-485 bus.

    ``boards`` are :class:`ModbusRelayEmulator` and :class:`ModbusInputEmulator` objects
    (:class:`ModbusDevice`) that are not started themselves:
    every frame on the bus reaches each of them, as it reaches every receiver on the
    wires, and the one at the frame's address answers (a broadcast is done by all and
    answered by none). The bus's own :attr:`faults` spoil replies on the wire; a board's
    ``faults.silent`` silences that board alone (a cut stub). Two boards answering at
    one address would garble each other's replies on a real bus: they are refused.
    """

    def __init__(
        self,
        boards: Iterable[ModbusDevice],
        *,
        baud: int = 9600,
        pacing: bool = False,
        faults: Faults | None = None,
        seed: int | None = None,
        link_path: str | Path | None = None,
    ) -> None:
        self.boards = tuple(boards)
        taken: dict[int, str] = {}
        for board in self.boards:
            for unit in board.units:
                other = taken.setdefault(unit.address, board.board)
                if other != board.board:
                    raise ValueError(
                        f"address {unit.address} is used by board {other!r} and {board.board!r}"
                    )
        name = "+".join(board.board for board in self.boards)
        super().__init__(
            name, baud=baud, pacing=pacing, faults=faults, seed=seed, link_path=link_path
        )

    def handle(self, frame: bytes, line_baud: int | None = None) -> bytes | None:
        """What the bus carries back after ``frame``: the addressed board's reply (two
        boards answering at once, to a read at address 0, garble each other)."""
        replies: list[bytes | None] = []
        for board in self.boards:
            if not board.faults.silent:
                replies.append(board.handle(frame, line_baud))
            elif any(unit.address == frame[0] for unit in board.units):
                board.counters.silent += 1  # a frame for it, unheard
        return collide(replies, self.counters)


def collide(replies: Iterable[bytes | None], counters: Counters) -> bytes | None:
    """What the wire carries when each of ``replies`` is sent at once: the one reply,
    nothing, or, for two or more, a frame whose CRC no longer holds."""
    sent = [reply for reply in replies if reply is not None]
    if len(sent) < 2:
        return sent[0] if sent else None
    counters.collisions += 1
    garbled = bytearray(sent[0])
    for other in sent[1:]:
        for i, byte in enumerate(other[: len(garbled)]):
            garbled[i] |= byte  # two drivers on the pair: the bits mix
    if frame_with_crc(bytes(garbled[:-2])) == garbled:
        garbled[-1] ^= 0xFF  # identical replies would still be one valid frame
    return bytes(garbled)


def _pair(data: bytes) -> tuple[int, int]:
    """The two big-endian 16-bit fields every fixed-size request carries (and FC16 first)."""
    if len(data) != 4:
        raise _Refused(3)
    return int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big")


def _range(data: bytes, size: int) -> tuple[int, int]:
    start, count = _pair(data)
    if not 1 <= count <= 2000:
        raise _Refused(3)
    if start + count > size:
        raise _Refused(2)
    return start, count


def _bits(values: tuple[bool, ...] | list[bool]) -> bytes:
    """A byte count and the bits packed first-bit-lowest, as FC01/FC02 replies carry."""
    packed = bytearray(math.ceil(len(values) / 8))
    for i, value in enumerate(values):
        if value:
            packed[i // 8] |= 1 << (i % 8)
    return bytes([len(packed)]) + bytes(packed)
