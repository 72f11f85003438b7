"""A courier at the touchscreen: sign in (name or badge, and PIN), deposit parcels, collect
returns.

Each journey runs the real UI offscreen against a real daemon and its simulated bank,
and checks both what the screen shows and what the daemon did.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pygame
import pytest

from kiosk.protocol.client import ApiError
from kiosk.ui import theme
from kiosk.ui.screens import door as door_screen
from kiosk.ui.screens import returns as returns_screen
from kiosk.ui.screens.courier import CourierMenuScreen
from kiosk.ui.screens.deposit import Deposit, ParcelScreen, PhoneScreen, SizeScreen
from kiosk.ui.screens.signin import SignInScreen
from kiosk.ui.wall import draw_wall
from testkit.daemon import COURIER, TECHNICIAN, Daemon, running_daemon
from testkit.ui import UiDriver

PHONE = "+4915112345678"
EXPIRING = {"policy": {"hold_hours": 0.0006, "expiry_check_s": 0.2, "reminder_hours": []}}


@contextmanager
def kiosk_ui(daemon: Daemon) -> Iterator[UiDriver]:
    driver = UiDriver(str(daemon.touchscreen_socket))
    try:
        driver.wait_until(lambda: driver.app.online and driver.app.kiosk is not None,
                          what="the UI to connect")  # fmt: skip
        yield driver
    finally:
        driver.close()


@pytest.fixture
def lit(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The door each drawn wall highlighted, latest last."""
    seen: list[str | None] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("highlight"))
        return draw_wall(*args, **kwargs)

    monkeypatch.setattr(door_screen, "draw_wall", spy)
    monkeypatch.setattr(returns_screen, "draw_wall", spy)
    return seen


def highlighted(ui: UiDriver, lit: list[str | None]) -> str | None:
    """The door shown highlighted on the wall now (its colour is on screen)."""
    ui.texts()
    mask = pygame.mask.from_threshold(ui.app.surface, theme.HIGHLIGHT, (1, 1, 1, 255))
    return lit[-1] if mask.count() else None


def type_name_and_pin(ui: UiDriver, who: tuple[str, str]) -> None:
    """Sign in by touch: the name on the keyboard (in capitals), Next, the PIN, OK."""
    name, pin = who
    ui.tap("Courier")
    ui.wait_for_text("Sign in: scan your badge or type your name.")
    for letter in name.upper():
        ui.tap(f"key-{letter}")
    ui.tap("Next")
    ui.wait_for_text(f"{name.upper()}: type your PIN.")
    for digit in pin:
        ui.tap(f"key-{digit}")
    ui.tap("OK")


def sign_in(ui: UiDriver, who: tuple[str, str] = COURIER) -> None:
    type_name_and_pin(ui, who)
    ui.wait_for_text(f"Signed in as {who[0]}")


def parcel(daemon: Daemon, barcode: str) -> dict[str, Any]:
    parcels = daemon.client().get("/v1/parcels")["parcels"]
    return next(p for p in parcels if p["barcode"] == barcode)


def states(daemon: Daemon) -> dict[str, str]:
    return {c["id"]: c["state"] for c in daemon.client().get("/v1/compartments")["compartments"]}


def seen_until(ui: UiDriver, text: str, timeout: float = 10.0) -> set[str]:
    """Every string on screen until ``text`` shows."""
    seen: set[str] = set()

    def shows() -> bool:
        seen.update(ui.texts())
        return any(text in t for t in seen)

    ui.wait_until(shows, timeout, f"{text!r} on screen")
    return seen


# -- depositing -----------------------------------------------------------------------


def test_courier_gets_bigger_door_when_parcel_does_not_fit(lit: list[str | None]) -> None:
    # The person takes 1.5 s to close a door: time to find the parcel does not fit.
    with running_daemon(close_delay_s=1.5) as daemon, kiosk_ui(daemon) as ui:
        sign_in(ui)
        ui.tap("Deposit parcels")
        ui.wait_for_text("Scan the parcel or type its barcode.")
        ui.scan("1Z999AA10123456784")
        ui.wait_for_text("Choose a size for parcel 1Z999AA10123456784.")
        assert ui.button("size-S").label == "S — 44 × 9 × 60 cm"
        assert ui.shows("3 free")
        ui.tap("size-S")
        ui.wait_for_text("The recipient's phone number")
        ui.tap("+")
        for digit in PHONE[1:]:
            ui.tap(f"key-{digit}")
        assert ui.shows(PHONE)
        ui.tap("OK")

        ui.wait_for_text("Door A01 is open: put the parcel in and close the door.")
        assert highlighted(ui, lit) == "A01"
        ui.tap("Doesn't fit")
        ui.wait_for_text("Door A04 is open: put the parcel in and close the door.")
        assert ui.shows("Please close door A01.")
        assert highlighted(ui, lit) == "A04"

        ui.wait_for_text("Stored in A04; the recipient has been notified.")
        ui.tap("Next")
        ui.wait_for_text("Next parcel")
        assert ui.shows("Stored in A04; the recipient has been notified.")

        stored = parcel(daemon, "1Z999AA10123456784")
        assert (stored["state"], stored["compartment"]) == ("STORED", "A04")
        daemon.wait_for(lambda: states(daemon)["A01"] == "AVAILABLE", what="A01 to be freed")
        assert states(daemon)["A04"] == "OCCUPIED"
        assert daemon.code_for("1Z999AA10123456784")  # the recipient was sent a code


def test_courier_asks_for_a_low_compartment_and_the_low_door_of_that_size_opens(
    daemon: Daemon, ui: UiDriver
) -> None:
    sign_in(ui)
    ui.tap("Deposit parcels")
    ui.scan("1Z999AA10123456784")
    ui.wait_for_text("Choose a size for parcel 1Z999AA10123456784.")
    ui.tap("low")
    assert ui.button("low").label == "Low compartment: yes"
    ui.tap("size-S")
    ui.wait_for_text("The recipient's phone number")
    ui.tap("+")
    for digit in PHONE[1:]:
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    # A01..A03 are S and come first; A10 is the low S (testkit/daemon.py)
    ui.wait_for_text("Door A10 is open: put the parcel in and close the door.")
    assert not ui.shows("No low compartment")
    ui.wait_for_text("Stored in A10; the recipient has been notified.")
    assert parcel(daemon, "1Z999AA10123456784")["compartment"] == "A10"
    assert [e["compartment"] for e in daemon.events("unlock")] == ["A10"]
    assert states(daemon)["A01"] == "AVAILABLE"


def test_a_courier_who_asked_for_a_low_compartment_is_told_when_none_fits(
    daemon: Daemon, ui: UiDriver
) -> None:
    sign_in(ui)
    ui.tap("Deposit parcels")
    ui.scan("BIG-LOW-1")
    ui.wait_for_text("Choose a size for parcel BIG-LOW-1.")
    ui.tap("low")
    ui.tap("size-L")  # the low doors are S and M
    ui.tap("+")
    for digit in PHONE[1:]:
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    ui.wait_for_text("Door A07 is open: put the parcel in and close the door.")
    assert ui.shows("No low compartment is free for this size; door A07 is not low.")
    ui.wait_for_text("Stored in A07; the recipient has been notified.")
    assert parcel(daemon, "BIG-LOW-1")["compartment"] == "A07"


def test_courier_is_told_the_first_door_did_not_open_and_another_one_did() -> None:
    with running_daemon(close_delay_s=1.5) as daemon, kiosk_ui(daemon) as ui:
        daemon.sim().jam("A01")  # the first choice for size S
        sign_in(ui)
        ui.tap("Deposit parcels")
        ui.scan("JJD0011223344")
        ui.wait_for_text("Choose a size for parcel JJD0011223344.")
        ui.tap("size-S")
        ui.wait_for_text("The recipient's phone number")
        ui.tap("+")
        for digit in PHONE[1:]:
            ui.tap(f"key-{digit}")
        ui.tap("OK")
        ui.wait_for_text("Door A02 is open: put the parcel in and close the door.", timeout=20)
        assert ui.shows("The first door did not open; use this one.")


def test_courier_reopens_a_door_then_is_refused_that_it_did_not_open() -> None:
    with running_daemon(close_delay_s=3.0) as daemon, kiosk_ui(daemon) as ui:
        sign_in(ui)
        ui.tap("Deposit parcels")
        ui.wait_for_text("Scan the parcel or type its barcode.")
        ui.scan("JJD0099887766554433")
        ui.wait_for_text("Choose a size for parcel JJD0099887766554433.")
        ui.tap("size-S")
        ui.wait_for_text("The recipient's phone number")
        ui.tap("+")
        for digit in PHONE[1:]:
            ui.tap(f"key-{digit}")
        ui.tap("OK")
        ui.wait_for_text("Door A01 is open: put the parcel in and close the door.")
        fires = daemon.sim().fire_counts()["A01"]

        ui.tap("Reopen")
        daemon.wait_for(lambda: daemon.sim().fire_counts()["A01"] == fires + 1,
                        what="A01 fired again")  # fmt: skip
        ui.wait_until(lambda: ui.shows("Reopen"), what="the door screen back")
        assert ui.shows("Door A01 is open: put the parcel in and close the door.")

        # The sensor sees A01 open: the courier is asked, then told so, and A01 stays.
        daemon.sim().set_person("manual")
        ui.tap("The door did not open")
        ui.wait_for_text("Did door A01 really not open? It will be taken out of service.")
        ui.tap("It did not open")
        ui.wait_for_text("Door A01 is open, its sensor says: pull the door.")
        assert ui.shows("Door A01 is open: put the parcel in and close the door.")
        assert states(daemon)["A01"] == "RESERVED"  # not out of service
        assert daemon.sim().fire_counts()["A02"] == 0  # no other door was opened
        daemon.sim().set_item("A01", True)
        daemon.sim().close_door("A01")
        ui.wait_for_text("Stored in A01; the recipient has been notified.", timeout=15)
        assert parcel(daemon, "JJD0099887766554433")["compartment"] == "A01"


@pytest.mark.parametrize("size", [(800, 480), (480, 800)])
def test_a_barcode_with_a_dash_is_typed_on_the_on_screen_keyboard(
    daemon: Daemon, size: tuple[int, int]
) -> None:
    ui = UiDriver(str(daemon.touchscreen_socket), size)
    try:
        ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
        sign_in(ui)
        ui.tap("Deposit parcels")
        for key in "BIG-1":
            ui.tap(f"key-{key}")
        ui.tap("OK")
        ui.wait_for_text("Choose a size for parcel BIG-1.")
    finally:
        ui.close()


def test_a_pre_announced_parcel_skips_size_and_phone(daemon: Daemon, ui: UiDriver) -> None:
    daemon.signed_in().post("/v1/announcements", {"barcode": "PKG42", "size": "M",
                                                  "phone": PHONE})  # fmt: skip
    sign_in(ui)
    ui.tap("Deposit parcels")
    for key in "PKG42":  # typed on the on-screen keyboard
        ui.tap(f"key-{key}")
    assert ui.shows("PKG42")
    ui.tap("OK")
    seen = seen_until(ui, "Door A04 is open: put the parcel in and close the door.")
    assert not any("Choose a size" in t or "phone number" in t for t in seen)
    ui.wait_for_text("Stored in A04; the recipient has been notified.")
    ui.tap("Next")
    ui.tap("Next parcel")
    ui.wait_for_text("Scan the parcel or type its barcode.")
    assert (parcel(daemon, "PKG42")["state"], parcel(daemon, "PKG42")["compartment"]) == (
        "STORED",
        "A04",
    )


def test_refusals_are_worded_for_the_courier(daemon: Daemon, ui: UiDriver) -> None:
    tech = daemon.signed_in(TECHNICIAN)
    for cid in ("A07", "A08", "A12", "A09"):  # every L and the XL
        tech.post(f"/v1/compartments/{cid}/out-of-service", {"reason": "test"})
    daemon.signed_in().post("/v1/announcements", {"barcode": "BIG-1", "size": "L",
                                                  "phone": PHONE})  # fmt: skip
    sign_in(ui)
    ui.tap("Deposit parcels")
    ui.scan("]C1 ")  # a symbology prefix and nothing else
    ui.wait_for_text("That barcode cannot be read. Please scan it again or type it.")

    ui.scan("BIG-1")
    ui.wait_for_text("No compartment of size L or larger is free.")

    ui.scan("SMALL-1")
    ui.wait_for_text("Choose a size for parcel SMALL-1.")
    assert not ui.button("size-L").enabled and not ui.button("size-XL").enabled
    assert ui.button("size-M").enabled
    assert ui.shows("None free")
    assert daemon.events("unlock") == []


# -- signing in and out ---------------------------------------------------------------


def test_a_wrong_pin_says_so_and_a_run_of_them_locks_the_keypad(
    daemon: Daemon, ui: UiDriver
) -> None:
    ui.tap("Courier")
    ui.type("carla")  # on a keyboard, at a person's pace
    ui.press(pygame.K_RETURN, "\r")
    ui.type("999117")
    ui.tap("OK")
    ui.wait_for_text("That name or PIN is not right. Please try again.")
    assert ui.app.session is None
    assert ui.shows("carla: type your PIN.")  # the name stays: most often the PIN was wrong
    for _ in range(5):
        ui.type("999117")
        ui.tap("OK")
        ui.wait_until(lambda: not cast(SignInScreen, ui.app.screen).busy, what="the answer")
    ui.wait_for_text("Too many wrong tries. Please wait")
    assert not ui.button("OK").enabled
    assert len(daemon.events("sign_in_failed")) == 5
    assert daemon.events("signed_in") == []


def test_a_technician_badge_scan_asks_for_the_pin_and_then_signs_in(
    daemon: Daemon, ui: UiDriver
) -> None:
    added = daemon.kiosk_cmd(
        "users", "--config", str(daemon.config_path), "add", "bea", "--role", "technician",
        "--badge", "BADGE-0042", "--pin-stdin", stdin="57913468\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    ui.tap("Courier")
    ui.scan("]C0BADGE-0042")  # a scanner set to send its symbology prefix (Code 128)
    ui.wait_for_text("Badge read. Type your PIN.")
    assert daemon.events("signed_in") == []  # a badge alone signs nobody in
    for digit in "57913468":
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    ui.wait_for_text("Technician: bea")
    assert [e["actor"] for e in daemon.events("signed_in")] == ["bea"]


def test_a_badge_scan_with_nothing_in_it_asks_again_and_sends_nothing(
    daemon: Daemon, ui: UiDriver
) -> None:
    ui.tap("Courier")
    ui.scan("]C0   ")  # a symbology prefix and blanks: no badge in it
    ui.wait_for_text("That badge cannot be read. Please scan it again or type your name.")
    assert daemon.events("sign_in_failed") == []


def test_sign_out_returns_home_and_ends_the_session(daemon: Daemon, ui: UiDriver) -> None:
    sign_in(ui)
    assert ui.app.session is not None
    token = ui.app.session["token"]
    ui.tap("Sign out")
    ui.wait_for_text("Pick up a parcel")
    assert ui.app.session is None

    def refused() -> bool:
        try:
            daemon.client(token).get("/v1/deposits/lookup", barcode="PKG-1")
        except ApiError as exc:
            return exc.status == 401
        return False

    daemon.wait_for(refused, what="the session to end")


# -- collecting returns ---------------------------------------------------------------


def test_courier_collects_every_expired_parcel(lit: list[str | None]) -> None:
    with running_daemon(sections=EXPIRING) as daemon:
        courier = daemon.signed_in()
        for barcode, size in (("RET-1", "S"), ("RET-2", "M")):
            view = courier.post("/v1/deposits", {"barcode": barcode, "size": size,
                                                 "phone": PHONE})  # fmt: skip
            courier.wait_operation(view["operation"])
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["parcels"].get("EXPIRED") == 2,
                        what="both parcels to expire")  # fmt: skip
        with kiosk_ui(daemon) as ui:
            sign_in(ui)
            ui.wait_for_text("2 expired parcels to collect")
            ui.tap("Collect returns")
            ui.wait_for_text("Door A01 is open: take the expired parcel and close the door.")
            assert highlighted(ui, lit) == "A01"
            assert ui.shows("A01: RET-1, door open")
            ui.wait_for_text("All expired parcels collected", timeout=15)
            assert ui.shows("A01: RET-1, collected")
            assert ui.shows("A04: RET-2, collected")
            assert ui.shows("2 parcels collected for return to the sender.")
            ui.tap("Sign out")
            ui.wait_for_text("Pick up a parcel")
        for barcode, door in (("RET-1", "A01"), ("RET-2", "A04")):
            returned = parcel(daemon, barcode)
            assert returned["state"] == "RETURNED"
            assert states(daemon)[door] == "AVAILABLE"
        assert [e["compartment"] for e in daemon.events("unlock")][-2:] == ["A01", "A04"]


# -- layout ---------------------------------------------------------------------------

SIZES = [{"name": n, "width_mm": 440, "height_mm": h, "depth_mm": 600}
         for n, h in (("S", 90), ("M", 190), ("L", 400), ("XL", 620))]  # fmt: skip


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800), (480, 800)])
def test_every_courier_key_is_a_large_target(size: tuple[int, int]) -> None:
    ui = UiDriver("/nonexistent/api.sock", size)
    try:
        app = ui.app
        app.kiosk = {"sizes": SIZES, "wall": [], "ui": {}, "max_barcode_length": 64}
        app.session = {"token": "t", "user": "carla", "role": "courier"}
        deposit = Deposit("PKG-1")
        pin_step = SignInScreen(app)
        pin_step.step, pin_step.name = "pin", "CARLA"
        for screen in (SignInScreen(app), pin_step, CourierMenuScreen(app), ParcelScreen(app),
                       SizeScreen(app, deposit), PhoneScreen(app, deposit)):  # fmt: skip
            app.goto(screen)
            app.draw()
            small = [b.name or b.label for b in app.buttons
                     if min(b.rect.size) < app.metrics.min_target]  # fmt: skip
            assert not small, f"{type(screen).__name__} at {size}: {small} are under 9 mm"
        app.goto(ParcelScreen(app))
        app.draw()
        keys = {b.name for b in app.buttons}
        assert {f"key-{c}" for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"} <= keys
    finally:
        ui.close()
