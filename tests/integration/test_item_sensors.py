"""The item sensor checks what a closed door says: a parcel left behind after a pickup,
or an empty compartment after a deposit, is an event and a message on the screen."""

from __future__ import annotations

import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import running_daemon

PHONE = "+4915112345678"


def test_a_parcel_left_inside_after_pickup_is_reported() -> None:
    with running_daemon(person="manual") as daemon:
        sim = daemon.sim()
        courier = daemon.signed_in()
        view = courier.post("/v1/deposits", {"barcode": "ITEM-1", "size": "S", "phone": PHONE})
        door = view["compartment"]
        sim.set_item(door, True)
        sim.close_door(door)
        courier.wait_operation(view["operation"], until_done=True)
        customer = daemon.client()
        pickup = customer.post("/v1/pickup", {"code": daemon.code_for("ITEM-1")})
        sim.close_door(door)  # closed again without taking the parcel
        final = customer.wait_operation(pickup["operation"], until_done=True)
        assert final["item_check"] == "still_inside"
        assert final["message"] == "Thank you!"
        assert final["notice"] == f"A parcel still seems to be inside door {door}. Please check."
        event = daemon.events("item_still_inside")[-1]
        assert (event["compartment"], event["severity"]) == (door, "warning")


def test_a_deposit_closed_on_an_empty_compartment_is_reported() -> None:
    with running_daemon(person="manual") as daemon:
        sim = daemon.sim()
        courier = daemon.signed_in()
        view = courier.post("/v1/deposits", {"barcode": "ITEM-2", "size": "S", "phone": PHONE})
        sim.close_door(view["compartment"])  # nothing was put in
        final = courier.wait_operation(view["operation"], until_done=True)
        assert final["item_check"] == "empty"
        assert (
            final["notice"]
            == f"Compartment {view['compartment']} looks empty. Did the parcel go in?"
        )
        assert daemon.events("item_empty")[-1]["compartment"] == view["compartment"]
        # Nothing is stored or sent until the courier answers.
        assert final["confirm"] == "asked"
        assert daemon.client().get("/v1/parcels")["parcels"] == [] and daemon.inbox() == []


def test_only_the_courier_asked_answers_once_and_in_words_the_daemon_knows() -> None:
    with running_daemon(person="manual") as daemon:
        courier = daemon.signed_in()
        view = courier.post("/v1/deposits", {"barcode": "ITEM-4", "size": "S", "phone": PHONE})
        path = f"/v1/operations/{view['operation']}/confirm"
        with pytest.raises(ApiError) as live:  # the door is still open: nothing to answer
            courier.post(path, {"answer": "stored"})
        assert (live.value.status, live.value.details["reason"]) == (409, "not_asked")
        daemon.sim().close_door(view["compartment"])
        courier.wait_operation(view["operation"], until_done=True)
        with pytest.raises(ApiError) as unknown:
            courier.post(path, {"answer": "maybe"})
        assert unknown.value.status == 422
        answered = courier.post(path, {"answer": "stored"})
        assert (answered["confirm"], answered["message"]) == (
            "stored", f"Stored in {view['compartment']}; the recipient has been notified."
        )  # fmt: skip
        assert daemon.code_for("ITEM-4")
        with pytest.raises(ApiError) as twice:
            courier.post(path, {"answer": "cancel"})
        assert (twice.value.status, twice.value.details["reason"]) == (409, "not_asked")
        assert daemon.client().get("/v1/parcels")["parcels"][0]["state"] == "STORED"


def test_no_report_when_the_item_sensor_agrees(daemon) -> None:  # type: ignore[no-untyped-def]
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "ITEM-3", "size": "S", "phone": PHONE})
    final = courier.wait_operation(view["operation"], until_done=True)
    assert "item_check" not in final
    assert daemon.events("item_empty") == []
