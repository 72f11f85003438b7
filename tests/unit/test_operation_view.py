"""A door operation's answer says what its outcome has to say, and nothing it does not:
the keys a front end tests for (``again_token``, ``notice``, ``replaces``) come only when
they mean something."""

from __future__ import annotations

import json
from dataclasses import replace

from kiosk.api.views import operation_view
from kiosk.domain import DoorOutcome, DoorState, OpStatus, Purpose

OPENED = DoorOutcome(
    operation=7,
    compartment="A03",
    purpose=Purpose.PICKUP,
    status=OpStatus.OPENED,
    door=DoorState.OPEN,
    live=True,
    message="Door A03 is open.",
    parcel=4,
)


def test_a_pickup_answer_names_its_door_and_parcel_and_offers_no_second_opening() -> None:
    view = operation_view(OPENED)
    assert json.loads(json.dumps(view)) == {
        "operation": 7,
        "compartment": "A03",
        "purpose": "pickup",
        "status": "OPENED",
        "door": "OPEN",
        "live": True,
        "message": "Door A03 is open.",
        "parcel": 4,
    }


def test_a_pickup_the_kiosk_may_open_again_carries_its_token_and_window() -> None:
    view = operation_view(replace(OPENED, again_token="tok", again_s=60))
    assert (view["again_token"], view["again_s"]) == ("tok", 60)
    assert json.dumps(view["again_s"]) == "60"  # a whole number stays one on the wire


def test_a_closed_door_with_an_item_check_says_its_notice_even_when_there_is_none() -> None:
    closed = replace(
        OPENED,
        status=OpStatus.CLOSED,
        door=DoorState.CLOSED,
        live=False,
        item_check="still_inside",
        notice=None,
    )
    view = operation_view(closed)
    assert view["item_check"] == "still_inside"
    assert "notice" in view and view["notice"] is None
    assert "again_token" not in view and "replaces" not in view


def test_a_deposit_that_moved_to_another_door_says_which_one_it_replaces() -> None:
    moved = replace(
        OPENED,
        purpose=Purpose.DEPOSIT,
        parcel=None,
        replaces="A01",
        message="Door A01 did not open; use door A03 instead. Door A03 is open.",
    )
    view = operation_view(moved)
    assert view["replaces"] == "A01"
    assert view["message"].startswith("Door A01 did not open")
    assert "parcel" not in view
