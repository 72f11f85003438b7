"""The data dir's disk fills up: the kiosk starts, says so, opens nothing, and catches up.

Each daemon here keeps its data dir on a tmpfs of its own that the test mounts, fills
with one file and frees again (skipped, with the reason, where mounting is refused);
the simulated bank's files and the recipients' inbox live beside it, on a disk with
room, as the world outside the kiosk would.
"""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import COURIER, TECHNICIAN, Daemon
from testkit.tmpfs import fill, free_bytes, kiosk_on_a_small_disk
from tests.faults.conftest import kinds, parcel

MB = 1024 * 1024


def deposit(daemon: Daemon, barcode: str) -> tuple[str, str]:
    """A courier stores ``barcode``; returns its compartment and pickup code."""
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": barcode, "size": "S",
                                         "phone": "+4915112345678"})  # fmt: skip
    done = courier.wait_operation(view["operation"], until_done=True)
    assert done["status"] == "CLOSED", done
    return done["compartment"], daemon.code_for(barcode)


def fire_log(daemon: Daemon) -> list[str]:
    """The simulated bank's record of every lock that fired (kept beside the data dir)."""
    return (daemon.files_dir / "sim-fires.log").read_text().splitlines()


def storage(daemon: Daemon) -> dict[str, Any]:
    return dict(daemon.client().get("/v1/status")["storage"])


def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        call()
    return info.value


def test_a_kiosk_whose_disk_is_full_starts_serves_reads_and_says_what_is_wrong() -> None:
    with kiosk_on_a_small_disk() as daemon:
        daemon.start()
        deposit(daemon, "FULL-1")
        assert daemon.stop() == 0
        fill(daemon.data_dir)

        daemon.start()  # before, a start on a full disk failed (and systemd rebooted)

        view = storage(daemon)
        assert (view["state"], view["read_only"]) == ("full", True)
        assert view["unwritten_events"] >= 1  # at least kiosk_started, held in memory
        assert parcel(daemon, "FULL-1")["state"] == "STORED"
        assert daemon.client().get("/v1/compartments")["compartments"][0]["id"] == "A01"
        assert daemon.events()[-1]["kind"] == "kiosk_stopped"  # read; nothing new written
        status = daemon.ctl("status")
        assert status.returncode == 0, status.stderr
        assert "Storage:       FULL" in status.stdout
        assert "nothing can be stored, no door opens" in status.stdout
        assert "kiosk_started" in daemon.log() and "not_stored_yet=True" in daemon.log()


def test_on_a_full_disk_no_door_opens_whatever_is_asked() -> None:
    with kiosk_on_a_small_disk() as daemon:
        daemon.start()
        _, code = deposit(daemon, "FULL-2")
        assert daemon.stop() == 0
        fill(daemon.data_dir)
        daemon.start()
        fires = daemon.sim().fire_counts()

        pickup = refused(lambda: daemon.client().post("/v1/pickup", {"code": code}))
        # A technician or a courier cannot even sign in: a sign-in is counted on the disk
        # before the PIN is checked, and there is no room to count it.
        signing_in = [refused(lambda who=who: daemon.signed_in(who))
                      for who in (TECHNICIAN, COURIER)]  # fmt: skip

        assert (pickup.status, pickup.message) == (
            503, "The kiosk cannot open doors right now: its storage is full. "
            "For help: +49 30 999")  # fmt: skip
        assert [(e.status, e.details.get("reason")) for e in signing_in] == [
            (503, "storage_full"), (503, "storage_full")]  # fmt: skip
        assert daemon.sim().fire_counts() == fires  # not one lock fired
        assert parcel(daemon, "FULL-2")["state"] == "STORED"


def test_what_a_full_disk_held_back_is_finished_when_space_returns() -> None:
    with kiosk_on_a_small_disk() as daemon:
        daemon.start()
        cid, code = deposit(daemon, "LATE-1")
        daemon.sim().leave_open(cid)  # the customer will not close the door for a while
        daemon.client().post("/v1/pickup", {"code": code})  # the door is open
        assert daemon.stop() == 0  # the pickup waits in the journal for the next start
        filler = fill(daemon.data_dir)
        fires = fire_log(daemon)

        daemon.start()
        assert storage(daemon)["read_only"] is True
        daemon.sim().leave_open(cid, False)
        daemon.sim().close_door(cid)  # the customer closes the door: nothing can be written
        daemon.wait_for(lambda: "cannot finish yet" in daemon.log(), what="the finish refused")
        assert parcel(daemon, "LATE-1")["state"] == "STORED"

        filler.unlink()  # room again
        daemon.wait_for(lambda: parcel(daemon, "LATE-1")["state"] == "PICKED_UP",
                        timeout=30, what="the pickup finished")  # fmt: skip

        log = daemon.events()
        started = [e for e in log if e["kind"] == "kiosk_started"][-1]
        picked = [e for e in log if e["kind"] == "parcel_picked_up"][-1]
        assert started["ts"] < picked["ts"]  # written late, with the time it happened
        assert {"disk_full", "disk_space_ok"} <= set(kinds(log))
        assert daemon.client().get("/v1/events/verify")["ok"] is True
        daemon.wait_for(lambda: storage(daemon)["state"] == "ok", what="the disk ok again")
        assert storage(daemon)["unwritten_events"] == 0
        assert fire_log(daemon) == fires  # nothing fired since the daemon died


def test_low_space_raises_an_alarm_before_the_disk_is_full() -> None:
    low = {"policy": {"expiry_check_s": 0.2}, "storage": {"low_space_mb": 12}}
    with kiosk_on_a_small_disk(size_mb=32, sections=low) as daemon:
        daemon.start()
        assert storage(daemon)["state"] == "ok"
        filler = fill(daemon.data_dir, leave_bytes=6 * MB)

        alarm = daemon.wait_for(lambda: daemon.events("disk_space_low"), what="the alarm")[0]
        assert alarm["severity"] == "alarm"
        assert alarm["detail"]["low_space_mb"] == 12
        assert alarm["detail"]["free_mb"] < 12
        assert storage(daemon)["state"] == "low"
        assert "Storage:       LOW" in daemon.ctl("status").stdout
        deposit(daemon, "LOW-1")  # the kiosk works on meanwhile

        filler.unlink()
        daemon.wait_for(lambda: daemon.events("disk_space_ok"), what="the alarm cleared")
        assert storage(daemon)["state"] == "ok"
        assert free_bytes(daemon.data_dir) > 12 * MB
