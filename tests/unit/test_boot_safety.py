"""Wiring that is safe from power-on: what ``check-config`` (and the daemon's start)
refuses on a ``gpio`` board, one line per rule naming the file, the key and why.

For the seconds between power-on and the daemon's start, a Pi's pins sit on their
power-on pulls (BCM 0-8 up, 9-27 down on a Pi 1-4). A lock output whose off level is
not its pin's power-on level releases its lock at every cold boot, all such locks at
once on one supply, unless an external resistor holds it off (``held_off_pins``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.errors import DriverError
from drivers.gpio.power_on import PI_MODELS, power_on, same_pulls
from kiosk.config import ConfigError, load_config

pytest.importorskip("gpiozero")  # the gpio driver is built to check its pins

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, **options: object) -> Path:
    """A kiosk with one gpio board of two locks; ``options`` override its wiring."""
    board = {"lock_pins": [17, 27], "door_pins": [5, 6], **options}
    lines = []
    for key, value in board.items():
        shown = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
        lines.append(f"{key} = {shown}")
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "T-1"\ndata_dir = "{tmp_path}"\n'
        '[[boards]]\nname = "header"\ndriver = "gpio"\n' + "\n".join(lines) + "\n"
        '[[compartments]]\nid = "A01"\nsize = "S"\nboard = "header"\nlock = 1\n'
    )
    return path


def refusal(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


# -- lock outputs -------------------------------------------------------------------------


def test_an_active_low_relay_on_pins_pulled_down_at_power_on_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lock_pins=[5, 13, 16], door_pins=[22, 23, 24], lock_active_high=False)

    assert refusal(path) == [
        f"{path}: boards[0].lock_pins: GPIO 13 (lock 2) and 16 (lock 3) sit low from power-on "
        "until the daemon starts (the Pi 4 pulls BCM 9-27 down at power-on), and low switches "
        "these active-low outputs on (lock_active_high = false): those locks would release at "
        "every cold boot. Use pins the Pi pulls up (BCM 2-8), or hold each off with an "
        "external pull-up resistor to 3.3 V (10 kOhm or less) and list it in held_off_pins"
    ]


def test_an_active_high_stage_on_a_pin_pulled_up_at_power_on_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lock_pins=[17, 7], door_pins=[22, 23], pi_model="3")

    assert refusal(path) == [
        f"{path}: boards[0].lock_pins: GPIO 7 (lock 2) sits high from power-on until the "
        "daemon starts (the Pi 3 pulls BCM 0-8 up at power-on), and high switches this "
        "active-high output on (lock_active_high = true): the lock would release at every "
        "cold boot. Use pins the Pi pulls down (BCM 9-27, not 14-15), or hold it off with an "
        "external pull-down resistor (10 kOhm or less) and list it in held_off_pins"
    ]


def test_outputs_held_off_by_an_external_resistor_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, lock_pins=[13, 16], door_pins=[22, 23], lock_active_high=False,
                 held_off_pins=[13, 16])  # fmt: skip

    config = load_config(path)

    assert config.boards[0].options["held_off_pins"] == [13, 16]


def test_every_output_of_a_pi_5_needs_an_external_resistor(tmp_path: Path) -> None:
    path = write(tmp_path, pi_model="5")

    assert refusal(path) == [
        f"{path}: boards[0].lock_pins: GPIO 17 (lock 1) and 27 (lock 2): the Pi 5's power-on "
        "pulls are not published, so nothing holds these outputs off from power-on until the "
        "daemon starts: hold each off with an external pull-down resistor (10 kOhm or less) "
        "and list it in held_off_pins"
    ]
    load_config(write(tmp_path, pi_model="5", held_off_pins=[17, 27]))


def test_an_active_high_output_on_bcm_2_is_refused_even_when_held(tmp_path: Path) -> None:
    path = write(tmp_path, lock_pins=[2, 17], door_pins=[22, 23], held_off_pins=[2])

    assert refusal(path) == [
        f"{path}: boards[0].lock_pins: GPIO 2 (lock 1): the Pi 4 has a 1.8 kOhm pull-up on "
        "BCM 2 on its board: it sits high from power-on, which switches an active-high output "
        "on, and no external resistor can hold it low against that: use another pin"
    ]


def test_a_lock_on_a_pin_the_firmware_drives_while_it_boots_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lock_pins=[17, 14], door_pins=[22, 23], held_off_pins=[14])

    assert refusal(path) == [
        f"{path}: boards[0].lock_pins: GPIO 14 (lock 2): BCM 14 and 15 are the serial port, "
        "set up by the firmware while it boots (TXD seen high): no place for a lock output; "
        "use another pin"
    ]


def test_held_off_pins_may_name_lock_outputs_only(tmp_path: Path) -> None:
    path = write(tmp_path, held_off_pins=[17, 5])

    assert refusal(path) == [
        f"{path}: boards[0].held_off_pins: GPIO 5 is not in lock_pins: list only lock outputs "
        "whose off level an external resistor holds"
    ]


def test_an_unknown_pi_model_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, pi_model="6")

    (line,) = refusal(path)
    assert line.startswith(f"{path}: boards[0].pi_model: unknown Pi model '6' (known: \"1\", ")
    assert line.endswith('"5", "500", "cm5")')


# -- door inputs --------------------------------------------------------------------------


@pytest.mark.parametrize(("pull_up", "closed"), [(True, 1), (False, 0)])
def test_a_door_input_where_a_cut_wire_reads_closed_is_refused(
    tmp_path: Path, pull_up: bool, closed: int
) -> None:
    path = write(tmp_path, door_pull_up=pull_up, door_closed_level=closed)

    pull = "up" if pull_up else "down"
    assert refusal(path) == [
        f"{path}: boards[0].door_closed_level: a cut wire or an unplugged header reads CLOSED: "
        f"door_closed_level = {closed} is the level the pull-{pull} (door_pull_up = "
        f"{str(pull_up).lower()}) gives an input with nothing connected, so a door whose "
        f"sensor wire broke would look shut. Wire each switch so that a shut door reads "
        f"{1 - closed} (door_closed_level = {1 - closed})"
    ]


def test_both_rules_are_told_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, lock_active_high=False, door_closed_level=1)

    assert [line.split(": ")[1] for line in refusal(path)] == [
        "boards[0].lock_pins",
        "boards[0].door_closed_level",
    ]


# -- the power-on table and the examples --------------------------------------------------


def test_the_power_on_table_splits_the_header_at_bcm_9_on_every_pi_before_the_5() -> None:
    for model, (_, table) in PI_MODELS.items():
        levels = [power_on(model, pin).level for pin in range(28)]
        if table == "rp1":
            assert levels[4:] == [None] * 24, model
        else:
            assert levels == [1] * 9 + [0] * 19, model
        assert power_on(model, 2).fixed and power_on(model, 3).fixed


def test_the_gpio_example_config_is_safe_without_extra_resistors() -> None:
    config = load_config(ROOT / "config" / "gpio-pi.toml")
    options = config.boards[0].options

    assert options["held_off_pins"] == []
    assert options["lock_active_high"] is True
    assert all(power_on(options["pi_model"], pin).level == 0 for pin in options["lock_pins"])


def test_the_daemon_refuses_to_start_on_a_board_that_would_fire_at_power_on(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, lock_active_high=False)
    env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock")

    started = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--config", str(path)],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )  # fmt: skip

    assert started.returncode == 2
    assert started.stderr.splitlines()[-1].startswith(
        f"locker-kiosk: {path}: boards[0].lock_pins: GPIO 17 (lock 1) and 27 (lock 2) sit low "
    )
    assert not (tmp_path / "kiosk.db").exists()


# -- the Pi the daemon runs on ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "running", "same"),
    [
        ("4", "Raspberry Pi 4 Model B Rev 1.4", True),
        ("4", "Raspberry Pi 3 Model B Plus Rev 1.3", True),  # one table for Pi 1-4
        ("4", "Raspberry Pi 5 Model B Rev 1.0", False),
        ("4", "Raspberry Pi Compute Module 5 Rev 1.0", False),
        ("5", "Raspberry Pi 500 Rev 1.0", True),
        ("5", "Raspberry Pi Zero 2 W Rev 1.0", False),
        ("cm5", "Generic x86 board", True),  # not a Pi: nothing to compare
    ],
)
def test_the_running_pi_is_compared_by_its_pulls(model: str, running: str, same: bool) -> None:
    assert same_pulls(model, running) is same


def test_the_board_does_not_open_on_a_pi_with_other_pulls_than_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    import drivers.gpio.driver
    from drivers.base import BoardSpec, ChannelSpec
    from drivers.gpio import GpioDriver

    model_file = tmp_path / "model"
    model_file.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\0")
    monkeypatch.setattr(drivers.gpio.driver, "DEVICE_TREE_MODEL", model_file)
    previous, Device.pin_factory = Device.pin_factory, MockFactory()
    options = {"lock_pins": [17], "door_pins": [5], "pin_factory": "mock"}
    spec = BoardSpec("header", "gpio", (ChannelSpec(1, "A01"),), options=options)
    driver = GpioDriver(spec)
    try:
        with pytest.raises(DriverError) as refused:
            driver.open()
        assert refused.value.reason == (
            'pi_model = "4" (the Pi 4\'s power-on pulls), but this is a Raspberry Pi 5 Model B '
            "Rev 1.0: its pins start otherwise, so the wiring was checked against the wrong Pi; "
            "set pi_model to this Pi and check the config again"
        )
        assert Device.pin_factory.pins == {}  # nothing claimed, nothing driven
    finally:
        driver.close()
        Device.pin_factory.reset()
        Device.pin_factory = previous
