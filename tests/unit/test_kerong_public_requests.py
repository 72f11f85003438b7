"""The emulated Kerong boards answer what public clients send, as real boards would.

Each request below is one a published Kerong client puts on the wire (docs/hardware.md
names them); each is sent raw on the emulator's pty, as that client would, and the
answer is checked byte for byte. Whether a board answers an unlock at all is a setting
of ``locker-kiosk sim``, of the config's ``[sim]`` table and of the control socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

from hw_sim.control import SimControl
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink
from kiosk.commands import cli
from kiosk.commands import sim as simulator
from kiosk.commands.sim import Simulator
from kiosk.config import load_config

BOARDS = {0: "top", 1: "bottom"}


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for board in BOARDS.values():
        for lock in range(1, 17):
            made.add_compartment(f"{board[0].upper()}{lock:02d}", board, lock)
    return made


@pytest.fixture
def emulator(bank: Bank, tmp_path: Path) -> Iterator[KerongBusEmulator]:
    # Latched locks read 0 on these boards, so boards with every door shut answer the
    # whole-bus status with the all-zero frames of the public example.
    made = KerongBusEmulator(bank, BOARDS, PtyLink(tmp_path / "ttyKR"), lock_closed_bit=0)
    yield made.start()
    made.close()


def ask(emulator: KerongBusEmulator, request: str, expect: int, timeout_s: float = 0.3) -> bytes:
    """Send ``request`` (hex) as a client would and read up to ``expect`` bytes."""
    with serial.Serial(emulator.device, timeout=timeout_s) as port:
        port.write(bytes.fromhex(request))
        return bytes(port.read(expect))


def test_a_status_request_with_a_lock_in_the_low_nibble_gets_the_boards_status(
    bank: Bank, emulator: KerongBusEmulator
) -> None:
    bank.open_door("T05")
    # lock 5 of board 0 asked for, as the clients that ask per lock send it
    assert ask(emulator, "02 04 30 03 39", 9).hex(" ") == "02 00 35 10 00 00 00 03 4a"


def test_that_form_gets_silence_where_the_emulator_is_told_boards_ignore_it(
    bank: Bank, tmp_path: Path
) -> None:
    strict = KerongBusEmulator(bank, BOARDS, PtyLink(tmp_path / "ttyS"), status_low_nibble=False)
    with strict:
        assert ask(strict, "02 04 30 03 39", 9, timeout_s=0.15) == b""
        assert len(ask(strict, "02 00 30 03 35", 9)) == 9


@pytest.mark.parametrize("request_", ["02 F0 32 03 27", "02 00 32 03 37"])
def test_the_whole_bus_status_is_answered_by_every_board_in_turn(
    emulator: KerongBusEmulator, request_: str
) -> None:
    answers = ask(emulator, request_, 18)
    assert [answers[:9].hex(" "), answers[9:].hex(" ")] == [
        "02 00 36 00 00 00 00 03 3b",
        "02 10 36 00 00 00 00 03 4b",
    ]


def test_a_silent_board_leaves_its_place_in_the_whole_bus_status_empty(
    bank: Bank, emulator: KerongBusEmulator
) -> None:
    emulator.set_silent(0)
    bank.open_door("B16")
    assert ask(emulator, "02 F0 32 03 27", 18).hex(" ") == "02 10 36 00 80 00 00 03 cb"


def test_unlock_all_fires_every_lock_of_that_board_and_answers_as_an_unlock(
    bank: Bank, emulator: KerongBusEmulator
) -> None:
    reply = ask(emulator, "02 10 33 03 48", 9)
    assert reply[:3].hex(" ") == "02 10 35"
    fired = {cid for cid, n in bank.fire_counts().items() if n}
    assert fired == {f"B{lock:02d}" for lock in range(1, 17)}


def test_the_unlock_time_is_answered_with_0x38_when_asked_and_after_it_is_set(
    emulator: KerongBusEmulator,
) -> None:
    assert ask(emulator, "02 00 37 03 3C", 7).hex(" ") == "02 00 38 00 32 03 6f"  # 500 ms
    assert ask(emulator, "02 00 37 00 64 03 A0", 7, timeout_s=0.15) == b""  # set: no answer
    assert emulator.energise_s(0) == 1.0
    assert ask(emulator, "02 00 37 03 3C", 7).hex(" ") == "02 00 38 00 64 03 a1"  # 1000 ms


def test_a_0x38_request_sent_after_an_unlock_gets_the_unlock_time(
    emulator: KerongBusEmulator,
) -> None:
    assert ask(emulator, "02 10 38 03 4D", 7).hex(" ") == "02 10 38 00 32 03 7f"


def test_an_unlock_gets_the_boards_status_unless_boards_are_set_not_to_answer(
    bank: Bank, emulator: KerongBusEmulator
) -> None:
    assert ask(emulator, "02 00 31 03 36", 9)[:3].hex(" ") == "02 00 35"
    emulator.reply_to_unlock = False
    assert ask(emulator, "02 01 31 03 37", 9, timeout_s=0.15) == b""
    assert {cid for cid, n in bank.fire_counts().items() if n} == {"T01", "T02"}


# -- the setting, from the command line, the config and the control socket ------------


def kerong_config(tmp_path: Path, sim_table: str = "") -> Path:
    path = tmp_path / "kiosk.toml"
    lines = [
        "[kiosk]", 'id = "SIM-1"', f"data_dir = {json.dumps(str(tmp_path / 'data'))}",
        "[[boards]]", 'name = "top"', 'driver = "kerong"', 'port = "bus0"', "address = 0",
        "[[compartments]]", 'id = "A01"', 'size = "S"', 'board = "top"', "lock = 1",
        sim_table,
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def unlock_answer(sim: Simulator) -> bytes:
    (emulator,) = sim.emulators
    return ask(emulator, "02 00 31 03 36", 9, timeout_s=0.15)


def test_the_configs_sim_table_and_the_control_socket_set_whether_boards_answer_an_unlock(
    tmp_path: Path,
) -> None:
    sim = Simulator(load_config(kerong_config(tmp_path, "[sim]\nunlock_reply = false")))
    try:
        sim.start()
        assert unlock_answer(sim) == b""
        SimControl(tmp_path / "data" / "sim.sock").set_unlock_reply(True)
        assert len(unlock_answer(sim)) == 9
    finally:
        sim.close()


def test_the_command_line_overrides_the_configs_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def run(config: object, *args: object, **kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(simulator, "run_simulator", run)
    path = kerong_config(tmp_path, "[sim]\nunlock_reply = true")
    assert cli.main(["sim", "--config", str(path), "--unlock-reply", "no"]) == 0
    assert seen["unlock_reply"] is False
    assert cli.main(["sim", "--config", str(path)]) == 0
    assert seen["unlock_reply"] is None  # the config's [sim] unlock_reply then
