"""One kiosk, three drivers, two buses of two boards each, two power supplies.

A Kerong bus with two CU16 boards and a Modbus bus with two relay boards (the second
reading its doors from an input board at its own address) are emulated by
``locker-kiosk sim`` on two pseudo-terminals; a ``sim`` board runs inside the daemon.
Each supply (power group) feeds boards of every kind. Couriers deposit into every
board at once, so unlocks of one group queue behind each other while the other group
fires beside them. The fire log (one line per fire, ``<wall time> <board> <lock>
<compartment>``, written by the emulators and the sim board alike) must show each door
fired once, and the banks' coil histories (when each coil really was on, as the board
timed it: a Kerong board holds its coil for its energise time, a Modbus relay for its
flash) that no two coils of one power group were ever on together, and that the gap
between them was kept.
"""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hw_sim.control import SimControl
from kiosk.protocol.client import ApiClient
from testkit.daemon import COURIER

PULSE_S = 0.2
GAP_S = 0.1
GROUPS = {"left": ("kr0", "mb1", "sim"), "right": ("kr1", "mb2")}
DRIVERS = {"kr0": "kerong", "kr1": "kerong", "mb1": "modbus", "mb2": "modbus", "sim": "sim"}

CONFIG = f"""
demo = true  # the file back end (the simulated recipients' inbox) is for demo kiosks
[kiosk]
id = "MIXED-01"
data_dir = "{{data}}"
socket = "{{data}}/api.sock"
[doors]
open_timeout_s = 3.0
remind_after_s = 5
left_open_after_s = 10
poll_hz = 20
[locks]
pulse_ms = {int(PULSE_S * 1000)}
gap_ms = {int(GAP_S * 1000)}
[notify]
backend = "file"
[notify.file]
path = "inbox.jsonl"

# One size per board, so a deposit's size picks its board.
[[sizes]]
name = "K0"
width_mm = 400
height_mm = 100
depth_mm = 500
[[sizes]]
name = "K1"
width_mm = 400
height_mm = 150
depth_mm = 500
[[sizes]]
name = "M1"
width_mm = 400
height_mm = 200
depth_mm = 500
[[sizes]]
name = "M2"
width_mm = 400
height_mm = 250
depth_mm = 500
[[sizes]]
name = "SIM"
width_mm = 400
height_mm = 300
depth_mm = 500

# The Kerong bus: the board's energise time is set to the pulse (command 0x37).
[[boards]]
name = "kr0"
driver = "kerong"
power_group = "left"
port = "kerong-bus"
address = 0
energise_ms = {int(PULSE_S * 1000)}
[[boards]]
name = "kr1"
driver = "kerong"
power_group = "right"
port = "kerong-bus"
address = 1
energise_ms = {int(PULSE_S * 1000)}

# The Modbus bus: a relay (D) board, and a relay board with an input board at 3.
[[boards]]
name = "mb1"
driver = "modbus"
power_group = "left"
port = "modbus-bus"
address = 1
[[boards]]
name = "mb2"
driver = "modbus"
power_group = "right"
port = "modbus-bus"
address = 2
input_address = 3

# In the daemon, on a bank of its own; its fires go to the same fire log.
[[boards]]
name = "sim"
driver = "sim"
power_group = "left"
close_delay_s = 0.5
state_file = "sim-board-state.json"
control_socket = "sim-board.sock"

{{compartments}}
"""

LAYOUT = [  # (compartment, size, board, lock)
    (f"{letter}0{lock}", size, board, lock)
    for letter, size, board in (
        ("A", "K0", "kr0"),
        ("B", "K1", "kr1"),
        ("C", "M1", "mb1"),
        ("D", "M2", "mb2"),
        ("E", "SIM", "sim"),
    )
    for lock in (1, 2)
]
BOARD_OF = {cid: board for cid, _, board, _ in LAYOUT}


def compartment(cid: str, size: str, board: str, lock: int) -> str:
    return f'[[compartments]]\nid = "{cid}"\nsize = "{size}"\nboard = "{board}"\nlock = {lock}\n'


def kiosk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "kiosk", *args]
    return subprocess.run(command, input=stdin, text=True, capture_output=True, timeout=60)


@dataclass
class Mixed:
    root: Path
    client: ApiClient
    emulated: SimControl  # the bank behind the Kerong and Modbus emulators
    simulated: SimControl  # the sim board's bank, in the daemon


@dataclass(frozen=True)
class Fire:
    at: float
    board: str
    lock: int
    compartment: str


@pytest.fixture
def mixed() -> Iterator[Mixed]:
    root = Path(tempfile.mkdtemp(prefix="lk-mixed-", dir="/tmp"))
    data = root / "data"
    config = root / "kiosk.toml"
    layout = "".join(compartment(*c) for c in LAYOUT)
    config.write_text(CONFIG.format(data=data, compartments=layout))
    added = kiosk("users", "--config", str(config), "add", "carla", "--role", "courier",
                  "--pin-stdin", stdin=COURIER[1] + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    sim = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "sim", "--config", str(config), "--close-delay", "0.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    daemon = None
    try:
        assert sim.stdout is not None
        lines = [sim.stdout.readline() for _ in range(3)]
        assert any(line.startswith("modbus bus") and "'mb2' (address 2)" in line for line in lines)
        assert any(line.startswith("kerong bus") and "'kr1' (address 1)" in line for line in lines)
        daemon = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "run", "--config", str(config),
             "--ready-file", str(root / "ready")],
            stderr=open(root / "daemon.log", "w"),  # noqa: SIM115 - the child owns it
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not (root / "ready").exists():
            log = (root / "daemon.log").read_text()
            assert daemon.poll() is None and time.monotonic() < deadline, log
            time.sleep(0.05)
        yield Mixed(
            root,
            ApiClient(str(data / "api.sock")),
            SimControl(str(data / "sim.sock")),
            SimControl(str(data / "sim-board.sock")),
        )
    finally:
        for proc in (daemon, sim):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
        shutil.rmtree(root, ignore_errors=True)


def deposit_everywhere_at_once(client: ApiClient) -> list[dict[str, Any]]:
    """Ten couriers' deposits at once, two per board: the final view of each."""
    courier = ApiClient(client.socket)
    courier.sign_in(COURIER[1], user=COURIER[0])

    def deposit(number: int, size: str) -> dict[str, Any]:
        mine = ApiClient(client.socket, token=courier.token)
        body = {"barcode": f"MIX-{number}", "size": size, "phone": "+4915112345678"}
        view = mine.post("/v1/deposits", body)
        return mine.wait_operation(view["operation"], until_done=True)

    sizes = [size for _, size, _, _ in LAYOUT]
    with ThreadPoolExecutor(len(sizes)) as pool:
        return list(pool.map(deposit, range(len(sizes)), sizes))


def fires(root: Path) -> list[Fire]:
    lines = (root / "data" / "sim-fires.log").read_text().splitlines()
    fields = (line.split() for line in lines)
    return [Fire(float(at), board, int(lock), cid) for at, board, lock, cid in fields]


@dataclass(frozen=True, order=True)
class Coil:
    on: float  # monotonic, shared by the simulator's process and the daemon's
    off: float
    board: str
    lock: int


def coil_history(mixed: Mixed, board: str) -> list[Coil]:
    """When ``board``'s coils were on, from the bank behind it."""
    bank = mixed.simulated if DRIVERS[board] == "sim" else mixed.emulated
    return [Coil(on, off, board, lock) for lock, on, off in bank.coil_history(board)]


def events_by_compartment(client: ApiClient, kind: str) -> dict[str, float]:
    events = client.get("/v1/events", limit=10000)["events"]
    return {e["compartment"]: e["ts"] for e in events if e["kind"] == kind}


def test_every_board_of_every_driver_answers_on_its_bus(mixed: Mixed) -> None:
    boards = {b["name"]: b for b in mixed.client.get("/v1/status")["boards"]}
    assert {n: (b["driver"], b["online"]) for n, b in boards.items()} == {
        name: (driver, True) for name, driver in DRIVERS.items()
    }
    doors = {c["id"]: c["door"] for c in mixed.client.get("/v1/compartments")["compartments"]}
    assert doors == dict.fromkeys(BOARD_OF, "CLOSED")


def test_deposits_into_every_kind_of_board_never_overlap_two_fires_of_one_supply(
    mixed: Mixed,
) -> None:
    views = deposit_everywhere_at_once(mixed.client)

    assert sorted(v["compartment"] for v in views) == sorted(BOARD_OF)
    assert {v["status"] for v in views} == {"CLOSED"}
    fired = fires(mixed.root)
    assert sorted(f.compartment for f in fired) == sorted(BOARD_OF)  # each door fired once
    assert all(BOARD_OF[f.compartment] == f.board for f in fired)
    # Every fire lies between its operation's intent (committed before the fire) and the
    # door seen open: the log's lines are the deposits' fires, not stray ones.
    unlocked = events_by_compartment(mixed.client, "unlock")
    opened = events_by_compartment(mixed.client, "door_opened")
    for fire in fired:
        assert unlocked[fire.compartment] - 0.05 <= fire.at <= opened[fire.compartment] + 0.05
    for group, boards in GROUPS.items():
        coils = sorted(coil for board in boards for coil in coil_history(mixed, board))
        assert len(coils) == 2 * len(boards)
        for earlier, later in itertools.pairwise(coils):
            assert later.on >= earlier.off + GAP_S - 0.01, (group, earlier, later)
    items = {**mixed.emulated.snapshot(), **mixed.simulated.snapshot()}
    assert all(items[cid]["item"] for cid in BOARD_OF)
