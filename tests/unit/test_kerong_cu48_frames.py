"""Kerong CU48 frames, byte for byte: the golden frames of docs/hardware.md pin both sides.

The driver's framing (drivers/kerong/frames_cu48.py) and the emulator's
(hw_sim/kerong_cu48_emu.py) are separate code; each is checked against the same bytes,
never against the other. The requests and replies marked "log" were recorded from a real
board by hand (checksums recomputed); the others are built from the layout the log shows.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import DoorState
from drivers.kerong import readings_from_reply
from drivers.kerong.frames import (
    BadAddress,
    BadChecksum,
    BadCommand,
    BadEtx,
    BadLength,
    BadStx,
    FrameError,
)
from drivers.kerong.frames_cu48 import (
    decode_status_reply,
    decode_unlock_reply,
    dialect,
    status_request,
    unlock_request,
)
from hw_sim.kerong_cu48_emu import Cu48Request, Cu48RequestParser, encode_reply

STATUS_BOARD_0 = bytes.fromhex("02 00 00 60 03 65")  # log
UNLOCK_LOCK_1 = bytes.fromhex("02 00 00 61 03 66")  # log
UNLOCK_LOCK_2 = bytes.fromhex("02 00 01 61 03 67")  # log
UNLOCK_LOCK_5 = bytes.fromhex("02 00 04 61 03 6A")  # log
UNLOCK_LOCK_48 = bytes.fromhex("02 00 2F 61 03 95")
STATUS_BOARD_1 = bytes.fromhex("02 01 00 60 03 66")  # [?] the board in byte 1
ALL_OPEN = bytes.fromhex("02 00 00 75 00 00 00 00 00 00 00 00 00 00 00 00 03 7A")  # log
LOCK_1_CLOSED = bytes.fromhex("02 00 00 75 01 00 00 00 00 00 00 00 00 00 00 00 03 7B")  # log
LOCK_4_CLOSED = bytes.fromhex("02 00 00 75 08 00 00 00 00 00 00 00 00 00 00 00 03 82")  # log
LOCK_14_CLOSED = bytes.fromhex("02 00 00 75 00 20 00 00 00 00 00 00 00 00 00 00 03 9A")  # log
LOCK_1_AND_BYTE_10 = bytes.fromhex("02 00 00 75 01 00 00 00 00 00 01 00 00 00 00 00 03 7C")
UNLOCK_REPLY_LOCK_11 = bytes.fromhex("02 00 0A 77 01 00 00 00 00 00 01 00 00 00 00 00 03 88")

ALL_LOCKS = tuple(range(1, 49))


def closed(frame: bytes, board: int = 0) -> list[int]:
    """The locks a reply reads closed, as a person would list them."""
    readings = readings_from_reply(decode_status_reply(frame, board), ALL_LOCKS, 1, True)
    return [lock for lock, r in readings.items() if r.door is DoorState.CLOSED]


# -- the driver's encoder -------------------------------------------------------------


def test_driver_encodes_the_status_request_of_board_0() -> None:
    assert status_request(0) == STATUS_BOARD_0


@pytest.mark.parametrize(
    ("lock", "frame"),
    [(1, UNLOCK_LOCK_1), (2, UNLOCK_LOCK_2), (5, UNLOCK_LOCK_5), (48, UNLOCK_LOCK_48)],
)
def test_driver_encodes_an_unlock_with_the_locks_index_after_the_board(
    lock: int, frame: bytes
) -> None:
    assert unlock_request(0, lock) == frame


def test_board_1_is_in_byte_1_by_default_and_in_byte_2_in_the_other_layout() -> None:
    assert status_request(1) == STATUS_BOARD_1
    assert status_request(1, "lock-board") == bytes.fromhex("02 00 01 60 03 66")
    assert unlock_request(1, 2, "lock-board") == bytes.fromhex("02 01 01 61 03 68")


@pytest.mark.parametrize(("board", "lock"), [(-1, 1), (16, 1), (0, 0), (0, 49)])
def test_driver_refuses_to_encode_what_a_cu48_does_not_have(board: int, lock: int) -> None:
    with pytest.raises(ValueError):
        unlock_request(board, lock)


# -- the driver's decoder -------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "locks"),
    [(ALL_OPEN, []), (LOCK_1_CLOSED, [1]), (LOCK_4_CLOSED, [4]), (LOCK_14_CLOSED, [14])],
    ids=["all-open", "lock-1", "lock-4", "lock-14"],
)
def test_the_logged_replies_read_the_locks_the_log_says_are_closed(
    frame: bytes, locks: list[int]
) -> None:
    assert closed(frame) == locks


def test_bytes_10_to_15_are_read_as_the_item_bits_of_locks_1_to_48() -> None:
    reply = decode_status_reply(LOCK_1_AND_BYTE_10, 0)
    assert (reply.lock_bits, reply.item_bits) == (1, 1)
    assert reply.item(1) and not reply.item(2)


def test_the_unlock_reply_is_taken_only_where_an_unlock_reply_is_due() -> None:
    with pytest.raises(BadCommand):
        decode_status_reply(UNLOCK_REPLY_LOCK_11, 0)
    assert decode_unlock_reply(UNLOCK_REPLY_LOCK_11, 0).lock_bits == 1
    reply, _ = dialect().scan(bytearray(UNLOCK_REPLY_LOCK_11), 0, unlock=True)
    assert reply is not None and reply.item(1)


def test_a_reply_names_its_board_in_either_address_byte() -> None:
    as_board_lock = encode_reply(3, 0, 0b101, 0)
    as_lock_board = encode_reply(0, 3, 0b101, 0)
    assert decode_status_reply(as_board_lock, 3).lock_bits == 0b101
    assert decode_status_reply(as_lock_board, 3).lock_bits == 0b101
    for other in (0, 1, 2, 4):
        with pytest.raises(BadAddress):
            decode_status_reply(as_board_lock, other)


def _with(frame: bytes, index: int, value: int, fix_sum: bool = True) -> bytes:
    changed = bytearray(frame)
    changed[index] = value
    if fix_sum:
        changed[17] = sum(changed[:17]) & 0xFF
    return bytes(changed)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (LOCK_1_CLOSED[:17], BadLength),
        (LOCK_1_CLOSED + b"\x00", BadLength),
        (_with(LOCK_1_CLOSED, 0, 0x12), BadStx),
        (_with(LOCK_1_CLOSED, 16, 0x04), BadEtx),
        (_with(LOCK_1_CLOSED, 17, 0x7C, fix_sum=False), BadChecksum),
        (_with(LOCK_1_CLOSED, 9, 0x80, fix_sum=False), BadChecksum),
        (_with(LOCK_1_CLOSED, 3, 0x35), BadCommand),
        (_with(LOCK_1_CLOSED, 1, 0x02), BadAddress),
    ],
    ids=["short", "long", "stx", "etx", "sum", "data-changed", "command", "address"],
)
def test_driver_decoder_rejects_a_bad_reply(frame: bytes, error: type[FrameError]) -> None:
    with pytest.raises(error):
        decode_status_reply(frame, 0)


def test_noise_and_another_boards_reply_before_ours_are_skipped() -> None:
    buffer = bytearray(b"\x55\x02\x00" + encode_reply(1, 0, 0xFF, 0) + LOCK_4_CLOSED + b"\x02")
    reply, rejected = dialect().scan(buffer, 0)
    assert reply is not None and reply.lock_bits == 0x08
    assert isinstance(rejected, FrameError)
    assert buffer == bytearray(b"\x02")  # a partial frame waits for more bytes


@given(st.binary(max_size=80))
def test_random_bytes_never_crash_the_scan_nor_read_a_door_closed_without_a_valid_reply(
    data: bytes,
) -> None:
    buffer = bytearray(data)
    reply, _ = dialect().scan(buffer, 0)
    if reply is not None:
        assert any(
            data[i : i + 18][:1] == b"\x02"
            and len(data[i : i + 18]) == 18
            and data[i + 3] == 0x75
            and data[i + 17] == sum(data[i : i + 17]) & 0xFF
            for i in range(len(data))
        )


# -- the emulator's side --------------------------------------------------------------


def test_emulator_encodes_the_logged_replies() -> None:
    assert encode_reply(0, 0, 0, 0) == ALL_OPEN
    assert encode_reply(0, 0, 1 << 13, 0) == LOCK_14_CLOSED
    assert encode_reply(0, 10, 1, 1, cmd=0x77) == UNLOCK_REPLY_LOCK_11


def test_emulator_parses_the_logged_requests_and_skips_noise_and_bad_sums() -> None:
    parser = Cu48RequestParser()
    stream = b"\xff" + STATUS_BOARD_0 + _with(UNLOCK_LOCK_2, 5, 0x00, False)[:6] + UNLOCK_LOCK_5
    assert parser.feed(stream) == [Cu48Request(0, 0, 0x60), Cu48Request(0, 4, 0x61)]
    assert parser.rejected >= 1


@given(st.binary(max_size=64))
def test_random_bytes_never_crash_the_emulators_parser(data: bytes) -> None:
    for request in Cu48RequestParser().feed(data):
        assert request.cmd in range(256)
