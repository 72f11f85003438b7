"""The keypad's lockout is the whole kiosk's: the next person sees it on home and on a
greyed keypad, in words that do not blame them, and a code they typed is not lost."""

from __future__ import annotations

from typing import cast

import pytest

from kiosk.protocol.client import ApiError
from kiosk.ui.screens.pickup import PickupScreen
from testkit.daemon import Daemon, running_daemon
from tests.ui.test_courier_ui import kiosk_ui, parcel, states
from tests.ui.test_customer_ui import stored
from tests.ui.test_lockout_and_restart import WRONG, seconds_to_wait, type_code

SHORT_LOCKOUT = {"security": {"lockout_initial_s": 2}}


def keypad_open(daemon: Daemon) -> bool:
    """The daemon takes codes again (the test's typing moves the screen's clock ahead)."""
    return daemon.client().get("/v1/status")["keypad"]["retry_after"] == 0


def test_the_next_customer_sees_the_lockout_on_home_then_picks_up_when_it_ends() -> None:
    with running_daemon(sections=SHORT_LOCKOUT) as daemon, kiosk_ui(daemon) as ui:
        door, code = stored(daemon)
        ui.tap("Pick up a parcel")
        for wrong in WRONG:  # someone tries codes, then walks away
            type_code(ui, wrong)
        assert seconds_to_wait(ui) <= 2
        ui.tap("Back")

        # The next person: home says why the keypad waits, without blaming them.
        assert seconds_to_wait(ui) <= 2
        assert ui.shows("Pick up a parcel")
        ui.tap("Pick up a parcel")
        assert seconds_to_wait(ui) <= 2
        assert not ui.button("key-5").enabled
        ui.wait_until(lambda: ui.button("key-5").enabled, what="the keypad to open again")
        assert not ui.shows("Too many wrong codes")
        daemon.wait_for(lambda: keypad_open(daemon), what="the daemon to take codes")

        ui.type(code)
        ui.tap("OK")
        ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")
        ui.wait_for_text("Thank you!")
        assert parcel(daemon, "1Z999AA10123456784")["state"] == "PICKED_UP"
        assert len(daemon.events("wrong_code")) == 5
        assert [e["detail"]["input"] for e in daemon.events("keypad_locked")] == ["code"]


def test_a_lockout_from_another_input_greys_the_keypad_and_keeps_the_digits_typed() -> None:
    with running_daemon(sections=SHORT_LOCKOUT) as daemon, kiosk_ui(daemon) as ui:
        door, code = stored(daemon)
        ui.tap("Pick up a parcel")
        ui.type(code[:4])  # a customer is half-way through their code
        elsewhere = daemon.client()  # while wrong codes arrive at another input
        for wrong in WRONG:
            with pytest.raises(ApiError) as refused:
                elsewhere.post("/v1/pickup", {"code": wrong})
            assert refused.value.status == 401
        assert refused.value.retry_after is not None  # the fifth says it locked the keypad

        ui.wait_until(lambda: not ui.button("key-5").enabled, what="the keypad to grey")
        assert seconds_to_wait(ui) <= 2
        assert cast(PickupScreen, ui.app.screen).code == code[:4]  # kept, not wiped
        ui.type(code[4:])  # not taken while locked
        assert cast(PickupScreen, ui.app.screen).code == code[:4]

        ui.wait_until(lambda: ui.button("key-5").enabled, what="the keypad to open again")
        daemon.wait_for(lambda: keypad_open(daemon), what="the daemon to take codes")
        ui.type(code[4:])
        ui.tap("OK")
        ui.wait_for_text(f"Door {door} is open: take your parcel and close the door.")
        assert daemon.wait_for(lambda: states(daemon)[door] == "AVAILABLE", what="the pickup")
        assert daemon.client().get("/v1/status")["keypad"]["refused"] == 0
