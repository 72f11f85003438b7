"""The technician's bus tools beside a running daemon: ``lockerctl scan-bus`` asks every bus
for every kind of board, with a line per bus and kind as it goes, and ``lockerctl trace``
writes one board's frames to a bounded file that no pickup code ever reaches, scanned or
typed.

A real daemon on boards emulated by ``locker-kiosk sim`` (two Kerong CU16 on one bus,
a Modbus relay board on another), a serial barcode scanner on a pseudo-terminal, and
the trace capped at 4 KiB so that a few seconds of polling write past the cap.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hw_sim.control import SimControl
from kiosk.protocol.client import ApiClient
from testkit.daemon import COURIER, TECHNICIAN
from testkit.inbox import Inbox
from testkit.scanner import PtyScanner, pty_scanner

CONFIG = """
demo = true  # the file back end (the simulated recipients' inbox) is for demo kiosks
[kiosk]
id = "EMU-03"
data_dir = "{data}"
socket = "{data}/api.sock"
[doors]
open_timeout_s = 2.0
left_open_after_s = 10
remind_after_s = 5
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
[scanner]
backend = "serial"
device = "{scanner}"
[trace]
max_kib = 4
keep = 1
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
[[compartments]]
id = "B01"
size = "L"
board = "middle"
lock = 1
[[compartments]]
id = "C01"
size = "XL"
board = "relays"
lock = 1
"""
USERS = ((TECHNICIAN, "technician"), (COURIER, "courier"))
Ran = subprocess.CompletedProcess[str]


@dataclass
class Bench:
    root: Path
    data: Path
    sim: SimControl
    scanner: PtyScanner

    def ctl(self, *args: str, who: tuple[str, str] = TECHNICIAN) -> Ran:
        env = dict(os.environ, LOCKER_SOCKET=str(self.data / "api.sock"))
        env.update(LOCKER_USER=who[0], LOCKER_PIN=who[1])
        command = [sys.executable, "-m", "kiosk.lockerctl", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    def client(self, who: tuple[str, str] | None = None) -> ApiClient:
        client = ApiClient(str(self.data / "api.sock"))
        if who is not None:
            client.sign_in(who[1], user=who[0])
        return client

    @property
    def trace(self) -> Path:
        return self.data / "wire-trace.log"


def kiosk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], input=stdin, text=True,
                          capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture
def bench() -> Iterator[Bench]:
    root = Path(tempfile.mkdtemp(prefix="lk-bus-", dir="/tmp"))
    data = root / "data"
    config = root / "kiosk.toml"
    processes: list[subprocess.Popen[str]] = []
    with pty_scanner() as scanner:
        config.write_text(CONFIG.format(data=data, scanner=scanner.device))
        try:
            for (name, pin), role in USERS:
                added = kiosk("users", "--config", str(config), "add", name, "--role", role,
                              "--pin-stdin", stdin=pin + "\n")  # fmt: skip
                assert added.returncode == 0, added.stderr
            sim = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "--config",
                                    str(config), "--close-delay", "0.3"], stdout=subprocess.PIPE,
                                   text=True)  # fmt: skip
            processes.append(sim)
            assert sim.stdout is not None
            lines = [sim.stdout.readline() for _ in range(3)]
            assert any("control socket" in line for line in lines), lines
            log = open(root / "daemon.log", "w")  # noqa: SIM115 - the child owns it
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "kiosk", "run", "--config", str(config), "--ready-file",
                 str(root / "ready")], stderr=log, text=True))  # fmt: skip
            deadline = time.monotonic() + 20
            while not (root / "ready").exists():
                assert processes[-1].poll() is None and time.monotonic() < deadline, (
                    root / "daemon.log"
                ).read_text()
                time.sleep(0.05)
            yield Bench(root, data, SimControl(str(data / "sim.sock")), scanner)
        finally:
            for proc in reversed(processes):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(15)
            shutil.rmtree(root, ignore_errors=True)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


# -- scan-bus -------------------------------------------------------------------------


def test_scan_bus_asks_every_bus_for_every_kind_of_board(bench: Bench) -> None:
    bus0, relays = bench.data / "bus0", bench.data / "relays"

    shown = ok(bench.ctl("scan-bus")).splitlines()

    assert shown == [
        f"[1/2] {bus0} (kerong, 19200 baud), Kerong CU16 at 0-15: 2 answering",
        f"[2/2] {relays} (modbus, 9600 baud), Modbus relay board at 1-32: 1 answering",
        "Scanned 2 buses:",
        f"  {bus0} (kerong, 19200 baud; 'top', 'middle'):",
        "    address 0: Kerong CU16, board 'top'",
        "    address 3: Kerong CU16, board 'middle'",
        f"  {relays} (modbus, 9600 baud; 'relays'):",
        "    address 7: Modbus relay board, board 'relays'",
    ]
    scanned = [e["detail"] for e in bench.client().get("/v1/events", limit=100)["events"]
               if e["kind"] == "bus_scanned"]  # fmt: skip
    assert [(d["boards"], d["found"]) for d in scanned] == [
        (["top", "middle"], [0, 3]),
        (["relays"], [7]),
    ]


def test_a_silent_board_is_a_problem_of_the_scan(bench: Bench) -> None:
    bench.sim.kill_board("middle")

    result = bench.ctl("scan-bus", "middle")

    assert result.returncode == 1
    assert result.stdout.splitlines()[0].endswith(
        "Kerong CU16 at 0-15: PROBLEM: 1 answering; not answering: address 3 (board 'middle')"
    )
    assert result.stdout.splitlines()[-2:] == [
        "Not answering:",
        f"  address 3 on {bench.data / 'bus0'}: board 'middle'",
    ]


# -- the wire trace -------------------------------------------------------------------


def test_the_trace_is_off_until_a_technician_switches_it_on_for_a_board(bench: Bench) -> None:
    assert ok(bench.ctl("trace")).splitlines() == [
        f"Wire trace: off for every board. File: {bench.trace} (at most 4 KiB, 1 older file "
        "kept; mode 0600)."
    ]
    assert not bench.trace.exists()

    assert ok(bench.ctl("trace", "relays", "on")).splitlines() == [
        f"Wire trace on for board 'relays': {bench.trace} (at most 4 KiB, 1 older file kept; "
        "mode 0600).",
        "Switch it off when done: lockerctl trace relays off",
    ]
    assert stat.S_IMODE(bench.trace.stat().st_mode) == 0o600
    ok(bench.ctl("trace", "relays", "off"))

    lines = bench.trace.read_text().splitlines()
    assert lines[0].endswith(f" # trace on for board relays by {TECHNICIAN[0]}")
    assert lines[-1].endswith(f" # trace off for board relays by {TECHNICIAN[0]}")
    polls = [line for line in lines if f" relays {bench.data / 'relays'} > " in line]
    # A poll reads the door inputs of the wired locks only: here lock 1's, at address 7.
    assert polls and all(line.endswith("> 07 02 00 00 00 01 B9 AC") for line in polls)
    events = bench.client().get("/v1/events", limit=100)["events"]
    switched = [(e["kind"], e["actor"], e["detail"]["board"]) for e in events
                if e["kind"].startswith("wire_trace")]  # fmt: skip
    assert switched == [("wire_trace_on", TECHNICIAN[0], "relays"),
                        ("wire_trace_off", TECHNICIAN[0], "relays")]  # fmt: skip


def test_pickups_with_the_trace_on_leave_no_code_in_it_and_it_stays_bounded(
    bench: Bench,
) -> None:
    ok(bench.ctl("trace", "top", "on"))
    ok(bench.ctl("trace", "relays", "on"))
    courier = bench.client(COURIER)
    for barcode, size in (("1Z999AA10123456784", "S"), ("JJD0099887766554433", "M"),
                          ("00340434161234567890", "XL")):  # fmt: skip
        view = courier.post("/v1/deposits", {"barcode": barcode, "size": size,
                                             "phone": "+4915112345678"})  # fmt: skip
        courier.wait_operation(view["operation"], until_done=True)
    inbox, codes = Inbox(bench.data / "inbox.jsonl"), []
    deadline = time.monotonic() + 20
    while len(codes) < 3:  # the recipients' messages go out from the outbox
        assert time.monotonic() < deadline, codes
        codes += inbox.new_codes().values()
        time.sleep(0.1)

    customer = bench.client()
    for code in codes:
        bench.scanner.scan(code)  # the customer shows the code's QR to the scanner
        view = customer.post("/v1/pickup", {"code": code})  # as the touchscreen then asks
        customer.wait_operation(view["operation"], until_done=True)
    rotated = bench.trace.with_name("wire-trace.log.1")
    deadline = time.monotonic() + 20
    while not rotated.exists():  # polling at 20 Hz writes past 4 KiB in a few seconds
        assert time.monotonic() < deadline, "the trace never reached its cap"
        time.sleep(0.2)
    ok(bench.ctl("trace", "top", "off"))
    ok(bench.ctl("trace", "relays", "off"))

    files = sorted(bench.data.glob("wire-trace.log*"))
    assert [f.name for f in files] == ["wire-trace.log", "wire-trace.log.1"]
    assert all(f.stat().st_size <= 4096 and stat.S_IMODE(f.stat().st_mode) == 0o600
               for f in files)  # fmt: skip
    text = "".join(f.read_text() for f in files)
    for code in codes:
        assert code not in text
        assert code.encode().hex(" ").upper() not in text  # nor as the bytes of its digits
    sent = [line.split(" > ")[1] for line in text.splitlines() if " top " in line and " > " in line]
    assert "02 00 30 03 35" in sent  # top's polls are in it


def test_only_a_board_with_a_bus_can_be_traced(bench: Bench) -> None:
    unknown = bench.ctl("trace", "scanner", "on")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "lockerctl: no board 'scanner' in the config"

    courier = bench.ctl("trace", "top", "on", who=COURIER)
    assert courier.returncode == 1
    assert "this needs a technician sign-in" in courier.stderr

    half = bench.ctl("trace", "top")
    assert half.returncode == 2
    assert half.stderr.strip() == "lockerctl: say on or off: lockerctl trace BOARD on|off"
