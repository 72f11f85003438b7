"""A technician on the bench with a laptop, the daemon stopped: ``locker-kiosk
modbus-board`` gives a new Modbus relay board its address and baud and reads them back,
and ``locker-kiosk scan-port`` finds the boards on a port, at any baud.

The boards are the emulators of ``hw_sim`` on pseudo-terminals, written from the public
register facts (address 0x4000, UART 0x2000, version 0x8000), hearing only frames sent
at their own baud, as a board on the wire does. Each command runs as its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from hw_sim.kerong_cu48_emu import Cu48BusEmulator
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.modbus_emu import ModbusBusEmulator, ModbusRelayEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink


def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for board in ("new", "other"):
        made.add_compartment(f"{board}-1", board, 1)
    return made


def new_board(bank: Bank, **settings: object) -> ModbusRelayEmulator:
    """A board as it leaves the factory: address 1, 9600 baud; deaf at other speeds."""
    return ModbusRelayEmulator(bank, "new", address=1, strict_baud=True, **settings)  # type: ignore[arg-type]


@pytest.fixture
def port(tmp_path: Path) -> Path:
    return tmp_path / "ttyRS485"


@pytest.fixture
def one_board(bank: Bank, port: Path) -> Iterator[ModbusRelayEmulator]:
    board = new_board(bank)
    with ModbusBusEmulator([board], link_path=port):
        yield board


# -- modbus-board ---------------------------------------------------------------------


def test_a_factory_board_reads_address_1_at_9600_baud(one_board: ModbusRelayEmulator,
                                                     port: Path) -> None:  # fmt: skip
    shown = kiosk("modbus-board", "read", "--port", str(port))

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"Modbus relay board: the board at address 1 on {port} (9600 baud):",
        "  address   1",
        "  baud      9600",
        "  parity    none (8N1)",
        "  firmware  2.00",
    ]


def test_a_new_address_is_set_and_read_back_there(one_board: ModbusRelayEmulator,
                                                 port: Path) -> None:  # fmt: skip
    changed = as_json(kiosk("modbus-board", "set-address", "5", "--port", str(port), "--json"))

    assert (changed["asked_at"], changed["address"]) == (1, 5)
    assert [unit.address for unit in one_board.units] == [5]
    # Nobody is at 1 any more; the only board on the line answers at address 0.
    gone = kiosk("modbus-board", "read", "--port", str(port))
    assert gone.returncode == 1
    assert gone.stderr.strip() == (
        "locker-kiosk: no board at address 1 answered register 0x4000: nothing came back"
    )
    alone = as_json(kiosk("modbus-board", "read", "--only-board", "--port", str(port), "--json"))
    assert (alone["asked_at"], alone["address"], alone["baud"]) == (0, 5, 9600)


def test_a_new_baud_is_spoken_after_a_power_cycle(
    bank: Bank, one_board: ModbusRelayEmulator, port: Path
) -> None:
    changed = kiosk("modbus-board", "set-baud", "19200", "--port", str(port))

    assert changed.returncode == 0, changed.stderr
    lines = changed.stdout.splitlines()
    assert lines[0] == (
        f"Modbus relay board: the board at address 1 on {port} (9600 baud): baud 19200 stored "
        "(read back at 9600 baud); the board talks at 19200 after a power cycle. Switch it "
        "off and on, then check with:"
    )
    assert lines[1] == f"  locker-kiosk modbus-board read --port {port} --baud 19200 --address 1"
    assert lines[-1] == (
        "Every board on one bus needs the same baud: set baud = 19200 for each board of "
        "this bus in the config."
    )
    assert kiosk("modbus-board", "read", "--port", str(port), "--baud", "19200").returncode == 1

    bank.kill_board("new")  # switched off ...
    bank.revive_board("new")  # ... and on

    after = as_json(kiosk("modbus-board", "read", "--port", str(port), "--baud", "19200", "--json"))
    assert (after["address"], after["baud"]) == (1, 19200)
    assert kiosk("modbus-board", "read", "--port", str(port)).returncode == 1  # not at 9600


def test_a_board_that_switches_baud_at_once_is_found_at_the_new_speed(
    bank: Bank, port: Path
) -> None:
    with ModbusBusEmulator([new_board(bank, baud_change="at_once")], link_path=port):
        changed = as_json(kiosk("modbus-board", "set-baud", "38400", "--port", str(port), "--json"))

    assert (changed["in_effect"], changed["baud"], changed["baud_code"]) == (True, 38400, 3)


def test_a_baud_the_boards_do_not_know_is_refused_before_anything_is_sent(
    one_board: ModbusRelayEmulator, port: Path
) -> None:
    refused = kiosk("modbus-board", "set-baud", "14400", "--port", str(port))

    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "locker-kiosk: a Modbus relay board knows the bauds 4800, 9600, 19200, 38400, 57600, "
        "115200, 128000, 256000, not 14400"
    )
    assert one_board.counters.requests == 0


def test_the_tool_refuses_a_port_the_daemon_holds(one_board: ModbusRelayEmulator,
                                                 port: Path) -> None:  # fmt: skip
    with serial.Serial(str(port), 9600, exclusive=True):  # as the daemon opens its ports
        refused = kiosk("modbus-board", "read", "--port", str(port))

    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("(is the daemon running? it holds the port)")


# -- scan-port ------------------------------------------------------------------------


def test_scan_port_finds_modbus_boards_at_every_baud(bank: Bank, port: Path) -> None:
    boards = [new_board(bank, baud=19200), ModbusRelayEmulator(bank, "other", address=7,
                                                               strict_baud=True)]  # fmt: skip
    with ModbusBusEmulator(boards, link_path=port):
        found = as_json(kiosk("scan-port", "--port", str(port), "--protocol", "modbus",
                              "--all-bauds", "--json"))  # fmt: skip
        shown = kiosk("scan-port", "--port", str(port), "--protocol", "modbus")

    assert found["found"] == [
        {"baud": 9600, "address": 7, "kind": "Modbus relay board", "driver": "modbus"},
        {"baud": 19200, "address": 1, "kind": "Modbus relay board", "driver": "modbus"},
    ]
    assert shown.stdout.splitlines() == [
        f"Found on {port}:",
        '  9600 baud, address 7: Modbus relay board (driver = "modbus")',
    ]
    assert shown.stderr.splitlines() == [
        f"{port} at 9600 baud: Modbus relay board at 1-32 ...",
        "  address 7: Modbus relay board",
    ]


def test_scan_port_finds_the_kerong_boards_and_says_when_nothing_answers(
    bank: Bank, tmp_path: Path
) -> None:
    link = PtyLink(tmp_path / "ttyKR")
    with KerongBusEmulator(bank, {0: "new", 3: "other"}, link).start():
        found = as_json(kiosk("scan-port", "--port", str(link.device), "--protocol", "kerong",
                              "--json"))  # fmt: skip
        silent = kiosk("scan-port", "--port", str(link.device), "--protocol", "modbus")

    assert [(f["baud"], f["address"], f["kind"]) for f in found["found"]] == [
        (19200, 0, "Kerong CU16"),
        (19200, 3, "Kerong CU16"),
    ]
    assert silent.returncode == 1
    assert silent.stdout.strip() == f"Nothing answered on {link.device} (at 9600 baud)."


def test_scan_port_finds_cu48_boards_by_their_own_status_request(
    bank: Bank, tmp_path: Path
) -> None:
    link = PtyLink(tmp_path / "ttyCU48")
    with Cu48BusEmulator(bank, {0: "new", 5: "other"}, link).start():
        found = as_json(kiosk("scan-port", "--port", str(link.device), "--protocol",
                              "kerong-cu48", "--json"))  # fmt: skip
        as_cu16 = kiosk("scan-port", "--port", str(link.device), "--protocol", "kerong")

    assert [(f["baud"], f["address"], f["kind"]) for f in found["found"]] == [
        (19200, 0, "Kerong CU48"),
        (19200, 5, "Kerong CU48"),
    ]
    assert as_cu16.returncode == 1  # a CU48 does not answer a CU16's status request
    assert as_cu16.stdout.strip() == f"Nothing answered on {link.device} (at 19200 baud)."
