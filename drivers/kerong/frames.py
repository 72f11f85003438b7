"""Frames of the Kerong KR-CU lock boards (CU12/CU16/CU24), as the host speaks them, and
what every Kerong frame family shares (the checksum, the errors, a decoded status, the
:class:`Dialect` a board's link speaks).

Pure functions, no I/O. The emulator in :mod:`hw_sim.kerong_emu` has its own framing
code on purpose: a bug here cannot pass its own test. Both sides are pinned to the
golden frames of ``shared/HARDWARE.md``::

    status, board 0                          02 00 30 03 35
    status, board 1                          02 10 30 03 45
    unlock lock 1, board 0                   02 00 31 03 36
    unlock lock 5, board 1                   02 14 31 03 4A
    reply: lock 1 open, 2-16 latched,        02 00 35 FE FF 00 00 03 37
           no items

A request is ``02 ADDR CMD 03 SUM`` (``SUM`` = sum of the bytes before it, & 0xFF); a
status reply is ``02 ADDR 35 D1 D2 D3 D4 03 SUM``: D1/D2 lock-feedback bits of locks
1-8 / 9-16 (bit 0 = lock 1), D3/D4 item bits (1 = item present).

What a caller may rely on: :func:`decode_status_reply` returns only for a byte string
that passes every check (length, STX, ETX, command, address, checksum) and raises a
:class:`FrameError` subclass otherwise, never anything else. The CU48's frames
(:mod:`drivers.kerong.frames_cu48`) are another family with the same checksum and the
same errors; :data:`CU16` and :func:`~drivers.kerong.frames_cu48.dialect` are the two
:class:`Dialect` objects a link is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "CMD_SET_ENERGISE",
    "CMD_STATUS",
    "CMD_UNLOCK",
    "CU16",
    "ETX",
    "LOCKS_PER_BOARD",
    "MAX_ADDRESS",
    "REPLY_STATUS",
    "STATUS_REPLY_LEN",
    "STX",
    "BadAddress",
    "BadChecksum",
    "BadCommand",
    "BadEtx",
    "BadLength",
    "BadStx",
    "Dialect",
    "FrameError",
    "StatusReply",
    "checksum",
    "decode_status_reply",
    "energise_time_request",
    "scan_status_reply",
    "status_request",
    "unlock_request",
]

STX = 0x02
ETX = 0x03
CMD_STATUS = 0x30
CMD_UNLOCK = 0x31
CMD_SET_ENERGISE = 0x37
REPLY_STATUS = 0x35
STATUS_REPLY_LEN = 9
LOCKS_PER_BOARD = 16
MAX_ADDRESS = 15
_ENERGISE_UNIT_MS = 10


class FrameError(ValueError):
    """A reply that is not a valid status frame for the board asked.

    ``kind`` is ``"checksum"`` for a checksum mismatch and ``"framing"`` for anything
    else; the driver counts errors by it.
    """

    kind = "framing"


class BadLength(FrameError):
    """Not exactly :data:`STATUS_REPLY_LEN` bytes."""


class BadStx(FrameError):
    """The first byte is not STX (0x02)."""


class BadEtx(FrameError):
    """The byte before the checksum is not ETX (0x03)."""


class BadChecksum(FrameError):
    """The last byte is not the sum of the ones before it (all else matched)."""

    kind = "checksum"


class BadCommand(FrameError):
    """Not a status reply (0x35)."""


class BadAddress(FrameError):
    """A reply from another board than the one asked."""


@dataclass(frozen=True)
class StatusReply:
    """One decoded status reply: a lock-feedback bit and an item bit per lock (16 of each
    on a CU16, 48 on a CU48), bit 0 for lock 1."""

    board: int
    lock_bits: int
    item_bits: int

    def lock_bit(self, lock: int) -> int:
        """The feedback bit of ``lock`` (from 1); its meaning depends on the board's polarity."""
        return (self.lock_bits >> (lock - 1)) & 1

    def item(self, lock: int) -> bool:
        """Whether the infrared sensor of ``lock`` (from 1) sees an item."""
        return bool((self.item_bits >> (lock - 1)) & 1)


def checksum(data: bytes | bytearray) -> int:
    """The Kerong checksum: the sum of ``data``'s bytes, & 0xFF."""
    return sum(data) & 0xFF


def _request(addr: int, cmd: int, payload: bytes = b"") -> bytes:
    head = bytes((STX, addr, cmd)) + payload + bytes((ETX,))
    return head + bytes((checksum(head),))


def _check_board(board: int) -> None:
    if not 0 <= board <= MAX_ADDRESS:
        raise ValueError(f"board address must be 0..{MAX_ADDRESS}, not {board}")


def status_request(board: int) -> bytes:
    """``02 (board<<4) 30 03 SUM``: board 0 is ``02 00 30 03 35``."""
    _check_board(board)
    return _request(board << 4, CMD_STATUS)


def unlock_request(board: int, lock: int) -> bytes:
    """``02 (board<<4 | lock-1) 31 03 SUM``: lock 5 of board 1 is ``02 14 31 03 4A``."""
    _check_board(board)
    if not 1 <= lock <= LOCKS_PER_BOARD:
        raise ValueError(f"lock must be 1..{LOCKS_PER_BOARD}, not {lock}")
    return _request((board << 4) | (lock - 1), CMD_UNLOCK)


def energise_time_request(board: int, milliseconds: int) -> bytes:
    """``02 (board<<4) 37 HI LO 03 SUM``, time in 10 ms units, big-endian. [?] unconfirmed.

    500 ms on board 0 is ``02 00 37 00 32 03 6E``.
    """
    _check_board(board)
    units = round(milliseconds / _ENERGISE_UNIT_MS)
    if not 1 <= units <= 0xFFFF:
        raise ValueError(f"energise time out of range: {milliseconds} ms")
    return _request(board << 4, CMD_SET_ENERGISE, units.to_bytes(2, "big"))


def _reply_addresses(board: int) -> tuple[int, int]:
    # [?] No golden frame pins the reply's ADDR for boards other than 0. Accepted: the
    # request's form (board << 4) and the bare board number; for boards 0..15 the two
    # sets never overlap between boards, so a reply cannot be taken for another board's.
    return (board << 4, board)


def decode_status_reply(frame: bytes | bytearray, board: int) -> StatusReply:
    """Decode ``02 ADDR 35 D1 D2 D3 D4 03 SUM`` from ``board``, or raise :class:`FrameError`.

    ``02 00 35 FE FF 00 00 03 37`` decodes to lock bits ``0xFFFE`` (lock 1 reads 0,
    locks 2-16 read 1) and no items.
    """
    if len(frame) != STATUS_REPLY_LEN:
        raise BadLength(f"status reply must be {STATUS_REPLY_LEN} bytes, got {len(frame)}")
    if frame[0] != STX:
        raise BadStx(f"expected STX 02, got {frame[0]:02X}")
    if frame[7] != ETX:
        raise BadEtx(f"expected ETX 03 at byte 7, got {frame[7]:02X}")
    if frame[2] != REPLY_STATUS:
        raise BadCommand(f"expected status reply 35, got command {frame[2]:02X}")
    if frame[1] not in _reply_addresses(board):
        raise BadAddress(f"reply from address {frame[1]:02X}, expected board {board}")
    # Checked last: a checksum error then means "this board's reply, damaged on the way".
    expected = checksum(frame[:8])
    if frame[8] != expected:
        raise BadChecksum(f"checksum {frame[8]:02X}, expected {expected:02X}")
    return StatusReply(board, frame[3] | frame[4] << 8, frame[5] | frame[6] << 8)


def scan_status_reply(
    buffer: bytearray, board: int, dialect: Dialect | None = None
) -> tuple[StatusReply | None, FrameError | None]:
    """Take the first valid status reply of ``board`` out of a received byte stream.

    Bytes before an STX are dropped, and so is every STX that does not start a valid
    reply (noise on the line, a stale reply of another board). A partial frame at the
    end stays in ``buffer`` for more bytes. Returns the reply (or ``None``) and the last
    rejection seen (or ``None``). ``dialect`` is the frame family (:data:`CU16` unless
    given); a dialect that knows an unlock reply (:attr:`Dialect.decode_unlock_reply`)
    is asked for that instead with :meth:`Dialect.scan`.
    """
    return (dialect or CU16).scan(buffer, board)


@dataclass(frozen=True)
class Dialect:
    """One Kerong frame family as a board's link speaks it: the requests it sends, the
    status reply it waits for, and the reply it accepts to an unlock (``None``: a status
    reply or anything at all, as :meth:`~drivers.kerong.link.KerongLink.unlock` says).

    ``model`` names the boards (``"CU16"``); ``locks`` is a board's lock channels;
    ``max_address`` the highest board id.
    """

    model: str
    request_len: int
    reply_len: int
    locks: int
    max_address: int
    status_request: Callable[[int], bytes]
    unlock_request: Callable[[int, int], bytes]
    decode: Callable[[bytes | bytearray, int], StatusReply]
    decode_unlock_reply: Callable[[bytes | bytearray, int], StatusReply] | None = None

    def scan(
        self, buffer: bytearray, board: int, *, unlock: bool = False
    ) -> tuple[StatusReply | None, FrameError | None]:
        """:func:`scan_status_reply` in this family: the first valid status reply of
        ``board`` in ``buffer`` (with ``unlock``, its unlock reply where the family has
        one of its own, or a status reply)."""
        decoders = [self.decode]
        if unlock and self.decode_unlock_reply is not None:
            decoders.insert(0, self.decode_unlock_reply)
        size = self.reply_len
        rejected: FrameError | None = None
        while True:
            start = buffer.find(STX)
            if start < 0:
                buffer.clear()
                return None, rejected
            del buffer[:start]
            if len(buffer) < size:
                return None, rejected
            reply, rejected = _first_decoded(decoders, bytes(buffer[:size]), board, rejected)
            if reply is None:
                del buffer[:1]
                continue
            del buffer[:size]
            return reply, rejected


def _first_decoded(
    decoders: list[Callable[[bytes | bytearray, int], StatusReply]],
    frame: bytes,
    board: int,
    rejected: FrameError | None,
) -> tuple[StatusReply | None, FrameError | None]:
    """The first decoder's reply that takes ``frame``; else the last one's rejection."""
    for decode in decoders:
        try:
            return decode(frame, board), rejected
        except FrameError as exc:
            rejected = exc
    return None, rejected


CU16 = Dialect(
    model="CU16",
    request_len=5,
    reply_len=STATUS_REPLY_LEN,
    locks=LOCKS_PER_BOARD,
    max_address=MAX_ADDRESS,
    status_request=status_request,
    unlock_request=unlock_request,
    decode=decode_status_reply,
)
"""The CU12/CU16/CU24 family: 5-byte requests, 9-byte status replies, 16 locks."""
