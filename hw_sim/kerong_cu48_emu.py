"""Kerong CU48 lock boards (48 locks each) on one emulated RS-485 bus, behind a pty.

Written from the public facts of the CU48 (``docs/hardware.md``: a hand log of a real
board's requests and replies, and a second client), not from the driver: it has framing
of its own, and the golden frames pin both sides::

    status, board 0                        02 00 00 60 03 65
    unlock lock 2, board 0                 02 00 01 61 03 67
    reply: lock 1 closed, the rest open    02 00 00 75 01 00 00 00 00 00 00 00 00 00 00 00 03 7B

What a caller may rely on (besides what :class:`~hw_sim.kerong_emu.KerongBoards` says of
faults, silence and the life cycle):

* A request is 6 bytes, ``02 B1 B2 CMD 03 SUM``; bytes before an STX are skipped, a frame
  with a wrong ETX or checksum is ignored and the search goes on from the next byte, a
  partial frame is dropped after a silence of :data:`~hw_sim.kerong_emu.FRAME_GAP_S`.
* ``layout`` says which byte a board reads as its id: ``"board-lock"`` (byte 1, the lock's
  index in byte 2: the hand log's form) or ``"lock-board"`` [?]. A board answers with
  its id in the same byte.
* ``0x60`` status: ``02 ID 00 75 L1..L6 X1..X6 03 SUM`` (``"lock-board"``: ``02 00 ID
  75 ...``), lock bits LSB first from lock 1, 1 = latched (``lock_closed_bit``); X1..X6
  [?] the item bits, in the same order. Locks with nothing wired read latched and empty.
* ``0x61`` unlock of lock ``index + 1``: :meth:`~hw_sim.model.Bank.energise` for the
  board's unlock time (0.5 s unless given), then (``reply_to_unlock``) [?] the 18-byte
  ``0x77`` frame with the lock's index in the other address byte and the status after
  it. An index past 47 fires nothing.
* Other commands are ignored [?] (no public source shows a CU48 "unlock all" or "set
  unlock time" frame).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hw_sim.kerong_emu import ETX, FRAME_GAP_S, STX, KerongBoards
from hw_sim.model import Bank, BoardDead
from hw_sim.pty_link import PtyLink

__all__ = ["LAYOUTS", "Cu48BusEmulator", "Cu48Request", "Cu48RequestParser", "encode_reply"]

STATUS = 0x60
UNLOCK = 0x61
STATUS_REPLY = 0x75
UNLOCK_REPLY = 0x77
REQUEST_LEN = 6
LOCKS = 48
LAYOUTS = ("board-lock", "lock-board")


def _sum8(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def encode_reply(
    first: int, second: int, lock_bits: int, item_bits: int, cmd: int = STATUS_REPLY
) -> bytes:
    """``02 FIRST SECOND CMD L1..L6 X1..X6 03 SUM``: 48 lock bits and 48 item bits, each
    six bytes, bit 0 of the first byte for lock 1."""
    data = lock_bits.to_bytes(6, "little") + item_bits.to_bytes(6, "little")
    body = bytes([STX, first, second, cmd]) + data + bytes([ETX])
    return body + bytes([_sum8(body)])


@dataclass(frozen=True)
class Cu48Request:
    """One request heard on the bus: its two address bytes as they came."""

    first: int
    second: int
    cmd: int


class Cu48RequestParser:
    """Cuts 6-byte requests out of a byte stream; never raises on any input."""

    def __init__(self, gap_s: float = FRAME_GAP_S) -> None:
        self.gap_s = gap_s
        self.rejected = 0
        self._buffer = bytearray()
        self._last_rx: float | None = None

    def feed(self, data: bytes, now: float | None = None) -> list[Cu48Request]:
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

    def _next(self) -> Cu48Request | None:
        buffer = self._buffer
        while True:
            start = buffer.find(STX)
            if start < 0:
                buffer.clear()
                return None
            del buffer[:start]
            if len(buffer) < REQUEST_LEN:
                return None
            frame = bytes(buffer[:REQUEST_LEN])
            if frame[4] == ETX and frame[5] == _sum8(frame[:5]):
                del buffer[:REQUEST_LEN]
                return Cu48Request(frame[1], frame[2], frame[3])
            self.rejected += 1
            del buffer[:1]


class Cu48BusEmulator(KerongBoards[Cu48Request]):
    """Kerong CU48 boards (``{id: board name in the bank}``) on one pty; see the module
    docstring. ``layout`` is the boards' (``"board-lock"`` unless given)."""

    locks = LOCKS

    def __init__(
        self,
        bank: Bank,
        boards: Mapping[int, str],
        link: PtyLink,
        baud: int = 19200,
        pace: bool = False,
        lock_closed_bit: int | Mapping[int, int] = 1,
        *,
        layout: str = "board-lock",
        reply_to_unlock: bool = True,
        energise_s: float = 0.5,
        seed: int | None = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
        super().__init__(
            bank, boards, link, baud, pace, lock_closed_bit,
            reply_to_unlock=reply_to_unlock, energise_s=energise_s, seed=seed,
        )  # fmt: skip
        self.layout = layout

    def _make_parser(self) -> Cu48RequestParser:
        return Cu48RequestParser()

    def _split(self, request: Cu48Request) -> tuple[int, int]:
        """(the board's id, the lock's index) as this bus's boards read the request."""
        if self.layout == "board-lock":
            return request.first, request.second
        return request.second, request.first

    def _addressed(self, board: int, other: int) -> tuple[int, int]:
        """A reply's two address bytes: the board's id where it reads it."""
        return (board, other) if self.layout == "board-lock" else (other, board)

    def _handle(self, request: Cu48Request) -> None:
        board, index = self._split(request)
        name = self._heard(board)
        if name is None or request.cmd not in (STATUS, UNLOCK):
            return
        try:
            if request.cmd == UNLOCK:
                if index < LOCKS:
                    self._fire(board, name, [index + 1])
                if not self.reply_to_unlock:
                    return
                reply = encode_reply(*self._addressed(board, index), *self._sample(board, name),
                                     UNLOCK_REPLY)  # fmt: skip
            else:
                reply = encode_reply(*self._addressed(board, 0), *self._sample(board, name))
        except (BoardDead, LookupError):
            return  # a dead board, or one the bank does not know: silence
        self._send(reply)
