"""The drivers' technician capabilities against the board emulators on pseudo-terminals:
``scan_bus`` finds the addresses on a bus, ``read_all`` and ``pulse_channel`` reach the
channels the config leaves out, and the safety layer routes discovery's pulses.

The banks here have doors behind channels the drivers' configs do not list, as a bank
being commissioned has: that is what discovery must find.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelSpec, DoorState, Driver, create_driver
from drivers.errors import DriverError, UnsupportedError
from drivers.kerong import KerongDriver
from drivers.modbus import ModbusRelayDriver
from drivers.safety import LockSafety
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.modbus_emu import ModbusRelayEmulator
from hw_sim.model import Bank, reset_shared_banks
from hw_sim.pty_link import PtyLink

CONFIGURED = (1, 2)  # what the drivers' configs wire; the banks have more


def kerong(name: str, address: int, port: str, timeout_s: float = 0.05) -> KerongDriver:
    channels = tuple(ChannelSpec(lock, f"{name}{lock}") for lock in CONFIGURED)
    options = {"port": port, "address": address, "timeout_s": timeout_s, "retries": 1}
    driver = create_driver(BoardSpec(name, "kerong", channels, options=options))
    assert isinstance(driver, KerongDriver)
    return driver


def modbus(port: str, **options: Any) -> ModbusRelayDriver:
    channels = tuple(ChannelSpec(lock, f"M{lock}") for lock in CONFIGURED)
    settings = {"port": port, "timeout_s": 0.05, "retries": 1, **options}
    driver = create_driver(BoardSpec("relays", "modbus", channels, options=settings))
    assert isinstance(driver, ModbusRelayDriver)
    return driver


@pytest.fixture
def bank() -> Bank:
    """Boards "top" (address 0) and "middle" (3) with doors on locks 1-5; "relays" on 1-8."""
    made = Bank(person="manual")
    for board in ("top", "middle"):
        for lock in range(1, 6):
            made.add_compartment(f"{board}-{lock}", board, lock)
    for lock in range(1, 9):
        made.add_compartment(f"relays-{lock}", "relays", lock)
    return made


@pytest.fixture
def kerong_bus(bank: Bank, tmp_path: Path) -> Iterator[KerongBusEmulator]:
    link = PtyLink(tmp_path / "ttyKR")
    emulator = KerongBusEmulator(bank, {0: "top", 3: "middle"}, link, seed=3).start()
    yield emulator
    emulator.close()


@pytest.fixture
def opened() -> Iterator[list[Driver]]:
    """Drivers a test opens; every one is closed after it."""
    drivers: list[Driver] = []
    yield drivers
    for driver in drivers:
        driver.close()


def open_driver(driver: Driver, opened: list[Driver]) -> Driver:
    driver.open()
    opened.append(driver)
    return driver


def wait_for(predicate: Any, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


# -- scan-bus -----------------------------------------------------------------------


def test_kerong_scan_finds_the_boards_at_addresses_0_and_3_on_one_bus(
    kerong_bus: KerongBusEmulator, opened: list[Driver]
) -> None:
    top = open_driver(kerong("top", 0, kerong_bus.device), opened)
    assert top.scan_bus() == [0, 3]
    asked = kerong_bus.stats()["requests_by_address"]
    assert sorted(asked) == list(range(16))


def test_kerong_scan_frames_are_not_counted_as_the_boards_own(
    kerong_bus: KerongBusEmulator, opened: list[Driver]
) -> None:
    top = open_driver(kerong("top", 0, kerong_bus.device), opened)
    before = top.stats()
    top.scan_bus()
    after = top.stats()
    assert (after["frames_sent"], after["errors"]) == (before["frames_sent"], before["errors"])


def test_kerong_scan_finds_a_board_the_config_puts_at_the_wrong_address(
    kerong_bus: KerongBusEmulator, opened: list[Driver]
) -> None:
    lost = kerong("lost", 5, kerong_bus.device)
    lost.open()  # the port opens; the board at address 5 is not there
    opened.append(lost)
    with pytest.raises(DriverError):
        lost.read()
    assert lost.scan_bus() == [0, 3]


def test_kerong_scan_goes_on_beside_polling_of_the_other_board(
    kerong_bus: KerongBusEmulator, opened: list[Driver]
) -> None:
    # Time enough for the emulator to answer a probe on a busy machine: this is about the
    # scan sharing the bus, not about how soon a board answers.
    top = open_driver(kerong("top", 0, kerong_bus.device, timeout_s=0.25), opened)
    middle = open_driver(kerong("middle", 3, kerong_bus.device, timeout_s=0.25), opened)
    found: list[int] = []
    scan = threading.Thread(target=lambda: found.extend(top.scan_bus()))
    scan.start()
    reads = 0
    while scan.is_alive():
        assert set(middle.read()) == set(CONFIGURED)
        reads += 1
    scan.join()
    assert found == [0, 3]
    assert reads > 1
    assert sum(middle.stats()["errors"].values()) == 0


def test_modbus_scan_finds_its_board_and_a_separate_input_board(
    bank: Bank, tmp_path: Path, opened: list[Driver]
) -> None:
    emulator = ModbusRelayEmulator(
        bank, "relays", address=7, input_address=9, link_path=tmp_path / "ttyMB"
    ).start()
    try:
        driver = open_driver(modbus(emulator.device, address=7, input_address=9), opened)
        assert driver.scan_bus() == [7, 9]
        assert driver.scan_bus(range(1, 5)) == []
    finally:
        emulator.close()


def test_modbus_scan_finds_the_board_the_config_misses(
    bank: Bank, tmp_path: Path, opened: list[Driver]
) -> None:
    emulator = ModbusRelayEmulator(bank, "relays", address=4, link_path=tmp_path / "ttyMB")
    emulator.start()
    try:
        driver = modbus(emulator.device, address=1)
        driver.open()
        opened.append(driver)
        with pytest.raises(DriverError):
            driver.read()
        assert driver.scan_bus() == [4]
    finally:
        emulator.close()


def test_boards_without_a_bus_cannot_be_scanned(tmp_path: Path) -> None:
    reset_shared_banks()
    spec = BoardSpec("bank", "sim", (ChannelSpec(1, "A01"),), options={"person": "manual"})
    with create_driver(spec) as sim, pytest.raises(UnsupportedError, match=r"'bank'.*sim"):
        sim.scan_bus()
    reset_shared_banks()


# -- every channel, configured or not ---------------------------------------------------


def test_kerong_reads_and_fires_every_channel_of_a_cu16(
    bank: Bank, kerong_bus: KerongBusEmulator, opened: list[Driver]
) -> None:
    top = open_driver(kerong("top", 0, kerong_bus.device), opened)
    assert top.channel_count == 16
    assert set(top.read()) == set(CONFIGURED)
    assert set(top.read_all()) == set(range(1, 17))

    with pytest.raises(DriverError, match="no lock 4"):
        top.pulse(4, 0.5)  # the ordinary path fires only what the config wires
    top.pulse_channel(4, 0.5)
    assert wait_for(lambda: top.read_all()[4].door is DoorState.OPEN)
    assert bank.snapshot()["top-4"]["door_open"]
    with pytest.raises(DriverError, match="no channel 17"):
        top.pulse_channel(17, 0.5)


def test_modbus_reads_and_fires_all_eight_relays(
    bank: Bank, tmp_path: Path, opened: list[Driver]
) -> None:
    emulator = ModbusRelayEmulator(bank, "relays", address=1, link_path=tmp_path / "ttyMB")
    emulator.start()
    try:
        driver = open_driver(modbus(emulator.device), opened)
        assert driver.channel_count == 8
        assert set(driver.read_all()) == set(range(1, 9))
        with pytest.raises(DriverError, match="no lock 6"):
            driver.pulse(6, 0.3)
        driver.pulse_channel(6, 0.3)
        assert wait_for(lambda: driver.read_all()[6].door is DoorState.OPEN)
        assert set(driver.read()) == set(CONFIGURED)
    finally:
        emulator.close()


def test_safety_layer_fires_an_unconfigured_channel_only_when_asked_to(
    bank: Bank, kerong_bus: KerongBusEmulator
) -> None:
    with LockSafety([kerong("top", 0, kerong_bus.device)], gap_s=0.0) as safety:
        refused = safety.unlock("top", 5).result(5)
        assert not refused.ok and "no lock 5" in (refused.error or "")
        assert not bank.snapshot()["top-5"]["door_open"]

        fired = safety.unlock("top", 5, any_channel=True).result(5)
        assert fired.ok, fired.error
        assert wait_for(lambda: safety.read_all("top")[5].door is DoorState.OPEN)
        assert set(safety.read("top")) == set(CONFIGURED)
        assert safety.scan_bus("top") == [0, 3]


def test_sim_channels_are_the_banks_and_an_empty_channel_fires_nothing() -> None:
    reset_shared_banks()
    spec = BoardSpec("bank", "sim", (ChannelSpec(1, "A01"), ChannelSpec(3, "A03")),
                     options={"person": "manual"})  # fmt: skip
    try:
        with create_driver(spec) as sim:
            assert sim.channel_count == 3
            sim.pulse_channel(2, 0.2)  # nothing behind lock 2
            sim.pulse_channel(3, 0.2)
            assert {lock: r.door for lock, r in sim.read_all().items()} == {
                1: DoorState.CLOSED,
                3: DoorState.OPEN,
            }
            with pytest.raises(DriverError):
                sim.pulse_channel(4, 0.2)
    finally:
        reset_shared_banks()
