"""The technician commissions a bank: ``lockerctl scan-bus`` finds the boards on a bus,
``lockerctl discover`` fires every channel and proposes the compartment map, the channels
the config leaves out included, and ``lockerctl status`` shows each board's counters.

The boards are emulated by ``locker-kiosk sim --all-channels``: every channel of each
board has a door behind it, while the config lists only a few, as on a bank whose config
is being written.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hw_sim.control import SimControl
from kiosk.protocol.client import ApiClient
from testkit.api import refused
from testkit.daemon import COURIER, TECHNICIAN, Daemon, running_daemon

CONFIG = """
demo = true  # the file back end (the simulated recipients' inbox) is for demo kiosks
[kiosk]
id = "EMU-02"
data_dir = "{data}"
socket = "{data}/api.sock"
[doors]
open_timeout_s = 1.0
remind_after_s = 5
left_open_after_s = 10
debounce_ms = 20
debounce_polls = 2
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
[[boards]]
name = "relays"
driver = "modbus"
port = "relays"
address = 7
[[compartments]]
id = "A01"
size = "S"
board = "top"
lock = 1
[[compartments]]
id = "A02"
size = "M"
board = "top"
lock = 2
accessible = true
[[compartments]]
id = "B01"
size = "L"
board = "middle"
lock = 1
[[compartments]]
id = "C01"
size = "L"
board = "relays"
lock = 1
"""
USERS = (((TECHNICIAN[0], TECHNICIAN[1]), "technician"), ((COURIER[0], COURIER[1]), "courier"))


@dataclass
class Bench:
    root: Path
    data: Path
    sim: SimControl

    def ctl(self, *args: str, pin: str | None = TECHNICIAN[1]) -> subprocess.CompletedProcess[str]:
        """lockerctl, signing in (when it does) as the person whose PIN ``pin`` is."""
        env = dict(os.environ, LOCKER_SOCKET=str(self.data / "api.sock"))
        env.pop("LOCKER_PIN", None)
        if pin is not None:
            env["LOCKER_PIN"] = pin
            env["LOCKER_USER"] = next(name for (name, p), _ in USERS if p == pin)
        command = [sys.executable, "-m", "kiosk.lockerctl", *args]
        return subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL
        )

    def client(self) -> ApiClient:
        return ApiClient(str(self.data / "api.sock"))


def kiosk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], input=stdin, text=True,
                          capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture
def bench() -> Iterator[Bench]:
    root = Path(tempfile.mkdtemp(prefix="lk-tools-", dir="/tmp"))
    data = root / "data"
    config = root / "kiosk.toml"
    config.write_text(CONFIG.format(data=data))
    for (name, pin), role in USERS:
        added = kiosk("users", "--config", str(config), "add", name, "--role", role,
                      "--pin-stdin", stdin=pin + "\n")  # fmt: skip
        assert added.returncode == 0, added.stderr
    sim = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "--config", str(config),
                            "--close-delay", "0.3", "--all-channels"], stdout=subprocess.PIPE,
                           text=True)  # fmt: skip
    daemon = None
    try:
        assert sim.stdout is not None
        lines = [sim.stdout.readline() for _ in range(3)]
        assert any("control socket" in line for line in lines), lines
        log = open(root / "daemon.log", "w")  # noqa: SIM115 - the child owns it
        daemon = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--config", str(config),
                                   "--ready-file", str(root / "ready")], stderr=log)  # fmt: skip
        deadline = time.monotonic() + 20
        while not (root / "ready").exists():
            assert daemon.poll() is None and time.monotonic() < deadline, (
                root / "daemon.log"
            ).read_text()
            time.sleep(0.05)
        yield Bench(root, data, SimControl(str(data / "sim.sock")))
    finally:
        for proc in (daemon, sim):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
        shutil.rmtree(root, ignore_errors=True)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


# -- scan-bus -------------------------------------------------------------------------


def test_scan_bus_names_the_boards_answering_on_the_kerong_bus(bench: Bench) -> None:
    bus0 = bench.data / "bus0"
    shown = ok(bench.ctl("scan-bus", "top")).splitlines()
    assert shown == [
        f"[1/1] {bus0} (kerong, 19200 baud), Kerong CU16 at 0-15: 2 answering",
        "Scanned 1 bus:",
        f"  {bus0} (kerong, 19200 baud; 'top', 'middle'):",
        "    address 0: Kerong CU16, board 'top'",
        "    address 3: Kerong CU16, board 'middle'",
    ]

    answer = bench.client()
    answer.sign_in(TECHNICIAN[1], user=TECHNICIAN[0])
    scan = answer.post("/v1/boards/middle/scan-bus")
    assert [(a["address"], a["board"], a["kinds"]) for a in scan["addresses"]] == [
        (0, "top", ["Kerong CU16"]),
        (3, "middle", ["Kerong CU16"]),
    ]
    assert scan["missing"] == []


def test_scan_bus_finds_the_modbus_board_and_a_silent_board_fails_the_scan(bench: Bench) -> None:
    assert ok(bench.ctl("scan-bus", "relays")).splitlines()[-1] == (
        "    address 7: Modbus relay board, board 'relays'"
    )

    bench.sim.kill_board("middle")
    result = bench.ctl("scan-bus", "top")
    assert result.returncode == 1
    assert result.stdout.splitlines()[3:] == [
        "    address 0: Kerong CU16, board 'top'",
        "Not answering:",
        f"  address 3 on {bench.data / 'bus0'}: board 'middle'",
    ]


def test_scan_bus_is_for_technicians_and_for_boards_that_exist(bench: Bench) -> None:
    courier = bench.ctl("scan-bus", "top", pin=COURIER[1])
    assert courier.returncode == 1
    assert "this needs a technician sign-in" in courier.stderr

    unknown = bench.ctl("scan-bus", "nowhere")
    assert unknown.returncode == 1
    assert "no board 'nowhere' in the config" in unknown.stderr


# -- discover -------------------------------------------------------------------------


def test_discover_proposes_the_channels_the_config_leaves_out(bench: Bench) -> None:
    bench.sim.jam("top-9")  # a lock that does not open: nothing to see on channel 9
    result = bench.ctl("discover", "--board", "top", "--yes", "--output",
                       str(bench.root / "proposal.toml"))  # fmt: skip

    shown = ok(result).splitlines()
    assert shown[0] == "[ 1/16] top lock 1: door A01 opened"
    assert shown[2] == "[ 3/16] top lock 3: a door opened: not in the config (proposed NEW01)"
    assert shown[8] == "[ 9/16] top lock 9: nothing seen"
    assert shown[9] == "[10/16] top lock 10: a door opened: not in the config (proposed NEW07)"
    assert shown[16] == (
        "Discover: 16 channels tried; 15 doors found (13 not in the config); nothing seen on 1."
    )
    proposal = tomllib.loads((bench.root / "proposal.toml").read_text())
    tables = [(c["id"], c["size"], c["board"], c["lock"]) for c in proposal["compartments"]]
    assert tables[:3] == [("A01", "S", "top", 1), ("A02", "M", "top", 2), ("NEW01", "?", "top", 3)]
    assert [lock for *_, lock in tables] == [n for n in range(1, 17) if n != 9]
    assert proposal["compartments"][1]["accessible"] is True
    assert [c["id"] for c in proposal["compartments"][2:]] == [f"NEW{n:02d}" for n in range(1, 14)]

    # One fire per channel, each journaled before it fired; the bank saw exactly those.
    events = bench.client().get("/v1/events", limit=1000)["events"]
    fires = [e for e in events if e["kind"] == "discover_fire"]
    assert [(e["detail"]["board"], e["detail"]["channel"]) for e in fires] == [
        ("top", n) for n in range(1, 17)
    ]
    assert (fires[0]["compartment"], fires[0]["actor"]) == ("A01", TECHNICIAN[0])
    assert fires[2]["compartment"] is None
    counts = bench.sim.fire_counts()
    assert counts["A01"] == counts["top-3"] == counts["top-9"] == 1
    assert counts["B01"] == counts["middle-2"] == counts["C01"] == 0
    assert not [e for e in events if e["severity"] == "alarm"]  # no forced-open alarms


def test_status_shows_each_boards_frames_errors_retries_and_last_seen(bench: Bench) -> None:
    shown = ok(bench.ctl("status")).splitlines()
    header = shown.index("Boards:") + 1
    assert shown[header].split() == ["NAME", "DRIVER", "STATE", "FRAMES", "ERRORS", "RETRIES",
                                     "LAST", "SEEN", "ERROR"]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in shown[header + 1 : header + 4]}
    assert [rows[b][1:3] for b in ("top", "middle", "relays")] == [["kerong", "online"]] * 2 + [
        ["modbus", "online"]
    ]
    assert int(rows["top"][3]) > 0 and rows["top"][4] == "0" and rows["top"][5] == "0"

    status = bench.client().get("/v1/status")  # --json is the API's answer, as before
    assert {"frames_sent", "errors", "retries"} <= set(status["boards"][0]["stats"])


# -- refusals on a sim daemon ---------------------------------------------------------


@pytest.fixture
def sim_daemon() -> Iterator[Daemon]:
    with running_daemon(close_delay_s=0.15, sizes=["S", "M", "L", "XL"]) as d:
        yield d


def test_discover_on_the_simulator_flags_a_configured_lock_that_opens_nothing(
    sim_daemon: Daemon,
) -> None:
    sim_daemon.sim().jam("A03")
    result = sim_daemon.ctl("discover", "--yes", pin=TECHNICIAN[1])

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == (
        "[3/4] bank lock 3: PROBLEM: nothing seen: compartment A03 is configured on this lock"
    )
    assert "1 problem: bank lock 3" in lines[4]
    assert "#   bank lock 3: nothing seen: compartment A03" in result.stdout
    tables = tomllib.loads(result.stdout.split("\n\n", 1)[1])["compartments"]
    assert [c["id"] for c in tables] == ["A01", "A02", "A04"]


def test_discover_is_refused_to_couriers_and_while_a_door_is_in_use(sim_daemon: Daemon) -> None:
    courier = sim_daemon.ctl("discover", "--yes", pin=COURIER[1])
    assert courier.returncode == 1
    assert "this needs a technician sign-in" in courier.stderr

    tech = sim_daemon.signed_in(TECHNICIAN)
    sim_daemon.sim().leave_open("A02")
    tech.post("/v1/compartments/A02/open")
    err = refused(lambda: tech.post("/v1/discover", {}), 409)
    assert err.message == (
        "Door operations are in progress (A02): discovery starts only when every door "
        "operation has ended."
    )
    assert sim_daemon.sim().fire_counts() == {"A01": 0, "A02": 1, "A03": 0, "A04": 0}
    assert not sim_daemon.events("discover_started")


def test_scan_bus_on_a_sim_board_says_it_has_no_bus(sim_daemon: Daemon) -> None:
    result = sim_daemon.ctl("scan-bus", "bank", pin=TECHNICIAN[1])
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "lockerctl: Board 'bank' uses the sim driver, which has no bus to scan: "
        "scan-bus works on kerong and modbus boards."
    )


def test_trace_on_a_sim_board_says_it_has_no_bus(sim_daemon: Daemon) -> None:
    result = sim_daemon.ctl("trace", "bank", "on", pin=TECHNICIAN[1])
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "lockerctl: Board 'bank' uses the sim driver, which has no bus to trace: "
        "trace works on kerong and modbus boards."
    )
