"""Two journeys across a refusal that lasts: a customer locked out after a run of wrong
codes, and a courier whose daemon restarts mid-shift."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

from kiosk.ui.link import Message
from kiosk.ui.screens.pickup import PickupScreen
from testkit.daemon import COURIER, Daemon
from testkit.ui import UiDriver
from tests.ui.test_courier_ui import sign_in, states
from tests.ui.test_customer_ui import stored

WRONG = ["11111111", "22222222", "33333333", "44444444", "55555555"]
COUNTDOWN = re.compile(
    r"Too many wrong codes were tried here\. The keypad opens again in (\d+) s\."
)


def seconds_to_wait(ui: UiDriver) -> int:
    """The number of seconds the countdown on screen shows."""
    shown = [m for m in map(COUNTDOWN.fullmatch, ui.texts()) if m]
    assert shown, f"no countdown on screen: {ui.texts()}"
    return int(shown[0].group(1))


def type_code(ui: UiDriver, code: str) -> None:
    ui.tap("Clear")  # a wrong code stays on screen until the person clears it
    ui.type(code)
    ui.tap("OK")
    ui.wait_until(lambda: not cast(PickupScreen, ui.app.screen).busy, what="the answer")


def test_the_fifth_wrong_code_shows_the_lockout_at_once_and_the_keypad_takes_nothing(
    daemon: Daemon, ui: UiDriver
) -> None:
    door, code = stored(daemon)
    assert code not in WRONG
    ui.tap("Pick up a parcel")
    ui.wait_for_text("Type your pickup code")
    for wrong in WRONG[:-1]:
        type_code(ui, wrong)
        assert ui.shows("That code is not right. Please check it and try again.")
    type_code(ui, WRONG[-1])  # this one starts the lockout: it says so now
    waiting = seconds_to_wait(ui)
    assert 0 < waiting <= 30
    assert not ui.shows("That code is not right.")
    assert not ui.button("OK").enabled
    assert not ui.button("key-1").enabled and not ui.button("key-clear").enabled
    ui.type(code)  # typing and scanning are not taken while it counts down
    ui.scan(code)
    ui.pump(0.3)
    assert cast(PickupScreen, ui.app.screen).code == ""
    assert not ui.button("OK").enabled
    ui.advance(10)
    assert seconds_to_wait(ui) < waiting
    assert ui.shows("Type your pickup code")  # still the keypad: no door has opened

    assert [e["detail"]["in_row"] for e in daemon.events("wrong_code")] == [1, 2, 3, 4, 5]
    locked = daemon.events("keypad_locked")
    assert [(e["detail"]["input"], e["detail"]["seconds"]) for e in locked] == [("code", 30)]
    assert daemon.client().get("/v1/status")["keypad"]["refused"] == 0  # nothing was sent
    assert states(daemon)[door] == "OCCUPIED"
    assert [e["detail"]["purpose"] for e in daemon.events("unlock")] == ["deposit"]
    journal = daemon.log()
    assert journal.count("wrong_code") == 5 and "keypad_locked" in journal
    assert not any(c in journal for c in [*WRONG, code])


class Stopped:
    """The touchscreen's clock, moved only by the test."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_the_countdown_says_1_s_until_the_keypad_takes_a_code_again() -> None:
    # Journey: a customer's code meets the last tenth of a second of a lockout.
    ui = UiDriver("/nonexistent/api.sock")
    try:
        clock = ui.app.clock = Stopped()
        ui.app.kiosk = {"pickup_code_digits": 8, "sizes": [], "wall": [], "ui": {}}

        def locked_a_tenth_longer(
            *_: object, on_done: Callable[[Message], None], **__: object
        ) -> int:
            on_done({"kind": "result", "ok": False, "status": 429, "retry_after": 0.1,
                     "error_kind": "Throttled", "message": "Too many wrong tries."})  # fmt: skip
            return 0

        ui.app.call = locked_a_tenth_longer  # type: ignore[method-assign,assignment]
        screen = PickupScreen(ui.app)
        ui.app.goto(screen)
        screen.code = WRONG[0]
        screen.submit()

        clock.now += 0.0999
        ui.pump()
        assert seconds_to_wait(ui) == 1  # not "wait 0 s" with the keypad still locked
        clock.now += 0.0001
        ui.pump()
        assert not [t for t in ui.texts() if COUNTDOWN.fullmatch(t)]
        ui.tap("Clear")
        ui.type(WRONG[1])
        assert ui.button("OK").enabled
    finally:
        ui.close()


def test_a_courier_signed_in_before_a_restart_is_asked_to_sign_in_again(
    daemon: Daemon, ui: UiDriver
) -> None:
    sign_in(ui)
    assert daemon.stop() == 0
    ui.wait_for_text("Out of service: the kiosk is starting or restarting. Please wait.")
    daemon.start()
    ui.wait_until(lambda: ui.app.online, what="the UI to reconnect")
    assert not ui.shows("Out of service: the kiosk is starting or restarting.")

    # The daemon keeps sessions in memory only: the next action finds this one gone.
    ui.tap("Deposit parcels")
    ui.scan("1Z999AA10123456784")
    ui.wait_for_text("You have been signed out. Please sign in again.")
    assert ui.app.session is None
    for letter in COURIER[0].upper():
        ui.tap(f"key-{letter}")
    ui.tap("Next")
    for digit in COURIER[1]:
        ui.tap(f"key-{digit}")
    ui.tap("OK")
    ui.wait_for_text(f"Signed in as {COURIER[0]}")
    ui.tap("Deposit parcels")
    ui.scan("1Z999AA10123456784")
    ui.wait_for_text("Choose a size for parcel 1Z999AA10123456784.")
    assert daemon.events("unlock") == []  # nothing opened on the lost session
    assert [e["actor"] for e in daemon.events("signed_in")] == ["carla", "carla"]
