"""GPIO pins wired to something: the simulated bank's coils and sensors, a config's boards.

:class:`hw_sim.gpio_wiring.BankPinFactory` is the far side of the GPIO driver's wire in
the contract suite and the simulator; the config loader refuses a pin that two
compartments' wiring would share.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("gpiozero")

from gpiozero import Device

from drivers.base import DoorState
from drivers.errors import DriverError
from hw_sim.gpio_wiring import BankPinFactory
from hw_sim.model import Bank
from kiosk.config import ConfigError, load_config
from tests.unit.test_gpio_driver import DOOR_PINS, ITEM_PINS, LOCK_PINS, PULSE, board

# --- the wiring to the simulated bank ------------------------------------------------


@pytest.fixture
def bank() -> Iterator[Bank]:
    made = Bank(person="manual")
    for lock in (1, 2, 3):
        made.add_compartment(f"A{lock:02d}", "wall", lock)
    wired = BankPinFactory(made)
    wired.connect("wall", {"lock_pins": LOCK_PINS, "door_pins": DOOR_PINS, "item_pins": ITEM_PINS})
    previous, Device.pin_factory = Device.pin_factory, wired
    yield made
    wired.reset()
    Device.pin_factory = previous


def test_the_bank_feels_the_coil_only_while_the_output_is_on(bank: Bank) -> None:
    with board(item_pins=ITEM_PINS) as made:
        Device.pin_factory.pin(17).state = True
        assert bank.snapshot()["A01"]["energised"]
        made.all_off()
        snapshot = bank.snapshot()["A01"]

    assert (snapshot["energised"], snapshot["door_open"], snapshot["fires"]) == (False, True, 1)


def test_wired_inputs_follow_the_bank(bank: Bank) -> None:
    bank.open_door("A02")
    bank.set_item("A03", True)

    with board(item_pins=ITEM_PINS) as made:
        readings = made.read()

    assert [readings[lock].door for lock in (1, 2, 3)] == [
        DoorState.CLOSED,
        DoorState.OPEN,
        DoorState.CLOSED,
    ]
    assert [readings[lock].item for lock in (1, 2, 3)] == [False, False, True]


def test_a_dead_board_in_the_bank_fails_reads_and_pulses(bank: Bank) -> None:
    with board() as made:
        bank.kill_board("wall")
        with pytest.raises(DriverError, match="cannot read GPIO 5"):
            made.read()
        with pytest.raises(DriverError, match="lock 1 not switched on"):
            made.pulse(1, PULSE)
        bank.revive_board("wall")
        assert Device.pin_factory.pin(17).state is False


def test_a_pin_wired_twice_is_refused(bank: Bank) -> None:
    with pytest.raises(ValueError, match=r"pins already connected: \[17\]"):
        Device.pin_factory.connect("other", {"lock_pins": [17]})


# --- the config loader ---------------------------------------------------------------

CONFIG = """
[kiosk]
id = "T-1"

[[boards]]
name = "top"
driver = "gpio"
lock_pins = [17, 27]
door_pins = [5, 6]

[[boards]]
name = "low"
driver = "gpio"
lock_pins = [22, {pin}]
held_off_pins = [{pin}]  # an external pull-down: the clash is what is tested here
door_pins = [13, 19]

[[compartments]]
id = "A01"
size = "S"
board = "top"
lock = 1

[[compartments]]
id = "B01"
size = "S"
board = "low"
lock = 1
"""


def test_the_config_refuses_a_pin_used_by_two_gpio_boards(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG.format(pin=6), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        f"{path}: boards[1]: GPIO 6 (lock_pins[1]) is already used by board 'top' (door_pins[1])"
    ]


def test_the_config_refuses_a_pin_used_twice_on_one_gpio_board(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG.format(pin=13), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        f"{path}: boards[1]: GPIO 13 is used twice: lock_pins[1] and door_pins[0]"
    ]


def test_a_gpio_config_with_distinct_pins_loads(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG.format(pin=23), encoding="utf-8")

    assert load_config(path).boards[1].options["lock_pins"] == [22, 23]
