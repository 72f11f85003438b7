"""``lockerctl status`` board counters, ``scan-bus``, ``trace`` and ``discover`` against a scripted
daemon: what a technician sees, and what a script gets with ``--json``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk import lockerctl as ctl
from kiosk.lockerctl import io as ctl_io
from kiosk.lockerctl import tools as ctl_tools
from kiosk.protocol.client import ApiClient
from tests.unit.scripted_daemon import STATUS, ScriptedDaemon


@pytest.fixture
def scripted_daemon(monkeypatch: pytest.MonkeyPatch) -> ScriptedDaemon:
    """The scripted daemon of :mod:`tests.unit.scripted_daemon`, signed in as a technician, no
    terminal."""
    fake = ScriptedDaemon()
    fake.on("POST", "/v1/sessions", (200, {"token": "t", "user": "ann", "role": "technician"}))
    fake.on("DELETE", "/v1/sessions", (200, {"ok": True}))
    monkeypatch.setattr(
        ctl, "make_client", lambda socket: ApiClient(socket, transport=httpx.MockTransport(fake))
    )
    monkeypatch.setattr(ctl_io, "is_terminal", lambda: False)
    for name in ("LOCKER_USER", "LOCKER_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    return fake


KERONG_STATS = {
    "port": "/dev/ttyUSB0",
    "address": 0,
    "baud": 19200,
    "frames_sent": 1520,
    "replies_ok": 1517,
    "errors": {"timeout": 2, "checksum": 1, "framing": 0, "io": 0},
    "retries": 3,
    "reopens": 0,
    "pulses": 5,
    "last_seen": 1_700_000_000.0,
    "last_error": "timeout: no reply within 0.1 s",
}
MODBUS_STATS = {
    "port": "/dev/ttyUSB1",
    "address": 1,
    "baud": 9600,
    "frames_sent": 40,
    "replies_ok": 40,
    "errors": {"timeout": 0, "crc": 0, "bad_reply": 0, "exception": 0, "port": 0},
    "retries": 0,
    "reopens": 0,
    "pulses": 2,
    "last_seen": 1_700_000_000.0,
    "last_error": None,
}
SIM_STATS = {"pulses": 3, "reads": 200, "errors": 0, "last_error": None}


def board(name: str, driver: str, stats: dict[str, Any], online: bool = True) -> dict[str, Any]:
    error = None if online else "no answer"
    return {"name": name, "driver": driver, "online": online, "error": error,
            "last_seen": None, "stats": stats}  # fmt: skip


# -- status ---------------------------------------------------------------------------


def test_status_shows_frames_errors_by_kind_retries_and_last_seen_per_board(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = [board("top", "kerong", KERONG_STATS), board("relays", "modbus", MODBUS_STATS),
              board("bank", "sim", SIM_STATS, online=False)]  # fmt: skip
    scripted_daemon.on("GET", "/v1/status", (200, {**STATUS, "boards": boards}))

    assert ctl.main(["status"]) == 0

    lines = capsys.readouterr().out.splitlines()
    head = lines.index("Boards:") + 1
    assert lines[head].split() == ["NAME", "DRIVER", "STATE", "FRAMES", "ERRORS", "RETRIES",
                                   "LAST", "SEEN", "ERROR"]  # fmt: skip
    top, relays, bank = lines[head + 1 : head + 4]
    assert "top     kerong  online   1520    3 (timeout 2, checksum 1)  3" in top
    assert top.index("1520") == lines[head].index("FRAMES")
    assert relays.split()[:6] == ["relays", "modbus", "online", "40", "0", "0"]
    assert bank.split()[:6] == ["bank", "sim", "OFFLINE", "-", "0", "-"]
    assert bank.endswith("no answer")


def test_status_json_is_the_apis_answer_with_each_drivers_stats(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = {**STATUS, "boards": [board("top", "kerong", KERONG_STATS)]}
    scripted_daemon.on("GET", "/v1/status", (200, answer))

    assert ctl.main(["status", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == answer


# -- scan-bus -------------------------------------------------------------------------


def step(**fields: Any) -> dict[str, Any]:
    """One step of a bus-scan job: a bus and a kind of board, as the daemon reports it."""
    return {
        "compartment": "/dev/ttyUSB0 Kerong CU16", "ok": True, "detail": "2 answering",
        "port": "/dev/ttyUSB0", "protocol": "kerong", "baud": 19200, "boards": ["left"],
        "kind": "Kerong CU16", "driver": "kerong", "asked": "0-15", "missing": [],
        "addresses": [{"address": 0, "board": "left", "role": "board", "kinds": ["Kerong CU16"]},
                      {"address": 5, "board": None, "role": None, "kinds": ["Kerong CU16"]}],
        **fields,
    }  # fmt: skip


def job(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"id": 4, "kind": "bus-scan", "state": "done", "done": len(steps),
            "total": len(steps), "results": list(steps)}  # fmt: skip


def test_scan_bus_says_which_configured_board_each_address_is(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/bus-scan", (200, job(step())))

    assert ctl.main(["scan-bus", "left"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "[1/1] /dev/ttyUSB0 (kerong, 19200 baud), Kerong CU16 at 0-15: 2 answering",
        "Scanned 1 bus:",
        "  /dev/ttyUSB0 (kerong, 19200 baud; 'left'):",
        "    address 0: Kerong CU16, board 'left'",
        "    address 5: Kerong CU16, not in the config",
    ]
    assert json.loads(scripted_daemon.calls("POST", "/v1/bus-scan")[0].content) == {
        "boards": ["left"]
    }
    assert len(scripted_daemon.calls("POST", "/v1/sessions")) == 1  # a technician signs in


def test_scan_bus_fails_when_a_configured_board_is_silent(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    silent = step(protocol="modbus", baud=9600, kind="Modbus relay board", asked="1-32",
                  addresses=[], ok=False, detail="none answering; not answering: ...",
                  missing=[{"address": 1, "board": "left", "role": "board"},
                           {"address": 9, "board": "left", "role": "door inputs"}])  # fmt: skip
    scripted_daemon.on("POST", "/v1/bus-scan", (200, job(silent)))

    assert ctl.main(["scan-bus"]) == 1

    assert capsys.readouterr().out.splitlines() == [
        "[1/1] /dev/ttyUSB0 (modbus, 9600 baud), Modbus relay board at 1-32: PROBLEM: none "
        "answering; not answering: ...",
        "Scanned 1 bus:",
        "  /dev/ttyUSB0 (modbus, 9600 baud; 'left'):",
        "    no address answers",
        "Not answering:",
        "  address 1 on /dev/ttyUSB0: board 'left'",
        "  address 9 on /dev/ttyUSB0: door inputs of board 'left'",
    ]
    assert json.loads(scripted_daemon.calls("POST", "/v1/bus-scan")[0].content) == {}


def test_scan_bus_of_a_sim_board_shows_the_daemons_reason(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    why = "Board 'bank' uses the sim driver, which has no bus to scan: scan-bus works on ..."
    scripted_daemon.on("POST", "/v1/bus-scan", (400, {"error": why, "kind": "InvalidInput"}))

    assert ctl.main(["scan-bus", "bank"]) == 1

    assert capsys.readouterr().err.strip() == f"lockerctl: {why}"


# -- trace ----------------------------------------------------------------------------

TRACE = {"boards": [], "file": "/var/lib/locker-kiosk/wire-trace.log", "size": 0,
         "max_bytes": 1048576, "keep": 1, "error": None}  # fmt: skip


def test_trace_shows_where_it_stands_and_switches_one_board(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("GET", "/v1/trace", (200, TRACE))
    scripted_daemon.on("POST", "/v1/boards/left/trace", (200, {**TRACE, "boards": ["left"]}))

    assert ctl.main(["trace"]) == 0
    assert ctl.main(["trace", "left", "on"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "Wire trace: off for every board. File: /var/lib/locker-kiosk/wire-trace.log (at most "
        "1024 KiB, 1 older file kept; mode 0600).",
        "Wire trace on for board 'left': /var/lib/locker-kiosk/wire-trace.log (at most 1024 "
        "KiB, 1 older file kept; mode 0600).",
        "Switch it off when done: lockerctl trace left off",
    ]
    assert json.loads(scripted_daemon.calls("POST", "/v1/boards/left/trace")[0].content) == {
        "on": True
    }


def test_trace_json_is_the_daemons_answer(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/boards/left/trace", (200, TRACE))

    assert ctl.main(["trace", "left", "off", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == TRACE


# -- discover -------------------------------------------------------------------------


def result(lock: int, outcome: str, ok: bool = True, **extra: Any) -> dict[str, Any]:
    details = {"door": "a door opened", "nothing": "nothing seen", "mismatch": "opened another"}
    return {"compartment": f"left-{lock}", "ok": ok, "detail": details.get(outcome, outcome),
            "board": "left", "lock": lock, "configured": False, "size": None,
            "accessible": False, "outcome": outcome, "seen": [], **extra}  # fmt: skip


RESULTS = [
    result(1, "door", compartment="A01", configured=True, size="S", detail="door A01 opened"),
    result(2, "door", compartment="A02", configured=True, size="M", accessible=True),
    result(3, "door", compartment="NEW01",
           detail="a door opened: not in the config (proposed NEW01)"),
    result(4, "nothing"),
    result(5, "nothing", ok=False, compartment="A05", configured=True, size="L",
           detail="nothing seen: compartment A05 is configured on this lock"),
    result(6, "mismatch", ok=False, detail="opened the door sensed on channel 7", seen=[7]),
]  # fmt: skip


def discovery(state: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": 4, "kind": "discover", "state": state, "done": len(results), "total": 6,
            "results": results}  # fmt: skip


@pytest.fixture
def scripted(scripted_daemon: ScriptedDaemon) -> ScriptedDaemon:
    scripted_daemon.on("POST", "/v1/discover", (200, discovery("running", RESULTS[:2])))
    scripted_daemon.on("GET", "/v1/jobs/4", (200, discovery("done", RESULTS)))
    sizes = [{"name": n} for n in ("S", "M", "L", "XL")]
    scripted_daemon.on("GET", "/v1/kiosk", (200, {"id": "DEMO-01", "sizes": sizes}))
    return scripted_daemon


def test_discover_without_a_terminal_needs_yes_and_fires_nothing(
    scripted: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    assert ctl.main(["discover"]) == 2

    assert "add --yes" in capsys.readouterr().err
    assert scripted.requests == []


def test_discover_shows_each_channel_then_the_proposed_map(
    scripted: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    assert ctl.main(["discover", "--yes", "--board", "left"]) == 1  # two channels had problems

    out = capsys.readouterr().out
    progress, proposal = out.split("\n\n", 1)
    assert progress.splitlines() == [
        "[1/6] left lock 1: door A01 opened",
        "[2/6] left lock 2: a door opened",
        "[3/6] left lock 3: a door opened: not in the config (proposed NEW01)",
        "[4/6] left lock 4: nothing seen",
        "[5/6] left lock 5: PROBLEM: nothing seen: compartment A05 is configured on this lock",
        "[6/6] left lock 6: PROBLEM: opened the door sensed on channel 7",
        "Discover: 6 channels tried; 3 doors found (1 not in the config); nothing seen on 1; "
        "2 problems: left lock 5, left lock 6.",
    ]
    assert scripted.body(scripted.calls("POST", "/v1/discover")[0]) == {"boards": ["left"]}
    tables = tomllib.loads(proposal)["compartments"]
    assert tables == [
        {"id": "A01", "size": "S", "board": "left", "lock": 1},
        {"id": "A02", "size": "M", "board": "left", "lock": 2, "accessible": True},
        {"id": "NEW01", "size": "?", "board": "left", "lock": 3},
    ]
    assert 'size = "?"  # set one of: S, M, L, XL' in proposal
    assert "#   left lock 5: nothing seen: compartment A05 is configured on this lock" in proposal
    assert "#   left lock 6: opened the door sensed on channel 7" in proposal
    assert "#   left locks 4" in proposal


def test_discover_writes_the_map_to_a_file_and_json_prints_the_job(
    scripted: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    technician_pin: str,
    tmp_path: Path,
) -> None:
    target = tmp_path / "compartments.toml"

    assert ctl.main(["discover", "--json", "--output", str(target)]) == 1

    assert json.loads(capsys.readouterr().out) == discovery("done", RESULTS)
    assert [c["id"] for c in tomllib.loads(target.read_text())["compartments"]] == [
        "A01", "A02", "NEW01",
    ]  # fmt: skip


def test_a_clean_discovery_passes() -> None:
    text, ok = ctl_tools.discovery_summary(RESULTS[:4])
    assert ok
    assert text.endswith("3 doors found (1 not in the config); nothing seen on 1.")


def test_help_documents_the_board_tools(capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["--help"]) == 0

    shown = capsys.readouterr().out
    assert "lockerctl scan-bus\n" in shown and "lockerctl discover --yes" in shown
    assert "lockerctl trace top on" in shown
    assert "board tools (technician):" in shown
