"""Working the kiosk with a keyboard alone: Tab, Shift+Tab and the arrows move a visible
focus ring, Enter or Space works the button inside it, and typing still types."""

from __future__ import annotations

import pygame

from kiosk.ui import theme
from kiosk.ui.widgets import Button, Rect, move_focus
from testkit.daemon import COURIER, TECHNICIAN, Daemon, running_daemon
from testkit.ui import UiDriver

PHONE = "+4915112345678"


def ring_around(ui: UiDriver, name: str) -> bool:
    """Whether the focus ring is drawn around the button ``name`` (and only there)."""
    ui.texts()
    rect = ui.button(name).rect.inflate(ui.app.metrics.gap, ui.app.metrics.gap)
    return ui.app.surface.get_at((rect.centerx, rect.top))[:3] == theme.FOCUS_RING


def tab_to(ui: UiDriver, name: str) -> None:
    """Tab until ``name`` is focused, as a person watching the ring does."""
    for _ in range(60):
        if ui.app.focus == name:
            assert ring_around(ui, name)
            return
        ui.press(pygame.K_TAB)
    raise AssertionError(f"Tab never reached {name!r}")


def connected(daemon: Daemon) -> UiDriver:
    ui = UiDriver(str(daemon.touchscreen_socket))
    ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
    return ui


def test_home_to_the_courier_sign_in_by_keyboard(daemon: Daemon, ui: UiDriver) -> None:
    ui.wait_for_text("Pick up a parcel")
    assert not ring_around(ui, "courier")  # no ring until the keyboard is used
    ui.press(pygame.K_TAB)
    assert ui.app.focus == "pickup" and ring_around(ui, "pickup")
    ui.press(pygame.K_RIGHT)
    assert ui.app.focus == "courier" and ring_around(ui, "courier")
    assert not ring_around(ui, "pickup")
    ui.press(pygame.K_TAB, mod=pygame.KMOD_LSHIFT)  # back again
    assert ui.app.focus == "pickup"
    ui.press(pygame.K_TAB)
    ui.press(pygame.K_RETURN, "\r")
    ui.wait_for_text("Sign in: scan your badge or type your name.")


def test_language_and_large_text_on_home_by_keyboard(daemon: Daemon, ui: UiDriver) -> None:
    ui.wait_for_text("Pick up a parcel")
    tab_to(ui, "large-text")
    ui.press(pygame.K_SPACE, " ")
    assert ui.app.metrics.large_text
    assert ring_around(ui, "large-text")  # the focus stays where it was


def test_a_courier_deposit_done_with_the_keyboard_only() -> None:
    # The person takes 3 s to close a door: time to say it does not fit, and to reopen.
    with running_daemon(close_delay_s=3.0) as daemon:
        ui = connected(daemon)
        try:
            tab_to(ui, "courier")
            ui.press(pygame.K_RETURN, "\r")
            ui.wait_for_text("Sign in: scan your badge or type your name.")
            ui.type(COURIER[0])
            ui.press(pygame.K_RETURN, "\r")
            ui.type(COURIER[1])
            ui.press(pygame.K_RETURN, "\r")
            ui.wait_for_text(f"Signed in as {COURIER[0]}")
            tab_to(ui, "deposit")
            ui.press(pygame.K_RETURN, "\r")
            ui.wait_for_text("Scan the parcel or type its barcode.")
            ui.type("KB-1")
            ui.press(pygame.K_RETURN, "\r")
            ui.wait_for_text("Choose a size for parcel KB-1.")
            tab_to(ui, "size-S")
            ui.press(pygame.K_SPACE, " ")
            ui.wait_for_text("The recipient's phone number")
            ui.type(PHONE)
            ui.press(pygame.K_RETURN, "\r")
            ui.wait_for_text("Door A01 is open: put the parcel in and close the door.")
            tab_to(ui, "bigger")  # "Doesn't fit"
            ui.press(pygame.K_RETURN, "\r")
            ui.wait_for_text("Door A04 is open: put the parcel in and close the door.")
            fires = daemon.sim().fire_counts()["A04"]
            tab_to(ui, "reopen")
            ui.press(pygame.K_RETURN, "\r")
            daemon.wait_for(lambda: daemon.sim().fire_counts()["A04"] == fires + 1,
                            what="A04 fired again")  # fmt: skip
            ui.wait_for_text("Stored in A04; the recipient has been notified.", timeout=15)
            tab_to(ui, "next")
            ui.press(pygame.K_RETURN, "\r")
            tab_to(ui, "sign-out")
            ui.press(pygame.K_RETURN, "\r")
            ui.wait_for_text("Pick up a parcel")
            assert daemon.code_for("KB-1")  # stored, and the recipient was sent a code
        finally:
            ui.close()


def test_the_technician_grid_is_walked_with_the_arrow_keys(daemon: Daemon, ui: UiDriver) -> None:
    ui.tap("courier")
    ui.type(TECHNICIAN[0])
    ui.press(pygame.K_RETURN, "\r")
    ui.type(TECHNICIAN[1])
    ui.press(pygame.K_RETURN, "\r")
    ui.wait_for_text(f"Technician: {TECHNICIAN[0]}")
    ui.wait_until(lambda: any(t.startswith("A12\n") for t in ui.texts()), what="the grid")
    tab_to(ui, "door-A01")
    ui.press(pygame.K_DOWN)
    below = ui.app.focus
    assert below is not None and below.startswith("door-") and below != "door-A01"
    assert ui.button(below).rect.top > ui.button("door-A01").rect.top
    ui.press(pygame.K_RETURN, "\r")
    ui.wait_for_text(f"Compartment {below.removeprefix('door-')}")


def test_typing_after_tabbing_types_and_enter_then_sends_it(daemon: Daemon, ui: UiDriver) -> None:
    ui.tap("courier")
    tab_to(ui, "back")
    ui.type("carla")  # typed: the focus gives way to the name
    assert ui.app.focus is None
    ui.press(pygame.K_RETURN, "\r")
    ui.type("999117")
    ui.press(pygame.K_RETURN, "\r")
    ui.wait_for_text("That name or PIN is not right. Please try again.")


def test_arrows_go_to_the_nearest_button_that_way_and_stop_at_the_edge() -> None:
    def key(name: str, x: int, y: int) -> Button:
        return Button(Rect(x, y, 50, 50), name, lambda: None, name=name)

    keypad = [key(str(n), 60 * (n % 3), 60 * (n // 3)) for n in range(9)]  # 0 1 2 / 3 4 5 …
    assert move_focus(keypad, "4", "right") == "5"
    assert move_focus(keypad, "4", "up") == "1"
    assert move_focus(keypad, "4", "down") == "7"
    assert move_focus(keypad, "3", "left") == "3"
    assert move_focus(keypad, "8", "tab") == "0"
    assert move_focus(keypad, None, "back-tab") == "8"
