"""A door left open does not hold the kiosk: the screen goes home after a grace time, and
home names every open door to the next person, who can start at once."""

from __future__ import annotations

from testkit.daemon import Daemon, running_daemon
from testkit.ui import UiDriver
from tests.ui.test_courier_ui import PHONE, kiosk_ui, parcel, sign_in, states
from tests.ui.test_customer_ui import stored

GRACE_S = 60  # ui.door_open_grace_s by default


def test_a_door_left_open_gives_the_screen_to_the_next_customer_and_home_names_it(
    daemon: Daemon, ui: UiDriver
) -> None:
    first, first_code = stored(daemon, "1Z999AA10123456784", "M")
    second, second_code = stored(daemon, "JJD0011223344", "S")
    daemon.sim().leave_open(first)  # the first customer walks off with the door open
    ui.scan(first_code)
    ui.wait_for_text(f"Door {first} is open: take your parcel and close the door.")
    ui.wait_for_text(f"Door {first} has been open a long time. Please close it now.")
    # nothing to tap while the grace lasts, but a report of a problem with the door
    assert [b.name for b in ui.app.buttons] == ["report"]

    ui.advance(GRACE_S + 1)
    ui.wait_for_text(f"Door {first} is open: please close it.")
    assert ui.shows("Pick up a parcel")

    # The next customer starts at once, and their own door opens.
    ui.tap("Pick up a parcel")
    ui.type(second_code)
    ui.tap("OK")
    ui.wait_for_text(f"Door {second} is open: take your parcel and close the door.")
    ui.wait_for_text("Thank you!")
    ui.tap("Done")
    ui.wait_for_text(f"Door {first} is open: please close it.")  # still open, still named

    daemon.sim().close_door(first)
    ui.wait_until(lambda: not ui.shows("is open: please close"), what="the line to go")
    assert parcel(daemon, "1Z999AA10123456784")["state"] == "PICKED_UP"
    assert parcel(daemon, "JJD0011223344")["state"] == "PICKED_UP"
    assert [e["compartment"] for e in daemon.events("door_left_open")] == [first]
    assert states(daemon)[first] == states(daemon)[second] == "AVAILABLE"


def test_home_names_every_door_left_open(daemon: Daemon, ui: UiDriver) -> None:
    for door in ("A02", "A07", "A11"):
        daemon.sim().force_open(door)
    ui.wait_for_text("Doors A02, A07, A11 are open: please close them.")
    daemon.sim().close_door("A07")
    ui.wait_for_text("Doors A02, A11 are open: please close them.")
    daemon.sim().close_door("A02")
    ui.wait_for_text("Door A11 is open: please close it.")
    assert ui.button("Pick up a parcel").enabled
    assert {e["compartment"] for e in daemon.events("forced_open")} == {"A02", "A07", "A11"}


def test_a_courier_is_asked_to_close_each_earlier_door_only_while_it_is_open() -> None:
    with running_daemon(close_delay_s=30.0) as daemon, kiosk_ui(daemon) as ui:
        sign_in(ui)
        ui.tap("Deposit parcels")
        ui.scan("1Z999AA10123456784")
        ui.wait_for_text("Choose a size for parcel 1Z999AA10123456784.")
        ui.tap("size-S")
        ui.wait_for_text("The recipient's phone number")
        ui.tap("+")
        for digit in PHONE[1:]:
            ui.tap(f"key-{digit}")
        ui.tap("OK")
        ui.wait_for_text("Door A01 is open: put the parcel in and close the door.")
        ui.tap("Doesn't fit")
        ui.wait_for_text("Door A04 is open: put the parcel in and close the door.")
        ui.wait_for_text("Please close door A01.")
        ui.tap("Doesn't fit")
        ui.wait_for_text("Door A07 is open: put the parcel in and close the door.")
        ui.wait_for_text("Please close doors A01, A04.")

        daemon.sim().close_door("A01")
        ui.wait_for_text("Please close door A04.")
        assert not ui.shows("A01")
        daemon.sim().close_door("A04")
        ui.wait_until(lambda: not ui.shows("Please close door"), what="the request to go")
        daemon.sim().set_item("A07", True)  # the parcel goes in
        daemon.sim().close_door("A07")
        ui.wait_for_text("Stored in A07; the recipient has been notified.")
        assert parcel(daemon, "1Z999AA10123456784")["compartment"] == "A07"
        assert states(daemon)["A01"] == states(daemon)["A04"] == "AVAILABLE"
