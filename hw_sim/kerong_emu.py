"""Kerong CU16 lock boards on one emulated RS-485 bus, behind a pseudo-terminal.

Written from ``shared/HARDWARE.md``, not from the driver: nothing here imports
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
  and empty). The reply's ADDR is the request's (``board << 4``).
* ``0x31`` unlock: :meth:`~hw_sim.model.Bank.energise` for the board's energise time,
  then (``reply_to_unlock``) a status reply. ``0x37`` sets the energise time (10 ms
  units, no reply). Other commands are ignored [?].
* An address with no board, a board marked silent and a board the bank has killed
  never answer. Faults are drawn per reply (a dropped reply uses up a
  :meth:`~KerongBusEmulator.delay_next_reply` too); setters are thread-safe.
* The emulator owns the link once started: :meth:`KerongBusEmulator.close` closes it.
* :attr:`KerongBusEmulator.on_request`, if set, is called with every request heard and
  the monotonic time its last byte arrived (after the wire time, when pacing), on the
  link's thread, before the boards act on it: a probe for benchmarks and tests.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hw_sim.model import Bank, BoardDead
from hw_sim.pty_link import PtyLink

__all__ = [
    "FRAME_GAP_S",
    "KerongBusEmulator",
    "KerongRequest",
    "RequestParser",
    "encode_status_reply",
]

STX = 0x02
ETX = 0x03
STATUS = 0x30
UNLOCK = 0x31
SET_ENERGISE = 0x37
STATUS_REPLY = 0x35
FRAME_GAP_S = 0.05
_PAYLOAD = {SET_ENERGISE: 2}  # bytes between CMD and ETX; other commands carry none
_BOARD_LOCKS = 16
_DEFAULT_ENERGISE_S = 0.5  # Kerong's recommendation for solenoid locks


def _sum8(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def encode_status_reply(addr: int, lock_bits: int, item_bits: int) -> bytes:
    """``02 ADDR 35 D1 D2 D3 D4 03 SUM`` (bit 0 of D1 = lock 1, D3/D4 items)."""
    data = [lock_bits & 0xFF, lock_bits >> 8 & 0xFF, item_bits & 0xFF, item_bits >> 8 & 0xFF]
    body = bytes([STX, addr, STATUS_REPLY, *data, ETX])
    return body + bytes([_sum8(body)])


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
            if len(buffer) < 3:
                return None
            size = 5 + _PAYLOAD.get(buffer[2], 0)
            if len(buffer) < size:
                return None
            frame = bytes(buffer[:size])
            if frame[-2] == ETX and frame[-1] == _sum8(frame[:-1]):
                del buffer[:size]
                return KerongRequest(frame[1], frame[2], frame[3:-2])
            self.rejected += 1
            del buffer[:1]


def _check_probability(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in 0..1, not {value}")
    return float(value)


class KerongBusEmulator:
    """Kerong CU16 boards (``{address: board name in the bank}``) on one pty.

    ``pace`` delays each request by its wire time and each reply by its own at ``baud``.
    ``lock_closed_bit`` is the value of a latched lock's feedback bit (1 on most boards):
    one value for every board, or ``{address: bit}`` (a board left out: 1), as each
    board on a bus may be wired its own way.
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
        energise_s: float = _DEFAULT_ENERGISE_S,
        seed: int | None = None,
    ) -> None:
        if any(not 0 <= address <= 15 for address in boards):
            raise ValueError("board addresses must be 0..15")
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
        self._parser = RequestParser()
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
        self.on_request: Callable[[KerongRequest, float], None] | None = None

    # -- life cycle -----------------------------------------------------------------

    @property
    def device(self) -> str:
        """The path the driver opens."""
        return self.link.device

    def start(self) -> KerongBusEmulator:
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

    def __enter__(self) -> KerongBusEmulator:
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
        return self._reply_to_unlock

    @reply_to_unlock.setter
    def reply_to_unlock(self, value: bool) -> None:
        with self._lock:
            self._reply_to_unlock = value

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
            self._handle(request)

    def _handle(self, request: KerongRequest) -> None:
        probe = self.on_request
        if probe is not None:
            probe(request, time.monotonic())
        with self._lock:
            self._counts["requests_seen"] += 1
            seen = self._seen_by_address.get(request.board, 0)
            self._seen_by_address[request.board] = seen + 1
            name = self.boards.get(request.board)
            if name is None or request.board in self._silent:
                return
        try:
            reply = self._perform(request, name)
        except (BoardDead, LookupError):
            return  # a dead board, or one the bank does not know: silence
        if reply is not None:
            self._send(reply)

    def _perform(self, request: KerongRequest, name: str) -> bytes | None:
        board = request.board
        if request.cmd == STATUS and request.addr & 0x0F == 0:
            return self._status(request.addr, name)
        if request.cmd == UNLOCK:
            try:
                self.bank.energise(name, request.lock, self.energise_s(board))
            except BoardDead:
                raise
            except LookupError:
                pass  # the output fires, but no lock is wired to it
            return self._status(request.addr & 0xF0, name) if self.reply_to_unlock else None
        if request.cmd == SET_ENERGISE and request.addr & 0x0F == 0:
            self.bank.sample(name)
            with self._lock:
                self._energise_s[board] = int.from_bytes(request.payload, "big") / 100
        return None

    def _status(self, addr: int, name: str) -> bytes:
        lock_bits = item_bits = 0
        sample = self.bank.sample(name)
        closed = self.closed_bits[addr >> 4]
        for lock in range(1, _BOARD_LOCKS + 1):
            is_open, item = sample.get(lock, (False, False))
            bit = 1 - closed if is_open else closed
            lock_bits |= bit << (lock - 1)
            item_bits |= int(item) << (lock - 1)
        return encode_status_reply(addr, lock_bits, item_bits)

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
