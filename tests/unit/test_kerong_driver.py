"""The Kerong driver against emulated CU16 boards on a real pseudo-terminal: reading doors
and items, unlocking, several boards on one bus, opening and its options, and the emulator
on its own.

The boards and their bus are :mod:`tests.unit.kerong_bench`; what the driver does when
the wire misbehaves is ``test_kerong_retries.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import serial

from drivers.base import BoardSpec, ChannelSpec, DoorState, create_driver
from drivers.errors import BoardOffline, DriverError
from drivers.kerong import KerongDriver
from drivers.shared_port import port_users
from hw_sim.kerong_emu import KerongBusEmulator, encode_status_reply
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink
from tests.unit.kerong_bench import BOARDS, SLOW_MACHINE_S, MakeDriver, build, doors, start_emulator

# -- reading doors and items ----------------------------------------------------------


def test_poll_reads_an_open_door_and_the_items_inside(
    kerong_bank: Bank, make_kerong_driver: MakeDriver
) -> None:
    kerong_bank.open_door("T3")
    kerong_bank.set_item("T2", True)
    readings = make_kerong_driver().read()
    assert {lock: r.door for lock, r in readings.items()} == {
        1: DoorState.CLOSED,
        2: DoorState.CLOSED,
        3: DoorState.OPEN,
        4: DoorState.CLOSED,
    }
    assert {lock: r.item for lock, r in readings.items()} == {1: False, 2: True, 3: False, 4: False}


def test_poll_reads_the_same_doors_on_a_board_wired_with_closed_bit_0(
    kerong_bank: Bank, tmp_path: Path
) -> None:
    kerong_bank.open_door("T1")
    with (
        start_emulator(kerong_bank, tmp_path, lock_closed_bit=0) as kerong_emulator,
        build(port=kerong_emulator.device, lock_closed_bit=0) as driver,
    ):
        assert doors(driver) == {
            1: DoorState.OPEN,
            2: DoorState.CLOSED,
            3: DoorState.CLOSED,
            4: DoorState.CLOSED,
        }


def test_wrong_polarity_setting_reads_every_door_inverted(
    kerong_bank: Bank, tmp_path: Path
) -> None:
    kerong_bank.open_door("T1")
    with (
        start_emulator(kerong_bank, tmp_path, lock_closed_bit=0) as kerong_emulator,
        build(port=kerong_emulator.device) as d,
    ):
        assert doors(d) == {
            1: DoorState.CLOSED,
            2: DoorState.OPEN,
            3: DoorState.OPEN,
            4: DoorState.OPEN,
        }


def test_without_item_sensors_items_read_none(
    kerong_bank: Bank, make_kerong_driver: MakeDriver
) -> None:
    kerong_bank.set_item("T1", True)
    assert {r.item for r in make_kerong_driver(item_sensors=False).read().values()} == {None}


# -- unlocking ------------------------------------------------------------------------


def test_unlock_opens_that_door_and_only_that_door(
    kerong_bank: Bank, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver("middle")
    driver.pulse(3, 0.5)
    assert doors(driver)[3] is DoorState.OPEN
    fired = {cid for cid, count in kerong_bank.fire_counts().items() if count}
    assert fired == {"M3"}
    assert [cid for cid, c in kerong_bank.snapshot().items() if c["door_open"]] == ["M3"]


def test_unlock_is_accepted_when_the_board_does_not_answer_it(
    kerong_bank: Bank, kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    kerong_emulator.reply_to_unlock = False
    driver = make_kerong_driver(timeout_s=0.2)
    driver.pulse(2, 0.5)
    assert kerong_bank.fire_counts()["T2"] == 1
    assert driver.stats()["errors"]["timeout"] == 0


def test_unlock_on_a_silent_board_raises_board_offline(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    driver = make_kerong_driver()
    kerong_emulator.set_silent(0)
    with pytest.raises(BoardOffline, match=r"'top'.*may not have fired") as raised:
        driver.pulse(1, 0.5)
    # The status request after it is asked within one time-out, as a poll asks, not
    # with the retry schedule: the polls that follow are its retries.
    assert "after 1 attempt:" in str(raised.value.__cause__)
    assert driver.stats()["retries"] == 0


def test_unlock_of_a_lock_that_is_not_wired_raises(make_kerong_driver: MakeDriver) -> None:
    with pytest.raises(DriverError, match="no lock 9"):
        make_kerong_driver().pulse(9, 0.5)


def test_energise_time_is_set_at_open_when_configured(
    kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    make_kerong_driver(energise_ms=800)
    assert kerong_emulator.energise_s(0) == pytest.approx(0.8)
    assert kerong_emulator.energise_s(1) == pytest.approx(0.5)


# -- several boards on one bus --------------------------------------------------------


def test_three_boards_share_one_port_and_read_their_own_doors(
    kerong_bank: Bank, kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    drivers = {name: make_kerong_driver(name) for name in BOARDS.values()}
    kerong_bank.open_door("B4")
    assert port_users(kerong_emulator.device) == ("top", "middle", "bottom")
    assert doors(drivers["bottom"])[4] is DoorState.OPEN
    assert set(doors(drivers["top"]).values()) == {DoorState.CLOSED}
    drivers["top"].close()
    assert port_users(kerong_emulator.device) == ("middle", "bottom")
    assert doors(drivers["middle"])[1] is DoorState.CLOSED


def test_polls_and_unlocks_of_three_boards_never_interleave_on_the_wire(
    kerong_bank: Bank, kerong_emulator: KerongBusEmulator, make_kerong_driver: MakeDriver
) -> None:
    drivers = [make_kerong_driver(name, timeout_s=SLOW_MACHINE_S) for name in BOARDS.values()]
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
    assert kerong_emulator.stats()["bad_frames"] == 0
    assert all(d.stats()["retries"] == 0 for d in drivers)
    assert {cid for cid, n in kerong_bank.fire_counts().items() if n} == {
        f"{b}{lock}" for b in "TMB" for lock in (1, 2, 3)
    }


def test_boards_asking_for_different_rs485_modes_on_one_port_are_refused(
    make_kerong_driver: MakeDriver, kerong_emulator: KerongBusEmulator
) -> None:
    make_kerong_driver("top")
    with pytest.raises(DriverError, match=r"'middle'.*rs485"):
        build("middle", port=kerong_emulator.device, rs485=True).open()


def test_a_second_board_at_a_taken_address_cannot_open_and_fires_nothing(
    kerong_bank: Bank, make_kerong_driver: MakeDriver, kerong_emulator: KerongBusEmulator
) -> None:
    make_kerong_driver("top")
    impostor = create_driver(
        BoardSpec("impostor", "kerong", (ChannelSpec(1, "X1"),), options={
            "port": kerong_emulator.device, "address": 0, "timeout_s": SLOW_MACHINE_S})
    )  # fmt: skip
    with pytest.raises(DriverError, match=r"'impostor'.*address 0 .*already used by board 'top'"):
        impostor.open()
    with pytest.raises(DriverError, match="not open"):
        impostor.pulse(1, 0.5)
    assert port_users(kerong_emulator.device) == ("top",)
    assert not any(kerong_bank.fire_counts().values())


def test_a_board_at_another_baud_on_an_open_bus_is_refused(
    make_kerong_driver: MakeDriver, kerong_emulator: KerongBusEmulator
) -> None:
    make_kerong_driver("top")
    with pytest.raises(DriverError, match=r"'middle'.*19200 baud.*same baud"):
        build("middle", port=kerong_emulator.device, baud=9600).open()
    assert port_users(kerong_emulator.device) == ("top",)


# -- opening and configuration --------------------------------------------------------


def test_rs485_mode_on_a_pty_is_a_clear_driver_error(kerong_emulator: KerongBusEmulator) -> None:
    driver = build(port=kerong_emulator.device, rs485=True)
    with pytest.raises(DriverError, match=r"'top'.*RS-485.*rs485 = false"):
        driver.open()
    assert port_users(kerong_emulator.device) == ()


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
    kerong_emulator: KerongBusEmulator,
) -> None:
    with serial.Serial(kerong_emulator.device, timeout=0.2) as port:
        port.write(bytes.fromhex("02 00 30 03 36") + b"\x55\x02" + bytes.fromhex("02 10 30 03 45"))
        assert port.read(9) == encode_status_reply(0x10, 0xFFFF, 0x0000)
        assert port.read(1) == b""
    assert kerong_emulator.stats()["bad_frames"] >= 1


def test_emulator_stays_silent_for_an_address_without_a_board(
    kerong_emulator: KerongBusEmulator,
) -> None:
    with serial.Serial(kerong_emulator.device, timeout=0.1) as port:
        port.write(bytes.fromhex("02 90 30 03 C5"))  # board 9
        assert port.read(9) == b""
    assert kerong_emulator.stats()["requests_by_address"].get(9) == 1


def test_a_link_path_names_the_emulated_port_until_it_closes(
    kerong_bank: Bank, tmp_path: Path
) -> None:
    path = tmp_path / "dev" / "ttyKR0"
    kerong_emulator = KerongBusEmulator(kerong_bank, BOARDS, PtyLink(path)).start()
    with build(port=str(path)) as driver:
        assert len(driver.read()) == 4
    kerong_emulator.close()
    assert not path.exists()
