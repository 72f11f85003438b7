"""The courier's journey: sign in, scan, get a door of the right size, close it, done."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.api import (
    PHONE,
    compartments,
    event_kinds,
    parcel,
    refused,
    states,
    store_parcel,
)
from testkit.daemon import COURIER, COURIER2, TECHNICIAN, Daemon, running_daemon


@pytest.fixture
def manual() -> Iterator[Daemon]:
    """A bank whose doors stay open until the test closes them (``sim().close_door``)."""
    with running_daemon(person="manual") as d:
        yield d


def door(daemon: Daemon, cid: str) -> str:
    return str(compartments(daemon)[cid]["door"])


# -- signing in -----------------------------------------------------------------------


def test_courier_signs_in_with_pin(daemon: Daemon) -> None:
    client = daemon.client()
    answer = client.sign_in(COURIER[1], user=COURIER[0])
    assert answer["user"] == "carla"
    assert answer["role"] == "courier"
    assert answer["token"]
    (event,) = daemon.events("signed_in")
    assert event["actor"] == "carla"


def test_courier_wrong_pin_is_refused_and_logged(daemon: Daemon) -> None:
    err = refused(lambda: daemon.client().sign_in("999117", user="carla"), 401)
    assert err.message == "Sign-in failed: name, badge or PIN not recognised."
    (event,) = daemon.events("sign_in_failed")
    assert event["detail"]["user"] == "carla"
    assert "999117" not in str(event)


def test_courier_actions_need_a_sign_in(daemon: Daemon) -> None:
    anonymous = daemon.client()
    body = {"barcode": "PKG-1", "size": "S", "phone": PHONE}
    for path, payload in (
        ("/v1/deposits", body),
        ("/v1/announcements", body),
        ("/v1/returns/next", None),
        ("/v1/operations/1/bigger", None),
    ):
        err = refused(lambda p=path, b=payload: anonymous.post(p, b), 401)
        assert err.message == "please sign in first"
    assert set(states(daemon).values()) == {"AVAILABLE"}


# -- depositing -----------------------------------------------------------------------


def test_courier_deposit_stores_the_parcel_and_notifies_the_recipient(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "1Z999AA10123456784", "size": "M",
                                         "phone": PHONE})  # fmt: skip
    assert view["compartment"] == "A04"  # the first M that is not kept for wheelchair users
    assert view["message"] == "Door A04 is open: put the parcel in and close the door."
    assert states(daemon)["A04"] == "RESERVED"

    done = courier.wait_operation(view["operation"])
    assert done["message"] == "Stored in A04; the recipient has been notified."
    stored = parcel(daemon, "1Z999AA10123456784")
    assert stored["state"] == "STORED"
    assert stored["compartment"] == "A04"
    assert stored["courier"] == "carla"
    assert stored["phone"] != PHONE  # masked in every view
    assert states(daemon)["A04"] == "OCCUPIED"

    code = daemon.code_for("1Z999AA10123456784")
    assert len(code) == 8 and code.isdigit()
    (message,) = [m for m in daemon.inbox() if m["kind"] == "parcel_stored"]
    assert message["recipient"] == PHONE
    assert message["payload"]["compartment"] == "A04"
    sent = daemon.wait_for(lambda: daemon.events("notification_sent"), what="delivery event")
    assert sent[0]["detail"]["notification"] == "parcel_stored"
    assert code not in str(daemon.events())


def test_courier_scan_with_aim_prefix_keeps_the_gs1_separator(daemon: Daemon) -> None:
    scanned = "]C1" + "0104012345678901" + "\x1d" + "21ABC123"
    store_parcel(daemon, scanned, size="S")
    expected = "0104012345678901\x1d21ABC123"
    assert parcel(daemon, expected)["state"] == "STORED"


def test_courier_scan_with_control_characters_is_cleaned(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "\x02PKG\x07-42\r\n", "size": "S",
                                         "phone": PHONE})  # fmt: skip
    courier.wait_operation(view["operation"])
    assert parcel(daemon, "PKG-42")["compartment"] == view["compartment"]


def test_courier_too_long_barcode_is_refused_and_nothing_reserved(daemon: Daemon) -> None:
    before = states(daemon)
    courier = daemon.signed_in()
    body = {"barcode": "9" * 65, "size": "S", "phone": PHONE}
    err = refused(lambda: courier.post("/v1/deposits", body), 400)
    assert err.message == "A parcel barcode has at most 64 characters"
    err = refused(lambda: courier.post("/v1/deposits", {**body, "barcode": "\r\n"}), 400)
    assert err.message == "That does not look like a parcel barcode"
    assert states(daemon) == before


def test_courier_gets_smallest_size_then_larger_then_accessible(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    given = []
    for i in range(12):
        body = {"barcode": f"PKG-FILL-{i}", "size": "S", "phone": PHONE}
        given.append(courier.post("/v1/deposits", body)["compartment"])
    # S first, then M, then L (natural order), then XL; the low ones only when nothing else is.
    assert given == ["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A12", "A09",
                     "A10", "A11"]  # fmt: skip
    daemon.wait_for(lambda: set(states(daemon).values()) == {"OCCUPIED"}, what="every door closed")
    sizes = {p["size"] for p in daemon.client().get("/v1/parcels")["parcels"]}
    assert sizes == {"S", "M", "L", "XL"}  # a parcel takes the size of the compartment it is in


def test_courier_gets_accessible_compartment_when_asked(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    body = {"barcode": "PKG-LOW", "size": "S", "phone": PHONE, "accessible": True}
    assert courier.post("/v1/deposits", body)["compartment"] == "A10"
    body = {"barcode": "PKG-LOW-M", "size": "M", "phone": PHONE, "accessible": True}
    assert courier.post("/v1/deposits", body)["compartment"] == "A11"
    body = {"barcode": "PKG-LOW-L", "size": "L", "phone": PHONE, "accessible": True}
    assert courier.post("/v1/deposits", body)["compartment"] == "A07"  # no low L: a normal one


def test_courier_is_told_when_no_compartment_is_free_and_nothing_is_reserved(
    daemon: Daemon,
) -> None:
    store_parcel(daemon, "PKG-XL-1", size="XL")
    before = states(daemon)
    courier = daemon.signed_in()
    body = {"barcode": "PKG-XL-2", "size": "XL", "phone": PHONE}
    err = refused(lambda: courier.post("/v1/deposits", body), 409)
    assert err.message == "no compartment free for size XL"
    assert err.kind == "NoCompartmentFree"
    assert states(daemon) == before
    assert [p["barcode"] for p in daemon.client().get("/v1/parcels")["parcels"]] == ["PKG-XL-1"]


def test_courier_deposit_of_announced_parcel_takes_size_and_phone_from_announcement(
    daemon: Daemon,
) -> None:
    carrier = daemon.signed_in(COURIER2)
    announced = carrier.post("/v1/announcements", {"barcode": "PKG-ANN", "size": "L",
                                                   "phone": "+4917099887766"})  # fmt: skip
    assert announced["state"] == "ANNOUNCED"
    assert announced["size"] == "L"
    assert parcel(daemon, "PKG-ANN")["state"] == "ANNOUNCED"

    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "PKG-ANN"})
    assert view["compartment"] == "A07"
    courier.wait_operation(view["operation"])
    stored = parcel(daemon, "PKG-ANN")
    assert stored["state"] == "STORED"
    assert stored["id"] == announced["id"]
    daemon.code_for("PKG-ANN")
    (message,) = [m for m in daemon.inbox() if m["kind"] == "parcel_stored"]
    assert message["recipient"] == "+4917099887766"


def test_courier_deposit_without_size_or_announcement_is_refused(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    err = refused(lambda: courier.post("/v1/deposits", {"barcode": "PKG-NOSIZE",
                                                        "phone": PHONE}), 400)  # fmt: skip
    assert err.message == "Choose a size for this parcel."


# -- when things do not go to plan ----------------------------------------------------


def test_courier_gets_bigger_door_when_parcel_does_not_fit(manual: Daemon) -> None:
    courier = manual.signed_in()
    first = courier.post("/v1/deposits", {"barcode": "PKG-BIG", "size": "S", "phone": PHONE})
    assert first["compartment"] == "A01"

    second = courier.post(f"/v1/operations/{first['operation']}/bigger")
    assert second["compartment"] == "A04"
    assert second["message"] == "Door A04 is open: put the parcel in and close the door."
    first_now = courier.get(f"/v1/operations/{first['operation']}")
    assert first_now["unused"] == "did not fit"
    assert first_now["message"] == "Door A01 is open: take the parcel out and close the door."

    manual.sim().close_door("A01")
    freed = courier.wait_operation(first["operation"])
    assert freed["message"] == "Door A01 closed; the compartment is free again."
    assert states(manual)["A01"] == "AVAILABLE"
    manual.sim().set_item("A04", True)  # the parcel goes in
    manual.sim().close_door("A04")
    assert courier.wait_operation(second["operation"])["status"] == "CLOSED"
    stored = parcel(manual, "PKG-BIG")
    assert (stored["compartment"], stored["size"], stored["state"]) == ("A04", "M", "STORED")
    assert states(manual)["A04"] == "OCCUPIED"


def test_courier_keeps_the_first_door_when_no_bigger_one_is_free(manual: Daemon) -> None:
    # Every door bigger than S is out of service: "doesn't fit" is refused with a clear
    # message and the first compartment stays the parcel's (nothing marked unused).
    tech = manual.signed_in(TECHNICIAN)
    for cid in ("A04", "A05", "A06", "A07", "A08", "A09", "A11", "A12"):
        tech.post(f"/v1/compartments/{cid}/out-of-service", {"reason": "bench test"})
    courier = manual.signed_in()
    first = courier.post("/v1/deposits", {"barcode": "PKG-TIGHT", "size": "S", "phone": PHONE})

    error = refused(lambda: courier.post(f"/v1/operations/{first['operation']}/bigger"), 409)
    assert error.message == "no compartment free for size M"
    assert courier.get(f"/v1/operations/{first['operation']}").get("unused") is None

    manual.sim().set_item(first["compartment"], True)
    manual.sim().close_door(first["compartment"])
    assert courier.wait_operation(first["operation"])["status"] == "CLOSED"
    assert parcel(manual, "PKG-TIGHT")["state"] == "STORED"


def test_courier_reopens_the_door_before_closing_it(manual: Daemon) -> None:
    courier = manual.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "PKG-REOPEN", "size": "S", "phone": PHONE})
    cid = view["compartment"]
    assert manual.sim().fire_counts()[cid] == 1

    again = courier.post(f"/v1/operations/{view['operation']}/reopen")
    assert again["door"] == "OPEN"
    assert again["live"] is True
    assert manual.sim().fire_counts()[cid] == 2
    assert [e["compartment"] for e in manual.events("unlock_retry")] == [cid]
    assert "parcel_stored" not in event_kinds(manual)

    manual.sim().set_item(cid, True)
    manual.sim().close_door(cid)
    done = courier.wait_operation(view["operation"])
    assert done["message"] == f"Stored in {cid}; the recipient has been notified."
    assert parcel(manual, "PKG-REOPEN")["state"] == "STORED"


def test_courier_cancels_a_deposit_and_the_compartment_is_freed(manual: Daemon) -> None:
    courier = manual.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "PKG-CANCEL", "size": "S", "phone": PHONE})
    cid = view["compartment"]
    cancelled = courier.post(f"/v1/operations/{view['operation']}/cancel")
    assert cancelled["message"] == f"Deposit cancelled. Please close door {cid}."

    manual.sim().close_door(cid)
    done = courier.wait_operation(view["operation"])
    assert done["message"] == f"Door {cid} closed; the compartment is free again."
    assert states(manual)[cid] == "AVAILABLE"
    assert manual.client().get("/v1/parcels")["parcels"] == []
    assert manual.inbox() == []


def test_courier_gets_another_door_when_the_first_does_not_open(daemon: Daemon) -> None:
    daemon.sim().jam("A01")  # the first choice for size S
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "PKG-JAM", "size": "S", "phone": PHONE})
    assert view["compartment"] == "A02"
    assert view["message"] == (
        "Door A01 did not open; use door A02 instead. "
        "Door A02 is open: put the parcel in and close the door."
    )
    assert view["replaces"] == "A01"
    jammed = compartments(daemon)["A01"]
    assert jammed["state"] == "OUT_OF_SERVICE"
    assert (jammed["reason"], jammed["reason_code"]) == ("door did not open", "did_not_open")
    alarms = [e for e in daemon.events("open_not_detected") if e["compartment"] == "A01"]
    assert alarms and alarms[0]["severity"] == "alarm"
    assert daemon.sim().fire_counts()["A01"] == 2  # fired, then one retry

    courier.wait_operation(view["operation"])
    assert parcel(daemon, "PKG-JAM")["compartment"] == "A02"


def test_courier_cannot_act_on_another_couriers_deposit(manual: Daemon) -> None:
    carla = manual.signed_in(COURIER)
    view = carla.post("/v1/deposits", {"barcode": "PKG-MINE", "size": "S", "phone": PHONE})
    conrad = manual.signed_in(COURIER2)
    for action in ("bigger", "reopen", "cancel"):
        err = refused(lambda a=action: conrad.post(f"/v1/operations/{view['operation']}/{a}"),
                      403)  # fmt: skip
        assert err.message == "This operation belongs to another courier."
    assert manual.sim().fire_counts()[view["compartment"]] == 1
    manual.sim().set_item(view["compartment"], True)
    manual.sim().close_door(view["compartment"])
    assert carla.wait_operation(view["operation"])["status"] == "CLOSED"
    assert parcel(manual, "PKG-MINE")["state"] == "STORED"
