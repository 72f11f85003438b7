"""The example configs in ``config/`` load as they are and describe what they say.

Each is a real installation a person may copy: it must pass the same checks the daemon
runs at start (every driver is built from its options, but no port or pin is opened).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kiosk.config import Config, load_config
from kiosk.phones import normalize_phone

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def boards_by_name(config: Config) -> dict[str, dict[str, object]]:
    return {
        b.name: {"driver": b.driver, "group": b.power_group, **b.options} for b in config.boards
    }


@pytest.mark.parametrize(
    "name", ["kerong.toml", "kerong-cu48.toml", "modbus.toml", "modbus-16-32.toml", "gpio-pi.toml"]
)
def test_example_config_loads(name: str) -> None:
    if name == "gpio-pi.toml":
        pytest.importorskip("gpiozero")  # the gpio driver is built to check its pins
    config = load_config(CONFIG_DIR / name)
    assert not config.demo
    assert config.compartments
    assert sum(c.accessible for c in config.compartments) == 2


@pytest.mark.parametrize(
    ("name", "typed", "sent"),
    [
        ("kerong.toml", "0151 12345678", "+4915112345678"),
        ("modbus.toml", "07911 123456", "+447911123456"),
        ("gpio-pi.toml", "07911 123456", "+447911123456"),
    ],
)
def test_example_config_takes_a_phone_number_as_its_country_writes_it(
    name: str, typed: str, sent: str
) -> None:
    if name == "gpio-pi.toml":
        pytest.importorskip("gpiozero")
    region = load_config(CONFIG_DIR / name).policy.phone_region
    assert normalize_phone(typed, region) == sent


def test_kerong_example_is_two_cu16_boards_on_one_bus_with_a_supply_each() -> None:
    config = load_config(CONFIG_DIR / "kerong.toml")
    boards = boards_by_name(config)
    assert {name: (b["driver"], b["address"], b["baud"]) for name, b in boards.items()} == {
        "left": ("kerong", 0, 19200),
        "right": ("kerong", 1, 19200),
    }
    assert len({b["port"] for b in boards.values()}) == 1
    assert str(boards["left"]["port"]).startswith("/dev/serial/by-id/")
    assert len({b["group"] for b in boards.values()}) == 2
    assert Counter(c.board for c in config.compartments) == {"left": 16, "right": 16}
    assert {c.size for c in config.compartments} == {"S", "M", "L", "XL"}


def test_modbus_example_has_a_d_board_and_a_relay_board_with_an_input_board() -> None:
    config = load_config(CONFIG_DIR / "modbus.toml")
    boards = boards_by_name(config)
    assert boards["top"]["baud"] == boards["bottom"]["baud"] == 9600
    assert boards["top"]["port"] == boards["bottom"]["port"]
    assert (boards["top"]["address"], boards["top"]["input_address"]) == (1, 0)
    assert (boards["bottom"]["address"], boards["bottom"]["input_address"]) == (2, 3)
    assert Counter(c.board for c in config.compartments) == {"top": 8, "bottom": 8}


def test_cu48_example_is_one_board_of_48_locks_with_the_uncertain_points_at_their_defaults() -> (
    None
):
    config = load_config(CONFIG_DIR / "kerong-cu48.toml")
    (board,) = config.board_specs()
    assert (board.driver, board.options["address"], board.options["baud"]) == (
        "kerong-cu48", 0, 19200,
    )  # fmt: skip
    assert [c.lock for c in board.channels] == list(range(1, 49))
    assert board.options["frame_layout"] == "board-lock"
    assert board.options["item_sensors"] is False
    assert board.options["unlock_ms"] == 500


def test_modbus_16_32_example_shares_one_input_board_between_two_16_channel_boards() -> None:
    config = load_config(CONFIG_DIR / "modbus-16-32.toml")
    boards = boards_by_name(config)
    assert {name: b["channels"] for name, b in boards.items()} == {
        "top": 16, "bottom": 16, "wall": 32,
    }  # fmt: skip
    read_from = {name: (b["input_address"], b["input_first"]) for name, b in boards.items()}
    assert read_from == {"top": (9, 1), "bottom": (9, 17), "wall": (10, 1)}
    assert len({b["port"] for b in boards.values()}) == 1
    assert Counter(c.board for c in config.compartments) == {"top": 16, "bottom": 16, "wall": 32}


def test_gpio_example_wires_eight_locks_and_eight_reed_switches() -> None:
    pytest.importorskip("gpiozero")
    config = load_config(CONFIG_DIR / "gpio-pi.toml")
    (board,) = config.board_specs()
    assert len(board.options["lock_pins"]) == len(board.options["door_pins"]) == 8
    assert not set(board.options["lock_pins"]) & set(board.options["door_pins"])
    assert board.options["door_pull_up"] and board.options["door_closed_level"] == 0
    assert [c.lock for c in board.channels] == list(range(1, 9))


def test_the_fleet_section_shown_in_the_full_example_loads_once_uncommented(
    tmp_path: Path,
) -> None:
    import re

    text = (CONFIG_DIR / "example-full.toml").read_text()
    start = text.index("# [fleet]")
    fleet = re.sub(r"^# (\[fleet\]|[a-z_]+ = .*)$", r"\1", text[start:], flags=re.M)
    path = tmp_path / "with-fleet.toml"
    path.write_text(text[:start] + fleet)
    config = load_config(path)
    assert config.fleet.enabled and config.fleet.tls
    assert config.fleet.host_port == ("broker.example.net", 8883)


def test_the_full_example_is_what_config_schema_writes_from_the_schema() -> None:
    import contextlib
    import io

    from kiosk.commands.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["config-schema", "--example"]) == 0
    checked_in = (CONFIG_DIR / "example-full.toml").read_text(encoding="utf-8")
    assert checked_in == out.getvalue(), (
        "config/example-full.toml is not what the schema in kiosk/config gives: "
        "locker-kiosk config-schema --example > config/example-full.toml"
    )
