"""A technician at the touchscreen: the grid, one door, out of service and back, the
self-test, open-all and the event log, each checked on screen and in the daemon."""

from __future__ import annotations

import re
from typing import Any

import pygame
import pytest

from kiosk.protocol.client import ApiError
from kiosk.ui.event_names import event_name
from kiosk.ui.screens.eventlog import EventLogScreen, when
from kiosk.ui.screens.selftest import JobScreen
from testkit.api import parcel, store_parcel
from testkit.daemon import TECHNICIAN, Daemon, running_daemon
from testkit.ui import UiDriver
from tests.ui.test_courier_ui import type_name_and_pin

ALL = [f"A{i:02d}" for i in range(1, 13)]


def sign_in_as_technician(ui: UiDriver) -> None:
    type_name_and_pin(ui, TECHNICIAN)
    ui.wait_for_text(f"Technician: {TECHNICIAN[0]}")
    ui.wait_until(lambda: mark(ui, "A12") is not None, what="the grid to be filled")


def mark(ui: UiDriver, cid: str) -> str | None:
    """What the grid shows on ``cid``'s door under its id ("free", "open", "passed"...)."""
    for text in ui.texts():
        if text.startswith(cid + "\n"):
            return text.split("\n", 1)[1]
    return None


def compartment(daemon: Daemon, cid: str) -> dict[str, Any]:
    found = daemon.client().get("/v1/compartments")["compartments"]
    return next(c for c in found if c["id"] == cid)


def test_technician_opens_one_door_and_the_grid_shows_it_open_then_closed(
    daemon: Daemon, ui: UiDriver
) -> None:
    sign_in_as_technician(ui)
    assert [mark(ui, cid) for cid in ALL] == ["free"] * 12

    ui.tap("door-A05")
    ui.wait_for_text("Compartment A05")
    assert ui.shows("Door: closed.")
    ui.tap("open")
    ui.wait_until(lambda: mark(ui, "A05") == "open", what="A05 open on the grid")
    ui.wait_for_text("Door A05 is open.")
    ui.wait_until(lambda: mark(ui, "A05") == "free", what="A05 closed again on the grid")
    assert ui.shows("Door: closed.")

    (unlock,) = daemon.events("unlock")
    assert (unlock["compartment"], unlock["actor"]) == ("A05", TECHNICIAN[0])
    assert unlock["detail"]["purpose"] == "technician"

    ui.tap("sign-out")
    ui.wait_for_text("Pick up a parcel")
    assert ui.app.session is None


def test_technician_takes_a_compartment_out_of_service_with_a_reason_and_back(
    daemon: Daemon, ui: UiDriver
) -> None:
    sign_in_as_technician(ui)
    ui.tap("door-A07")
    ui.tap("Out of service")
    ui.wait_for_text("Why is A07 out of service?")
    for reason in ("Door does not close", "Sensor fault", "Dirty or damaged", "Other"):
        assert ui.shows(reason)
    ui.tap("Lock broken")

    ui.wait_for_text("A07 is out of service.")
    assert ui.shows("Reason: Lock broken")
    assert mark(ui, "A07") == "out of service"
    a07 = compartment(daemon, "A07")
    assert (a07["state"], a07["reason"]) == ("OUT_OF_SERVICE", "Lock broken")

    ui.tap("Back in service")
    ui.wait_for_text("A07 is back in service.")
    ui.wait_until(lambda: mark(ui, "A07") == "free", what="A07 free on the grid")
    a07 = compartment(daemon, "A07")
    assert (a07["state"], a07["reason"]) == ("AVAILABLE", None)
    assert [e["compartment"] for e in daemon.events("out_of_service")] == ["A07"]
    assert [e["compartment"] for e in daemon.events("in_service")] == ["A07"]


def test_technician_gives_the_recipient_more_time_until_the_kiosk_limit(
    daemon: Daemon, ui: UiDriver
) -> None:
    cid, _ = store_parcel(daemon, "PKG-MORE-TIME", size="S")
    deadline = parcel(daemon, "PKG-MORE-TIME")["expires_at"]
    sign_in_as_technician(ui)
    ui.tap(f"door-{cid}")
    ui.wait_for_text("Parcel: PKG-MORE-TIME")
    assert ui.shows(f"Pickup until {when(deadline)}.")

    ui.tap("Extend hold +24 h")
    later = when(deadline + 24 * 3600)
    ui.wait_for_text(f"Hold extended: pickup until {later}.")
    ui.wait_for_text(f"Pickup until {later} (+24 h).")
    assert parcel(daemon, "PKG-MORE-TIME")["expires_at"] == pytest.approx(deadline + 24 * 3600)
    (event,) = daemon.events("hold_extended")
    assert (event["actor"], event["compartment"]) == (TECHNICIAN[0], cid)

    for total in (48, 72):  # the test kiosk's limit is the default, 72 hours in all
        ui.tap("extend")
        ui.wait_for_text(f"(+{total} h).")
    assert not ui.button("extend").enabled
    assert parcel(daemon, "PKG-MORE-TIME")["extended_hours"] == 72


def connected_ui(daemon: Daemon) -> UiDriver:
    ui = UiDriver(str(daemon.touchscreen_socket))
    ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
    return ui


def test_the_last_extension_is_what_is_left_of_the_limit_and_then_the_button_is_off() -> None:
    with running_daemon(sections={"policy": {"max_extend_hours": 30}}) as daemon:
        cid, _ = store_parcel(daemon, "PKG-LIMIT", size="S")
        daemon.signed_in(TECHNICIAN).extend_hold("PKG-LIMIT", 10)
        ui = connected_ui(daemon)
        try:
            sign_in_as_technician(ui)
            ui.tap(f"door-{cid}")
            ui.wait_for_text("(+10 h).")
            ui.tap("Extend hold +20 h")  # not a whole day: 20 h are left of 30
            ui.wait_for_text("(+30 h).")
            assert not ui.button("extend").enabled
            assert parcel(daemon, "PKG-LIMIT")["extended_hours"] == 30
        finally:
            ui.close()


def test_an_expired_parcel_a_courier_is_collecting_is_not_extended_and_the_screen_says_so() -> None:
    policy = {"hold_hours": 0.0015, "expiry_check_s": 0.2, "reminder_hours": []}
    with running_daemon(sections={"policy": policy}, close_delay_s=3.0) as daemon:
        cid, _ = store_parcel(daemon, "PKG-GOING-BACK", size="S")
        daemon.wait_for(lambda: parcel(daemon, "PKG-GOING-BACK")["state"] == "EXPIRED",
                        what="the parcel to expire")  # fmt: skip
        ui = connected_ui(daemon)
        try:
            sign_in_as_technician(ui)
            ui.tap(f"door-{cid}")
            ui.wait_for_text("Pickup time ended ")
            courier = daemon.signed_in()
            collecting = courier.post("/v1/returns/next")
            ui.tap("extend")
            ui.wait_for_text("This parcel is being collected for return right now.")
            courier.wait_operation(collecting["operation"])
            assert parcel(daemon, "PKG-GOING-BACK")["state"] == "RETURNED"
            assert daemon.events("hold_extended") == []
        finally:
            ui.close()


def test_self_test_with_a_jammed_lock_fails_that_door_and_takes_it_out_of_service(
    daemon: Daemon, ui: UiDriver
) -> None:
    daemon.sim().jam("A03")
    sign_in_as_technician(ui)
    ui.tap("Self-test")
    ui.wait_for_text("Start the self-test")
    assert ui.button("take-out-of-service").sublabel == "Off"
    ui.tap("take-out-of-service")
    assert ui.button("take-out-of-service").sublabel == "On"
    ui.tap("start")

    progress: list[int] = []

    def finished() -> bool:
        for text in ui.texts():
            found = re.fullmatch(r"(\d+) of 12", text)
            if found and (not progress or progress[-1] != int(found[1])):
                progress.append(int(found[1]))
        return ui.shows("Self-test finished: 11 passed, 1 failed.")

    ui.wait_until(finished, timeout=45, what="the self-test to finish")
    assert len(progress) >= 4 and progress == sorted(progress) and progress[-1] == 12
    assert mark(ui, "A03") == "failed"
    assert [mark(ui, cid) for cid in ALL if cid != "A03"] == ["passed"] * 11
    assert ui.shows("A03: The door did not open.")

    a03 = compartment(daemon, "A03")
    assert a03["state"] == "OUT_OF_SERVICE" and "did not open" in a03["reason"]
    found = daemon.client().get("/v1/compartments")["compartments"]
    assert [c["id"] for c in found if c["state"] == "OUT_OF_SERVICE"] == ["A03"]

    ui.tap("back")
    ui.wait_until(lambda: mark(ui, "A03") == "out of service", what="A03 out of service")
    ui.tap("door-A03")
    ui.wait_for_text("Reason: The door did not open.")


def test_open_all_asks_first_then_opens_every_door(daemon: Daemon, ui: UiDriver) -> None:
    sign_in_as_technician(ui)
    ui.tap("Open all")
    ui.wait_for_text("Open all 12 doors, one after another?")
    ui.tap("Cancel")
    ui.pump(0.3)
    assert set(daemon.sim().fire_counts().values()) == {0}
    assert daemon.events("unlock") == []

    ui.tap("Open all")
    ui.tap("confirm")
    ui.wait_for_text("All doors done: 12 opened, 0 did not open.", timeout=30)
    assert [mark(ui, cid) for cid in ALL] == ["opened"] * 12
    unlocks = daemon.events("unlock")
    assert sorted(e["compartment"] for e in unlocks) == ALL
    assert {e["detail"]["purpose"] for e in unlocks} == {"technician"}


def test_a_job_whose_answer_hangs_is_asked_once_and_not_redrawn_in_a_loop(
    daemon: Daemon, ui: UiDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon is slow to answer a progress request: the screen waits for it, asking
    again and redrawing about once a second, not on every turn of the loop."""
    sign_in_as_technician(ui)
    screen = JobScreen(ui.app, "open-all")
    screen.job = {"id": 7, "kind": "open-all", "state": "running", "done": 3, "total": 12,
                  "results": []}  # fmt: skip
    asked: list[str] = []
    monkeypatch.setattr(ui.app.link, "call", lambda _m, path, *_a: asked.append(path) or 0)
    screen.next_poll = ui.app.clock() + 1.0
    ui.app.goto(screen)
    frames = 0
    draw = ui.app.draw

    def counted_draw() -> None:
        nonlocal frames
        frames += 1
        draw()

    monkeypatch.setattr(ui.app, "draw", counted_draw)
    ui.offset += 1.0  # the next poll is due; its answer never comes
    ui.pump(2.5)
    assert asked == ["/v1/jobs/7"]
    assert screen.running and screen.stale  # asked again once the answer is in
    assert frames <= 6, f"{frames} frames drawn in 2.5 s while waiting for one answer"


def shown_kinds(ui: UiDriver) -> list[str]:
    """The event names in the log's rows, top to bottom (the third of five columns)."""
    texts = ui.texts()
    cells = texts[texts.index("Who") + 1 :]
    return [cells[i + 2] for i in range(0, len(cells) - 4, 5)]


def test_the_event_log_shows_the_newest_first_and_pages_back(daemon: Daemon, ui: UiDriver) -> None:
    tech = daemon.signed_in(TECHNICIAN)
    for _ in range(10):
        tech.post("/v1/compartments/A02/out-of-service", {"reason": "Other"})
        tech.post("/v1/compartments/A02/in-service")
    sign_in_as_technician(ui)
    ui.tap("Event log")
    ui.wait_for_text("Event log, newest first")
    ui.wait_until(lambda: len(shown_kinds(ui)) > 3, what="the events")

    screen = ui.app.screen
    assert isinstance(screen, EventLogScreen)
    newest = [event_name(e["kind"]) for e in reversed(daemon.events())]
    page = screen.page
    assert shown_kinds(ui) == newest[:page]
    assert shown_kinds(ui)[0] == "Signed in"

    ui.tap("Older")
    assert shown_kinds(ui) == newest[page : 2 * page]
    ui.tap("Newer")
    assert shown_kinds(ui) == newest[:page]

    # a finger dragged up by three rows brings three older rows into view
    for _ in range(3):
        pygame.event.post(
            pygame.event.Event(
                pygame.MOUSEMOTION, pos=(400, 240), rel=(0, -screen.row_h), buttons=(1, 0, 0)
            )
        )
    ui.pump(0.05)
    assert shown_kinds(ui) == newest[3 : 3 + page]

    # back at the top, a new event joins the log as it happens
    ui.tap("Newer")
    tech.post("/v1/compartments/A09/out-of-service", {"reason": "Sensor fault"})
    ui.wait_until(lambda: shown_kinds(ui)[0] == "Out of service", what="the new event")
    assert ui.shows("A09")


def test_an_idle_technician_is_asked_then_signed_out(daemon: Daemon, ui: UiDriver) -> None:
    sign_in_as_technician(ui)
    assert ui.app.session is not None
    token = ui.app.session["token"]
    ui.advance(61)
    ui.wait_for_text("Need more time?")
    ui.advance(31)
    ui.wait_for_text("Pick up a parcel")

    def refused() -> bool:
        try:
            # an unknown door: 404 for a valid session, 401 once it ended; nothing opens
            daemon.client(token).post("/v1/compartments/Z99/open")
        except ApiError as exc:
            return exc.status == 401
        return False

    daemon.wait_for(refused, what="the session to end")
    assert daemon.events("unlock") == []


@pytest.mark.parametrize("size", [(480, 800), (1280, 800)])
def test_the_grid_fits_other_displays(daemon: Daemon, size: tuple[int, int]) -> None:
    ui = UiDriver(str(daemon.touchscreen_socket), size)
    try:
        ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
        sign_in_as_technician(ui)
        minimum = ui.app.metrics.min_target
        for cid in ALL:
            rect = ui.button(f"door-{cid}").rect
            assert rect.height >= minimum and rect.width >= minimum
            assert ui.app.surface.get_rect().contains(rect)
    finally:
        ui.close()
