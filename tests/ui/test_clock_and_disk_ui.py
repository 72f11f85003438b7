"""What the touchscreen says when the kiosk's disk is full or its clock jumped, and a
technician confirming the time at the screen."""

from __future__ import annotations

import time

from testkit.daemon import TECHNICIAN, Daemon, stepped_daemon
from testkit.tmpfs import fill, kiosk_on_a_small_disk
from testkit.ui import UiDriver
from tests.ui.test_courier_ui import type_name_and_pin

DAYS_4 = 4 * 86400


def connected(daemon: Daemon, lang: str = "en") -> UiDriver:
    ui = UiDriver(str(daemon.socket), lang=lang)
    ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI to connect")
    return ui


def sign_in_as_technician(ui: UiDriver) -> None:
    type_name_and_pin(ui, TECHNICIAN)
    ui.wait_for_text(f"Technician: {TECHNICIAN[0]}")


def test_the_touchscreen_says_the_kiosk_is_out_of_service_when_its_disk_is_full() -> None:
    with kiosk_on_a_small_disk() as daemon:
        daemon.start()
        assert daemon.stop() == 0
        fill(daemon.data_dir)
        daemon.start()

        ui = connected(daemon)
        try:
            ui.wait_for_text(
                "Out of service: the kiosk's storage is full. The lockers cannot be opened."
            )
            assert not ui.button("pickup").enabled  # no code is even taken
            # A sign-in is counted before its PIN is checked, and cannot be counted now.
            type_name_and_pin(ui, TECHNICIAN)
            ui.wait_for_text("its storage is full")
        finally:
            ui.close()
        german = connected(daemon, "de")
        try:
            german.wait_for_text("Außer Betrieb: Der Speicher der Station ist voll.")
        finally:
            german.close()


def test_a_technician_confirms_the_time_at_the_screen_after_the_clock_jumped() -> None:
    with stepped_daemon(sections={"policy": {"expiry_check_s": 0.2}}) as (daemon, wall):
        wall.set(DAYS_4)
        daemon.wait_for(lambda: daemon.events("clock_jump"), what="the clock_jump alarm")
        ui = connected(daemon)
        try:
            sign_in_as_technician(ui)
            ui.wait_for_text(
                "The clock jumped +96 h: no parcel expires until the time is confirmed."
            )
            ui.tap("confirm-time")
            shown = time.strftime("%Y-%m-%d", time.localtime(time.time() + DAYS_4))
            ui.wait_for_text(f"Is it {shown}")
            ui.tap("The time is right")
            ui.wait_for_text("The time is confirmed: parcels expire by this clock again.")
            ui.wait_until(lambda: not ui.shows("The clock jumped"), what="the line gone")
        finally:
            ui.close()
        (confirmed,) = daemon.events("clock_confirmed")
        assert confirmed["actor"] == TECHNICIAN[0]
        assert daemon.client().get("/v1/status")["clock"]["trusted"] is True
