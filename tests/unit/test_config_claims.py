"""The config file: what two boards cannot share, with the real drivers' claims (a bus
address, a bus's baud and rs485, a port's protocol, a GPIO pin), and a serial scanner's
port. Each refusal is one line naming the file, the later board and what it clashes with."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from tests.unit.config_files import problems_of, write_config

pytestmark = pytest.mark.usefixtures("fake_drivers")

WRONG_DOOR = "two boards at one address answer as one, and a lock fired for one would open the " \
    "other's door"  # fmt: skip


def board(name: str, driver: str, **options: object) -> str:
    lines = [f'name = "{name}"', f'driver = "{driver}"']
    for key, value in options.items():
        shown = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
        lines.append(f"{key} = {shown}")
    return "[[boards]]\n" + "\n".join(lines) + "\n"


def compartment(cid: str, on: str, lock: int) -> str:
    return f'[[compartments]]\nid = "{cid}"\nsize = "M"\nboard = "{on}"\nlock = {lock}\n'


def test_two_kerong_boards_at_one_address_on_one_port_are_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        board("left", "kerong", port="/dev/ttyUSB0", address=0)
        + board("right", "kerong", port="/dev/ttyUSB0", address=0)
        + compartment("B01", "left", 1)
        + compartment("C01", "right", 1),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: address 0 on port /dev/ttyUSB0 is already used by board 'left' "
        f"(address): {WRONG_DOOR}"
    ]


def test_one_port_by_two_names_is_one_bus(tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB7"
    device.touch()
    (tmp_path / "by-id").symlink_to(device)
    path = write_config(
        tmp_path,
        board("left", "kerong", port=str(tmp_path / "by-id"), address=3)
        + board("right", "kerong", port=str(device), address=3),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: address 3 on port {device} (the same device as "
        f"{tmp_path / 'by-id'}) is already used by board 'left' (address): {WRONG_DOOR}"
    ]


def test_kerong_boards_at_their_own_addresses_or_on_their_own_ports_pass(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            board("left", "kerong", port="/dev/ttyUSB0", address=0)
            + board("right", "kerong", port="/dev/ttyUSB0", address=1)
            + board("far", "kerong", port="/dev/ttyUSB1", address=0),
        )
    )

    assert [b.name for b in config.boards] == ["top", "left", "right", "far"]


def test_a_modbus_board_reading_doors_at_another_boards_address_is_refused(
    tmp_path: Path,
) -> None:
    path = write_config(
        tmp_path,
        board("upper", "modbus", port="/dev/ttyUSB0", address=2, input_address=3)
        + board("inputs", "modbus", port="/dev/ttyUSB0", address=3),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: address 3 on port /dev/ttyUSB0 is already used by board 'upper' "
        f"(input_address): {WRONG_DOOR}"
    ]


def test_two_relay_boards_reading_their_doors_from_one_input_board_pass(tmp_path: Path) -> None:
    lockers = "".join(compartment(f"L{n}", "left", n) + compartment(f"R{n}", "right", n)
                      for n in range(1, 9))  # fmt: skip
    path = write_config(
        tmp_path,
        board("left", "modbus", port="/dev/ttyUSB0", address=1, input_address=9)
        + board("right", "modbus", port="/dev/ttyUSB0", address=2, input_address=9, input_first=9)
        + lockers,
    )

    config = load_config(path)
    assert [b.options["input_first"] for b in config.boards[1:]] == [1, 9]


def test_two_relay_boards_reading_one_input_for_their_doors_are_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        board("left", "modbus", port="/dev/ttyUSB0", address=1, input_address=9)
        + board("right", "modbus", port="/dev/ttyUSB0", address=2, input_address=9, input_first=8)
        + compartment("L8", "left", 8)
        + compartment("R1", "right", 1),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: input 8 of input_address 9 on port /dev/ttyUSB0 is already read "
        "by board 'left': one door input read for two boards would be taken for either "
        "board's door"
    ]


@pytest.mark.parametrize("driver", ["kerong", "modbus"])
def test_two_bauds_on_one_bus_are_refused_for_every_bus_driver(tmp_path: Path, driver: str) -> None:
    path = write_config(
        tmp_path,
        board("a", driver, port="/dev/ttyUSB0", address=1, baud=9600)
        + board("b", driver, port="/dev/ttyUSB0", address=2, baud=19200)
        + board("c", driver, port="/dev/ttyUSB1", address=2, baud=19200),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: baud = 19200 on port /dev/ttyUSB0, where board 'a' has "
        "baud = 9600: every board on one bus needs the same baud"
    ]


@pytest.mark.parametrize("driver", ["kerong", "modbus"])
def test_kernel_rs485_mode_on_for_one_board_of_a_bus_only_is_refused(
    tmp_path: Path, driver: str
) -> None:
    path = write_config(
        tmp_path,
        board("a", driver, port="/dev/ttyAMA0", address=1)
        + board("b", driver, port="/dev/ttyAMA0", address=2, rs485=True),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: rs485 = true on port /dev/ttyAMA0, where board 'a' has "
        "rs485 = false: every board on one bus needs the same rs485"
    ]


def test_a_port_used_by_kerong_and_modbus_boards_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        board("lockers", "kerong", port="/dev/ttyUSB0", address=1)
        + board("relays", "modbus", port="/dev/ttyUSB0", address=2),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: port /dev/ttyUSB0 is already the kerong bus of board 'lockers': "
        "a modbus board cannot share it (one bus speaks one protocol)"
    ]


def test_a_port_used_by_a_cu16_and_a_cu48_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        board("small", "kerong", port="/dev/ttyUSB0", address=1)
        + board("wall", "kerong-cu48", port="/dev/ttyUSB0", address=2)
        + compartment("B01", "wall", 48),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: port /dev/ttyUSB0 is already the kerong bus of board 'small': "
        "a kerong-cu48 board cannot share it (one bus speaks one protocol)"
    ]


def test_every_clash_of_one_board_is_its_own_line(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        board("left", "kerong", port="/dev/ttyUSB0", address=4)
        + board("right", "kerong", port="/dev/ttyUSB0", address=4, baud=9600),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: baud = 9600 on port /dev/ttyUSB0, where board 'left' has "
        "baud = 19200: every board on one bus needs the same baud",
        f"{path}: boards[2]: address 4 on port /dev/ttyUSB0 is already used by board 'left' "
        f"(address): {WRONG_DOOR}",
    ]


def test_a_serial_scanner_on_a_boards_bus_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        board("lockers", "kerong", port="/dev/ttyUSB0", address=1)
        + '[scanner]\nbackend = "serial"\ndevice = "/dev/ttyUSB0"\n',
    )

    assert problems_of(path) == [
        f"{path}: scanner.device: port /dev/ttyUSB0 is already the kerong bus of board "
        "'lockers': a serial scanner needs a port of its own"
    ]


def test_a_gpio_pin_used_twice_within_one_board_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, board("header", "gpio", lock_pins=[17, 27], door_pins=[22, 17]))

    assert problems_of(path) == [
        f"{path}: boards[1]: GPIO 17 is used twice: lock_pins[0] and door_pins[1]"
    ]


def test_a_gpio_pin_used_by_two_gpio_boards_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        board("left", "gpio", lock_pins=[17, 27], door_pins=[22, 23])
        + board("right", "gpio", lock_pins=[9, 10], door_pins=[23, 24], item_pins=[12, 13]),
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: GPIO 23 (door_pins[0]) is already used by board 'left' (door_pins[1])"
    ]
