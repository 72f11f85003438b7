"""After a pickup: the door opened again by the customer, and a compartment whose item
sensor disagrees with the store flagged for a technician, who sees it on the grid and
clears it by touch.

The simulated person is "manual": the test takes parcels out (or leaves them) and
closes the doors itself.
"""

from __future__ import annotations

import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import TECHNICIAN, Daemon, running_daemon
from testkit.ui import UiDriver
from tests.ui.test_courier_exceptions_ui import compartment, open_a_deposit_door, parcels
from tests.ui.test_courier_ui import kiosk_ui, type_name_and_pin

PHONE = "+4915112345678"


def stored_in_a01(daemon: Daemon, barcode: str) -> str:
    """A parcel deposited through the API into A01; its pickup code."""
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": barcode, "size": "S", "phone": PHONE})
    assert view["compartment"] == "A01"
    daemon.sim().set_item("A01", True)
    daemon.sim().close_door("A01")
    courier.wait_operation(view["operation"], until_done=True)
    return daemon.code_for(barcode)


def pick_up(ui: UiDriver, code: str) -> None:
    ui.tap("Pick up a parcel")
    ui.wait_for_text("Type your pickup code")
    for digit in code:
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    ui.wait_for_text("Door A01 is open: take your parcel and close the door.")


def test_a_customer_who_left_the_parcel_inside_opens_the_door_again_and_takes_it() -> None:
    with running_daemon(person="manual") as daemon:
        code = stored_in_a01(daemon, "JJD0007778889990")
        with kiosk_ui(daemon) as ui:
            pick_up(ui, code)
            daemon.sim().close_door("A01")  # closed with the parcel still inside
            ui.wait_for_text("Thank you!")
            assert ui.shows("A parcel still seems to be inside door A01.")
            fires = daemon.sim().fire_counts()["A01"]

            ui.tap("Open the door again")
            ui.wait_for_text("Door A01 is open: take your parcel and close the door.")
            assert daemon.sim().fire_counts()["A01"] == fires + 1
            daemon.sim().set_item("A01", False)  # taken this time
            daemon.sim().close_door("A01")
            ui.wait_for_text("Thank you!")
            assert not ui.shows("still seems to be inside")
            assert ui.button("open-door-again").enabled  # still within its minute

        (parcel,) = parcels(daemon)
        assert parcel["state"] == "PICKED_UP"
        a01 = compartment(daemon, "A01")
        assert (a01["state"], a01["check"]) == ("AVAILABLE", None)
        assert [e["detail"]["purpose"] for e in daemon.events("door_closed")] == ["pickup"]


def test_the_door_cannot_be_opened_again_without_the_pickup_screens_token() -> None:
    with running_daemon(person="manual") as daemon:
        code = stored_in_a01(daemon, "JJD0008889990001")
        customer = daemon.client()
        view = customer.post("/v1/pickup", {"code": code})
        daemon.sim().close_door("A01")
        customer.wait_operation(view["operation"], until_done=True)
        fires = daemon.sim().fire_counts()["A01"]
        with pytest.raises(ApiError) as refused:
            customer.post(f"/v1/operations/{view['operation']}/again", {"token": "guessed"})
        assert (refused.value.status, refused.value.details["reason"]) == (409, "again_over")
        assert daemon.sim().fire_counts()["A01"] == fires  # the door that did NOT fire
        # Nor is the compartment handed out while its customer may still open it.
        courier = daemon.signed_in()
        other = courier.post("/v1/deposits", {"barcode": "JJD0001", "size": "S", "phone": PHONE})
        assert other["compartment"] != "A01"


@pytest.mark.slow
def test_a_parcel_left_behind_past_the_window_flags_the_compartment_for_a_check() -> None:
    # The window to open the door again is a minute by default; 5 s here, the same path.
    with running_daemon(
        person="manual", sections={"doors": {"reopen_after_pickup_s": 5}}
    ) as daemon:
        code = stored_in_a01(daemon, "JJD0009990001112")
        customer = daemon.client()
        view = customer.post("/v1/pickup", {"code": code})
        daemon.sim().close_door("A01")  # walked off; the parcel is still inside
        customer.wait_operation(view["operation"], until_done=True)
        assert compartment(daemon, "A01")["check"] is None  # not while it may be reopened
        daemon.wait_for(lambda: compartment(daemon, "A01")["check"], timeout=30,
                        what="A01 flagged")  # fmt: skip
        check = compartment(daemon, "A01")["check"]
        assert (check["reason"], check["detail"]["after"]) == ("item_unexpected", "pickup")
        courier = daemon.signed_in()
        other = courier.post("/v1/deposits", {"barcode": "JJD0002", "size": "S", "phone": PHONE})
        assert other["compartment"] != "A01"  # handed out to nobody


def door_label(ui: UiDriver, cid: str) -> list[str]:
    ui.texts()
    return [t for t in ui.app.texts if t.startswith(cid)]


def test_a_technician_sees_a_flagged_compartment_on_the_grid_and_clears_it_by_touch() -> None:
    with running_daemon(person="manual") as daemon, kiosk_ui(daemon) as ui:
        # A courier cancels a deposit but leaves the parcel in: A01 is flagged at once.
        open_a_deposit_door(ui, "JJD0000111222333")
        ui.tap("Cancel")
        ui.wait_for_text("Door A01 is open: take the parcel out and close the door.")
        daemon.sim().set_item("A01", True)
        daemon.sim().close_door("A01")
        ui.wait_for_text("Door A01 closed; the compartment is free again.")
        check = compartment(daemon, "A01")["check"]
        assert (check["reason"], check["detail"]["after"]) == ("item_unexpected", "deposit")
        ui.tap("Next")
        ui.tap("Sign out")

        type_name_and_pin(ui, TECHNICIAN)
        ui.wait_for_text("Technician: tomas")
        ui.wait_for_text("Compartments to check: 1.")
        assert door_label(ui, "A01") == ["A01\ncheck"]
        ui.tap("door-A01")
        ui.wait_for_text("Needs a check: Something is inside, but no parcel is recorded.")
        ui.tap("Checked: clear")  # not yet: the parcel is still in there
        ui.wait_for_text("The sensor still sees something in A01")
        assert compartment(daemon, "A01")["check"] is not None

        daemon.sim().set_item("A01", False)  # the technician took it out
        # the daemon reads the item sensor at its own pace: clear once it sees A01 empty
        daemon.wait_for(lambda: compartment(daemon, "A01")["item"] is False, what="A01 empty")
        ui.tap("Checked: clear")
        ui.wait_for_text("A01 is checked and may be used again.")
        assert compartment(daemon, "A01")["check"] is None
        ui.wait_until(lambda: door_label(ui, "A01") == ["A01\nfree"], what="A01 free")
        assert daemon.events("compartment_check_cleared")[-1]["compartment"] == "A01"
