"""Kerong CU16 lock boards on one emulated RS-485 bus, behind a pseudo-terminal.

Written from ``shared/HARDWARE.md`` and the public clients' request forms (as
``docs/hardware.md`` lists them), not from the driver: nothing here imports
:mod:`drivers`, so a framing bug on either side shows against the other. The golden
frames pin both::

    status, board 0                02 00 30 03 35
    status, board 1                02 10 30 03 45
    unlock lock 1, board 0         02 00 31 03 36
    unlock lock 5, board 1         02 14 31 03 4A
    reply: lock 1 open, no items   02 00 35 FE FF 00 00 03 37

What a caller may rely on:

* Requests are found in the byte stream as a board's receiver would: bytes before an STX
  are skipped; a frame with a wrong ETX or checksum is ignored (no reply) and the
  search goes on from the next byte; a partial frame is dropped after a silence of
  :data:`FRAME_GAP_S`.
* ``0x30`` status: a 9-byte reply from :meth:`hw_sim.model.Bank.sample` (door open ->
  lock bit unlatched, item bits = item present; locks with nothing wired read latched
  and empty). The reply's ADDR is the board's, ``board << 4``. [?] With a lock number
  in the low nibble of ADDR (``02 04 30 03 39``, as two public clients send it), the
  board answers the same status (``status_low_nibble``; ``False``: silence).
* ``0x31`` unlock: :meth:`~hw_sim.model.Bank.energise` for the board's energise time,
  then (``reply_to_unlock``) a status reply. [?] ``0x33`` unlocks every lock of the
  board at once and answers as an unlock does.
* ``0x32`` (any ADDR; public clients send ``0xF0`` or ``0x00``): [?] every board on the
  bus answers, in the order of their addresses, with its status in a 9-byte frame whose
  command is ``0x36`` (``02 00 36 00 00 00 00 03 3B`` for board 0, all open, no items).
* ``0x37`` with two data bytes sets the energise time (10 ms units, [?] high byte first;
  no reply). ``0x37`` with none asks for it: [?] the answer is ``02 ADDR 38 HI LO 03
  SUM`` (the code public clients call "return unlock time"); a ``0x38`` request gets the
  same answer. Other commands are ignored [?].
* An address with no board, a board marked silent and a board the bank has killed
  never answer. Faults are drawn per reply (a dropped reply uses up a
  :meth:`~KerongBusEmulator.delay_next_reply` too); setters are thread-safe.
* The emulator owns the link once started: :meth:`KerongBusEmulator.close` closes it.
* :attr:`KerongBusEmulator.on_request`, if set, is called with every request heard and
  the monotonic time its last byte arrived (after the wire time, when pacing), on the
  link's thread, before the boards act on it: a probe for benchmarks and tests.

:class:`KerongBoards` holds what the CU16's emulator shares with the CU48's
(:mod:`hw_sim.kerong_cu48_emu`): the boards on the bus, the faults, the counters, the
pacing; each says how it cuts requests and what it does with one.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

from hw_sim.model import Bank, BoardDead
from hw_sim.pty_link import PtyLink

__all__ = [
    "FRAME_GAP_S",
    "KerongBoards",
    "KerongBusEmulator",
    "KerongRequest",
    "RequestParser",
    "encode_status_reply",
]

STX = 0x02
ETX = 0x03
STATUS = 0x30
UNLOCK = 0x31
BUS_STATUS = 0x32
UNLOCK_ALL = 0x33
STATUS_REPLY = 0x35
BUS_STATUS_REPLY = 0x36
SET_ENERGISE = 0x37
ENERGISE_REPLY = 0x38
FRAME_GAP_S = 0.05
_PAYLOAD = {SET_ENERGISE: 2}  # bytes between CMD and ETX (0x37 also comes without them)
_BOARD_LOCKS = 16
_DEFAULT_ENERGISE_S = 0.5  # Kerong's recommendation for solenoid locks


def _sum8(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def _frame(addr: int, cmd: int, data: bytes = b"") -> bytes:
    body = bytes([STX, addr, cmd, *data, ETX])
    return body + bytes([_sum8(body)])


def encode_status_reply(
    addr: int, lock_bits: int, item_bits: int, cmd: int = STATUS_REPLY
) -> bytes:
    """``02 ADDR 35 D1 D2 D3 D4 03 SUM`` (bit 0 of D1 = lock 1, D3/D4 items); with ``cmd``
    ``0x36``, a board's answer to the whole-bus status."""
    data = [lock_bits & 0xFF, lock_bits >> 8 & 0xFF, item_bits & 0xFF, item_bits >> 8 & 0xFF]
    return _frame(addr, cmd, bytes(data))


@dataclass(frozen=True)
class KerongRequest:
    """One request heard on the bus."""

    addr: int
    cmd: int
    payload: bytes = b""

    @property
    def board(self) -> int:
        return self.addr >> 4

    @property
    def lock(self) -> int:
        """The lock an unlock asks for (1-16)."""
        return (self.addr & 0x0F) + 1


class RequestParser:
    """Cuts requests out of a byte stream; never raises on any input."""

    def __init__(self, gap_s: float = FRAME_GAP_S) -> None:
        self.gap_s = gap_s
        self.rejected = 0
        self._buffer = bytearray()
        self._last_rx: float | None = None

    def feed(self, data: bytes, now: float | None = None) -> list[KerongRequest]:
        """Add received bytes (read at monotonic ``now``); return the complete requests."""
        if now is not None:
            if self._last_rx is not None and now - self._last_rx > self.gap_s:
                self._buffer.clear()  # a board's receiver forgets a half frame
            self._last_rx = now
        self._buffer += data
        found = []
        while (request := self._next()) is not None:
            found.append(request)
        return found

    def _next(self) -> KerongRequest | None:
        buffer = self._buffer
        while True:
            start = buffer.find(STX)
            if start < 0:
                buffer.clear()
                return None
            del buffer[:start]
            if len(buffer) < 5:
                return None
            for size in _sizes(buffer[2]):
                if len(buffer) < size:
                    return None
                frame = bytes(buffer[:size])
                if frame[-2] == ETX and frame[-1] == _sum8(frame[:-1]):
                    del buffer[:size]
                    return KerongRequest(frame[1], frame[2], frame[3:-2])
            self.rejected += 1
            del buffer[:1]


def _sizes(cmd: int) -> tuple[int, ...]:
    """The lengths a request with ``cmd`` may have, shortest first: 0x37 comes with two
    data bytes (set) or none (ask)."""
    payload = _PAYLOAD.get(cmd, 0)
    return (5, 5 + payload) if payload else (5,)


def _check_probability(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in 0..1, not {value}")
    return float(value)


_R = TypeVar("_R")


class _Parser(Protocol[_R]):
    """What cuts requests out of the bytes a bus carries."""

    rejected: int

    def feed(self, data: bytes, now: float | None = None) -> list[_R]: ...


class KerongBoards(Generic[_R]):
    """Kerong boards (``{address: board name in the bank}``) on one pty, whatever their
    frame family: the faults, the counters, the pacing and the life cycle.

    ``pace`` delays each request by its wire time and each reply by its own at ``baud``.
    ``lock_closed_bit`` is the value of a latched lock's feedback bit (1 on most boards):
    one value for every board, or ``{address: bit}`` (a board left out: 1), as each
    board on a bus may be wired its own way. A subclass gives the parser
    (:meth:`_parser`) and does what one request asks (:meth:`_handle`); whether a board
    answers an unlock is :attr:`reply_to_unlock`, settable at run time.
    """

    max_address = 15
    locks = _BOARD_LOCKS
    """Lock channels of one board."""

    def __init__(
        self,
        bank: Bank,
        boards: Mapping[int, str],
        link: PtyLink,
        baud: int = 19200,
        pace: bool = False,
        lock_closed_bit: int | Mapping[int, int] = 1,
        *,
        reply_to_unlock: bool = True,
        energise_s: float = _DEFAULT_ENERGISE_S,
        seed: int | None = None,
    ) -> None:
        if any(not 0 <= address <= self.max_address for address in boards):
            raise ValueError(f"board addresses must be 0..{self.max_address}")
        closed_bits = (
            dict(lock_closed_bit)
            if isinstance(lock_closed_bit, Mapping)
            else dict.fromkeys(boards, lock_closed_bit)
        )
        if any(bit not in (0, 1) for bit in closed_bits.values()):
            raise ValueError("lock_closed_bit must be 0 or 1")
        self.bank = bank
        self.boards = dict(boards)
        self.link = link
        self.baud = baud
        self.pace = pace
        self.closed_bits = {address: closed_bits.get(address, 1) for address in self.boards}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._parser: _Parser[_R] = self._make_parser()
        self._reply_to_unlock = reply_to_unlock
        self._energise_s = dict.fromkeys(self.boards, energise_s)
        self._silent: set[int] = set()
        self._corrupt = self._drop = self._garbage = self._late_s = self._late_once = 0.0
        self._late_p, self._late_by_s = 0.0, 0.1
        self._counts = {
            "requests_seen": 0,
            "replies_sent": 0,
            "replies_dropped": 0,
            "replies_late": 0,
        }
        self._seen_by_address: dict[int, int] = {}
        self._started = False
        self._closing = threading.Event()
        self.on_request: Callable[[_R, float], None] | None = None

    def _make_parser(self) -> _Parser[_R]:
        raise NotImplementedError

    def _handle(self, request: _R) -> None:
        """Do what ``request`` asks and send what the boards answer (:meth:`_send`)."""
        raise NotImplementedError

    # -- life cycle -----------------------------------------------------------------

    @property
    def device(self) -> str:
        """The path the driver opens."""
        return self.link.device

    def start(self) -> Self:
        """Start answering on the link (idempotent); returns the emulator."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        self.link.start(self._on_receive, name=f"kerong-emu:{self.link.device}")
        return self

    def close(self) -> None:
        """Stop answering and close the link. Idempotent."""
        self._closing.set()
        self.link.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- faults (thread-safe) -------------------------------------------------------

    @property
    def corrupt_checksum(self) -> float:
        """Probability that a reply's checksum byte is wrong."""
        return self._corrupt

    @corrupt_checksum.setter
    def corrupt_checksum(self, value: float) -> None:
        with self._lock:
            self._corrupt = _check_probability("corrupt_checksum", value)

    @property
    def drop_reply(self) -> float:
        """Probability that a reply is not sent at all."""
        return self._drop

    @drop_reply.setter
    def drop_reply(self, value: float) -> None:
        with self._lock:
            self._drop = _check_probability("drop_reply", value)

    @property
    def garbage_before_reply(self) -> float:
        """Probability that 1-8 random bytes precede a (good) reply."""
        return self._garbage

    @garbage_before_reply.setter
    def garbage_before_reply(self, value: float) -> None:
        with self._lock:
            self._garbage = _check_probability("garbage_before_reply", value)

    @property
    def late_reply_s(self) -> float:
        """Extra delay before every reply (the bus is busy meanwhile)."""
        return self._late_s

    @late_reply_s.setter
    def late_reply_s(self, value: float) -> None:
        if value < 0:
            raise ValueError("late_reply_s must not be negative")
        with self._lock:
            self._late_s = float(value)

    @property
    def late_reply(self) -> float:
        """Probability that a reply comes :attr:`late_by_s` late (beyond ``late_reply_s``)."""
        return self._late_p

    @late_reply.setter
    def late_reply(self, value: float) -> None:
        with self._lock:
            self._late_p = _check_probability("late_reply", value)

    @property
    def late_by_s(self) -> float:
        """How late a reply drawn by :attr:`late_reply` comes (0.1 s unless set)."""
        return self._late_by_s

    @late_by_s.setter
    def late_by_s(self, value: float) -> None:
        if value < 0:
            raise ValueError("late_by_s must not be negative")
        with self._lock:
            self._late_by_s = float(value)

    def delay_next_reply(self, seconds: float) -> None:
        """Only the next reply comes ``seconds`` late (on top of ``late_reply_s``)."""
        if seconds < 0:
            raise ValueError("a delay must not be negative")
        with self._lock:
            self._late_once = float(seconds)

    @property
    def reply_to_unlock(self) -> bool:
        """Whether the boards answer an unlock (the [?] of HARDWARE.md); settable at any
        time (``locker-kiosk sim --unlock-reply``, the control socket's
        ``unlock_reply``)."""
        return self._reply_to_unlock

    @reply_to_unlock.setter
    def reply_to_unlock(self, value: bool) -> None:
        with self._lock:
            self._reply_to_unlock = bool(value)

    def set_silent(self, address: int, silent: bool = True) -> None:
        """The board at ``address`` hears nothing (a cut cable) until set back."""
        with self._lock:
            if silent:
                self._silent.add(address)
            else:
                self._silent.discard(address)

    def is_silent(self, address: int) -> bool:
        with self._lock:
            return address in self._silent

    def energise_s(self, address: int) -> float:
        """The unlock time of the board at ``address`` (changed by command 0x37)."""
        with self._lock:
            return self._energise_s[address]

    def stats(self) -> dict[str, Any]:
        """``requests_seen``, ``replies_sent``, ``replies_dropped``, ``replies_late``,
        ``bad_frames`` and ``requests_by_address``."""
        with self._lock:
            return {
                **self._counts,
                "bad_frames": self._parser.rejected,
                "requests_by_address": dict(self._seen_by_address),
            }

    # -- the bus --------------------------------------------------------------------

    def _on_receive(self, data: bytes, when: float) -> None:
        if self.pace:
            self.link.pace(len(data), self.baud, when)
        for request in self._parser.feed(data, when):
            probe = self.on_request
            if probe is not None:
                probe(request, time.monotonic())
            self._handle(request)

    def _heard(self, board: int) -> str | None:
        """Count a request for ``board``; the board's name if it is there to answer."""
        with self._lock:
            self._counts["requests_seen"] += 1
            self._seen_by_address[board] = self._seen_by_address.get(board, 0) + 1
            name = self.boards.get(board)
            return None if name is None or board in self._silent else name

    def _answering(self) -> list[tuple[int, str]]:
        """The boards that hear the bus now, by address."""
        with self._lock:
            return [(a, n) for a, n in sorted(self.boards.items()) if a not in self._silent]

    def _sample(self, address: int, name: str) -> tuple[int, int]:
        """The board's lock bits (in its polarity) and item bits, bit 0 for lock 1; locks
        with nothing wired read latched and empty. Raises :class:`BoardDead` for a board
        the bank has killed."""
        lock_bits = item_bits = 0
        closed = self.closed_bits[address]
        sample = self.bank.sample(name)
        for lock in range(1, self.locks + 1):
            is_open, item = sample.get(lock, (False, False))
            bit = 1 - closed if is_open else closed
            lock_bits |= bit << (lock - 1)
            item_bits |= int(item) << (lock - 1)
        return lock_bits, item_bits

    def _fire(self, address: int, name: str, locks: Iterable[int]) -> None:
        """Energise ``locks`` of a board for its energise time (a lock with nothing
        wired fires nothing); raises :class:`BoardDead`."""
        for lock in locks:
            try:
                self.bank.energise(name, lock, self.energise_s(address))
            except BoardDead:
                raise
            except LookupError:
                pass  # the output fires, but no lock is wired to it

    def _send(self, reply: bytes) -> None:
        with self._lock:
            drop, late_s = self._drop, self._late_s + self._late_once
            late_p, late_by_s = self._late_p, self._late_by_s
            corrupt, garbage = self._corrupt, self._garbage
            self._late_once = 0.0
        if self._rng.random() < drop:
            with self._lock:
                self._counts["replies_dropped"] += 1
            return
        # Drawn only when asked for, so seeded runs without it keep their sequence.
        if late_p and self._rng.random() < late_p:
            late_s += late_by_s
            with self._lock:
                self._counts["replies_late"] += 1
        if late_s and self._closing.wait(late_s):
            return
        if self._rng.random() < corrupt:
            reply = reply[:-1] + bytes([(reply[-1] + 1 + self._rng.randrange(255)) & 0xFF])
        if self._rng.random() < garbage:
            noise = self._rng.randbytes(self._rng.randint(1, 8))
            reply = noise + reply
        self.link.write(reply, baud=self.baud if self.pace else None)
        with self._lock:
            self._counts["replies_sent"] += 1


class KerongBusEmulator(KerongBoards[KerongRequest]):
    """Kerong CU16 boards (``{address: board name in the bank}``) on one pty; see the
    module docstring for what they answer.

    ``status_low_nibble``: [?] whether a status request with a lock number in the low
    nibble of its address (``02 04 30 03 39``) gets the board's status (``True``) or
    silence.
    """

    def __init__(
        self,
        bank: Bank,
        boards: Mapping[int, str],
        link: PtyLink,
        baud: int = 19200,
        pace: bool = False,
        lock_closed_bit: int | Mapping[int, int] = 1,
        *,
        reply_to_unlock: bool = True,
        status_low_nibble: bool = True,
        energise_s: float = _DEFAULT_ENERGISE_S,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            bank, boards, link, baud, pace, lock_closed_bit,
            reply_to_unlock=reply_to_unlock, energise_s=energise_s, seed=seed,
        )  # fmt: skip
        self.status_low_nibble = status_low_nibble

    def _make_parser(self) -> RequestParser:
        return RequestParser()

    def _handle(self, request: KerongRequest) -> None:
        name = self._heard(request.board)
        if request.cmd == BUS_STATUS:
            self._bus_status()
            return
        if name is None:
            return
        try:
            reply = self._perform(request, name)
        except (BoardDead, LookupError):
            return  # a dead board, or one the bank does not know: silence
        if reply is not None:
            self._send(reply)

    def _perform(self, request: KerongRequest, name: str) -> bytes | None:
        board, lock_nibble = request.board, request.addr & 0x0F
        if request.cmd == STATUS and (lock_nibble == 0 or self.status_low_nibble):
            return self._status(board, name)
        if request.cmd in (UNLOCK, UNLOCK_ALL):
            locks = [request.lock] if request.cmd == UNLOCK else range(1, _BOARD_LOCKS + 1)
            self._fire(board, name, locks)
            return self._status(board, name) if self.reply_to_unlock else None
        if request.cmd == SET_ENERGISE and lock_nibble == 0:
            self.bank.sample(name)  # a dead board does nothing
            if request.payload:
                with self._lock:
                    self._energise_s[board] = int.from_bytes(request.payload, "big") / 100
                return None
            return self._energise_reply(board)
        if request.cmd == ENERGISE_REPLY and lock_nibble == 0:
            self.bank.sample(name)
            return self._energise_reply(board)
        return None

    def _status(self, board: int, name: str, cmd: int = STATUS_REPLY) -> bytes:
        lock_bits, item_bits = self._sample(board, name)
        return encode_status_reply(board << 4, lock_bits, item_bits, cmd)

    def _energise_reply(self, board: int) -> bytes:
        units = round(self.energise_s(board) * 100)
        return _frame(board << 4, ENERGISE_REPLY, units.to_bytes(2, "big"))

    def _bus_status(self) -> None:
        """0x32: each board on the bus answers with its own 0x36 frame, in turn."""
        for board, name in self._answering():
            try:
                reply = self._status(board, name, BUS_STATUS_REPLY)
            except (BoardDead, LookupError):
                continue
            self._send(reply)
