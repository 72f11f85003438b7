"""Frames of the Kerong KR-CU48 (48 locks), as the host speaks them.

Another frame family than the CU16's (:mod:`drivers.kerong.frames`), with the same STX,
ETX and byte-sum checksum. Pure functions, no I/O; the emulator
(:mod:`hw_sim.kerong_cu48_emu`) has framing of its own, and both are pinned to the golden
frames of ``docs/hardware.md`` (checksums verified; requests from a hand log of a real
board and a second, independent client)::

    status, board 0                        02 00 00 60 03 65
    unlock lock 2, board 0                 02 00 01 61 03 67
    unlock lock 5, board 0                 02 00 04 61 03 6A
    reply: lock 1 closed, the rest open    02 00 00 75 01 00 00 00 00 00 00 00 00 00 00 00 03 7B

A request is 6 bytes, ``02 BOARD LOCK CMD 03 SUM`` (``SUM`` = the sum of the five bytes
before it, & 0xFF): ``CMD`` 0x60 asks for the status of all 48 locks (``LOCK`` 0x00),
0x61 unlocks lock ``LOCK + 1``. A status reply is 18 bytes::

    02  ADDR  00  75  L1 L2 L3 L4 L5 L6  X1 X2 X3 X4 X5 X6  03  SUM

``L1..L6``: the lock-feedback bits of locks 1-48, bit 0 of ``L1`` = lock 1, 1 = latched
(closed). ``X1..X6``: [?] most likely the infrared item bits in the same order (no client
decodes them). An 18-byte frame with ``CMD`` 0x77 and the lock's index in byte 2, the same
12 data bytes after it, is [?] most likely a board's reply to an unlock.

[?] Which byte carries the board and which the lock is not settled: the hand log of a
real board (the only record of an observed effect) and one client put the board in byte
1 (``"board-lock"``, the default); a later revision of the first client puts the lock
there (``"lock-board"``). With a single board at id 0 both layouts are the same bytes,
and a byte sum cannot tell them apart. :func:`dialect` takes the layout; a status reply
is accepted with the board in either byte (for boards 0..15 the two forms never
overlap between boards).
"""

from __future__ import annotations

from functools import partial

from drivers.kerong.frames import (
    ETX,
    STX,
    BadAddress,
    BadChecksum,
    BadCommand,
    BadEtx,
    BadLength,
    BadStx,
    Dialect,
    StatusReply,
    checksum,
)

__all__ = [
    "CMD_STATUS",
    "CMD_UNLOCK",
    "LAYOUTS",
    "LOCKS_PER_BOARD",
    "MAX_ADDRESS",
    "REPLY_STATUS",
    "REPLY_UNLOCK",
    "REQUEST_LEN",
    "STATUS_REPLY_LEN",
    "decode_status_reply",
    "decode_unlock_reply",
    "dialect",
    "status_request",
    "unlock_request",
]

CMD_STATUS = 0x60
CMD_UNLOCK = 0x61
REPLY_STATUS = 0x75
REPLY_UNLOCK = 0x77  # [?] one unlabelled line of the hand log
REQUEST_LEN = 6
STATUS_REPLY_LEN = 18
LOCKS_PER_BOARD = 48
MAX_ADDRESS = 15  # [?] "0 to 9, up to 10 boards per line" conventionally, as on a CU16
LAYOUTS = ("board-lock", "lock-board")
"""Which request byte holds the board, and which the lock: bytes 1 and 2, in that order."""
_DATA = slice(4, 16)


def _check(board: int, layout: str) -> None:
    if not 0 <= board <= MAX_ADDRESS:
        raise ValueError(f"board address must be 0..{MAX_ADDRESS}, not {board}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")


def _request(board: int, index: int, cmd: int, layout: str) -> bytes:
    first, second = (board, index) if layout == "board-lock" else (index, board)
    head = bytes((STX, first, second, cmd, ETX))
    return head + bytes((checksum(head),))


def status_request(board: int, layout: str = "board-lock") -> bytes:
    """``02 00 00 60 03 65`` for board 0 (the lock byte is 0x00)."""
    _check(board, layout)
    return _request(board, 0, CMD_STATUS, layout)


def unlock_request(board: int, lock: int, layout: str = "board-lock") -> bytes:
    """Lock ``lock`` (1-48): lock 2 of board 0 is ``02 00 01 61 03 67``."""
    _check(board, layout)
    if not 1 <= lock <= LOCKS_PER_BOARD:
        raise ValueError(f"lock must be 1..{LOCKS_PER_BOARD}, not {lock}")
    return _request(board, lock - 1, CMD_UNLOCK, layout)


def _checked(frame: bytes | bytearray, command: int) -> None:
    """Length, STX, ETX and command; what every 18-byte frame must have."""
    if len(frame) != STATUS_REPLY_LEN:
        raise BadLength(f"CU48 reply must be {STATUS_REPLY_LEN} bytes, got {len(frame)}")
    if frame[0] != STX:
        raise BadStx(f"expected STX 02, got {frame[0]:02X}")
    if frame[16] != ETX:
        raise BadEtx(f"expected ETX 03 at byte 16, got {frame[16]:02X}")
    if frame[3] != command:
        raise BadCommand(f"expected reply {command:02X}, got command {frame[3]:02X}")


def _data(frame: bytes | bytearray, board: int) -> StatusReply:
    # Checked last: a checksum error then means "this board's reply, damaged on the way".
    expected = checksum(frame[:17])
    if frame[17] != expected:
        raise BadChecksum(f"checksum {frame[17]:02X}, expected {expected:02X}")
    data = bytes(frame[_DATA])
    return StatusReply(
        board, int.from_bytes(data[:6], "little"), int.from_bytes(data[6:], "little")
    )


def decode_status_reply(frame: bytes | bytearray, board: int) -> StatusReply:
    """Decode an 18-byte 0x75 status reply of ``board``, or raise a
    :class:`~drivers.kerong.frames.FrameError`.

    The board is taken from byte 1 or byte 2 (the other one 0x00): either layout.
    """
    _checked(frame, REPLY_STATUS)
    if (frame[1], frame[2]) not in ((board, 0), (0, board)):
        raise BadAddress(f"reply from {frame[1]:02X} {frame[2]:02X}, expected board {board}")
    return _data(frame, board)


def decode_unlock_reply(
    frame: bytes | bytearray, board: int, layout: str = "board-lock"
) -> StatusReply:
    """[?] Decode an 18-byte 0x77 frame of ``board``: the status it carries after an
    unlock (the lock's index in the other address byte)."""
    _checked(frame, REPLY_UNLOCK)
    if frame[1 if layout == "board-lock" else 2] != board:
        raise BadAddress(f"unlock reply from {frame[1]:02X} {frame[2]:02X}, not board {board}")
    return _data(frame, board)


def dialect(layout: str = "board-lock") -> Dialect:
    """The CU48 family with the board and lock bytes in ``layout``'s order."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    return Dialect(
        model="CU48",
        request_len=REQUEST_LEN,
        reply_len=STATUS_REPLY_LEN,
        locks=LOCKS_PER_BOARD,
        max_address=MAX_ADDRESS,
        status_request=partial(status_request, layout=layout),
        unlock_request=partial(unlock_request, layout=layout),
        decode=decode_status_reply,
        decode_unlock_reply=partial(decode_unlock_reply, layout=layout),
    )
