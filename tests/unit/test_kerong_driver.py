"""The Kerong driver against emulated CU16 boards on a real pseudo-terminal.

Three boards (addresses 0, 1, 2: "top", "middle", "bottom") share one emulated bus, each
with four compartments on locks 1-4. The person is manual: doors move only when a pulse
pops them or a test opens or closes them.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

from drivers.base import BoardSpec, ChannelSpec, DoorState, create_driver
from drivers.errors import BoardOffline, DriverError
from drivers.kerong import KerongDriver
from drivers.kerong_bus import bus_users
from hw_sim.kerong_emu import KerongBusEmulator, encode_status_reply
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink, wire_time

BOARDS = {0: "top", 1: "middle", 2: "bottom"}
LOCKS = (1, 2, 3, 4)
TIMEOUT_S = 0.05
RETRIES = 3
SLOW_MACHINE_S = 0.5  # where a test counts errors exactly, a busy machine must not add any

MakeDriver = Callable[..., KerongDriver]


def compartment(board: str, lock: int) -> str:
    return f"{board[0].upper()}{lock}"


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for board in BOARDS.values():
        for lock in LOCKS:
            made.add_compartment(compartment(board, lock), board, lock)
    return made


_PORTS = itertools.count()


def start_emulator(bank: Bank, where: Path, **kwargs: Any) -> KerongBusEmulator:
    """An emulated bus linked at a path of its own in ``where``.

    Drivers open the link, not the pty: a pty number freed by a closed emulator may be
    handed to another process's emulator at once, and a driver reopening the bare pty
    path would talk to that one; a removed link fails as a vanished port does.
    """
    link = PtyLink(where / f"ttyKR{next(_PORTS)}")
    return KerongBusEmulator(bank, BOARDS, link, seed=7, **kwargs).start()


@pytest.fixture
def emulator(bank: Bank, tmp_path: Path) -> Iterator[KerongBusEmulator]:
    made = start_emulator(bank, tmp_path)
    yield made
    made.close()


@pytest.fixture
def make_driver(emulator: KerongBusEmulator) -> Iterator[MakeDriver]:
    """Open drivers on the emulator's bus; every one is closed after the test."""
    made: list[KerongDriver] = []

    def make(board: str = "top", **options: Any) -> KerongDriver:
        driver = build(board, port=emulator.device, **options)
        made.append(driver)
        driver.open()
        return driver

    yield make
    for driver in made:
        driver.close()


def build(board: str = "top", **options: Any) -> KerongDriver:
    address = next(a for a, name in BOARDS.items() if name == board)
    channels = tuple(ChannelSpec(lock, compartment(board, lock)) for lock in LOCKS)
    settings = {"address": address, "timeout_s": TIMEOUT_S, "retries": RETRIES, **options}
    driver = create_driver(BoardSpec(board, "kerong", channels, options=settings))
    assert isinstance(driver, KerongDriver)
    return driver


def doors(driver: KerongDriver) -> dict[int, DoorState]:
    return {lock: reading.door for lock, reading in driver.read().items()}


# -- reading doors and items ----------------------------------------------------------


def test_poll_reads_an_open_door_and_the_items_inside(bank: Bank, make_driver: MakeDriver) -> None:
    bank.open_door("T3")
    bank.set_item("T2", True)
    readings = make_driver().read()
    assert {lock: r.door for lock, r in readings.items()} == {
        1: DoorState.CLOSED,
        2: DoorState.CLOSED,
        3: DoorState.OPEN,
        4: DoorState.CLOSED,
    }
    assert {lock: r.item for lock, r in readings.items()} == {1: False, 2: True, 3: False, 4: False}


def test_poll_reads_the_same_doors_on_a_board_wired_with_closed_bit_0(
    bank: Bank, tmp_path: Path
) -> None:
    bank.open_door("T1")
    with (
        start_emulator(bank, tmp_path, lock_closed_bit=0) as emulator,
        build(port=emulator.device, lock_closed_bit=0) as driver,
    ):
        assert doors(driver) == {
            1: DoorState.OPEN,
            2: DoorState.CLOSED,
            3: DoorState.CLOSED,
            4: DoorState.CLOSED,
        }


def test_wrong_polarity_setting_reads_every_door_inverted(bank: Bank, tmp_path: Path) -> None:
    bank.open_door("T1")
    with (
        start_emulator(bank, tmp_path, lock_closed_bit=0) as emulator,
        build(port=emulator.device) as d,
    ):
        assert doors(d) == {
            1: DoorState.CLOSED,
            2: DoorState.OPEN,
            3: DoorState.OPEN,
            4: DoorState.OPEN,
        }


def test_without_item_sensors_items_read_none(bank: Bank, make_driver: MakeDriver) -> None:
    bank.set_item("T1", True)
    assert {r.item for r in make_driver(item_sensors=False).read().values()} == {None}


# -- unlocking ------------------------------------------------------------------------


def test_unlock_opens_that_door_and_only_that_door(bank: Bank, make_driver: MakeDriver) -> None:
    driver = make_driver("middle")
    driver.pulse(3, 0.5)
    assert doors(driver)[3] is DoorState.OPEN
    fired = {cid for cid, count in bank.fire_counts().items() if count}
    assert fired == {"M3"}
    assert [cid for cid, c in bank.snapshot().items() if c["door_open"]] == ["M3"]


def test_unlock_is_accepted_when_the_board_does_not_answer_it(
    bank: Bank, emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    emulator.reply_to_unlock = False
    driver = make_driver(timeout_s=0.2)
    driver.pulse(2, 0.5)
    assert bank.fire_counts()["T2"] == 1
    assert driver.stats()["errors"]["timeout"] == 0


def test_unlock_on_a_silent_board_raises_board_offline(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver()
    emulator.set_silent(0)
    with pytest.raises(BoardOffline, match=r"'top'.*may not have fired") as raised:
        driver.pulse(1, 0.5)
    # The status request after it is asked within one time-out, as a poll asks, not
    # with the retry schedule: the polls that follow are its retries.
    assert "after 1 attempt:" in str(raised.value.__cause__)
    assert driver.stats()["retries"] == 0


def test_unlock_of_a_lock_that_is_not_wired_raises(make_driver: MakeDriver) -> None:
    with pytest.raises(DriverError, match="no lock 9"):
        make_driver().pulse(9, 0.5)


def test_energise_time_is_set_at_open_when_configured(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    make_driver(energise_ms=800)
    assert emulator.energise_s(0) == pytest.approx(0.8)
    assert emulator.energise_s(1) == pytest.approx(0.5)


# -- several boards on one bus --------------------------------------------------------


def test_three_boards_share_one_port_and_read_their_own_doors(
    bank: Bank, emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    drivers = {name: make_driver(name) for name in BOARDS.values()}
    bank.open_door("B4")
    assert bus_users(emulator.device) == 3
    assert doors(drivers["bottom"])[4] is DoorState.OPEN
    assert set(doors(drivers["top"]).values()) == {DoorState.CLOSED}
    drivers["top"].close()
    assert bus_users(emulator.device) == 2
    assert doors(drivers["middle"])[1] is DoorState.CLOSED


def test_polls_and_unlocks_of_three_boards_never_interleave_on_the_wire(
    bank: Bank, emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    drivers = [make_driver(name, timeout_s=SLOW_MACHINE_S) for name in BOARDS.values()]
    failures: list[Exception] = []

    def work(driver: KerongDriver) -> None:
        try:
            for i in range(30):
                driver.read()
                if i % 10 == 0:
                    driver.pulse(1 + i // 10, 0.5)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert emulator.stats()["bad_frames"] == 0
    assert all(d.stats()["retries"] == 0 for d in drivers)
    assert {cid for cid, n in bank.fire_counts().items() if n} == {
        f"{b}{lock}" for b in "TMB" for lock in (1, 2, 3)
    }


def test_boards_asking_for_different_rs485_modes_on_one_port_are_refused(
    make_driver: MakeDriver, emulator: KerongBusEmulator
) -> None:
    make_driver("top")
    with pytest.raises(DriverError, match=r"'middle'.*rs485"):
        build("middle", port=emulator.device, rs485=True).open()


# -- faults on the wire ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "value", "kind"),
    [
        ("corrupt_checksum", 0.5, "checksum"),
        ("drop_reply", 0.3, "timeout"),
    ],
)
def test_reads_retry_through_bad_replies(
    bank: Bank,
    emulator: KerongBusEmulator,
    make_driver: MakeDriver,
    fault: str,
    value: float,
    kind: str,
) -> None:
    bank.open_door("T2")
    driver = make_driver(retries=6)
    setattr(emulator, fault, value)
    for _ in range(10):
        assert doors(driver)[2] is DoorState.OPEN
    stats = driver.stats()
    assert stats["errors"][kind] >= 1
    assert stats["retries"] == sum(stats["errors"].values())  # every failure was retried


def test_garbage_before_a_reply_is_skipped_without_a_retry(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(timeout_s=SLOW_MACHINE_S)
    emulator.garbage_before_reply = 1.0
    for _ in range(20):
        assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["retries"] == 0


def test_a_slow_reply_within_the_timeout_is_no_error(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(timeout_s=SLOW_MACHINE_S)
    emulator.late_reply_s = 0.02
    assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["retries"] == 0


def test_a_reply_later_than_the_timeout_is_retried(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(retries=6)
    emulator.delay_next_reply(TIMEOUT_S * 2)
    assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["errors"]["timeout"] >= 1


def test_a_late_reply_of_another_board_stretches_the_wait_for_ours(
    bank: Bank, tmp_path: Path
) -> None:
    # 1200 baud, paced: a request is 42 ms on the wire, a reply 75 ms. "top" answers
    # 215 ms late: its reply holds the line until ~332 ms. "middle", asked at 200 ms
    # with 200 ms to answer, gets its reply at ~407 ms: past its time-out, inside the
    # new wait (its 200 ms again) that starts when top's reply was heard.
    options = {"port": "", "baud": 1200, "timeout_s": 0.2, "retries": 0}
    with (
        start_emulator(bank, tmp_path, baud=1200, pace=True) as emulator,
        build("top", **{**options, "port": emulator.device}) as top,
        build("middle", **{**options, "port": emulator.device}) as middle,
    ):
        emulator.delay_next_reply(0.215)
        with pytest.raises(BoardOffline, match="'top'"):
            top.read()
        assert set(doors(middle).values()) == {DoorState.CLOSED}
        assert set(middle.stats()["errors"].values()) == {0}


def test_a_board_always_later_than_the_timeout_is_offline(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(retries=1)
    emulator.late_reply_s = 0.5
    with pytest.raises(BoardOffline):
        driver.read()


def test_every_reply_corrupt_is_offline_never_closed(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(timeout_s=SLOW_MACHINE_S)  # a damaged reply ends an attempt early
    emulator.corrupt_checksum = 1.0
    with pytest.raises(BoardOffline, match="'top'"):
        driver.read()
    assert driver.stats()["errors"]["checksum"] == RETRIES + 1


def test_silent_board_is_offline_after_the_retries_and_reads_again_when_it_answers(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver()
    emulator.set_silent(0)
    with pytest.raises(BoardOffline, match=r"'top'.*after 4 attempts"):
        driver.read()
    stats = driver.stats()
    assert (stats["errors"]["timeout"], stats["retries"]) == (RETRIES + 1, RETRIES)
    assert stats["reopens"] == RETRIES  # the "stuck busy" cure: reopen between attempts
    emulator.set_silent(0, False)
    assert set(doors(driver).values()) == {DoorState.CLOSED}


def test_a_poll_of_a_silent_board_gives_up_at_its_budget_not_after_the_retries(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(timeout_s=0.1)  # read(): 4 x 0.1 s + waits = 0.54 s
    emulator.set_silent(0)
    began = time.monotonic()
    with pytest.raises(BoardOffline, match=r"'top'.*after 1 attempt:"):
        driver.read_within(0.05)
    assert time.monotonic() - began < 0.05 + SLOW_MACHINE_S / 5
    assert driver.stats()["retries"] == 0


def test_a_board_left_silent_by_a_poll_has_its_port_reopened_before_the_next(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(timeout_s=0.1)
    emulator.set_silent(0)
    with pytest.raises(BoardOffline):
        driver.read_within(0.05)  # one attempt: no retry left to reopen before
    assert driver.stats()["reopens"] == 0
    emulator.set_silent(0, False)
    assert set(doors(driver).values()) == {DoorState.CLOSED}
    assert driver.stats()["reopens"] == 1  # the "stuck busy" cure, one poll later


def test_an_unlock_that_reopened_a_stuck_port_does_not_reopen_it_again(
    bank: Bank, emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(timeout_s=0.1)
    emulator.set_silent(0)
    with pytest.raises(BoardOffline):
        driver.read_within(0.05)  # heard nothing: the port is reopened before the next
    emulator.set_silent(0, False)
    driver.pulse(3, 0.5)
    assert driver.stats()["reopens"] == 1
    assert set(doors(driver).values()) >= {DoorState.CLOSED}
    assert driver.stats()["reopens"] == 1, "the reopen was done; the board answered since"


def test_a_poll_asks_again_within_its_budget_after_a_damaged_reply(
    emulator: KerongBusEmulator, make_driver: MakeDriver
) -> None:
    driver = make_driver(timeout_s=SLOW_MACHINE_S)  # a damaged reply ends an attempt early
    emulator.corrupt_checksum = 1.0
    with pytest.raises(BoardOffline, match=f"after {RETRIES + 1} attempts"):
        driver.read_within(SLOW_MACHINE_S * 2)
    assert driver.stats()["errors"]["checksum"] == RETRIES + 1


def test_a_poll_with_a_budget_too_short_for_the_wire_still_makes_one_attempt(
    bank: Bank, tmp_path: Path
) -> None:
    with (
        start_emulator(bank, tmp_path, baud=9600, pace=True) as emulator,
        build(port=emulator.device, baud=9600, timeout_s=SLOW_MACHINE_S) as driver,
    ):
        assert set(driver.read_within(0.001)) == set(LOCKS)


def test_a_board_killed_in_the_bank_is_offline(bank: Bank, make_driver: MakeDriver) -> None:
    driver = make_driver("middle")
    bank.kill_board("middle")
    with pytest.raises(BoardOffline):
        driver.read()
    bank.revive_board("middle")
    assert len(driver.read()) == 4


def test_a_vanished_port_is_a_driver_error_naming_the_board(
    bank: Bank, make_driver: MakeDriver, emulator: KerongBusEmulator
) -> None:
    driver = make_driver()
    emulator.close()
    with pytest.raises(BoardOffline, match="'top'"):
        driver.read()
    assert driver.stats()["errors"]["io"] >= 1


def test_stats_count_frames_replies_and_last_seen(make_driver: MakeDriver) -> None:
    driver = make_driver(timeout_s=SLOW_MACHINE_S)
    before = time.time()
    for _ in range(3):
        driver.read()
    stats = driver.stats()
    assert (stats["frames_sent"], stats["replies_ok"]) == (3, 3)
    assert stats["errors"] == {"timeout": 0, "checksum": 0, "framing": 0, "io": 0}
    assert stats["last_seen"] >= before


def test_a_paced_read_takes_at_least_the_wire_time(bank: Bank, tmp_path: Path) -> None:
    with (
        start_emulator(bank, tmp_path, baud=9600, pace=True) as emulator,
        build(port=emulator.device, baud=9600) as driver,
    ):
        start = time.monotonic()
        driver.read()
        assert time.monotonic() - start >= wire_time(5 + 9, 9600)


# -- opening and configuration --------------------------------------------------------


def test_rs485_mode_on_a_pty_is_a_clear_driver_error(emulator: KerongBusEmulator) -> None:
    driver = build(port=emulator.device, rs485=True)
    with pytest.raises(DriverError, match=r"'top'.*RS-485.*rs485 = false"):
        driver.open()
    assert bus_users(emulator.device) == 0


def test_unreachable_port_is_a_driver_error_naming_the_board() -> None:
    driver = build(port="/nonexistent/ttyKR0")
    with pytest.raises(DriverError, match=r"'top'.*/nonexistent/ttyKR0"):
        driver.open()


def test_using_the_driver_before_open_raises() -> None:
    with pytest.raises(DriverError, match="not open"):
        build(port="/dev/null").read()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": ""}, "port is required"),
        ({"port": "/dev/x", "address": 16}, "address must be 0..15"),
        ({"port": "/dev/x", "lock_closed_bit": 2}, "lock_closed_bit"),
        ({"port": "/dev/x", "baud": "fast"}, "baud must be int"),
        ({"port": "/dev/x", "energise_ms": 5000}, "energise_ms"),
    ],
)
def test_bad_options_are_refused_with_the_board_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError, match=rf"'top'.*{message}"):
        build(**options)


# -- the emulator on its own ----------------------------------------------------------


def test_emulator_ignores_a_bad_frame_and_answers_the_good_one_after_it(
    emulator: KerongBusEmulator,
) -> None:
    with serial.Serial(emulator.device, timeout=0.2) as port:
        port.write(bytes.fromhex("02 00 30 03 36") + b"\x55\x02" + bytes.fromhex("02 10 30 03 45"))
        assert port.read(9) == encode_status_reply(0x10, 0xFFFF, 0x0000)
        assert port.read(1) == b""
    assert emulator.stats()["bad_frames"] >= 1


def test_emulator_stays_silent_for_an_address_without_a_board(
    emulator: KerongBusEmulator,
) -> None:
    with serial.Serial(emulator.device, timeout=0.1) as port:
        port.write(bytes.fromhex("02 90 30 03 C5"))  # board 9
        assert port.read(9) == b""
    assert emulator.stats()["requests_by_address"].get(9) == 1


def test_a_link_path_names_the_emulated_port_until_it_closes(bank: Bank, tmp_path: Path) -> None:
    path = tmp_path / "dev" / "ttyKR0"
    emulator = KerongBusEmulator(bank, BOARDS, PtyLink(path)).start()
    with build(port=str(path)) as driver:
        assert len(driver.read()) == 4
    emulator.close()
    assert not path.exists()
