"""The codes beside the daemon's English: a screen in another language reads the code,
lockerctl and the logs keep the English."""

from __future__ import annotations

from kiosk.reasons import (
    COURIER_PROBLEMS,
    CUSTOMER_PROBLEMS,
    OOS_TEXTS,
    UNUSABLE,
    DoorResult,
    OosReason,
    door_result,
    reason_codes,
)
from kiosk.ui.screens import problem


def test_a_jammed_door_in_open_all_is_reported_with_its_code_and_english() -> None:
    assert door_result("C04", DoorResult.DID_NOT_OPEN, "Door C04 did not open.") == {
        "compartment": "C04",
        "ok": False,
        "code": "did_not_open",
        "detail": "Door C04 did not open.",
    }


def test_a_door_left_open_in_the_self_test_says_how_long_it_was_given() -> None:
    result = door_result("A05", DoorResult.NOT_CLOSED, seconds=30)
    assert (result["ok"], result["detail"], result["seconds"]) == (
        False,
        "door not closed within 30 s",
        30,
    )


def test_each_reason_the_daemon_writes_has_its_own_code() -> None:
    for code, english in OOS_TEXTS.items():
        assert reason_codes(english) == {"reason_code": str(code), "reason_detail": None}


def test_a_self_test_failure_keeps_the_failed_results_code() -> None:
    assert reason_codes("self-test: door not closed within 30 s") == {
        "reason_code": "self_test",
        "reason_detail": {"code": "not_closed", "seconds": 30},
    }
    assert reason_codes("self-test: board offline")["reason_detail"] == {"code": "board_offline"}


def test_a_technicians_own_words_are_kept_as_given_and_in_service_has_no_code() -> None:
    assert reason_codes("hinge broken")["reason_code"] == OosReason.TECHNICIAN
    assert reason_codes(None) == {"reason_code": None, "reason_detail": None}


def test_the_touchscreen_offers_the_problems_the_daemon_takes() -> None:
    # The touchscreen may import only kiosk.protocol, so it keeps its own list of the
    # problem codes; it must name the daemon's, each for the person the daemon takes it from.
    assert tuple(CUSTOMER_PROBLEMS) == problem.CUSTOMER
    assert tuple(COURIER_PROBLEMS) == problem.COURIER
    assert set(problem.UNUSABLE) == set(UNUSABLE)
