"""The customer's journey: a pickup code opens the right door, and wrong codes are refused."""

from __future__ import annotations

from testkit.api import event_kinds, parcel, refused, states, store_parcel
from testkit.daemon import Daemon, running_daemon

EXPIRING = {"policy": {"hold_hours": 0.0006, "expiry_check_s": 0.2, "reminder_hours": []}}


def other_code(code: str) -> str:
    """A well-formed code that is not ``code`` (and, with one parcel stored, nobody's)."""
    return f"{(int(code) + 1) % 10**8:08d}"


def test_customer_pickup_opens_the_right_door_and_frees_the_compartment(daemon: Daemon) -> None:
    store_parcel(daemon, "PKG-OTHER", size="S")
    cid, code = store_parcel(daemon, "PKG-CUSTOMER-1", size="M")
    fired_before = daemon.sim().fire_counts()

    customer = daemon.client()
    view = customer.post("/v1/pickup", {"code": code})
    assert view["compartment"] == cid
    assert view["purpose"] == "pickup"
    assert view["message"] == f"Door {cid} is open: take your parcel and close the door."
    fired = daemon.sim().fire_counts()
    assert {c for c in fired if fired[c] != fired_before[c]} == {cid}

    final = customer.wait_operation(view["operation"])
    assert final["status"] == "CLOSED"
    assert final["message"] == "Thank you!"
    picked = parcel(daemon, "PKG-CUSTOMER-1")
    assert picked["state"] == "PICKED_UP"
    assert picked["picked_up_at"] is not None
    assert states(daemon)[cid] == "AVAILABLE"
    assert parcel(daemon, "PKG-OTHER")["state"] == "STORED"
    assert "parcel_picked_up" in event_kinds(daemon)


def test_customer_cannot_use_a_code_twice(daemon: Daemon) -> None:
    _, code = store_parcel(daemon, "PKG-TWICE", size="S")
    customer = daemon.client()
    customer.wait_operation(customer.post("/v1/pickup", {"code": code})["operation"])

    err = refused(lambda: customer.post("/v1/pickup", {"code": code}), 409)
    assert err.message == "This parcel has already been picked up."


def test_customer_code_typed_with_spaces_or_dashes_works(daemon: Daemon) -> None:
    cid, code = store_parcel(daemon, "PKG-SPACES", size="S")
    customer = daemon.client()
    view = customer.post("/v1/pickup", {"code": f" {code[:4]} - {code[4:]} "})
    assert view["compartment"] == cid
    customer.wait_operation(view["operation"])

    cid2, code2 = store_parcel(daemon, "PKG-DASHES", size="S")
    view2 = customer.post("/v1/pickup", {"code": f"{code2[:3]}-{code2[3:6]}-{code2[6:]}"})
    assert view2["compartment"] == cid2
    assert customer.wait_operation(view2["operation"])["message"] == "Thank you!"


def test_customer_malformed_code_is_refused_before_any_check(daemon: Daemon) -> None:
    customer = daemon.client()
    for typed in ("abcdefgh", "1234567", "123456789", "1234 567x"):
        err = refused(lambda t=typed: customer.post("/v1/pickup", {"code": t}), 400)
        assert err.message == "A pickup code has 8 digits"
    # A typo in the format is not a guess: it does not count towards the lockout.
    assert "wrong_code" not in event_kinds(daemon)


def test_customer_wrong_code_gets_a_clear_error_and_is_logged(daemon: Daemon) -> None:
    cid, code = store_parcel(daemon, "PKG-WRONG", size="S")
    fired_before = daemon.sim().fire_counts()

    err = refused(lambda: daemon.client().post("/v1/pickup", {"code": other_code(code)}), 401)
    assert err.message == "That code is not right. Please check it and try again."
    assert daemon.sim().fire_counts() == fired_before
    (event,) = daemon.events("wrong_code")
    assert event["detail"]["in_row"] == 1
    assert code not in str(event) and other_code(code) not in str(event)
    assert parcel(daemon, "PKG-WRONG")["state"] == "STORED"
    assert states(daemon)[cid] == "OCCUPIED"


def test_five_wrong_codes_lock_the_keypad_even_for_the_right_code(daemon: Daemon) -> None:
    cid, code = store_parcel(daemon, "PKG-LOCKOUT", size="S")
    customer = daemon.client()
    wrong = other_code(code)
    for _ in range(5):
        refused(lambda: customer.post("/v1/pickup", {"code": wrong}), 401)

    err = refused(lambda: customer.post("/v1/pickup", {"code": code}), 429)
    assert err.retry_after is not None and 25 < err.retry_after <= 30
    assert err.message.startswith("Too many wrong tries. The kiosk accepts codes again in")
    refused(lambda: customer.post("/v1/pickup", {"code": wrong}), 429)

    wrong_events = daemon.events("wrong_code")
    assert [e["detail"]["in_row"] for e in wrong_events] == [1, 2, 3, 4, 5]
    (locked,) = daemon.events("keypad_locked")
    assert locked["detail"] == {"input": "code", "seconds": 30.0}
    assert customer.get("/v1/status")["keypad"]["retry_after"] > 25
    assert parcel(daemon, "PKG-LOCKOUT")["state"] == "STORED"
    assert states(daemon)[cid] == "OCCUPIED"


def test_customer_code_of_an_expired_then_returned_parcel_says_so() -> None:
    with running_daemon(sections=EXPIRING) as daemon:
        cid, code = store_parcel(daemon, "PKG-LATE", size="S")
        daemon.wait_for(lambda: parcel(daemon, "PKG-LATE")["state"] == "EXPIRED", what="expiry")
        customer = daemon.client()

        err = refused(lambda: customer.post("/v1/pickup", {"code": code}), 409)
        assert err.message == (
            "The pickup time for this parcel has ended; it is going back to the sender."
        )

        courier = daemon.signed_in()
        view = courier.post("/v1/returns/next")
        assert view["compartment"] == cid
        courier.wait_operation(view["operation"])
        assert parcel(daemon, "PKG-LATE")["state"] == "RETURNED"

        err = refused(lambda: customer.post("/v1/pickup", {"code": code}), 409)
        assert err.message == "This parcel has been returned to the sender."
        assert "wrong_code" not in event_kinds(daemon)


def test_a_kiosk_set_to_no_second_opening_frees_the_compartment_when_the_door_closes() -> None:
    with running_daemon(sections={"doors": {"reopen_after_pickup_s": 0}}) as daemon:
        cid, code = store_parcel(daemon, "PKG-ONCE", size="M")
        customer = daemon.client()
        view = customer.post("/v1/pickup", {"code": code})
        assert "again_token" not in view and "again_s" not in view  # no button to offer
        assert customer.wait_operation(view["operation"])["status"] == "CLOSED"
        daemon.wait_for(lambda: states(daemon)[cid] == "AVAILABLE", what="the compartment free")
