"""A courier at the touchscreen when a deposit goes wrong: cancelled, a door closed on an
empty compartment, a door said not to have opened although its sensor saw it open.

The simulated person is set to "manual": the test opens, fills and closes doors itself,
so what is inside each compartment is what the journey put there.
"""

from __future__ import annotations

from typing import Any

from tests.support.daemon import Daemon, running_daemon
from tests.support.ui import UiDriver
from tests.ui.test_courier_ui import PHONE, kiosk_ui, sign_in, states


def open_a_deposit_door(ui: UiDriver, barcode: str) -> None:
    """Sign in, scan ``barcode``, size S, the phone number: door A01 opens."""
    sign_in(ui)
    ui.tap("Deposit parcels")
    ui.wait_for_text("Scan the parcel or type its barcode.")
    ui.scan(barcode)
    ui.wait_for_text(f"Choose a size for parcel {barcode}.")
    ui.tap("size-S")
    ui.wait_for_text("The recipient's phone number")
    ui.tap("+")
    for digit in PHONE[1:]:
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    ui.wait_for_text("Door A01 is open: put the parcel in and close the door.")


def parcels(daemon: Daemon) -> list[dict[str, Any]]:
    return list(daemon.client().get("/v1/parcels")["parcels"])


def test_a_courier_cancels_a_deposit_and_nothing_is_stored_or_sent() -> None:
    with running_daemon() as daemon, kiosk_ui(daemon) as ui:
        daemon.sim().set_person("manual")
        open_a_deposit_door(ui, "JJD0001112223334")

        ui.tap("Cancel")
        ui.wait_for_text("Door A01 is open: take the parcel out and close the door.")
        assert not ui.shows("Doesn't fit")  # a cancelled deposit has nothing left to fit
        daemon.sim().close_door("A01")
        ui.wait_for_text("Door A01 closed; the compartment is free again.")
        ui.tap("Next")
        ui.wait_for_text("This parcel was not stored.")

        assert parcels(daemon) == []
        daemon.wait_for(lambda: states(daemon)["A01"] == "AVAILABLE", what="A01 to be freed")
        assert daemon.inbox() == []  # nobody was notified
        freed = daemon.events("compartment_freed")
        assert [(e["compartment"], e["detail"]["reason"]) for e in freed] == [
            ("A01", "cancelled by courier")
        ]
