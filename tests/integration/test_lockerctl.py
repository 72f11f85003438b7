"""``lockerctl`` against the real daemon: every command, as a person and as a script sees it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from testkit.api import PHONE, compartments, parcel, refused, states, store_parcel
from testkit.daemon import COURIER, TECHNICIAN, Daemon, running_daemon

CARLA, TOMAS = COURIER[1], TECHNICIAN[1]


@pytest.fixture
def quick() -> Iterator[Daemon]:
    with running_daemon(close_delay_s=0.15) as d:
        yield d


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


def no_live_operations(daemon: Daemon) -> bool:
    return daemon.client().get("/v1/status")["operations"] == []


# -- reading ----------------------------------------------------------------------------


def test_lockerctl_shows_status_compartments_parcels_and_events(daemon: Daemon) -> None:
    cid, _ = store_parcel(daemon, "PKG-CTL-READ", size="S")

    status = ok(daemon.ctl("status"))
    assert status.startswith("Kiosk TEST-01 Test kiosk, version ")
    assert "Compartments:  12 total; OCCUPIED 1, AVAILABLE 11" in status
    assert "Free by size:  S 3, M 4, L 3, XL 1" in status
    assert "Keypad:        ready" in status

    table = ok(daemon.ctl("compartments")).splitlines()
    assert table[0].split() == ["ID", "SIZE", "LOCK", "ACCESS", "STATE", "DOOR", "ITEM", "OP",
                                "CHECK", "REASON"]  # fmt: skip
    assert table[1].split()[:6] == [cid, "S", "bank:1", "-", "OCCUPIED", "CLOSED"]
    assert len(table) == 13

    stored = ok(daemon.ctl("parcels", "--state", "stored")).splitlines()
    assert stored[1].split()[:4] == ["PKG-CTL-READ", "S", "STORED", cid]
    assert PHONE not in stored[1]  # the recipient is masked
    assert ok(daemon.ctl("parcels", "--state", "picked_up")).strip() == "No parcels."

    events = ok(daemon.ctl("events", "--limit", "3")).splitlines()
    assert len(events) == 4
    assert "parcel_stored" in "\n".join(events)
    verified = ok(daemon.ctl("events", "--verify")).strip()
    assert verified == f"event log intact: {len(daemon.events())} events"


def test_lockerctl_json_prints_what_the_api_returns(daemon: Daemon) -> None:
    store_parcel(daemon, "PKG-CTL-JSON", size="M")
    api = daemon.client()

    status = as_json(daemon.ctl("--json", "status"))
    assert status["kiosk"]["id"] == "TEST-01"
    assert status["parcels"] == {"STORED": 1}
    assert as_json(daemon.ctl("compartments", "--json")) == api.get("/v1/compartments")
    parcels = as_json(daemon.ctl("parcels", "--state", "STORED", "--json"))
    assert parcels == api.get("/v1/parcels", state="STORED")
    events = as_json(daemon.ctl("events", "--json", "--limit", "2"))["events"]
    assert [e["seq"] for e in events] == [e["seq"] for e in daemon.events()[-2:]][::-1]
    verified = as_json(daemon.ctl("events", "--verify", "--json"))
    assert verified["ok"] is True and verified["first_bad_seq"] is None


def test_lockerctl_events_follow_prints_new_events_as_they_happen(daemon: Daemon) -> None:
    env = dict(os.environ, LOCKER_SOCKET=str(daemon.socket))
    follower = subprocess.Popen(
        [sys.executable, "-m", "kiosk.lockerctl", "events", "--follow", "--json", "--limit", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env=env,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in follower.stdout or []])
    reader.start()
    seen: list[dict[str, Any]] = []

    def followed_out_of_service() -> bool:
        # The follower subscribes a moment after it starts: repeat the event until it shows.
        daemon.signed_in(TECHNICIAN).post("/v1/compartments/A03/out-of-service",
                                          {"reason": "seen by follow"})  # fmt: skip
        while True:
            try:
                seen.append(json.loads(lines.get(timeout=0.5)))
            except queue.Empty:
                return any(e["kind"] == "out_of_service" for e in seen)

    try:
        daemon.wait_for(followed_out_of_service, what="events --follow to print the event")
    finally:
        follower.terminate()
        follower.wait(10)
        reader.join(10)
    event = next(e for e in seen if e["kind"] == "out_of_service")
    assert (event["compartment"], event["detail"]["reason"]) == ("A03", "seen by follow")
    assert event["actor"] == "tomas"


# -- courier and customer ---------------------------------------------------------------


def test_lockerctl_courier_announces_and_deposits_then_customer_picks_up(daemon: Daemon) -> None:
    announced = daemon.ctl("announce", "PKG-CTL", "--size", "l", "--phone", "+4917099887766",
                           pin=CARLA)  # fmt: skip
    assert ok(announced).strip() == "Announced PKG-CTL (size L, +49******66): ANNOUNCED."

    deposit = ok(daemon.ctl("deposit", "PKG-CTL", pin=CARLA)).splitlines()
    assert deposit == [
        "Door A07 is open: put the parcel in and close the door.",
        "Stored in A07; the recipient has been notified.",
    ]
    assert parcel(daemon, "PKG-CTL")["state"] == "STORED"

    code = daemon.code_for("PKG-CTL")
    pickup = ok(daemon.ctl("pickup", code)).splitlines()
    assert pickup == ["Door A07 is open: take your parcel and close the door.", "Thank you!"]
    assert parcel(daemon, "PKG-CTL")["state"] == "PICKED_UP"
    assert states(daemon)["A07"] == "AVAILABLE"


def test_lockerctl_json_deposit_and_pickup_print_the_final_operation(daemon: Daemon) -> None:
    announced = as_json(daemon.ctl("announce", "PKG-J", "--size", "S", "--email", "a@example.org",
                                   "--json", pin=CARLA))  # fmt: skip
    assert (announced["state"], announced["size"]) == ("ANNOUNCED", "S")

    stored = as_json(daemon.ctl("deposit", "PKG-J", "--json", pin=CARLA))
    assert (stored["status"], stored["compartment"], stored["live"]) == ("CLOSED", "A01", False)
    picked = as_json(daemon.ctl("pickup", daemon.code_for("PKG-J"), "--json"))
    assert (picked["status"], picked["compartment"]) == ("CLOSED", "A01")
    assert picked["message"] == "Thank you!"


def test_lockerctl_wrong_code_exits_1_and_the_throttle_exits_4(daemon: Daemon) -> None:
    _, code = store_parcel(daemon, "PKG-CTL-WRONG", size="S")
    wrong = f"{(int(code) + 1) % 10**8:08d}"

    result = daemon.ctl("pickup", wrong)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "lockerctl: That code is not right. Please check it and try again."
    )
    assert wrong not in result.stderr + result.stdout
    for _ in range(4):
        refused(lambda: daemon.client().post("/v1/pickup", {"code": wrong}), 401)

    result = daemon.ctl("pickup", code)
    assert result.returncode == 4
    assert "Too many wrong tries" in result.stderr
    assert "try again in 30 s" in result.stderr
    assert parcel(daemon, "PKG-CTL-WRONG")["state"] == "STORED"


def test_lockerctl_courier_is_told_when_nothing_fits(daemon: Daemon) -> None:
    store_parcel(daemon, "PKG-XL", size="XL")
    result = daemon.ctl("deposit", "PKG-XL-2", "--size", "XL", "--phone", PHONE, pin=CARLA)
    assert result.returncode == 1
    assert result.stderr.strip() == "lockerctl: no compartment free for size XL"


def test_lockerctl_courier_collects_returns() -> None:
    policy = {"hold_hours": 0.0006, "expiry_check_s": 0.2, "reminder_hours": []}
    with running_daemon(sections={"policy": policy}) as daemon:
        store_parcel(daemon, "PKG-RET-1", size="S")
        store_parcel(daemon, "PKG-RET-2", size="M")
        daemon.wait_for(
            lambda: len(daemon.client().get("/v1/parcels", state="EXPIRED")["parcels"]) == 2,
            what="both parcels to expire",
        )

        out = ok(daemon.ctl("returns", pin=CARLA)).splitlines()
        assert "[x] PKG-RET-1 from A01" in out
        assert "[x] PKG-RET-2 from A04" in out
        assert out[-1] == "Collected 2 of 2 expired parcels for return."
        assert parcel(daemon, "PKG-RET-1")["state"] == "RETURNED"
        assert parcel(daemon, "PKG-RET-2")["state"] == "RETURNED"

        assert ok(daemon.ctl("returns", pin=CARLA)).strip() == "No expired parcels to collect."
        assert as_json(daemon.ctl("returns", "--json", pin=CARLA)) == []


# -- technician -------------------------------------------------------------------------


def test_lockerctl_technician_opens_a_door_and_manages_service(daemon: Daemon) -> None:
    assert ok(daemon.ctl("open", "a05", pin=TOMAS)).strip() == "Door A05 is open."
    daemon.wait_for(lambda: no_live_operations(daemon), what="door A05 closed")
    view = as_json(daemon.ctl("open", "A06", "--json", pin=TOMAS))
    assert (view["compartment"], view["purpose"], view["door"]) == ("A06", "technician", "OPEN")
    daemon.wait_for(lambda: no_live_operations(daemon), what="door A06 closed")

    out = ok(daemon.ctl("out-of-service", "A06", "--reason", "hinge broken", pin=TOMAS))
    assert out.strip() == "A06 is now OUT_OF_SERVICE: hinge broken"
    assert compartments(daemon)["A06"]["reason"] == "hinge broken"
    assert ok(daemon.ctl("in-service", "A06", pin=TOMAS)).strip() == "A06 is now AVAILABLE."

    row = as_json(daemon.ctl("out-of-service", "A07", "--reason", "wet", "--json", pin=TOMAS))
    assert row == {"id": "A07", "size": "L", "state": "OUT_OF_SERVICE", "reason": "wet",
                   "reason_code": "technician", "reason_detail": None,
                   "check": None}  # fmt: skip
    row = as_json(daemon.ctl("in-service", "A07", "--json", pin=TOMAS))
    assert row["state"] == "AVAILABLE"

    result = daemon.ctl("open", "Z99", pin=TOMAS)
    assert (result.returncode, result.stderr.strip()) == (1, "lockerctl: no compartment Z99")


def test_lockerctl_open_all_and_selftest(quick: Daemon) -> None:
    refused_all = quick.ctl("open-all", pin=TOMAS)
    assert refused_all.returncode == 2
    assert "add --yes to confirm" in refused_all.stderr
    assert quick.sim().fire_counts()["A01"] == 0

    out = ok(quick.ctl("open-all", "--yes", pin=TOMAS)).splitlines()
    assert out[0] == "[ 1/12] A01 ok (Door A01 is open.)"
    assert out[-1] == "Open all: 12 of 12 passed"
    quick.wait_for(lambda: no_live_operations(quick), what="every door closed")

    out = ok(quick.ctl("selftest", pin=TOMAS)).splitlines()
    assert out[1] == "[ 2/12] A02 ok (opened and closed)"
    assert out[-1] == "Self-test: 12 of 12 passed. PASS"

    quick.sim().jam("A02")
    result = quick.ctl("selftest", "--take-out-of-service", "--json", pin=TOMAS)
    assert result.returncode == 1
    job = json.loads(result.stdout)
    assert (job["state"], job["done"], job["total"]) == ("done", 12, 12)
    assert [r["compartment"] for r in job["results"] if not r["ok"]] == ["A02"]
    assert states(quick)["A02"] == "OUT_OF_SERVICE"


# -- errors -----------------------------------------------------------------------------


def test_lockerctl_says_when_the_daemon_cannot_be_reached(tmp_path: Any) -> None:
    socket = tmp_path / "nothing.sock"
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.lockerctl", "--socket", str(socket), "status"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.strip() == (
        f"lockerctl: Is the daemon running? No socket at {socket} "
        "(use --socket or $LOCKER_SOCKET if it lives elsewhere)."
    )


def test_lockerctl_needs_a_name_and_a_pin_and_refuses_a_wrong_one(daemon: Daemon) -> None:
    nobody = daemon.ctl("deposit", "PKG-NOPIN", "--size", "S", "--phone", PHONE)
    assert nobody.returncode == 2
    assert nobody.stderr.strip() == (
        "lockerctl: this command signs in as a courier: name them with --user NAME or LOCKER_USER"
    )
    no_pin = daemon.ctl("deposit", "PKG-NOPIN", "--size", "S", "--phone", PHONE, user="carla")
    assert no_pin.returncode == 2
    assert no_pin.stderr.strip() == (
        "lockerctl: this command needs a courier PIN: set LOCKER_PIN or run it from a terminal"
    )
    wrong = daemon.ctl("open", "A01", pin="00093127", user="tomas")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "lockerctl: Sign-in failed: name, badge or PIN not recognised."
    assert "00093127" not in wrong.stderr
    courier_as_tech = daemon.ctl("open", "A01", pin=CARLA)
    assert courier_as_tech.returncode == 1
    assert courier_as_tech.stderr.strip() == "lockerctl: this needs a technician sign-in"
    assert daemon.sim().fire_counts()["A01"] == 0


# -- a reader that stops early ----------------------------------------------------------


def test_lockerctl_ends_quietly_when_its_reader_stops_reading(daemon: Daemon) -> None:
    # `lockerctl events --follow | head -1`: head exits after a line; lockerctl must too.
    env = dict(os.environ, LOCKER_SOCKET=str(daemon.socket))
    follower = subprocess.Popen(
        [sys.executable, "-m", "kiosk.lockerctl", "events", "--follow", "--limit", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert follower.stdout is not None and follower.stderr is not None
    try:
        assert follower.stdout.readline()  # the last event of the log
        follower.stdout.close()  # head has read its line and exits
        technician = daemon.signed_in(TECHNICIAN)
        for n in range(200):  # new events, until lockerctl writes and finds no reader
            technician.post("/v1/compartments/A03/out-of-service", {"reason": f"run {n}"})
            technician.post("/v1/compartments/A03/in-service")
            if follower.poll() is not None:
                break
        assert follower.wait(10) == 0
        assert follower.stderr.read() == b""  # no traceback, no "Exception ignored"
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(10)


@pytest.mark.parametrize(
    "command", [["events", "--limit", "1000"], ["compartments"], ["status", "--json"]]
)
def test_every_lockerctl_command_ends_quietly_when_nobody_reads_its_output(
    daemon: Daemon, command: list[str]
) -> None:
    env = dict(os.environ, LOCKER_SOCKET=str(daemon.socket))
    read, write = os.pipe()
    os.close(read)  # the reader is gone before lockerctl writes a line
    try:
        run = subprocess.run(
            [sys.executable, "-m", "kiosk.lockerctl", *command],
            stdout=write, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write)
    assert (run.returncode, run.stderr) == (0, b"")
