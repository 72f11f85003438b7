"""A customer at the touchscreen: code typed or scanned, the door opens, thank you."""

from __future__ import annotations

import contextlib

import pytest

from testkit.daemon import Daemon, running_daemon
from testkit.scanner import pty_scanner
from testkit.ui import UiDriver


def stored(daemon: Daemon, barcode: str = "1Z999AA10123456784", size: str = "M") -> tuple[str, str]:
    courier = daemon.signed_in()
    view = courier.post(
        "/v1/deposits", {"barcode": barcode, "size": size, "phone": "+4915112345678"}
    )
    courier.wait_operation(view["operation"], until_done=True)
    return view["compartment"], daemon.code_for(barcode)


def test_customer_types_the_code_and_the_right_door_opens(daemon: Daemon, ui: UiDriver) -> None:
    door, code = stored(daemon)
    ui.tap("Pick up a parcel")
    ui.wait_for_text("Type your pickup code")
    for digit in code:
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")
    ui.wait_for_text("Thank you!")
    parcels = daemon.client().get("/v1/parcels")["parcels"]
    assert parcels[0]["state"] == "PICKED_UP" and parcels[0]["compartment"] == door


def test_a_wrong_code_says_so_and_opens_nothing(daemon: Daemon, ui: UiDriver) -> None:
    stored(daemon)
    ui.tap("Pick up a parcel")
    ui.type("12345678")
    ui.tap("OK")
    ui.wait_for_text("That code is not right. Please check it and try again.")
    assert daemon.events("unlock")[-1]["detail"]["purpose"] == "deposit"


def test_a_wrong_code_stays_grouped_on_screen_until_cleared_and_a_ninth_digit_is_refused(
    daemon: Daemon, ui: UiDriver
) -> None:
    door, code = stored(daemon)
    wrong = "91265383" if code != "91265383" else "91265384"
    ui.tap("Pick up a parcel")
    ui.wait_for_text("____ ____")
    for digit in wrong:
        ui.tap(f"key-{digit}")
    assert ui.shows("9126 538")  # grouped as in the text message
    ui.tap("key-7")  # a ninth digit
    assert ui.shows("A pickup code has 8 digits. Use Delete or Clear to change it.")
    assert ui.shows(f"{wrong[:4]} {wrong[4:]}")
    ui.tap("OK")
    ui.wait_for_text("That code is not right. Please check it and try again.")
    assert ui.shows(f"{wrong[:4]} {wrong[4:]}")  # kept, so it can be checked
    ui.tap("Clear")
    assert ui.shows("____ ____") and not ui.shows("That code is not right.")
    for digit in code:
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")
    assert len(daemon.events("wrong_code")) == 1
    assert [e["detail"]["purpose"] for e in daemon.events("unlock")] == ["deposit", "pickup"]


def test_a_scanned_qr_code_on_the_home_screen_opens_the_door(daemon: Daemon, ui: UiDriver) -> None:
    door, code = stored(daemon)
    ui.scan(code)
    ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")


def test_a_pickup_code_read_from_a_qr_code_with_the_scanners_prefix_opens_the_door(
    daemon: Daemon, ui: UiDriver
) -> None:
    door, code = stored(daemon)
    ui.tap("Pick up a parcel")
    ui.scan(f"]Q3{code[:4]}-{code[4:]}")  # AIM prefix of a QR code; printed as 1234-5678
    ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")


@pytest.mark.parametrize(
    "scanned",
    [
        "AB{code}",  # letters around the digits: another barcode, not a pickup code
        "]Q3{code}9",  # one digit too many
        "{code}/1",  # a separator that is not a space or a dash
    ],
)
def test_a_scan_that_is_not_a_pickup_code_is_refused_and_opens_nothing(
    daemon: Daemon, ui: UiDriver, scanned: str
) -> None:
    _door, code = stored(daemon)
    ui.tap("Pick up a parcel")
    ui.scan(scanned.format(code=code))
    ui.wait_for_text("That pickup code cannot be read. Please scan it again or type it.")
    assert daemon.events("wrong_code") == []  # nothing was sent to be tried
    assert [e["detail"]["purpose"] for e in daemon.events("unlock")] == ["deposit"]


def test_a_customer_who_leaves_the_door_open_is_asked_to_close_it(
    daemon: Daemon, ui: UiDriver
) -> None:
    door, code = stored(daemon)
    daemon.sim().leave_open(door)
    ui.scan(code)
    ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")
    ui.wait_for_text(f"Please close door {door} when you are done.")  # the reminder, at 1 s
    ui.wait_for_text(f"Door {door} has been open a long time. Please close it now.")  # 2 s
    daemon.sim().close_door(door)
    ui.wait_for_text("Thank you!")
    assert not ui.shows(f"Door {door} has been open a long time. Please close it now.")


def test_a_code_read_by_the_kiosks_own_scanner_opens_the_door_on_the_screen() -> None:
    # The daemon reads a serial scanner (a pty here); the screen gets the scan from the
    # touchscreen's stream on the socket and treats it as a typed pickup code.
    with pty_scanner() as scanner, running_daemon(sections=scanner.section) as daemon:
        door, code = stored(daemon)
        ui = UiDriver(str(daemon.touchscreen_socket))
        try:
            ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
            daemon.wait_for(lambda: "reading the serial scanner" in daemon.log(),
                            what="the scanner")  # fmt: skip
            opened = f"Door {door} is open: take your parcel and close the door."
            for _ in range(10):  # the UI's event stream may connect after a first scan
                scanner.scan(code)
                with contextlib.suppress(AssertionError):
                    ui.wait_for_text(opened, timeout=1.0)
                    break
            assert ui.shows(opened)
            ui.wait_for_text("Thank you!")
        finally:
            ui.close()
        parcels = daemon.client().get("/v1/parcels")["parcels"]
        assert parcels[0]["state"] == "PICKED_UP" and parcels[0]["compartment"] == door
        assert code not in daemon.log()
