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
    OutOfService,
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
        why = OutOfService(code)
        assert (why.text, reason_codes(why)) == (
            english,
            {"reason_code": str(code), "reason_detail": None},
        )


def test_a_self_test_failure_keeps_the_failed_results_code() -> None:
    why = OutOfService.self_test(DoorResult.NOT_CLOSED, "door not closed within 30 s", 30)
    assert why.text == "self-test: door not closed within 30 s"
    assert reason_codes(why) == {
        "reason_code": "self_test",
        "reason_detail": {"code": "not_closed", "seconds": 30},
    }
    offline = OutOfService.self_test(DoorResult.BOARD_OFFLINE, "board offline", None)
    assert (offline.text, offline.detail()) == (
        "self-test: board offline",
        {"code": "board_offline"},
    )


def test_a_self_test_failure_in_the_daemons_own_words_is_shown_in_them_as_an_error() -> None:
    why = OutOfService.self_test(DoorResult.ERROR, "board 'top': no reply", None)
    assert why.text == "self-test: board 'top': no reply"
    assert why.detail() == {"code": "error"}


def test_a_technicians_own_words_are_kept_as_given_and_in_service_has_no_code() -> None:
    why = OutOfService.typed("hinge broken")
    assert (why.text, reason_codes(why)["reason_code"]) == ("hinge broken", OosReason.TECHNICIAN)
    assert reason_codes(None) == {"reason_code": None, "reason_detail": None}


def test_words_that_read_like_the_daemons_own_stay_a_persons_words() -> None:
    """Nothing is parsed back: a technician who types the daemon's English is still the
    technician who gave a reason."""
    assert reason_codes(OutOfService.typed("door did not open"))["reason_code"] == "technician"


def test_the_touchscreen_offers_the_problems_the_daemon_takes() -> None:
    # The touchscreen may import only kiosk.protocol, so it keeps its own list of the
    # problem codes; it must name the daemon's, each for the person the daemon takes it from.
    assert tuple(CUSTOMER_PROBLEMS) == problem.CUSTOMER
    assert tuple(COURIER_PROBLEMS) == problem.COURIER
    assert set(problem.UNUSABLE) == set(UNUSABLE)
