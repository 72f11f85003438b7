"""A recipient who needs more time: a technician extends the parcel's hold, at the kiosk
(``lockerctl``) or through the API, and the code still opens the door after the first
deadline has passed.

The hold time here is 0.0015 h (about 5 s) and the kiosk checks for expiry every 0.2 s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from testkit.api import parcel, refused, store_parcel
from testkit.daemon import TECHNICIAN, Daemon, running_daemon

POLICY = {"hold_hours": 0.0015, "expiry_check_s": 0.2, "reminder_hours": []}


@pytest.fixture
def short_hold() -> Iterator[Daemon]:
    with running_daemon(sections={"policy": POLICY}) as d:
        yield d


def pick_up(daemon: Daemon, code: str) -> dict[str, object]:
    customer = daemon.client()
    return customer.wait_operation(customer.post("/v1/pickup", {"code": code})["operation"])


def test_technician_extends_a_hold_with_lockerctl_and_the_customer_picks_up_after_the_deadline(
    short_hold: Daemon,
) -> None:
    cid, code = store_parcel(short_hold, "PKG-LATE", size="S")
    first_deadline = parcel(short_hold, "PKG-LATE")["expires_at"]

    shown = short_hold.ctl("extend", "PKG-LATE", "--hours", "1", pin=TECHNICIAN[1])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("PKG-LATE may be picked up until ")
    assert shown.stdout.rstrip().endswith("(extended by 1 h in all).")

    short_hold.wait_for(lambda: time.time() > first_deadline + 1, what="the first deadline")
    extended = parcel(short_hold, "PKG-LATE")
    assert extended["state"] == "STORED"
    assert extended["expires_at"] == pytest.approx(first_deadline + 3600)
    assert extended["extended_hours"] == 1

    done = pick_up(short_hold, code)
    assert (done["compartment"], done["status"]) == (cid, "CLOSED")
    assert parcel(short_hold, "PKG-LATE")["state"] == "PICKED_UP"
    (event,) = short_hold.events("hold_extended")
    assert (event["actor"], event["compartment"]) == (TECHNICIAN[0], cid)
    assert event["detail"]["hours"] == 1 and code not in json.dumps(event)
    assert short_hold.events("parcel_expired") == []


def test_an_expired_parcel_still_inside_is_extended_through_the_api_and_its_code_opens_again(
    short_hold: Daemon,
) -> None:
    cid, code = store_parcel(short_hold, "PKG-HOLIDAY", size="S")
    short_hold.wait_for(lambda: parcel(short_hold, "PKG-HOLIDAY")["state"] == "EXPIRED",
                        what="the parcel to expire")  # fmt: skip
    err = refused(lambda: short_hold.client().post("/v1/pickup", {"code": code}), 409)
    assert err.message.startswith("The pickup time for this parcel has ended")

    answer = short_hold.signed_in(TECHNICIAN).extend_hold("PKG-HOLIDAY", 2)

    assert (answer["state"], answer["compartment"], answer["extended_hours"]) == ("STORED", cid, 2)
    assert answer["expired_at"] is None
    nothing = refused(lambda: short_hold.signed_in().post("/v1/returns/next"), 404)
    assert nothing.message == "No expired parcels to collect."
    assert pick_up(short_hold, code)["status"] == "CLOSED"
    assert parcel(short_hold, "PKG-HOLIDAY")["state"] == "PICKED_UP"


def test_extensions_stop_at_the_kiosk_limit_and_need_a_technician() -> None:
    with running_daemon(sections={"policy": {"max_extend_hours": 24}}) as daemon:
        store_parcel(daemon, "PKG-LIMIT", size="S")
        deadline = parcel(daemon, "PKG-LIMIT")["expires_at"]
        tech = daemon.signed_in(TECHNICIAN)
        tech.extend_hold("PKG-LIMIT", 20)

        over = refused(lambda: tech.extend_hold("PKG-LIMIT", 5), 409)
        assert over.message == (
            "Parcel PKG-LIMIT's hold can be extended by 4 more hours at most (24 hours in all)."
        )
        assert over.details == {"reason": "extend_limit"}
        shown = daemon.ctl("extend", "PKG-LIMIT", "--hours", "5", pin=TECHNICIAN[1])
        assert shown.returncode == 1
        assert "can be extended by 4 more hours at most" in shown.stderr

        courier = refused(lambda: daemon.signed_in().extend_hold("PKG-LIMIT", 1), 401)
        assert courier.message == "this needs a technician sign-in"
        unknown = refused(lambda: tech.extend_hold("PKG-NOWHERE", 1), 404)
        assert unknown.message == "No parcel PKG-NOWHERE is in this kiosk."
        assert refused(lambda: tech.extend_hold("PKG-LIMIT", 0), 422).kind == "ValidationError"

        assert parcel(daemon, "PKG-LIMIT")["expires_at"] == pytest.approx(deadline + 20 * 3600)
        assert len(daemon.events("hold_extended")) == 1
