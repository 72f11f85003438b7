"""Random taps and key presses on every screen never crash the UI and never open a door.

The daemon is real, holds no parcel (so no pickup code is valid) and knows only people
whose 12-digit PINs random typing cannot hit. The courier's and the technician's
screens are shown with a session the daemon does not know (one that expired, say):
whatever is tapped or typed there, the daemon must refuse it. After each example the
event log must hold no ``unlock`` and no ``signed_in`` at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pygame
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.ui import i18n
from kiosk.ui.app import App
from kiosk.ui.screen import Screen
from kiosk.ui.screens.courier import CourierMenuScreen
from kiosk.ui.screens.deposit import Deposit, ParcelScreen, PhoneScreen, ReceiptScreen, SizeScreen
from kiosk.ui.screens.dialogs import ConfirmDialog, MoreTimeDialog
from kiosk.ui.screens.door import DoorScreen
from kiosk.ui.screens.eventlog import EventLogScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.pickup import PickupScreen
from kiosk.ui.screens.returns import ReturnsDoneScreen, ReturnsScreen
from kiosk.ui.screens.selftest import JobScreen
from kiosk.ui.screens.signin import SignInScreen
from kiosk.ui.screens.technician import TechnicianScreen
from testkit.daemon import Daemon, running_daemon
from testkit.ui import UiDriver

WIDTH, HEIGHT = 800, 480
USERS = ((("carla", "739184620573"), "courier"), (("tomas", "582039174651"), "technician"))
EXPIRED = {"token": "an-expired-session", "user": "carla", "role": "courier"}
EXPIRED_TECHNICIAN = {"token": "an-expired-session", "user": "tomas", "role": "technician"}

# An operation the daemon does not know: whatever its buttons do is refused.
NO_SUCH_OP = {"operation": 99999, "compartment": "A01", "status": "OPENED", "door": "OPEN",
              "live": True, "message": ""}  # fmt: skip


def with_dialog(app: App, dialog: Callable[[App], Screen]) -> tuple[Screen, Screen]:
    return TechnicianScreen(app), dialog(app)


# A door the daemon does not know, shown after it closed (the screen's own refresh is 404).
CLOSED_PICKUP = {**NO_SUCH_OP, "purpose": "pickup", "status": "CLOSED", "door": "CLOSED",
                 "live": False}  # fmt: skip
RETURNED = [
    {**NO_SUCH_OP, "purpose": "return", "status": "CLOSED", "live": False, "barcode": "RET-1"},
    {**NO_SUCH_OP, "compartment": "A02", "purpose": "return", "status": "OPEN_NOT_DETECTED",
     "live": False, "barcode": "0109501101020917\x1d10ABCD"},
]  # fmt: skip


def job_screen(app: App, kind: str, state: str) -> JobScreen:
    """An open-all or self-test the daemon does not know (polling it finds it lost)."""
    screen = JobScreen(app, kind)
    results = [
        {"compartment": "A01", "ok": True, "detail": "opened and closed"},
        {"compartment": "A02", "ok": False, "detail": "door did not open"},
        {"compartment": "A03", "ok": False, "detail": "door not closed within 2 s"},
    ]
    screen.job = {"id": 99999, "kind": kind, "state": state, "done": len(results),
                  "total": 12, "results": results}  # fmt: skip
    return screen


SCREENS: dict[str, tuple[dict[str, Any] | None, Callable[[App], Any]]] = {
    "home": (None, HomeScreen),
    "pickup": (None, PickupScreen),
    "sign-in": (None, SignInScreen),
    "courier menu": (EXPIRED, CourierMenuScreen),
    "parcel": (EXPIRED, ParcelScreen),
    "size": (EXPIRED, lambda app: SizeScreen(app, Deposit("PKG-RANDOM"))),
    "phone": (EXPIRED, lambda app: PhoneScreen(app, Deposit("PKG-RANDOM", size="S"))),
    "technician grid": (EXPIRED_TECHNICIAN, TechnicianScreen),
    "event log": (EXPIRED_TECHNICIAN, EventLogScreen),
    "door (customer)": (None, lambda app: DoorScreen(app, {**NO_SUCH_OP, "purpose": "pickup"},
                                                     "customer")),
    "door (courier)": (EXPIRED, lambda app: DoorScreen(app, {**NO_SUCH_OP, "purpose": "deposit"},
                                                       "courier")),
    "receipt": (EXPIRED, lambda app: ReceiptScreen(
        app, {**NO_SUCH_OP, "purpose": "deposit", "status": "CLOSED", "live": False})),
    "returns": (EXPIRED, ReturnsScreen),
    "self-test": (EXPIRED_TECHNICIAN, lambda app: JobScreen(app, "self-test")),
    "open-all confirmation": (EXPIRED_TECHNICIAN, lambda app: with_dialog(
        app, lambda a: ConfirmDialog(a, "Open every door?", "Open all", lambda: None))),
    "more time?": (EXPIRED, lambda app: with_dialog(app, lambda a: MoreTimeDialog(a, 20))),
    "returns summary": (EXPIRED, lambda app: ReturnsDoneScreen(app, RETURNED, complete=True)),
    "returns stopped": (EXPIRED, lambda app: ReturnsDoneScreen(app, RETURNED[:1], False)),
    "open-all running": (EXPIRED_TECHNICIAN, lambda app: job_screen(app, "open-all", "running")),
    "open-all finished": (EXPIRED_TECHNICIAN, lambda app: job_screen(app, "open-all", "done")),
    "self-test running": (EXPIRED_TECHNICIAN, lambda app: job_screen(app, "self-test", "running")),
    "self-test finished": (EXPIRED_TECHNICIAN, lambda app: job_screen(app, "self-test", "done")),
    "door closed (customer)": (None, lambda app: DoorScreen(app, CLOSED_PICKUP, "customer")),
    "door closed (courier)": (EXPIRED, lambda app: DoorScreen(
        app, {**CLOSED_PICKUP, "purpose": "deposit"}, "courier", lambda: None)),
}  # fmt: skip

KEYS = [(ord(ch), ch) for ch in "0123456789AZaz+ -"] + [
    (pygame.K_RETURN, "\r"),
    (pygame.K_BACKSPACE, "\b"),
    (pygame.K_ESCAPE, "\x1b"),
]
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("tap"), st.integers(0, WIDTH - 1), st.integers(0, HEIGHT - 1)),
        st.tuples(st.just("button"), st.integers(0, 63)),  # a tap on the n-th key on show
        st.tuples(st.just("key"), st.sampled_from(KEYS)),  # a burst of these is a scan
        st.tuples(st.just("wait"), st.sampled_from([0.05, 0.2, 1.0])),  # so they are typing
    ),
    max_size=25,
)


@pytest.fixture(scope="module")
def kiosk() -> Iterator[tuple[Daemon, UiDriver]]:
    with running_daemon(users=USERS) as daemon:
        ui = UiDriver(str(daemon.touchscreen_socket), (WIDTH, HEIGHT))
        try:
            ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
            yield daemon, ui
        finally:
            ui.close()


def show(ui: UiDriver, name: str) -> None:
    """Start an example afresh on screen ``name``."""
    session, make = SCREENS[name]
    app = ui.app
    i18n.set_language("en")
    app.large_text_override = None
    app.dialog = None
    app.session = dict(session) if session else None
    made = make(app)
    if isinstance(made, tuple):  # a screen with a dialog over it
        app.goto(made[0])
        app.show_dialog(made[1])
    else:
        app.goto(made)
    ui.pump(0.01)


def play(ui: UiDriver, action: tuple[Any, ...]) -> None:
    kind = action[0]
    if kind == "tap":
        post(pygame.MOUSEBUTTONDOWN, pos=(action[1], action[2]), button=1)
    elif kind == "button" and ui.app.buttons:
        button = ui.app.buttons[action[1] % len(ui.app.buttons)]
        post(pygame.MOUSEBUTTONDOWN, pos=button.rect.center, button=1)
    elif kind == "key":
        key, char = action[1]
        post(pygame.KEYDOWN, key=key, unicode=char, mod=0)
    elif kind == "wait":
        ui.offset += action[1]
    ui.pump(0)


def post(kind: int, **attrs: Any) -> None:
    pygame.event.post(pygame.event.Event(kind, **attrs))


def settle(ui: UiDriver) -> None:
    """Let held keys go and every answer of the daemon arrive."""
    ui.pump(0.05)
    ui.wait_until(lambda: not ui.app.pending, timeout=15, what="the daemon's answers")
    ui.texts()  # the screen still draws


@pytest.mark.parametrize("name", list(SCREENS))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(actions=ACTIONS)
def test_random_taps_and_keys_never_crash_the_ui_or_open_a_door(
    kiosk: tuple[Daemon, UiDriver], name: str, actions: list[tuple[Any, ...]]
) -> None:
    daemon, ui = kiosk
    show(ui, name)
    for action in actions:
        play(ui, action)
    settle(ui)
    assert daemon.events("unlock") == [], f"a door opened after {actions}"
    assert daemon.events("signed_in") == [], f"someone was signed in after {actions}"
