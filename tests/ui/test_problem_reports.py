"""A problem reported at the screen in two taps: the alarm for the operator, the
compartment taken out of use where it is unusable, and what the person is told next."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import COURIER, COURIER2, Daemon, running_daemon
from testkit.ui import UiDriver
from tests.ui.test_courier_ui import PHONE, kiosk_ui, sign_in, states
from tests.ui.test_customer_ui import stored

THANKS = "Thank you, the operator has been told and will look into it. For help: +49 30 999"


def compartment(daemon: Daemon, cid: str) -> dict[str, Any]:
    found = daemon.client().get("/v1/compartments")["compartments"]
    return next(c for c in found if c["id"] == cid)


def reports(daemon: Daemon) -> list[tuple[str, str | None, str, str]]:
    """Each ``problem_reported`` event: (door, actor, reason, severity)."""
    return [(e["compartment"], e["actor"], e["detail"]["reason"], e["severity"])
            for e in daemon.events("problem_reported")]  # fmt: skip


def pick_up(ui: UiDriver, code: str) -> None:
    ui.tap("Pick up a parcel")
    for digit in code:
        ui.tap(f"key-{digit}")
    ui.tap("OK")


def test_a_customer_reports_a_damaged_parcel_in_two_taps_and_the_operator_is_alarmed(
    daemon: Daemon, ui: UiDriver
) -> None:
    door, code = stored(daemon)
    pick_up(ui, code)
    ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")
    ui.tap("report")  # one
    ui.wait_for_text(f"What is wrong with door {door}?")
    ui.tap("problem-parcel_damaged")  # two
    ui.wait_for_text(THANKS)
    assert reports(daemon) == [(door, None, "parcel_damaged", "alarm")]
    ui.tap("problem-ok")
    ui.wait_for_text("Pick up a parcel")  # the thank-you time is over: home
    # A damaged parcel says nothing about the compartment: it is handed out again.
    daemon.wait_for(lambda: states(daemon)[door] == "AVAILABLE", what=f"{door} free")
    assert compartment(daemon, door)["check"] is None


def test_a_customer_whose_door_will_not_open_reports_it_and_the_door_goes_out_of_service() -> None:
    # The sensor says open, the door is stuck: nobody closes it in this journey.
    with running_daemon(person="manual") as daemon, kiosk_ui(daemon) as ui:
        courier = daemon.signed_in()
        deposit = courier.post("/v1/deposits", {"barcode": "STUCK-1", "size": "S", "phone": PHONE})
        door = deposit["compartment"]
        daemon.sim().set_item(door, True)  # the courier puts it in, and closes the door
        daemon.sim().close_door(door)
        courier.wait_operation(deposit["operation"], until_done=True)
        code = daemon.code_for("STUCK-1")
        pick_up(ui, code)
        ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")
        ui.tap("report")
        ui.tap("problem-door_wont_open")
        ui.wait_for_text(
            f"Thank you, the operator has been told. Door {door} is not used until it has been "
            "checked. Your parcel stays safe inside. For help: +49 30 999"
        )
        assert reports(daemon) == [(door, None, "door_wont_open", "alarm")]
        row = compartment(daemon, door)
        assert (row["state"], row["reason_code"]) == ("OUT_OF_SERVICE", "reported_door_wont_open")
        parcels = daemon.client().get("/v1/parcels")["parcels"]
        assert [p["state"] for p in parcels] == ["STORED"]
        ui.tap("problem-ok")
        assert not any(b.name == "report" for b in ui.app.buttons)  # one report a door


def test_a_courier_reports_a_dirty_compartment_and_deposits_into_another_door() -> None:
    with running_daemon(person="manual") as daemon, kiosk_ui(daemon) as ui:
        sign_in(ui)
        ui.tap("Deposit parcels")
        ui.scan("1Z999AA10123456784")
        ui.tap("size-S")
        ui.tap("+")
        for digit in PHONE[1:]:
            ui.tap(f"key-{digit}")
        ui.tap("OK")
        ui.wait_for_text("Door A01 is open: put the parcel in and close the door.")
        ui.tap("report")
        ui.tap("problem-compartment_dirty")
        ui.wait_for_text(
            "Thank you, the operator has been told. Door A01 is not used until it has been "
            "checked: take the parcel out, close the door, and deposit it again."
        )
        ui.tap("problem-ok")
        ui.wait_for_text("Door A01 is open: take the parcel out and close the door.")
        assert reports(daemon) == [("A01", COURIER[0], "compartment_dirty", "alarm")]
        daemon.sim().close_door("A01")
        ui.wait_for_text("Door A01 closed; it is not used until it has been checked.")
        ui.tap("Next")
        ui.wait_for_text("This parcel was not stored.")
        assert daemon.inbox() == []  # no code went out for a parcel that is not inside
        row = compartment(daemon, "A01")
        assert (row["state"], row["reason_code"]) == ("OUT_OF_SERVICE", "reported_dirty")

        ui.tap("Next parcel")
        ui.scan("1Z999AA10123456784")
        ui.tap("size-S")
        ui.tap("+")
        for digit in PHONE[1:]:
            ui.tap(f"key-{digit}")
        ui.tap("OK")
        ui.wait_for_text("Door A02 is open: put the parcel in and close the door.")
        assert [e["compartment"] for e in daemon.events("unlock")] == ["A01", "A02"]


def test_a_compartment_a_courier_finds_occupied_is_flagged_for_a_check(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    view = courier.post(
        "/v1/deposits", {"barcode": "OCC-1", "size": "S", "phone": "+4915112345678"}
    )
    courier.post(f"/v1/operations/{view['operation']}/problem", {"reason": "compartment_occupied"})
    courier.wait_operation(view["operation"], until_done=True)
    row = compartment(daemon, view["compartment"])
    assert row["check"]["reason"] == "item_unexpected"  # not handed out until checked
    assert row["state"] == "AVAILABLE"
    assert reports(daemon) == [(view["compartment"], COURIER[0], "compartment_occupied", "alarm")]
    parcels = daemon.client().get("/v1/parcels")["parcels"]
    assert parcels == []  # nothing was stored, nobody was sent a code


@pytest.mark.parametrize(
    ("who", "reason", "status"),
    [
        ("nobody", "compartment_dirty", 403),  # a courier's report needs a courier
        ("other courier", "compartment_dirty", 403),  # and their own deposit
        ("courier", "parcel_damaged", 409),  # a customer's report is about a pickup
        ("courier", "on_fire", 422),  # not a reason the kiosk knows
    ],
)
def test_a_report_is_refused_with_words_where_it_is_not_the_persons_to_make(
    daemon: Daemon, who: str, reason: str, status: int
) -> None:
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "REF-1", "size": "S", "phone": PHONE})
    client = {"nobody": daemon.client(), "courier": courier,
              "other courier": daemon.signed_in(COURIER2)}[who]  # fmt: skip
    with pytest.raises(ApiError) as refused:
        client.post(f"/v1/operations/{view['operation']}/problem", {"reason": reason})
    assert refused.value.status == status
    assert str(refused.value)  # a message for a person
    assert reports(daemon) == []
    courier.wait_operation(view["operation"], until_done=True)
    assert states(daemon)[view["compartment"]] == "OCCUPIED"  # the deposit went on


def test_a_second_report_on_one_door_is_refused(daemon: Daemon) -> None:
    door, code = stored(daemon)
    view = daemon.client().post("/v1/pickup", {"code": code})
    path = f"/v1/operations/{view['operation']}/problem"
    daemon.client().post(path, {"reason": "wrong_parcel"})
    with pytest.raises(ApiError) as refused:
        daemon.client().post(path, {"reason": "compartment_empty"})
    assert refused.value.status == 409
    assert "already reported" in str(refused.value)
    assert reports(daemon) == [(door, None, "wrong_parcel", "alarm")]
