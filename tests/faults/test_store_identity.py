"""Faults of the store itself, on a real daemon with the sim driver: a lost database, a
lost or swapped key, a write-ahead log torn so that the store forgot a deposit or a
pickup, and item sensors that disagree with the store at start.

Each asserts what a person reads (the refusal, the alarm, the check on the compartment),
the events, and that no lock fired by itself. A refused start exits with a status the
systemd unit does not restart, so a kiosk that needs a person cannot reboot-loop.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kiosk.access.codes import create_key, key_fingerprint
from kiosk.protocol.client import ApiError
from testkit.daemon import TECHNICIAN, Daemon, running_daemon
from testkit.wal import tear_wal, wal_commits
from tests.faults.conftest import compartments, fire_log, parcel, store_parcel

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "locker-kiosk.service"
PHONE = "+4915112345678"
# Housekeeping would checkpoint the write-ahead log into the database (scrubbing a
# delivered code's nonce); these tests tear the log, so it must still hold the commits.
NO_CHECKPOINT = {"policy": {"expiry_check_s": 3600}}
BEA_PIN = "975319"


def unit_setting(name: str) -> list[str]:
    return [
        line.split("=", 1)[1].strip()
        for line in UNIT.read_text().splitlines()
        if line.startswith(f"{name}=")
    ]


def refused_start(daemon: Daemon) -> subprocess.CompletedProcess[str]:
    """Start the daemon as systemd would, expecting it to refuse."""
    return daemon.kiosk_cmd("run", "--config", str(daemon.config_path))


def assert_refused(r: subprocess.CompletedProcess[str], *parts: str) -> str:
    """One line on stderr holding every one of ``parts``; exit status 2, which the unit
    does not restart; no traceback. Returns the line."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert str(r.returncode) in " ".join(unit_setting("RestartPreventExitStatus"))
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def event_count(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def mark_seq(daemon: Daemon) -> int:
    return int(json.loads((daemon.data_dir / "kiosk.mark").read_text())["seq"])


def wait_for_mark(daemon: Daemon) -> None:
    """Until the mark records every event the daemon has logged."""
    last = daemon.events()[-1]["seq"]
    daemon.wait_for(lambda: mark_seq(daemon) >= last, what="the mark to catch up")


def check_of(daemon: Daemon, cid: str) -> dict[str, Any] | None:
    check: dict[str, Any] | None = compartments(daemon)[cid]["check"]
    return check


def deposit_goes_to(daemon: Daemon, barcode: str) -> str:
    return str(store_parcel(daemon, barcode)["compartment"])


# -- a lost database ------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["missing", "zero-length"])
def test_a_lost_database_where_the_kiosk_has_run_refuses_to_start_and_names_the_way_back(
    loss: str,
) -> None:
    with running_daemon() as daemon:
        store_parcel(daemon, "DB-LOST-1")
        assert daemon.stop() == 0
        fires = fire_log(daemon)
        db = daemon.data_dir / "kiosk.db"
        for name in ("kiosk.db-wal", "kiosk.db-shm"):
            (daemon.data_dir / name).unlink(missing_ok=True)
        if loss == "missing":
            db.unlink()
        else:
            db.write_bytes(b"")
        what = "is missing" if loss == "missing" else "is empty (0 bytes)"

        r = refused_start(daemon)
        assert_refused(
            r,
            f"locker-kiosk: the database {db} {what}, but this kiosk has run here before",
            "kiosk.key is there",
            "an empty database would hand out compartments with parcels inside",
            "made by locker-kiosk backup",
            f"locker-kiosk reinit --config {daemon.config_path} --forget-stored-parcels",
        )
        # Adding a person offline would make the empty database the daemon then takes.
        add = daemon.kiosk_cmd("users", "--config", str(daemon.config_path), "add", "nina",
                               "--role", "courier", "--pin-stdin", stdin="864209\n")  # fmt: skip
        assert add.returncode == 2 and f"the database {db} {what}" in add.stderr
        assert db.exists() == (loss == "zero-length")  # nothing was made in its place
        assert not db.exists() or db.stat().st_size == 0
        assert not (daemon.data_dir / "kiosk.db-wal").exists()
        assert fire_log(daemon) == fires


def test_a_refused_start_is_not_restarted_by_the_unit_so_it_cannot_loop_into_reboots() -> None:
    assert unit_setting("Restart") == ["always"]
    assert unit_setting("StartLimitAction") == ["reboot"]
    with running_daemon() as daemon:
        assert daemon.stop() == 0
        (daemon.data_dir / "kiosk.db").unlink()
        for _ in range(3):  # as often as a restart would try: the same answer, nothing made
            r = refused_start(daemon)
            assert r.returncode == 2
            assert [str(r.returncode)] == unit_setting("RestartPreventExitStatus")
            assert not (daemon.data_dir / "kiosk.db").exists()


# -- a lost or swapped key ------------------------------------------------------------------


def test_a_lost_key_beside_live_codes_refuses_to_start_rather_than_void_every_code() -> None:
    with running_daemon() as daemon:
        stored = store_parcel(daemon, "KEY-LOST-1")
        code = daemon.code_for("KEY-LOST-1")
        assert daemon.stop() == 0
        key, db = daemon.data_dir / "kiosk.key", daemon.data_dir / "kiosk.db"
        kept = key.read_bytes()
        key.unlink()
        events, fires = event_count(db), fire_log(daemon)

        assert_refused(
            refused_start(daemon),
            f"locker-kiosk: the kiosk key {key} is missing, but the database {db} holds "
            "1 live pickup code made with it: a new key would make every one of them wrong",
            "made by locker-kiosk backup",
            f"locker-kiosk reinit --config {daemon.config_path} --void-pickup-codes",
        )
        assert not key.exists()  # no new key was made
        assert event_count(db) == events
        assert fire_log(daemon) == fires

        # Put back, the key opens the parcel's door with the code sent before.
        key.write_bytes(kept)
        key.chmod(0o600)
        daemon.start()
        picked = daemon.client().post("/v1/pickup", {"code": code})
        assert picked["compartment"] == stored["compartment"]


def test_a_swapped_key_refuses_to_start_and_only_voiding_the_codes_replaces_it(
    tmp_path: Path,
) -> None:
    with running_daemon() as daemon:
        store_parcel(daemon, "KEY-SWAP-1")
        assert daemon.stop() == 0
        key, db = daemon.data_dir / "kiosk.key", daemon.data_dir / "kiosk.db"
        ours = key_fingerprint(key.read_bytes())
        other = create_key(tmp_path / "other.key")  # another kiosk's, or an old one
        key.write_bytes(other)
        events, fires = event_count(db), fire_log(daemon)

        assert_refused(
            refused_start(daemon),
            f"locker-kiosk: the kiosk key {key} does not belong to the database {db}",
            f"made with key {ours[:12]}…, this file is key {key_fingerprint(other)[:12]}…",
            "with it 1 live pickup code would be wrong",
            f"locker-kiosk reinit --config {daemon.config_path} --void-pickup-codes",
        )
        assert event_count(db) == events and fire_log(daemon) == fires

        cfg = str(daemon.config_path)
        wrong = daemon.kiosk_cmd("reinit", "--config", cfg, "--forget-stored-parcels")
        assert wrong.returncode == 1
        assert "nothing to forget" in wrong.stderr
        assert "--void-pickup-codes is the option for that" in wrong.stderr
        assert event_count(db) == events

        void = daemon.kiosk_cmd("reinit", "--config", cfg, "--void-pickup-codes")
        assert void.returncode == 0, void.stderr
        (aside,) = daemon.data_dir.glob("set-aside-*")
        assert (aside / "kiosk.key").read_bytes() == other  # kept, not deleted
        assert "1 stored parcels have new pickup codes" in void.stdout
        daemon.start()
        assert daemon.events("kiosk_rekeyed")[-1]["detail"]["new_codes"] == 1


def test_voiding_the_codes_sends_new_codes_that_open_the_door_and_the_old_one_does_not() -> None:
    with running_daemon() as daemon:
        badge = daemon.kiosk_cmd("users", "--config", str(daemon.config_path), "add", "bea",
                                 "--role", "courier", "--badge", "B-1", "--pin-stdin",
                                 stdin=BEA_PIN + "\n")  # fmt: skip
        assert badge.returncode == 0, badge.stderr
        stored = store_parcel(daemon, "VOID-1")
        old = daemon.code_for("VOID-1")
        assert daemon.stop() == 0
        (daemon.data_dir / "kiosk.key").unlink()
        assert refused_start(daemon).returncode == 2
        fires = fire_log(daemon)

        r = daemon.kiosk_cmd("reinit", "--config", str(daemon.config_path),
                             "--void-pickup-codes")  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[1:] == [
            "1 stored parcels have new pickup codes; their recipients are sent them once "
            "the daemon runs",
            "badges removed, enrol them again: bea",
        ]
        daemon.start()
        message = daemon.wait_for(
            lambda: [m for m in daemon.inbox() if m["payload"].get("replaces_code")],
            what="the new code's message",
        )[0]
        assert message["payload"]["barcode"] == "VOID-1" and message["recipient"] == PHONE
        new = str(message["payload"]["code"])
        assert new != old
        rekeyed = daemon.events("kiosk_rekeyed")[-1]
        assert rekeyed["severity"] == "alarm"
        assert rekeyed["detail"]["badges_removed"] == ["bea"]
        assert fire_log(daemon) == fires

        customer = daemon.client()
        with pytest.raises(ApiError) as refused:
            customer.post("/v1/pickup", {"code": old})
        assert refused.value.message == "That code is not right. Please check it and try again."
        with pytest.raises(ApiError):
            daemon.client().sign_in(BEA_PIN, badge="B-1")  # the badge is gone
        assert daemon.client().sign_in(BEA_PIN, user="bea")["user"] == "bea"  # she is not
        assert fire_log(daemon) == fires  # none of it opened anything
        picked = customer.post("/v1/pickup", {"code": new})
        assert picked["compartment"] == stored["compartment"]


# -- re-initialising a lost database -----------------------------------------------------


def test_forgetting_the_stored_parcels_starts_a_new_database_that_checks_every_door() -> None:
    with running_daemon() as daemon:
        first = deposit_goes_to(daemon, "FORGET-1")
        assert daemon.stop() == 0
        db = daemon.data_dir / "kiosk.db"
        db.write_bytes(b"")
        for name in ("kiosk.db-wal", "kiosk.db-shm"):
            (daemon.data_dir / name).unlink(missing_ok=True)
        cfg = str(daemon.config_path)
        wrong = daemon.kiosk_cmd("reinit", "--config", cfg, "--void-pickup-codes")
        assert wrong.returncode == 1
        assert "the database itself is what is wrong: --forget-stored-parcels" in wrong.stderr
        fires = fire_log(daemon)

        r = daemon.kiosk_cmd("reinit", "--config", cfg, "--forget-stored-parcels")
        assert r.returncode == 0, r.stderr
        (aside,) = daemon.data_dir.glob("set-aside-*")
        assert (aside / "kiosk.db").stat().st_size == 0  # what was there is kept
        assert r.stdout.splitlines() == [
            f"a new, empty database {db} for kiosk TEST-01, with the key "
            f"{daemon.data_dir / 'kiosk.key'} (fingerprint "
            f"{key_fingerprint((daemon.data_dir / 'kiosk.key').read_bytes())[:12]}…)",
            f"what was there is kept in {aside}",
            "all 12 compartments wait for a technician's check; at start, those whose item "
            "sensor sees nothing are cleared by it",
            f"add the people who may sign in again: locker-kiosk users add NAME --role "
            f"technician --config {cfg}",
        ]
        daemon.add_users()  # the people were in the lost database
        daemon.start()
        daemon.wait_for(lambda: len(daemon.events("compartment_check_cleared")) == 11,
                        what="the item sensors to clear the empty compartments")  # fmt: skip

        assert daemon.events("store_reinitialised")[0]["severity"] == "alarm"
        cleared = daemon.events("compartment_check_cleared")
        assert {e["detail"]["by"] for e in cleared} == {"item_sensor"}
        assert first not in {e["compartment"] for e in cleared}
        check = check_of(daemon, first)
        assert check is not None and check["reason"] == "item_unexpected"
        assert check["text"] == "something inside, but no parcel recorded"
        assert [c for c, v in compartments(daemon).items() if v["check"]] == [first]
        assert fire_log(daemon) == fires  # nothing opened by itself
        assert deposit_goes_to(daemon, "FORGET-2") != first

        again = daemon.kiosk_cmd("reinit", "--config", cfg, "--forget-stored-parcels")
        assert again.returncode == 1
        assert "another daemon is already running" in again.stderr


# -- a torn write-ahead log ----------------------------------------------------------------


def tear_after(daemon: Daemon, commits: int, keep_mark: bool) -> list[str]:
    """Kill the daemon, tear its WAL back to ``commits``, start it; the fire log then."""
    wait_for_mark(daemon)
    daemon.kill9()
    assert tear_wal(daemon.data_dir / "kiosk.db-wal", commits) > 0
    if not keep_mark:
        (daemon.data_dir / "kiosk.mark").unlink()
    fires = fire_log(daemon)
    daemon.start()
    return fires


@pytest.mark.parametrize(("keep_mark", "reason"), [(True, "store_behind"),
                                                   (False, "item_unexpected")])  # fmt: skip
def test_a_torn_wal_with_a_parcel_behind_a_door_the_store_forgot_holds_that_door(
    keep_mark: bool, reason: str
) -> None:
    with running_daemon(sections=NO_CHECKPOINT) as daemon:
        deposit_goes_to(daemon, "TORN-0")
        commits = len(wal_commits(daemon.data_dir / "kiosk.db-wal"))
        lost = deposit_goes_to(daemon, "TORN-1")
        daemon.code_for("TORN-1")
        fires = tear_after(daemon, commits, keep_mark)

        assert "TORN-1" not in [p["barcode"] for p in daemon.client().get("/v1/parcels")["parcels"]]
        alarm = [e for e in daemon.events("compartment_needs_check") if e["compartment"] == lost]
        assert [(e["severity"], e["detail"]["reason"]) for e in alarm] == [("alarm", reason)]
        if keep_mark:
            behind = daemon.events("store_behind")[-1]
            assert behind["severity"] == "alarm"
            assert behind["detail"]["why"] == "behind"
            assert behind["detail"]["compartments"] == [lost]
            assert alarm[0]["detail"]["recorded"]["barcode"] == "TORN-1"
        status = daemon.client().get("/v1/status")
        assert status["compartments"]["needs_check"] == [lost]
        assert f"Needs a check: {lost} (not handed out" in daemon.ctl("status").stdout
        row = next(line for line in daemon.ctl("compartments").stdout.splitlines()
                   if line.startswith(lost))  # fmt: skip
        assert check_of(daemon, lost)["text"] in row  # type: ignore[index]
        assert fire_log(daemon) == fires  # the restart fired nothing
        assert deposit_goes_to(daemon, "TORN-2") != lost  # not handed out


@pytest.mark.parametrize(("keep_mark", "reason"), [(True, "store_behind"),
                                                   (False, "item_missing")])  # fmt: skip
def test_a_pickup_rolled_back_by_a_torn_wal_is_flagged_not_passed_over(
    keep_mark: bool, reason: str
) -> None:
    with running_daemon(sections=NO_CHECKPOINT) as daemon:
        door = deposit_goes_to(daemon, "ROLLBACK-1")
        code = daemon.code_for("ROLLBACK-1")
        commits = len(wal_commits(daemon.data_dir / "kiosk.db-wal"))
        customer = daemon.client()
        picked = customer.post("/v1/pickup", {"code": code})
        customer.wait_operation(picked["operation"], until_done=True)
        assert parcel(daemon, "ROLLBACK-1")["state"] == "PICKED_UP"
        fires = tear_after(daemon, commits, keep_mark)

        assert parcel(daemon, "ROLLBACK-1")["state"] == "STORED"  # what the torn log says
        alarm = [e for e in daemon.events("compartment_needs_check") if e["compartment"] == door]
        assert [(e["severity"], e["detail"]["reason"]) for e in alarm] == [("alarm", reason)]
        view = compartments(daemon)[door]
        assert view["item"] is False and view["check"]["reason"] == reason
        if keep_mark:
            assert daemon.events("store_behind")[-1]["detail"]["compartments"] == [door]
            assert alarm[0]["detail"]["stored"]["barcode"] == "ROLLBACK-1"
        else:
            assert alarm[0]["detail"]["barcode"] == "ROLLBACK-1"
        assert fire_log(daemon) == fires


def test_a_pickup_the_restart_abandons_is_compared_once_abandoned_and_needs_a_check() -> None:
    # The log kept the pickup's intent but not its door opening: at the restart the
    # journal finds the door closed and abandons the pickup (it never fires by itself),
    # so the parcel stays recorded. The item sensor, read once the pickup is abandoned,
    # says the compartment is empty: the customer took it while the daemon was away.
    with running_daemon(sections=NO_CHECKPOINT, person="manual") as daemon:
        sim = daemon.sim()
        courier = daemon.signed_in()
        view = courier.post("/v1/deposits", {"barcode": "ABANDON-1", "size": "S", "phone": PHONE})
        door = view["compartment"]
        sim.set_item(door, True)
        sim.close_door(door)
        courier.wait_operation(view["operation"], until_done=True)
        customer = daemon.client()
        picked = customer.post("/v1/pickup", {"code": daemon.code_for("ABANDON-1")})
        intent_only = len(wal_commits(daemon.data_dir / "kiosk.db-wal")) - 1  # not door_opened
        sim.set_item(door, False)
        sim.close_door(door)
        customer.wait_operation(picked["operation"], until_done=True)
        fires = tear_after(daemon, intent_only, keep_mark=False)

        daemon.wait_for(lambda: daemon.events("compartment_needs_check"), what="the check")
        assert parcel(daemon, "ABANDON-1")["state"] == "STORED"
        (alarm,) = daemon.events("compartment_needs_check")
        assert (alarm["compartment"], alarm["detail"]["reason"]) == (door, "item_missing")
        assert alarm["seq"] > daemon.events("operation_abandoned")[0]["seq"]
        assert fire_log(daemon) == fires  # abandoned, never fired again


def test_a_board_without_item_sensors_is_not_compared_but_its_mark_catches_a_torn_wal() -> None:
    with running_daemon(sections=NO_CHECKPOINT, board={"item_sensors": False}) as daemon:
        daemon.sim().set_item("A05", True)  # unseen: this board has no item sensors
        commits = len(wal_commits(daemon.data_dir / "kiosk.db-wal"))
        lost = deposit_goes_to(daemon, "NOSENSE-1")
        fires = tear_after(daemon, commits, keep_mark=True)

        flagged = {c: v["check"]["reason"] for c, v in compartments(daemon).items() if v["check"]}
        assert flagged == {lost: "store_behind"}  # A05: no sensor, no comparison
        assert compartments(daemon)["A05"]["item"] is None
        assert fire_log(daemon) == fires


# -- the item sensors against the store at start ----------------------------------------


def test_something_inside_a_free_compartment_at_start_is_held_until_a_technician_clears_it() -> (
    None
):
    with running_daemon() as daemon:
        daemon.sim().set_item("A01", True)  # put in by hand while nobody watched
        assert daemon.stop() == 0
        fires = fire_log(daemon)
        daemon.start()

        alarm = daemon.events("compartment_needs_check")
        assert [(e["compartment"], e["severity"], e["detail"]["reason"]) for e in alarm] == [
            ("A01", "alarm", "item_unexpected")
        ]
        assert fire_log(daemon) == fires
        assert deposit_goes_to(daemon, "CHECK-1") == "A02"  # A01, the first S, is held
        row = next(line for line in daemon.ctl("compartments").stdout.splitlines()
                   if line.startswith("A01"))  # fmt: skip
        assert "something inside, but no parcel recorded" in row

        pin = TECHNICIAN[1]
        early = daemon.ctl("clear-check", "A01", pin=pin)
        assert early.returncode == 1
        assert early.stderr.strip() == (
            "lockerctl: The item sensor still sees something in A01, and no parcel is "
            "recorded there: open it, take out what is inside and close it, then clear "
            "the check."
        )
        assert daemon.events("compartment_check_cleared") == []
        assert daemon.ctl("open", "A01", pin=pin).returncode == 0  # the person takes it out
        daemon.wait_for(lambda: compartments(daemon)["A01"]["item"] is False, what="empty A01")
        daemon.wait_for(lambda: compartments(daemon)["A01"]["operation"] is None, what="closed")
        done = daemon.ctl("clear-check", "A01", pin=pin)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "A01 is checked: AVAILABLE, handed out again when free."
        cleared = daemon.events("compartment_check_cleared")[-1]
        assert (cleared["compartment"], cleared["actor"]) == ("A01", TECHNICIAN[0])
        assert cleared["detail"] == {"reason": "item_unexpected", "item": False}
        assert deposit_goes_to(daemon, "CHECK-2") == "A01"


def test_a_parcel_the_item_sensor_cannot_see_at_start_needs_a_check() -> None:
    with running_daemon() as daemon:
        door = deposit_goes_to(daemon, "GONE-1")
        daemon.sim().set_item(door, False)  # taken while nobody watched
        assert daemon.stop() == 0
        fires = fire_log(daemon)
        daemon.start()

        (alarm,) = daemon.events("compartment_needs_check")
        assert (alarm["compartment"], alarm["detail"]["reason"]) == (door, "item_missing")
        assert alarm["detail"]["barcode"] == "GONE-1"
        assert compartments(daemon)[door]["check"]["text"] == (
            "a parcel recorded, but the item sensor sees none"
        )
        assert fire_log(daemon) == fires
