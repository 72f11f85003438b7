"""The Kerong driver when the wire misbehaves: damaged, lost, late and foreign replies,
retries and the time a poll may spend, reopening a stuck port, a board that falls silent
or vanishes, and the counters and wire time that show it.

The boards and their bus are :mod:`tests.unit.kerong_bench`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drivers.base import DoorState
from drivers.errors import BoardOffline
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import wire_time
from testkit.forked import a_child_holding_every_descriptor
from tests.unit.kerong_bench import (
    LOCKS,
    RETRIES,
    SLOW_MACHINE_S,
    TIMEOUT_S,
    MakeDriver,
    build,
    doors,
    start_emulator,
)


@pytest.mark.parametrize(
    ("fault", "value", "kind"),
    [
        ("corrupt_checksum", 0.5, "checksum"),
        ("drop_reply", 0.3, "timeout"),
    ],
)
def test_reads_retry_through_bad_replies(
    kerong_bank: Bank,
    kerong_emulator: KerongBusEmulator,
    make_kerong_driver: MakeDriver,
    fault: str,
    value: float,
    kind: str,
) -> None:
    kerong_bank.open_door("T2")
    driver = make_kerong_driver(retries=6)
    setattr(kerong_emulator, fault, value)
    for _ in range(10):
        assert doors(driver)[2] is DoorState.OPEN
    stats = driver.stats()
    assert stats["errors"][kind] >= 1
    assert stats["retries"] == sum(stats["errors"].values())  # every failure was retried


def test_garbage_before_a_reply_is_skipped_without_a_retry(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(timeout_s=SLOW_MACHINE_S)
    kerong_emulator.garbage_before_reply = 1.0
    for _ in range(20):
        assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["retries"] == 0


def test_a_slow_reply_within_the_timeout_is_no_error(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(timeout_s=SLOW_MACHINE_S)
    kerong_emulator.late_reply_s = 0.02
    assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["retries"] == 0


def test_a_reply_later_than_the_timeout_is_retried(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(retries=6)
    kerong_emulator.delay_next_reply(TIMEOUT_S * 2)
    assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["errors"]["timeout"] >= 1


def test_a_late_reply_of_another_board_stretches_the_wait_for_ours(
    kerong_bank: Bank, tmp_path: Path
) -> None:
    # 1200 baud, paced: a request is 42 ms on the wire, a reply 75 ms. "top" answers
    # 215 ms late: its reply holds the line until ~332 ms. "middle", asked at 200 ms
    # with 200 ms to answer, gets its reply at ~407 ms: past its time-out, inside the
    # new wait (its 200 ms again) that starts when top's reply was heard.
    options = {"port": "", "baud": 1200, "timeout_s": 0.2, "retries": 0}
    with (
        start_emulator(kerong_bank, tmp_path, baud=1200, pace=True) as kerong_emulator,
        build("top", **{**options, "port": kerong_emulator.device}) as top,
        build("middle", **{**options, "port": kerong_emulator.device}) as middle,
    ):
        kerong_emulator.delay_next_reply(0.215)
        with pytest.raises(BoardOffline, match="'top'"):
            top.read()
        assert set(doors(middle).values()) == {DoorState.CLOSED}
        assert set(middle.stats()["errors"].values()) == {0}


def test_a_board_always_later_than_the_timeout_is_offline(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(retries=1)
    kerong_emulator.late_reply_s = 0.5
    with pytest.raises(BoardOffline):
        driver.read()


def test_every_reply_corrupt_is_offline_never_closed(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(timeout_s=SLOW_MACHINE_S)  # a damaged reply ends an attempt early
    kerong_emulator.corrupt_checksum = 1.0
    with pytest.raises(BoardOffline, match="'top'"):
        driver.read()
    assert driver.stats()["errors"]["checksum"] == RETRIES + 1


def test_silent_board_is_offline_after_the_retries_and_reads_again_when_it_answers(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver()
    kerong_emulator.set_silent(0)
    with pytest.raises(BoardOffline, match=r"'top'.*after 4 attempts"):
        driver.read()
    stats = driver.stats()
    assert (stats["errors"]["timeout"], stats["retries"]) == (RETRIES + 1, RETRIES)
    assert stats["reopens"] == RETRIES  # the "stuck busy" cure: reopen between attempts
    kerong_emulator.set_silent(0, False)
    assert set(doors(driver).values()) == {DoorState.CLOSED}


def test_a_poll_of_a_silent_board_gives_up_at_its_budget_not_after_the_retries(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(timeout_s=0.1)  # read(): 4 x 0.1 s + waits = 0.54 s
    kerong_emulator.set_silent(0)
    began = time.monotonic()
    with pytest.raises(BoardOffline, match=r"'top'.*after 1 attempt:"):
        driver.read_within(0.05)
    assert time.monotonic() - began < 0.05 + SLOW_MACHINE_S / 5
    assert driver.stats()["retries"] == 0


def test_a_board_left_silent_by_a_poll_has_its_port_reopened_before_the_next(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(timeout_s=0.1)
    kerong_emulator.set_silent(0)
    with pytest.raises(BoardOffline):
        driver.read_within(0.05)  # one attempt: no retry left to reopen before
    assert driver.stats()["reopens"] == 0
    kerong_emulator.set_silent(0, False)
    assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["reopens"] == 1  # the "stuck busy" cure, one poll later


def test_a_stuck_port_is_reopened_while_the_daemon_starts_a_program(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    # Journey: a board falls silent for a poll as the daemon starts a program (its clock
    # check); the child holds a copy of the port between its fork and its exec.
    driver = make_kerong_driver(timeout_s=0.1)
    kerong_emulator.set_silent(0)
    with pytest.raises(BoardOffline):
        driver.read_within(0.05)  # heard nothing: the port is reopened before the next
    kerong_emulator.set_silent(0, False)
    with a_child_holding_every_descriptor():
        assert set(doors(driver).values()) == {DoorState.CLOSED}
    stats = driver.stats()
    assert (stats["reopens"], stats["errors"]["io"]) == (1, 0)


def test_an_unlock_that_reopened_a_stuck_port_does_not_reopen_it_again(
    kerong_bank: Bank, kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(timeout_s=0.1)
    kerong_emulator.set_silent(0)
    with pytest.raises(BoardOffline):
        driver.read_within(0.05)  # heard nothing: the port is reopened before the next
    kerong_emulator.set_silent(0, False)
    driver.pulse(3, 0.5)
    assert driver.stats()["reopens"] == 1
    assert set(doors(driver).values()) >= {DoorState.CLOSED}
    assert driver.stats()["reopens"] == 1, "the reopen was done; the board answered since"


def test_a_poll_asks_again_within_its_budget_after_a_damaged_reply(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver(timeout_s=SLOW_MACHINE_S)  # a damaged reply ends an attempt early
    kerong_emulator.corrupt_checksum = 1.0
    with pytest.raises(BoardOffline, match=f"after {RETRIES + 1} attempts"):
        driver.read_within(SLOW_MACHINE_S * 2)
    assert driver.stats()["errors"]["checksum"] == RETRIES + 1


def test_a_poll_with_a_budget_too_short_for_the_wire_still_makes_one_attempt(
    kerong_bank: Bank, tmp_path: Path
) -> None:
    with (
        start_emulator(kerong_bank, tmp_path, baud=9600, pace=True) as kerong_emulator,
        build(port=kerong_emulator.device, baud=9600, timeout_s=SLOW_MACHINE_S) as driver,
    ):
        assert set(driver.read_within(0.001)) == set(LOCKS)


def test_a_board_killed_in_the_bank_is_offline(
    kerong_bank: Bank, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver("middle")
    kerong_bank.kill_board("middle")
    with pytest.raises(BoardOffline):
        driver.read()
    kerong_bank.revive_board("middle")
    assert len(driver.read()) == 4


def test_a_vanished_port_is_a_driver_error_naming_the_board(
    kerong_bank: Bank, make_kerong_driver: MakeDriver, kerong_emulator: KerongBusEmulator
) -> None:
    driver = make_kerong_driver()
    kerong_emulator.close()
    with pytest.raises(BoardOffline, match="'top'"):
        driver.read()
    assert driver.stats()["errors"]["io"] >= 1


def test_stats_count_frames_replies_and_last_seen(make_kerong_driver: MakeDriver) -> None:
    driver = make_kerong_driver(timeout_s=SLOW_MACHINE_S)
    before = time.time()
    for _ in range(3):
        driver.read()
    stats = driver.stats()
    assert (stats["frames_sent"], stats["replies_ok"]) == (3, 3)
    assert stats["errors"] == {"timeout": 0, "checksum": 0, "framing": 0, "io": 0}
    assert stats["last_seen"] >= before


def test_a_paced_read_takes_at_least_the_wire_time(kerong_bank: Bank, tmp_path: Path) -> None:
    with (
        start_emulator(kerong_bank, tmp_path, baud=9600, pace=True) as kerong_emulator,
        build(port=kerong_emulator.device, baud=9600) as driver,
    ):
        start = time.monotonic()
        driver.read()
        assert time.monotonic() - start >= wire_time(5 + 9, 9600)
