"""Every screen of every journey, each in the states a person meets it in.

:func:`every_screen` puts the real UI on each screen in turn (with the daemon's own kiosk
description and compartments, but with its state set directly, so a layout check needs
no door to open) and yields the screen's name once it is drawn. The layout and language
tests walk it at every display size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from kiosk.ui.app import App
from kiosk.ui.i18n import _
from kiosk.ui.screen import Screen
from kiosk.ui.screens.courier import CourierMenuScreen
from kiosk.ui.screens.deposit import Deposit, ParcelScreen, PhoneScreen, ReceiptScreen, SizeScreen
from kiosk.ui.screens.dialogs import MoreTimeDialog
from kiosk.ui.screens.door import DoorScreen
from kiosk.ui.screens.eventlog import EventLogScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.pickup import PickupScreen, error_text
from kiosk.ui.screens.returns import ReturnsDoneScreen, ReturnsScreen
from kiosk.ui.screens.selftest import JobScreen
from kiosk.ui.screens.signin import SignInScreen
from kiosk.ui.screens.technician import TechnicianScreen

COURIER_SESSION = {"token": "not-a-session", "user": "carla", "role": "courier"}
TECHNICIAN_SESSION = {"token": "not-a-session", "user": "tomas", "role": "technician"}
LONG_BARCODE = "JJD0001234567890123456789"


def door_view(door: str, purpose: str, status: str = "OPEN", **extra: Any) -> dict[str, Any]:
    """An operation as ``GET /v1/operations/{id}`` describes it."""
    return {
        "operation": 999999,
        "compartment": door,
        "purpose": purpose,
        "status": status,
        "live": status == "OPEN",
        "barcode": LONG_BARCODE,
        **extra,
    }


def events(n: int = 40) -> list[dict[str, Any]]:
    """Event log rows, newest first, of every severity and with long names."""
    now = time.time()
    kinds = [("door_left_open", "warning"), ("unlock", "info"), ("board_offline", "alarm")]
    return [
        {
            "seq": n - i,
            "ts": now - 90_000 * (i % 2),
            "kind": kinds[i % 3][0],
            "severity": kinds[i % 3][1],
            "compartment": f"A{i % 12 + 1:02d}" if i % 4 else None,
            "actor": "maximilian-mustermann" if i % 5 == 0 else "tomas",
        }
        for i in range(n)
    ]


def job(kind: str, state: str, results: list[tuple[str, bool, str]], total: int) -> dict[str, Any]:
    """A self-test or open-all job as ``GET /v1/jobs/{id}`` describes it."""
    return {
        "id": 999999,
        "kind": kind,
        "state": state,
        "done": len(results),
        "total": total,
        "results": [{"compartment": c, "ok": ok, "detail": d} for c, ok, d in results],
    }


def every_screen(app: App, compartments: list[dict[str, Any]]) -> Iterator[str]:
    """Show each screen state on ``app`` in turn and yield its name.

    ``compartments``: ``GET /v1/compartments`` of the daemon, for the technician's grid.
    """
    for name, make in _states(app, compartments):
        app.session, app.dialog, app.online = None, None, True
        app.open_doors, app.keypad_locked_until = set(), None
        screen = make()
        if screen is not None:
            app.goto(screen)
        app.draw()
        yield name
    app.session = None
    app.home()


def _states(
    app: App, compartments: list[dict[str, Any]]
) -> list[tuple[str, Callable[[], Screen | None]]]:
    wall = [d["id"] for d in (app.kiosk or {}).get("wall", [])]
    door = wall[-1] if wall else "A12"

    def with_session(
        session: dict[str, Any], make: Callable[[], Screen | None]
    ) -> Callable[[], Screen | None]:
        def build() -> Screen | None:
            app.session = dict(session)
            return make()

        return build

    def with_state(cls: Callable[[App], Screen], **state: Any) -> Callable[[], Screen]:
        def build() -> Screen:
            screen = cls(app)
            screen.__dict__.update(state)
            return screen

        return build

    def offline_home() -> Screen:
        app.online = False
        return HomeScreen(app)

    def home_to_the_next_person() -> Screen:
        app.open_doors = {c["id"] for c in compartments[:3]}
        app.keypad_locked_until = app.clock() + 30
        return HomeScreen(app)

    def sizes() -> Screen:
        screen = SizeScreen(app, Deposit(LONG_BARCODE))
        names = [s["name"] for s in (app.kiosk or {}).get("sizes", [])]
        screen.free = {n: i % 3 for i, n in enumerate(names)}
        screen.message = error_text({"status": 0}, app)
        return screen

    def phone() -> Screen:
        screen = PhoneScreen(app, Deposit(LONG_BARCODE, size="M"))
        screen.phone = "+4915112345678"
        screen.message = screen.bad_input()
        return screen

    def courier_door() -> Screen:
        screen = DoorScreen(app, door_view(door, "deposit"), role="courier")
        screen.note = _("The first door did not open; use this one.")
        return screen

    def returns(message: bool) -> Callable[[], Screen]:
        def build() -> Screen:
            screen = ReturnsScreen(app)
            screen.busy = False
            done = [door_view(d, "return", "CLOSED") for d in wall[:6]]
            screen.collected = [*done, door_view(door, "return", "OPEN_NOT_DETECTED")]
            if message:
                screen.message = error_text({"status": 0}, app)
            else:
                screen.collected.append(door_view(door, "return"))
            return screen

        return build

    def returns_done() -> Screen:
        collected = [door_view(d, "return", "CLOSED") for d in wall[:9]]
        return ReturnsDoneScreen(app, collected, complete=False)

    def grid(**state: Any) -> Callable[[], Screen]:
        def build() -> Screen:
            screen = TechnicianScreen(app)
            screen.compartments = {c["id"]: dict(c) for c in compartments}
            if door in screen.compartments:
                screen.compartments[door].update(
                    state="OUT_OF_SERVICE",
                    reason="courier reported: door did not open",
                    board_online=False,
                )
            screen.__dict__.update(state)
            return screen

        return build

    def parcel_door() -> Screen:
        """The first door holding a parcel whose hold was extended, a note under it."""
        screen = grid(selected=wall[0])()
        parcel = {"barcode": LONG_BARCODE, "state": "STORED", "extended_hours": 48.0,
                  "expires_at": time.time() + 3 * 86400}  # fmt: skip
        screen.compartments[wall[0]].update(state="OCCUPIED", parcel=parcel)
        screen.note = _("Hold extended: pickup until {time}.").format(time="2026-12-24 18:00")
        return screen

    def confirm_open_all() -> None:
        screen = grid()()
        app.goto(screen)
        screen.confirm_open_all()

    def job_screen(kind: str, state: str | None, failures: int = 0) -> Callable[[], Screen]:
        def build() -> Screen:
            screen = JobScreen(app, kind)
            if state is not None:
                tested = wall if state == "done" else wall[: len(wall) // 2]
                detail = "door not closed within 2.0 s"
                results = [(d, i >= failures, detail) for i, d in enumerate(tested)]
                screen.job = job(kind, state, results, len(wall))
            else:
                screen.note = _("Another open-all or self-test is still running.")
            return screen

        return build

    def event_log() -> Screen:
        screen = EventLogScreen(app)
        screen.events, screen.loading, screen.has_older = events(), False, True
        return screen

    def more_time() -> None:
        app.session = dict(COURIER_SESSION)
        app.goto(CourierMenuScreen(app))
        app.show_dialog(MoreTimeDialog(app, 30.0))

    def receipt(stored: bool) -> Callable[[], Screen]:
        def build() -> Screen:
            return ReceiptScreen(app, door_view(door, "deposit", "CLOSED", unused=not stored))

        return build

    unreadable = _("That barcode cannot be read. Please scan it again or type it.")
    wrong = _("That name or PIN is not right. Please try again.")
    courier = COURIER_SESSION
    tech = TECHNICIAN_SESSION
    return [
        ("home", lambda: HomeScreen(app)),
        ("home, daemon away", offline_home),
        ("home, doors left open, keypad locked", home_to_the_next_person),
        ("pickup", with_state(PickupScreen)),
        ("pickup, code typed", with_state(PickupScreen, code="1234")),
        ("pickup, checking", with_state(PickupScreen, code="12345678", busy=True)),
        (
            "pickup, door fired again",
            with_state(PickupScreen, code="12345678", busy=True, opening=(1, door), retrying=True),
        ),
        ("pickup, wrong code", with_state(PickupScreen, message=error_text({"status": 401}, app))),
        (
            "pickup, door did not open",
            with_state(PickupScreen, message=error_text({"status": 502}, app)),
        ),
        ("pickup, locked", with_state(PickupScreen, locked_until=app.clock() + 30)),
        ("customer door open", lambda: DoorScreen(app, door_view(door, "pickup"), "customer")),
        ("thank you", lambda: DoorScreen(app, door_view(door, "pickup", "CLOSED"), "customer")),
        ("sign in", with_state(SignInScreen)),
        ("sign in, name typed", with_state(SignInScreen, name="ABCDEFGHIJKLMNOPQRSTUVWXYZ-12345")),
        ("sign in, PIN typed", with_state(SignInScreen, step="pin", name="CARLA", pin="1" * 12)),
        ("sign in, badge read", with_state(SignInScreen, step="pin", badge="B-1", pin="123")),
        ("sign in, wrong PIN", with_state(SignInScreen, step="pin", name="CARLA", message=wrong)),
        (
            "sign in, locked",
            with_state(SignInScreen, step="pin", name="CARLA", locked_until=app.clock() + 30),
        ),
        ("courier menu", with_session(courier, lambda: CourierMenuScreen(app))),
        ("parcel", with_session(courier, with_state(ParcelScreen))),
        ("parcel, typed", with_session(courier, with_state(ParcelScreen, text=LONG_BARCODE))),
        (
            "parcel, unreadable",
            with_session(courier, with_state(ParcelScreen, text="]C1", message=unreadable)),
        ),
        ("size", with_session(courier, sizes)),
        ("phone", with_session(courier, phone)),
        ("courier door open", with_session(courier, courier_door)),
        ("receipt", with_session(courier, receipt(True))),
        ("receipt, not stored", with_session(courier, receipt(False))),
        ("returns", with_session(courier, returns(message=False))),
        ("returns, failed", with_session(courier, returns(message=True))),
        ("returns done", with_session(courier, returns_done)),
        ("technician grid", with_session(tech, grid())),
        ("technician door", with_session(tech, grid(selected=door))),
        ("technician reasons", with_session(tech, grid(selected=door, picking_reason=True))),
        ("technician door with a parcel", with_session(tech, parcel_door)),
        ("open all?", with_session(tech, confirm_open_all)),
        ("self-test setup", with_session(tech, job_screen("self-test", None))),
        ("self-test running", with_session(tech, job_screen("self-test", "running", 2))),
        ("self-test done", with_session(tech, job_screen("self-test", "done", 3))),
        ("open-all done", with_session(tech, job_screen("open-all", "done", 1))),
        ("event log", with_session(tech, event_log)),
        ("need more time?", more_time),
    ]
