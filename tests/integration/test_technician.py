"""The technician's journey: sign in, look, open doors, take compartments out, self-test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testkit.api import PHONE, compartments, refused, states, store_parcel
from testkit.daemon import TECHNICIAN, Daemon, running_daemon

ALL = [f"A{i:02d}" for i in range(1, 13)]


@pytest.fixture
def quick() -> Iterator[Daemon]:
    """A bank whose simulated person closes doors quickly: jobs over all 12 doors stay short."""
    with running_daemon(close_delay_s=0.15) as d:
        yield d


def finished(daemon: Daemon, job: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """Follow a job through ``GET /v1/jobs/{id}``; its last view and each view's ``done``."""
    tech = daemon.client()
    views = list(tech.watch_job(job["id"], poll=10))
    return views[-1], [v["done"] for v in views]


def test_technician_signs_in_and_sees_the_status(daemon: Daemon) -> None:
    tech = daemon.client()
    assert tech.sign_in(TECHNICIAN[1], user=TECHNICIAN[0])["role"] == "technician"

    status = tech.get("/v1/status")
    assert status["kiosk"]["id"] == "TEST-01"
    assert status["kiosk"]["operator_contact"] == "+49 30 999"
    assert status["compartments"]["total"] == 12
    assert status["compartments"]["by_state"] == {"AVAILABLE": 12}
    assert status["compartments"]["free_by_size"] == {"S": 4, "M": 4, "L": 3, "XL": 1}
    assert status["compartments"]["doors_open"] == 0
    assert [(b["name"], b["online"]) for b in status["boards"]] == [("bank", True)]
    assert status["keypad"]["retry_after"] == 0


def test_technician_actions_need_a_technician(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    err = refused(lambda: courier.post("/v1/compartments/A01/open"), 401)
    assert err.message == "this needs a technician sign-in"
    err = refused(lambda: daemon.client().post("/v1/selftest", {}), 401)
    assert err.message == "please sign in first"
    assert daemon.sim().fire_counts()["A01"] == 0


def test_technician_opens_one_door(daemon: Daemon) -> None:
    tech = daemon.signed_in(TECHNICIAN)
    view = tech.post("/v1/compartments/A05/open")
    assert view["compartment"] == "A05"
    assert view["message"] == "Door A05 is open."
    assert view["door"] == "OPEN"

    done = tech.wait_operation(view["operation"])
    assert done["message"] == "Door A05 closed."
    assert compartments(daemon)["A05"]["door"] == "CLOSED"
    (unlock,) = daemon.events("unlock")
    assert (unlock["actor"], unlock["compartment"]) == ("tomas", "A05")
    assert unlock["detail"]["purpose"] == "technician"
    assert [e["compartment"] for e in daemon.events("door_opened")] == ["A05"]
    assert states(daemon)["A05"] == "AVAILABLE"

    err = refused(lambda: tech.post("/v1/compartments/Z99/open"), 404)
    assert err.message == "no compartment Z99"


def test_technician_opens_all_doors_one_after_another(quick: Daemon) -> None:
    tech = quick.signed_in(TECHNICIAN)
    job = tech.post("/v1/compartments/open-all")
    assert (job["kind"], job["total"]) == ("open-all", 12)

    final, _ = finished(quick, job)
    assert (final["state"], final["done"], final["total"]) == ("done", 12, 12)
    assert [r["compartment"] for r in final["results"]] == ALL
    assert all(r["ok"] for r in final["results"])
    assert quick.sim().fire_counts() == dict.fromkeys(ALL, 1)

    # One at a time: each door was seen open before the next lock fired.
    steps = [(e["kind"], e["compartment"]) for e in quick.events()
             if e["kind"] in ("unlock", "door_opened")]  # fmt: skip
    assert steps == [(kind, cid) for cid in ALL for kind in ("unlock", "door_opened")]
    quick.wait_for(lambda: compartments(quick)["A12"]["door"] == "CLOSED", what="doors closed")
    (end,) = quick.events("open-all_finished")
    assert end["detail"]["failed"] == []


def test_technician_takes_a_compartment_out_of_service_and_back(daemon: Daemon) -> None:
    tech = daemon.signed_in(TECHNICIAN)
    row = tech.post("/v1/compartments/A01/out-of-service", {"reason": "hinge broken"})
    assert row == {"id": "A01", "size": "S", "state": "OUT_OF_SERVICE", "reason": "hinge broken",
                   "reason_code": "technician", "reason_detail": None,
                   "check": None}  # fmt: skip
    assert compartments(daemon)["A01"]["reason"] == "hinge broken"
    (event,) = daemon.events("out_of_service")
    assert (event["actor"], event["detail"]["reason"]) == ("tomas", "hinge broken")

    courier = daemon.signed_in()
    body = {"barcode": "PKG-AFTER-OOS", "size": "S", "phone": PHONE}
    assert courier.post("/v1/deposits", body)["compartment"] == "A02"

    row = tech.post("/v1/compartments/A01/in-service")
    assert (row["state"], row["reason"], row["reason_code"]) == ("AVAILABLE", None, None)
    assert courier.post("/v1/deposits", {**body, "barcode": "PKG-BACK"})["compartment"] == "A01"


def test_compartment_with_a_parcel_comes_back_in_service_occupied(daemon: Daemon) -> None:
    cid, code = store_parcel(daemon, "PKG-INSIDE", size="S")
    tech = daemon.signed_in(TECHNICIAN)
    tech.post(f"/v1/compartments/{cid}/out-of-service", {"reason": "lock sticks"})
    assert states(daemon)[cid] == "OUT_OF_SERVICE"

    row = tech.post(f"/v1/compartments/{cid}/in-service")
    assert row["state"] == "OCCUPIED"
    (event,) = daemon.events("in_service")
    assert event["detail"]["state"] == "OCCUPIED"
    pickup = daemon.client().post("/v1/pickup", {"code": code})
    assert pickup["compartment"] == cid


def test_out_of_service_needs_a_reason(daemon: Daemon) -> None:
    tech = daemon.signed_in(TECHNICIAN)
    err = refused(lambda: tech.post("/v1/compartments/A01/out-of-service", {"reason": "  "}), 400)
    assert err.message == "Give a reason for taking the compartment out of service."
    err = refused(lambda: tech.post("/v1/compartments/A01/out-of-service", {}), 422)
    assert err.message == "reason: Field required"
    assert states(daemon)["A01"] == "AVAILABLE"


def test_selftest_fires_every_lock_in_turn_and_passes_on_a_healthy_bank(quick: Daemon) -> None:
    tech = quick.signed_in(TECHNICIAN)
    job = tech.post("/v1/selftest", {})
    assert (job["kind"], job["state"], job["total"]) == ("self-test", "running", 12)
    err = refused(lambda: tech.post("/v1/compartments/open-all"), 409)
    assert err.message == "Another open-all or self-test is still running."

    final, progress = finished(quick, job)
    assert progress == sorted(progress) and any(0 < n < 12 for n in progress)
    assert final["state"] == "done"
    assert [r["compartment"] for r in final["results"]] == ALL
    assert {(r["ok"], r["detail"]) for r in final["results"]} == {(True, "opened and closed")}
    assert quick.sim().fire_counts() == dict.fromkeys(ALL, 1)
    (end,) = quick.events("self-test_finished")
    assert (end["severity"], end["detail"]["failed"]) == ("info", [])
    assert set(states(quick).values()) == {"AVAILABLE"}


def test_selftest_reports_a_jammed_lock_and_takes_failures_out_of_service(quick: Daemon) -> None:
    quick.sim().jam("A03")
    quick.sim().leave_open("A05")
    tech = quick.signed_in(TECHNICIAN)
    job = tech.post("/v1/selftest", {"take_out_of_service": True})

    final, _ = finished(quick, job)
    results = {r["compartment"]: r for r in final["results"]}
    assert results["A03"]["ok"] is False
    assert results["A03"]["detail"] == "door did not open"
    assert results["A05"]["ok"] is False
    assert results["A05"]["detail"] == "door not closed within 2 s"
    assert (results["A03"]["code"], results["A05"]["code"]) == ("did_not_open", "not_closed")
    assert results["A05"]["seconds"] == 2
    assert all(results[cid]["ok"] for cid in ALL if cid not in ("A03", "A05"))

    comps = compartments(quick)
    assert comps["A03"]["state"] == "OUT_OF_SERVICE"
    assert "door did not open" in comps["A03"]["reason"]
    assert comps["A05"]["state"] == "OUT_OF_SERVICE"
    assert comps["A05"]["reason"] == "self-test: door not closed within 2 s"
    assert (comps["A05"]["reason_code"], comps["A05"]["reason_detail"]) == (
        "self_test",
        {"code": "not_closed", "seconds": 2},
    )
    assert {s for cid, s in states(quick).items() if cid not in ("A03", "A05")} == {"AVAILABLE"}
    (end,) = quick.events("self-test_finished")
    assert (end["severity"], end["detail"]["failed"]) == ("warning", ["A03", "A05"])
    quick.sim().close_door("A05")


def test_a_self_test_failure_reads_back_with_its_code_and_seconds_after_a_restart(
    quick: Daemon,
) -> None:
    quick.sim().leave_open("A05")
    tech = quick.signed_in(TECHNICIAN)
    finished(quick, tech.post("/v1/selftest", {"take_out_of_service": True}))
    quick.sim().close_door("A05")
    why = ("OUT_OF_SERVICE", "self-test: door not closed within 2 s", "self_test",
           {"code": "not_closed", "seconds": 2})  # fmt: skip
    before = compartments(quick)["A05"]
    assert (
        before["state"],
        before["reason"],
        before["reason_code"],
        before["reason_detail"],
    ) == why

    assert quick.stop() == 0
    quick.start()

    after = compartments(quick)["A05"]
    assert (after["state"], after["reason"], after["reason_code"], after["reason_detail"]) == why
    (event,) = quick.events("out_of_service")
    assert (event["compartment"], event["detail"]["reason"]) == ("A05", after["reason"])


def test_technician_reads_the_event_log_newest_first_and_it_is_intact(daemon: Daemon) -> None:
    store_parcel(daemon, "PKG-LOG", size="S")
    tech = daemon.signed_in(TECHNICIAN)
    tech.post("/v1/compartments/A09/out-of-service", {"reason": "door bent"})

    events = tech.get("/v1/events", newest_first=True, limit=5)["events"]
    assert len(events) == 5
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs, reverse=True)
    assert events[0]["kind"] == "out_of_service"
    verified = tech.get("/v1/events/verify")
    assert verified["ok"] is True
    assert verified["rows"] == len(daemon.events()) and verified["first_bad_seq"] is None
