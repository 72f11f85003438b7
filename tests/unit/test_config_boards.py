"""The config file's boards: driver options checked against the driver, what two boards
cannot share (a name, a GPIO pin; the rest in test_config_claims.py), and the specs
drivers are built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.base import BoardSpec, ChannelSpec
from kiosk.config import load_config
from tests.unit.config_files import problems_of, write_config

pytestmark = pytest.mark.usefixtures("fake_drivers")


def test_unknown_driver_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "zigbee"')

    (problem,) = problems_of(path)

    assert problem.startswith(f"{path}: boards[1].driver: unknown driver 'zigbee' (")
    assert "fake" in problem


def test_driver_that_cannot_be_loaded_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "broken"')

    (problem,) = problems_of(path)

    assert problem.startswith(f"{path}: boards[1].driver: driver 'broken' cannot be loaded: ")


def test_driver_options_are_checked_against_the_driver(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[boards]]\nname = "low"\ndriver = "fake"\nbuad = 9600\ncrc = 1\nbaud = true\n'
        'reply_timeout_s = "fast"',
    )

    assert sorted(problems_of(path)) == [
        f"{path}: boards[1].baud: must be an integer, got true (boolean)",
        f"{path}: boards[1].buad: unknown option for driver 'fake' (did you mean 'baud'?)",
        f"{path}: boards[1].crc: must be true or false, got 1 (integer)",
        f"{path}: boards[1].reply_timeout_s: must be a number, got 'fast' (string)",
    ]


def test_driver_options_accept_an_integer_for_a_number(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "fake"\nreply_timeout_s = 1')
    )

    assert config.boards[1].options["reply_timeout_s"] == 1.0
    assert config.boards[1].options["baud"] == 19200


def test_array_options_are_checked_element_by_element(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, "5", true]\n'
        '[[boards]]\nname = "aux"\ndriver = "pinned"\npins = 6',
    )

    assert sorted(problems_of(path)) == [
        f"{path}: boards[1].pins[1]: must be an integer, got '5' (string)",
        f"{path}: boards[1].pins[2]: must be an integer, got true (boolean)",
        f"{path}: boards[2].pins: must be an array, got 6 (integer)",
    ]


def test_array_option_of_integers_is_accepted(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, 5]')
    )

    assert config.boards[1].options["pins"] == [4, 5]


def test_what_a_driver_refuses_to_be_built_from_is_a_config_problem(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, 4]')

    assert problems_of(path) == [f"{path}: boards[1]: a pin is listed twice"]


def test_one_gpio_pin_on_two_boards_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, 17]\n'
        '[[boards]]\nname = "aux"\ndriver = "pinned"\npins = [18, 17]',
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: GPIO 17 (pins[1]) is already used by board 'low' (pins[1])"
    ]


def test_duplicate_board_name_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "top"\ndriver = "fake"')

    assert problems_of(path) == [
        f"{path}: boards[1].name: board 'top' is already defined by boards[0]"
    ]


def test_board_specs_give_each_driver_its_channels(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            '[[boards]]\nname = "low"\ndriver = "fake"\npower_group = "aux"\nport = "/dev/ttyS1"'
            '\n\n[[compartments]]\nid = "B01"\nsize = "XL"\nboard = "low"\nlock = 1',
            kiosk='id = "T-1"\ndata_dir = "/srv/locker"',
        )
    )

    top, low = config.board_specs()

    assert top == BoardSpec(
        name="top",
        driver="fake",
        channels=(ChannelSpec(1, "A01"), ChannelSpec(2, "A02")),
        power_group="main",
        options={"port": "/dev/ttyUSB0", "baud": 19200, "reply_timeout_s": 0.2, "crc": True},
        data_dir=Path("/srv/locker"),
    )
    assert low.channels == (ChannelSpec(1, "B01"),)
    assert low.power_group == "aux"
    assert low.options["port"] == "/dev/ttyS1"
