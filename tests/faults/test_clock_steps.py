"""The wall clock steps under a running kiosk: deadlines and durations hold.

Each daemon here runs with a wall clock the test can step (:mod:`testkit.wallclock`:
``time.time`` moves, the monotonic clocks do not, as when a time server or a Pi without a
battery clock sets the system clock). Expiry is checked every 0.2 s.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import TECHNICIAN, Daemon, stepped_daemon
from tests.faults.conftest import kinds, parcel

DAYS_4 = 4 * 86400.0
ROUND_S = 0.2


def policy(hold_hours: float, **more: Any) -> dict[str, dict[str, Any]]:
    return {"policy": {"hold_hours": hold_hours, "reminder_hours": [],
                       "expiry_check_s": ROUND_S}, **more}  # fmt: skip


def deposit(daemon: Daemon, barcode: str) -> dict[str, Any]:
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": barcode, "size": "S",
                                         "phone": "+4915112345678"})  # fmt: skip
    done = courier.wait_operation(view["operation"], until_done=True)
    assert done["status"] == "CLOSED", done
    return parcel(daemon, barcode)


def wait_event(daemon: Daemon, kind: str) -> dict[str, Any]:
    found = daemon.wait_for(lambda: daemon.events(kind), what=f"a {kind} event")
    return dict(found[-1])


def some_rounds() -> None:
    """Time for the daemon's housekeeping to have run several rounds (it would have
    expired the parcel in any one of them)."""
    time.sleep(8 * ROUND_S)


def expiry_messages(daemon: Daemon) -> list[dict[str, Any]]:
    return [m for m in daemon.inbox() if m["kind"] == "parcel_expired"]


def test_a_false_jump_forward_expires_nothing_and_raises_a_clock_jump_alarm() -> None:
    with stepped_daemon(sections=policy(hold_hours=1)) as (daemon, wall):
        stored = deposit(daemon, "JUMP-1")
        courier = daemon.signed_in()  # idle sessions end after 30 minutes here

        wall.set(DAYS_4)  # the wall clock says four days later; a minute has passed
        alarm = wait_event(daemon, "clock_jump")
        some_rounds()

        courier.get("/v1/deposits/lookup", barcode="JUMP-2")  # still signed in

        assert alarm["severity"] == "alarm"
        assert alarm["detail"]["step_s"] == pytest.approx(DAYS_4, abs=30)
        assert parcel(daemon, "JUMP-1")["state"] == "STORED"
        assert parcel(daemon, "JUMP-1")["expires_at"] == stored["expires_at"]
        assert "parcel_expired" not in kinds(daemon.events())
        assert expiry_messages(daemon) == []  # the recipient is not told it expired
        clock = daemon.client().get("/v1/status")["clock"]
        assert (clock["state"], clock["trusted"]) == ("jumped", False)
        status = daemon.ctl("status").stdout
        assert "Clock:         JUMPED +4d 0h against the time that passed" in status
        assert "until a technician confirms the time (lockerctl clock-confirm)" in status


def test_a_parcel_stored_before_a_false_jump_is_picked_up_after_the_clock_comes_back() -> None:
    with stepped_daemon(sections=policy(hold_hours=1)) as (daemon, wall):
        stored = deposit(daemon, "BACK-1")
        code = daemon.code_for("BACK-1")

        wall.set(DAYS_4)
        wait_event(daemon, "clock_jump")
        wall.set(0)  # the time server is fixed: the clock comes back
        returned = wait_event(daemon, "clock_returned")
        fires = daemon.sim().fire_counts()
        view = daemon.client().post("/v1/pickup", {"code": code})

        assert returned["detail"]["step_s"] == pytest.approx(DAYS_4, abs=30)
        assert daemon.client().get("/v1/status")["clock"]["state"] == "trusted"
        door = stored["compartment"]
        assert view["message"] == f"Door {door} is open: take your parcel and close the door."
        after = daemon.sim().fire_counts()
        assert after.get(stored["compartment"], 0) == fires.get(stored["compartment"], 0) + 1
        daemon.wait_for(lambda: parcel(daemon, "BACK-1")["state"] == "PICKED_UP",
                        what="the pickup to finish")  # fmt: skip
        assert "parcel_expired" not in kinds(daemon.events())


def test_expiry_waits_for_a_technician_to_confirm_a_jump() -> None:
    # Parcels are held 3.6 s; one of them is given a day more.
    with stepped_daemon(sections=policy(hold_hours=0.001)) as (daemon, wall):
        wall.set(DAYS_4)
        wait_event(daemon, "clock_jump")
        short = deposit(daemon, "HELD-1")
        long = deposit(daemon, "HELD-2")
        daemon.signed_in(TECHNICIAN).extend_hold("HELD-2", 24)

        # Past the short hold by the time that really passed: held, not expired.
        daemon.wait_for(lambda: time.time() > short["stored_at"] + 3.6 + 1, timeout=30,
                        what="the hold to pass")  # fmt: skip
        some_rounds()
        assert parcel(daemon, "HELD-1")["state"] == "STORED"
        assert expiry_messages(daemon) == []

        confirmed = daemon.ctl("clock-confirm", "--user", TECHNICIAN[0], pin=TECHNICIAN[1])
        assert confirmed.returncode == 0, confirmed.stderr
        assert "parcels expire by it again" in confirmed.stdout
        daemon.wait_for(lambda: parcel(daemon, "HELD-1")["state"] == "EXPIRED",
                        what="the held parcel to expire")  # fmt: skip
        (event,) = daemon.events("clock_confirmed")
        assert (event["actor"], event["detail"]["parcels_moved"]) == (TECHNICIAN[0], 2)
        assert event["detail"]["step_s"] == pytest.approx(DAYS_4, abs=30)
        notes = daemon.wait_for(lambda: expiry_messages(daemon), what="the recipient told")
        assert [n["payload"]["barcode"] for n in notes] == ["HELD-1"]
        # The four days are not time the parcel was held: a day and a bit is left.
        kept = parcel(daemon, "HELD-2")
        assert kept["state"] == "STORED"
        assert kept["expires_at"] == pytest.approx(long["expires_at"] + 24 * 3600 + DAYS_4, abs=30)
        assert daemon.client().get("/v1/status")["clock"]["trusted"] is True


def test_no_parcel_expires_before_the_time_is_synchronised(tmp_path: Path) -> None:
    synced = tmp_path / "synchronized"  # what systemd-timesyncd touches at its first sync
    clock = {"clock": {"trust": "timesyncd", "sync_file": str(synced)}}
    with stepped_daemon(sections=policy(hold_hours=0.0006, **clock)) as (daemon, _):
        stored = deposit(daemon, "SYNC-1")
        daemon.wait_for(lambda: time.time() > stored["expires_at"] + 1, what="the hold to pass")
        some_rounds()

        assert parcel(daemon, "SYNC-1")["state"] == "STORED"
        assert daemon.client().get("/v1/status")["clock"]["state"] == "waiting_for_sync"
        assert "Clock:         NOT SYNCHRONISED: no parcel expires until systemd-timesyncd" in (
            daemon.ctl("status").stdout
        )

        synced.touch()
        daemon.wait_for(lambda: parcel(daemon, "SYNC-1")["state"] == "EXPIRED",
                        what="expiry once synchronised")  # fmt: skip
        assert "clock_synchronised" in kinds(daemon.events())
        daemon.wait_for(lambda: expiry_messages(daemon), what="the recipient told")


def test_a_pi_that_boots_with_a_stale_clock_keeps_its_parcels_when_the_time_synchronises(
    tmp_path: Path,
) -> None:
    synced = tmp_path / "synchronized"
    clock = {"clock": {"trust": "timesyncd", "sync_file": str(synced)}}
    # No battery clock: the Pi starts at the time it last saved, four days ago.
    with stepped_daemon(-DAYS_4, sections=policy(hold_hours=1, **clock)) as (daemon, wall):
        stored = deposit(daemon, "STALE-1")
        assert stored["stored_at"] == pytest.approx(time.time() - DAYS_4, abs=60)

        wall.set(0)  # a time server answers: the clock steps four days forward
        synced.touch()
        event = wait_event(daemon, "clock_synchronised")
        some_rounds()

        assert event["detail"]["step_s"] == pytest.approx(DAYS_4, abs=30)
        assert event["detail"]["parcels_moved"] == 1
        kept = parcel(daemon, "STALE-1")
        assert kept["state"] == "STORED"
        assert kept["expires_at"] == pytest.approx(time.time() + 3600, abs=60)
        assert expiry_messages(daemon) == []
        assert daemon.client().get("/v1/status")["clock"]["trusted"] is True


def test_a_clock_step_and_a_restart_do_not_empty_the_mass_open_window() -> None:
    guard = {"security": {"mass_open_max": 3, "mass_open_window_s": 300}}
    with stepped_daemon(sections=guard, close_delay_s=0.15) as (daemon, wall):
        for n in range(3):  # opens 1-3
            deposit(daemon, f"WINDOW-{n}")
        code = daemon.code_for("WINDOW-0")
        wall.set(86400)  # a day later by the wall clock, seconds later in truth
        wait_event(daemon, "clock_jump")
        assert daemon.stop() == 0
        daemon.start()
        fires = daemon.sim().fire_counts()

        with pytest.raises(ApiError) as refused:
            daemon.client().post("/v1/pickup", {"code": code})  # open 4: too many

        assert refused.value.status == 503
        assert refused.value.message.startswith("The kiosk has paused opening doors for safety.")
        assert daemon.sim().fire_counts() == fires  # no lock fired
        assert "mass_open_guard_tripped" in kinds(daemon.events())


class Gateway(http.server.BaseHTTPRequestHandler):
    """A recipients' gateway that refuses every message until told to take them."""

    taking = threading.Event()
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.taking.is_set():
            self.received.append(body)
            self.send_response(200)
        else:
            self.send_response(503)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.taking.clear()
    Gateway.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/notify"
    server.shutdown()
    server.server_close()


def test_a_step_back_of_a_day_does_not_put_a_notification_retry_off_for_a_day(
    gateway: str,
) -> None:
    notify = {"notify": {"backend": "webhook", "retry_initial_s": 1, "retry_max_s": 2},
              "notify.webhook": {"url": gateway, "secret": "a-test-secret"}}  # fmt: skip
    with stepped_daemon(sections={**policy(hold_hours=1), **notify}) as (daemon, wall):
        deposit(daemon, "RETRY-1")
        wait_event(daemon, "notification_retry")  # the gateway refused it: retried soon

        wall.set(-86400)  # the clock steps back a day
        alarm = wait_event(daemon, "clock_jump")
        Gateway.taking.set()

        sent = wait_event(daemon, "notification_sent")
        assert alarm["detail"]["step_s"] == pytest.approx(-86400, abs=30)
        assert sent["detail"]["notification"] == "parcel_stored"
        assert len(Gateway.received) == 1
