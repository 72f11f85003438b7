"""The daemon's real serial drivers against emulated boards: two Kerong CU16 boards on
one bus, a Kerong CU48 on another, and on a third a Modbus relay (D) board beside a
16-channel relay board whose doors are inputs 17-32 of an input board, each bus on a
pseudo-terminal from ``locker-kiosk sim``. The two CU16 boards are wired with opposite
lock-feedback polarity (``lock_closed_bit``), as boards on one bus may be: the emulator
answers each board in its own."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hw_sim.control import SimControl
from kiosk.protocol.client import ApiClient
from testkit.daemon import COURIER

CONFIG = """
demo = true  # the file back end (the simulated recipients' inbox) is for demo kiosks
[kiosk]
id = "EMU-01"
data_dir = "{data}"
socket = "{data}/api.sock"
[doors]
open_timeout_s = 2.0
remind_after_s = 5
left_open_after_s = 10
poll_hz = 20
[locks]
pulse_ms = 100
gap_ms = 20
[notify]
backend = "file"
[notify.file]
path = "inbox.jsonl"
[[boards]]
name = "top"
driver = "kerong"
port = "bus0"
address = 0
[[boards]]
name = "middle"
driver = "kerong"
port = "bus0"
address = 3
lock_closed_bit = 0
[[boards]]
name = "relays"
driver = "modbus"
port = "relays"
address = 7
[[boards]]
name = "big"
driver = "kerong-cu48"
port = "cu48bus"
address = 1
[[boards]]
name = "wide"
driver = "modbus"
port = "relays"
address = 4
channels = 16
input_address = 9
input_first = 17
{compartments}
"""


def compartment(cid: str, size: str, board: str, lock: int) -> str:
    return f'[[compartments]]\nid = "{cid}"\nsize = "{size}"\nboard = "{board}"\nlock = {lock}\n'


LAYOUT = (
    [(f"A0{i}", "S", "top", i) for i in (1, 2)]
    + [(f"B0{i}", "M", "middle", i) for i in (1, 2)]
    + [(f"C0{i}", "L", "relays", i) for i in (1, 2)]
    + [("D01", "XL", "big", 48), ("E01", "XL", "wide", 16)]
)


def kiosk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], input=stdin, text=True,
                          capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture
def emulated() -> Iterator[tuple[Path, ApiClient, SimControl]]:
    root = Path(tempfile.mkdtemp(prefix="lk-emu-", dir="/tmp"))
    data = root / "data"
    config = root / "kiosk.toml"
    config.write_text(CONFIG.format(data=data, compartments="".join(
        compartment(*c) for c in LAYOUT)))  # fmt: skip
    assert kiosk("users", "--config", str(config), "add", "carla", "--role", "courier",
                 "--pin-stdin", stdin=COURIER[1] + "\n").returncode == 0  # fmt: skip
    sim = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "--config", str(config),
                            "--close-delay", "0.5"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    daemon = None
    try:
        assert sim.stdout is not None
        lines = [sim.stdout.readline() for _ in range(4)]
        assert any("kerong bus" in line and "'middle' (address 3)" in line for line in lines)
        assert any("kerong-cu48 bus" in line and "'big' (address 1)" in line for line in lines)
        assert any("input board (address 9)" in line for line in lines)
        daemon = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "run",
                "--config",
                str(config),
                "--ready-file",
                str(root / "ready"),
            ],
            stderr=open(root / "daemon.log", "w"),  # noqa: SIM115 - the child owns it
        )
        deadline = time.monotonic() + 20
        while not (root / "ready").exists():
            assert daemon.poll() is None and time.monotonic() < deadline, (
                root / "daemon.log"
            ).read_text()
            time.sleep(0.05)
        yield root, ApiClient(str(data / "api.sock")), SimControl(str(data / "sim.sock"))
    finally:
        for proc in (daemon, sim):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
        shutil.rmtree(root, ignore_errors=True)


def test_every_board_answers_through_its_real_driver(emulated: tuple) -> None:
    _, client, _ = emulated
    boards = {b["name"]: b for b in client.get("/v1/status")["boards"]}
    assert {n: (b["driver"], b["online"]) for n, b in boards.items()} == {
        "top": ("kerong", True),
        "middle": ("kerong", True),
        "relays": ("modbus", True),
        "big": ("kerong-cu48", True),
        "wide": ("modbus", True),
    }
    assert boards["top"]["stats"]["replies_ok"] > 0
    doors = {c["id"]: c["door"] for c in client.get("/v1/compartments")["compartments"]}
    assert set(doors.values()) == {"CLOSED"}


def test_deposit_and_pickup_open_the_right_doors_on_each_kind_of_board(emulated: tuple) -> None:
    root, client, sim = emulated
    courier = ApiClient(client.socket)
    courier.sign_in(COURIER[1], user=COURIER[0])
    for barcode, size, door, _board in (("KR-1", "M", "B01", "middle"),
                                       ("MB-1", "L", "C01", "relays"),
                                       ("CU48-1", "XL", "D01", "big"),
                                       ("MB16-1", "XL", "E01", "wide")):  # fmt: skip
        view = courier.post("/v1/deposits", {"barcode": barcode, "size": size,
                                             "phone": "+4915112345678"})  # fmt: skip
        assert view["compartment"] == door
        courier.wait_operation(view["operation"], until_done=True)
    fires = [
        line.split()[1:] for line in (root / "data" / "sim-fires.log").read_text().splitlines()
    ]
    assert fires == [["middle", "1", "B01"], ["relays", "1", "C01"], ["big", "48", "D01"],
                     ["wide", "16", "E01"]]  # fmt: skip
    assert all(sim.snapshot()[door]["item"] for door in ("B01", "C01", "D01", "E01"))
