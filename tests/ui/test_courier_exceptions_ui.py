"""A courier at the touchscreen when a deposit goes wrong: cancelled, a door closed on an
empty compartment, a door said not to have opened although its sensor saw it open.

The simulated person is set to "manual": the test opens, fills and closes doors itself,
so what is inside each compartment is what the journey put there.
"""

from __future__ import annotations

from typing import Any

import pytest

from testkit.daemon import TECHNICIAN, Daemon, running_daemon
from testkit.ui import UiDriver
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


def compartment(daemon: Daemon, cid: str) -> dict[str, Any]:
    comps = daemon.client().get("/v1/compartments")["compartments"]
    return next(c for c in comps if c["id"] == cid)


def close_empty(daemon: Daemon, ui: UiDriver, cid: str = "A01") -> None:
    """The courier closes the door with nothing inside: the screen asks."""
    daemon.sim().close_door(cid)
    ui.wait_for_text("Is the parcel inside?")
    assert ui.shows(f"Door {cid} closed, but its sensor sees nothing inside.")
    assert not ui.shows("the recipient has been notified")
    assert parcels(daemon) == [] and daemon.inbox() == []  # nothing stored, nothing sent
    assert compartment(daemon, cid)["state"] == "RESERVED"  # kept for the parcel meanwhile


def test_an_empty_door_asks_and_opens_again_and_only_then_notifies() -> None:
    with running_daemon() as daemon, kiosk_ui(daemon) as ui:
        daemon.sim().set_person("manual")
        open_a_deposit_door(ui, "JJD0002223334445")
        close_empty(daemon, ui)
        fires = daemon.sim().fire_counts()["A01"]

        ui.tap("No, open again")
        ui.wait_until(lambda: daemon.sim().fire_counts()["A01"] == fires + 1, what="A01 again")
        ui.wait_for_text("Door A01 is open: put the parcel in and close the door.")
        assert daemon.inbox() == []
        daemon.sim().set_item("A01", True)
        daemon.sim().close_door("A01")
        ui.wait_for_text("Stored in A01; the recipient has been notified.")
        ui.tap("Next")
        ui.wait_for_text("Next parcel")

        (stored,) = parcels(daemon)
        assert (stored["barcode"], stored["state"], stored["compartment"]) == (
            "JJD0002223334445", "STORED", "A01",
        )  # fmt: skip
        assert daemon.code_for("JJD0002223334445")
        assert [m["kind"] for m in daemon.inbox()] == ["parcel_stored"]  # one notice only
        assert compartment(daemon, "A01")["check"] is None


def test_an_empty_door_said_to_hold_the_parcel_is_stored_and_flagged_for_a_check() -> None:
    with running_daemon() as daemon, kiosk_ui(daemon) as ui:
        daemon.sim().set_person("manual")
        open_a_deposit_door(ui, "JJD0003334445556")
        close_empty(daemon, ui)

        ui.tap("Yes, stored")
        ui.wait_for_text("Stored in A01; the recipient has been notified.")
        assert ui.shows("compartment A01 is marked for a technician's check")
        assert daemon.code_for("JJD0003334445556")
        a01 = compartment(daemon, "A01")
        assert (a01["state"], a01["check"]["reason"]) == ("OCCUPIED", "item_missing")
        assert a01["check"]["detail"]["after"] == "deposit"


def test_an_empty_door_cancelled_stores_nothing_and_frees_the_compartment() -> None:
    with running_daemon() as daemon, kiosk_ui(daemon) as ui:
        daemon.sim().set_person("manual")
        open_a_deposit_door(ui, "JJD0004445556667")
        close_empty(daemon, ui)

        ui.tap("cancel-deposit")
        ui.wait_for_text("Nothing was stored in A01; the compartment is free again.")
        ui.tap("Next")
        ui.wait_for_text("This parcel was not stored.")
        assert parcels(daemon) == [] and daemon.inbox() == []
        daemon.wait_for(lambda: compartment(daemon, "A01")["state"] == "AVAILABLE",
                        what="A01 free")  # fmt: skip
        assert compartment(daemon, "A01")["check"] is None


def test_an_empty_door_left_unanswered_at_a_restart_waits_for_a_check_and_notifies_nobody(
) -> None:  # fmt: skip
    with running_daemon() as daemon:
        daemon.sim().set_person("manual")
        with kiosk_ui(daemon) as ui:
            open_a_deposit_door(ui, "JJD0005556667778")
            close_empty(daemon, ui)
        # The courier walked away and the daemon restarted: nobody can answer now.
        daemon.stop()
        daemon.start()
        a01 = compartment(daemon, "A01")
        assert (a01["state"], a01["check"]["reason"]) == ("RESERVED", "deposit_unconfirmed")
        assert parcels(daemon) == [] and daemon.inbox() == []
        # Handed out to nobody until a technician has looked inside and cleared it.
        tech = daemon.signed_in(TECHNICIAN)
        tech.post("/v1/compartments/A01/clear-check")
        a01 = compartment(daemon, "A01")
        assert (a01["state"], a01["check"]) == ("AVAILABLE", None)
        assert parcels(daemon) == [] and daemon.inbox() == []


@pytest.mark.slow
def test_an_empty_door_left_unanswered_past_the_screen_time_out_waits_for_a_check() -> None:
    # The shortest time-outs there are: 10 s idle and 20 s for "Need more time?".
    ui_timings = {"ui": {"idle_timeout_s": 10, "more_time_s": 20}}
    with running_daemon(sections=ui_timings) as daemon, kiosk_ui(daemon) as ui:
        daemon.sim().set_person("manual")
        open_a_deposit_door(ui, "JJD0006667778889")
        close_empty(daemon, ui)
        ui.advance(10)
        ui.wait_for_text("Need more time?")
        ui.advance(20)
        ui.wait_until(lambda: ui.shows("Pick up a parcel"), what="home")

        daemon.wait_for(lambda: compartment(daemon, "A01")["check"], timeout=40,
                        what="A01 flagged")  # fmt: skip
        a01 = compartment(daemon, "A01")
        assert (a01["state"], a01["check"]["reason"]) == ("RESERVED", "deposit_unconfirmed")
        assert parcels(daemon) == [] and daemon.inbox() == []
        assert daemon.events("compartment_needs_check")[-1]["severity"] == "alarm"
