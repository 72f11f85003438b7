"""Kerong frames, byte for byte: the golden frames of HARDWARE.md pin both sides.

The driver's framing (drivers/kerong/frames.py) and the emulator's (hw_sim/kerong_emu.py)
are separate code; each is checked against the same bytes, never against the other.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import DoorState
from drivers.kerong import readings_from_frame
from drivers.kerong.frames import (
    BadAddress,
    BadChecksum,
    BadCommand,
    BadEtx,
    BadLength,
    BadStx,
    FrameError,
    decode_status_reply,
    energise_time_request,
    scan_status_reply,
    status_request,
    unlock_request,
)
from hw_sim.kerong_emu import RequestParser, encode_status_reply

# HARDWARE.md, "Golden frames (checksums verified)"
STATUS_BOARD_0 = bytes.fromhex("02 00 30 03 35")
STATUS_BOARD_1 = bytes.fromhex("02 10 30 03 45")
UNLOCK_BOARD_0_LOCK_1 = bytes.fromhex("02 00 31 03 36")
UNLOCK_BOARD_1_LOCK_5 = bytes.fromhex("02 14 31 03 4A")
REPLY_LOCK_1_OPEN = bytes.fromhex("02 00 35 FE FF 00 00 03 37")

ALL_LOCKS = tuple(range(1, 17))


def is_valid_reply(frame: bytes, board: int) -> bool:
    """The reply rules of HARDWARE.md, written out again for the properties below."""
    return (
        len(frame) == 9
        and frame[0] == 0x02
        and frame[2] == 0x35
        and frame[7] == 0x03
        and frame[8] == sum(frame[:8]) & 0xFF
        and frame[1] in (board << 4, board)
    )


# -- the driver's encoder -------------------------------------------------------------


def test_driver_encodes_status_request_of_board_0() -> None:
    assert status_request(0) == STATUS_BOARD_0


def test_driver_encodes_status_request_of_board_1() -> None:
    assert status_request(1) == STATUS_BOARD_1


def test_driver_encodes_unlock_of_lock_1_on_board_0() -> None:
    assert unlock_request(0, 1) == UNLOCK_BOARD_0_LOCK_1


def test_driver_encodes_unlock_of_lock_5_on_board_1() -> None:
    assert unlock_request(1, 5) == UNLOCK_BOARD_1_LOCK_5


def test_driver_encodes_energise_time_in_10_ms_units() -> None:
    assert energise_time_request(0, 500) == bytes.fromhex("02 00 37 00 32 03 6E")


@pytest.mark.parametrize(("board", "lock"), [(-1, 1), (16, 1), (0, 0), (0, 17)])
def test_driver_refuses_to_encode_what_a_cu16_does_not_have(board: int, lock: int) -> None:
    with pytest.raises(ValueError):
        unlock_request(board, lock)


# -- the driver's decoder -------------------------------------------------------------


def test_driver_decodes_the_golden_reply() -> None:
    reply = decode_status_reply(REPLY_LOCK_1_OPEN, 0)
    assert reply.lock_bits == 0xFFFE
    assert reply.item_bits == 0
    assert reply.lock_bit(1) == 0
    assert all(reply.lock_bit(lock) == 1 for lock in range(2, 17))


def test_golden_reply_reads_lock_1_open_and_the_rest_closed() -> None:
    readings = readings_from_frame(REPLY_LOCK_1_OPEN, 0, ALL_LOCKS, closed_bit=1)
    assert readings[1].door is DoorState.OPEN
    assert {readings[lock].door for lock in range(2, 17)} == {DoorState.CLOSED}
    assert not any(r.item for r in readings.values())


def test_golden_reply_reads_inverted_with_closed_bit_0() -> None:
    readings = readings_from_frame(REPLY_LOCK_1_OPEN, 0, ALL_LOCKS, closed_bit=0)
    assert readings[1].door is DoorState.CLOSED
    assert {readings[lock].door for lock in range(2, 17)} == {DoorState.OPEN}


def test_item_bits_d3_d4_map_to_locks_1_to_16() -> None:
    frame = bytearray(REPLY_LOCK_1_OPEN)
    frame[5], frame[6] = 0x01, 0x80  # lock 1 and lock 16 hold an item
    frame[8] = sum(frame[:8]) & 0xFF
    readings = readings_from_frame(bytes(frame), 0, ALL_LOCKS)
    assert [lock for lock, r in readings.items() if r.item] == [1, 16]


def _with(frame: bytes, index: int, value: int, fix_sum: bool = True) -> bytes:
    changed = bytearray(frame)
    changed[index] = value
    if fix_sum:
        changed[8] = sum(changed[:8]) & 0xFF
    return bytes(changed)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (REPLY_LOCK_1_OPEN[:8], BadLength),
        (REPLY_LOCK_1_OPEN + b"\x00", BadLength),
        (b"", BadLength),
        (_with(REPLY_LOCK_1_OPEN, 0, 0x12), BadStx),
        (_with(REPLY_LOCK_1_OPEN, 7, 0x04), BadEtx),
        (_with(REPLY_LOCK_1_OPEN, 8, 0x38, fix_sum=False), BadChecksum),
        (_with(REPLY_LOCK_1_OPEN, 3, 0xFF, fix_sum=False), BadChecksum),
        (_with(REPLY_LOCK_1_OPEN, 2, 0x30), BadCommand),
        (_with(REPLY_LOCK_1_OPEN, 1, 0x20), BadAddress),
    ],
    ids=["short", "long", "empty", "stx", "etx", "sum", "data-changed", "command", "address"],
)
def test_driver_decoder_rejects_a_bad_reply(frame: bytes, error: type[FrameError]) -> None:
    with pytest.raises(error):
        decode_status_reply(frame, 0)


def test_checksum_errors_are_counted_apart_from_framing_errors() -> None:
    assert BadChecksum.kind == "checksum"
    assert {e.kind for e in (BadLength, BadStx, BadEtx, BadCommand, BadAddress)} == {"framing"}


def test_reply_of_board_1_is_accepted_only_for_board_1() -> None:
    reply = encode_status_reply(0x10, 0xFFFF, 0)
    assert decode_status_reply(reply, 1).board == 1
    with pytest.raises(BadAddress):
        decode_status_reply(reply, 0)


def test_scanner_skips_noise_and_a_stale_reply_of_another_board() -> None:
    other = encode_status_reply(0x20, 0xFFFF, 0)
    buffer = bytearray(b"\x00\x02\x99" + other + REPLY_LOCK_1_OPEN + b"\x02\x00")
    reply, rejected = scan_status_reply(buffer, 0)
    assert reply is not None and reply.lock_bits == 0xFFFE
    assert rejected is not None
    assert buffer == bytearray(b"\x02\x00")  # a partial frame waits for more bytes


# -- the emulator's decoder and encoder -----------------------------------------------


@pytest.mark.parametrize(
    ("frame", "board", "cmd", "lock"),
    [
        (STATUS_BOARD_0, 0, 0x30, None),
        (STATUS_BOARD_1, 1, 0x30, None),
        (UNLOCK_BOARD_0_LOCK_1, 0, 0x31, 1),
        (UNLOCK_BOARD_1_LOCK_5, 1, 0x31, 5),
    ],
    ids=["status-0", "status-1", "unlock-0-1", "unlock-1-5"],
)
def test_emulator_parses_golden_request(
    frame: bytes, board: int, cmd: int, lock: int | None
) -> None:
    [request] = RequestParser().feed(frame)
    assert (request.board, request.cmd) == (board, cmd)
    if lock is not None:
        assert request.lock == lock


def test_emulator_encodes_the_golden_reply() -> None:
    # Lock 1 unlatched (bit 0), locks 2-16 latched (1), no items.
    assert encode_status_reply(0x00, 0xFFFE, 0x0000) == REPLY_LOCK_1_OPEN


def test_emulator_parser_ignores_a_bad_checksum_and_resyncs_on_the_next_frame() -> None:
    parser = RequestParser()
    requests = parser.feed(b"\xff\x02\x00\x30\x03\x36" + STATUS_BOARD_1)
    assert [(r.board, r.cmd) for r in requests] == [(1, 0x30)]
    assert parser.rejected == 1


def test_emulator_parser_waits_for_the_rest_of_a_split_frame() -> None:
    parser = RequestParser()
    assert parser.feed(UNLOCK_BOARD_1_LOCK_5[:2], now=1.0) == []
    [request] = parser.feed(UNLOCK_BOARD_1_LOCK_5[2:], now=1.001)
    assert request.lock == 5


def test_emulator_parser_forgets_a_half_frame_after_a_silence() -> None:
    parser = RequestParser(gap_s=0.05)
    parser.feed(UNLOCK_BOARD_1_LOCK_5[:3], now=1.0)
    assert parser.feed(UNLOCK_BOARD_1_LOCK_5[3:], now=2.0) == []


# -- random bytes ---------------------------------------------------------------------

boards = st.integers(min_value=0, max_value=15)


@given(st.binary(max_size=32), boards)
def test_random_bytes_never_crash_the_driver_decoder_nor_read_closed(
    frame: bytes, board: int
) -> None:
    try:
        readings = readings_from_frame(frame, board, ALL_LOCKS)
    except FrameError:
        return
    assert is_valid_reply(frame, board), "an invalid frame was decoded"
    assert readings  # only a frame that passed every check gets this far


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 8), st.integers(1, 255))
def test_a_reply_changed_in_any_one_byte_is_rejected(
    locks: int, items: int, index: int, delta: int
) -> None:
    frame = bytearray(encode_status_reply(0x00, locks, items))
    frame[index] = (frame[index] + delta) & 0xFF
    with pytest.raises(FrameError):
        decode_status_reply(bytes(frame), 0)


replies = st.builds(
    encode_status_reply,
    st.sampled_from([0x00, 0x10, 0x20, 0x01]),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
)
streams = st.lists(st.one_of(st.binary(max_size=10), replies), max_size=6).map(b"".join)


@given(streams, st.sampled_from([0, 1, 2]))
def test_noise_and_replies_in_the_scanner_yield_only_valid_replies(data: bytes, board: int) -> None:
    valid = {data[i : i + 9] for i in range(len(data)) if is_valid_reply(data[i : i + 9], board)}
    buffer = bytearray(data)
    while (found := scan_status_reply(buffer, board)[0]) is not None:
        assert any(
            (f[3] | f[4] << 8, f[5] | f[6] << 8) == (found.lock_bits, found.item_bits)
            for f in valid
        )
    assert len(buffer) < 9


@given(st.lists(st.binary(max_size=16), max_size=8))
def test_random_bytes_never_crash_the_emulator_parser(chunks: list[bytes]) -> None:
    parser = RequestParser()
    for i, chunk in enumerate(chunks):
        for request in parser.feed(chunk, now=i * 0.001):
            assert 0 <= request.addr <= 0xFF
