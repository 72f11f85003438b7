"""The counters every bus driver keeps: the same fields whatever the bus, every error
kind of the bus listed from the start, a kind nobody declared refused, and a snapshot a
reader can keep while the driver counts on."""

from __future__ import annotations

import time

import pytest

from drivers.counters import BusCounters
from drivers.kerong import ERROR_KINDS as KERONG_KINDS
from drivers.modbus import ERROR_KINDS as MODBUS_KINDS

FIELDS = {
    *("frames_sent", "replies_ok", "errors", "retries", "reopens", "pulses"),
    *("last_seen", "last_error"),
}


def test_kerong_and_modbus_boards_count_under_the_same_fields() -> None:
    kerong, modbus = BusCounters(KERONG_KINDS).stats(), BusCounters(MODBUS_KINDS).stats()
    assert set(kerong) == set(modbus) == FIELDS


def test_a_fresh_board_lists_every_error_kind_of_its_bus_at_zero() -> None:
    stats = BusCounters(KERONG_KINDS).stats()
    assert stats["errors"] == {"timeout": 0, "checksum": 0, "framing": 0, "io": 0}
    assert (stats["frames_sent"], stats["last_seen"], stats["last_error"]) == (0, None, None)


def test_a_failure_counts_under_its_kind_and_is_the_last_error() -> None:
    counters = BusCounters(MODBUS_KINDS)
    counters.failed("crc", "board 'top': CRC error or garbled reply")
    counters.failed("crc", "board 'top': CRC error or garbled reply")
    counters.failed("timeout", "board 'top': no reply")
    stats = counters.stats()
    assert stats["errors"] == {**dict.fromkeys(MODBUS_KINDS, 0), "crc": 2, "timeout": 1}
    assert stats["last_error"] == "board 'top': no reply"


def test_a_kind_the_bus_did_not_declare_is_refused_not_counted_apart() -> None:
    counters = BusCounters(KERONG_KINDS)
    with pytest.raises(ValueError, match="'crc'"):
        counters.failed("crc", "a Modbus word on a Kerong bus")
    assert sum(counters.stats()["errors"].values()) == 0


def test_an_answer_is_counted_with_the_wall_clock_time_it_came() -> None:
    counters = BusCounters(KERONG_KINDS)
    before = time.time()
    counters.answered()
    stats = counters.stats()
    assert stats["replies_ok"] == 1
    assert isinstance(stats["last_seen"], float) and stats["last_seen"] >= before


def test_a_snapshot_does_not_change_as_the_driver_counts_on() -> None:
    counters = BusCounters(KERONG_KINDS)
    counters.failed("io", "io: port gone")
    snapshot = counters.stats()
    counters.failed("io", "io: port gone again")
    assert snapshot["errors"] == {"timeout": 0, "checksum": 0, "framing": 0, "io": 1}
