"""Parcels nobody picks up: reminders, expiry, and a courier collecting them for return.

The hold time here is 0.0006 h (about 2 s) and the kiosk checks for expiry every 0.2 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.protocol.client import ApiError
from testkit.api import PHONE, parcel, refused, states, store_parcel
from testkit.daemon import Daemon, running_daemon

HOLD_HOURS = 0.0006
POLICY = {"hold_hours": HOLD_HOURS, "expiry_check_s": 0.2, "reminder_hours": []}


@pytest.fixture
def expiring() -> Iterator[Daemon]:
    with running_daemon(sections={"policy": POLICY}) as d:
        yield d


def wait_expired(daemon: Daemon, *barcodes: str) -> None:
    daemon.wait_for(
        lambda: all(parcel(daemon, b)["state"] == "EXPIRED" for b in barcodes),
        what=f"{', '.join(barcodes)} to expire",
    )


def messages(daemon: Daemon, kind: str) -> list[dict[str, Any]]:
    return [m for m in daemon.inbox() if m["kind"] == kind]


def test_parcel_not_picked_up_in_time_expires_and_recipient_is_told(expiring: Daemon) -> None:
    cid, _ = store_parcel(expiring, "PKG-EXPIRE", size="S")
    assert parcel(expiring, "PKG-EXPIRE")["state"] == "STORED"

    wait_expired(expiring, "PKG-EXPIRE")
    expired = parcel(expiring, "PKG-EXPIRE")
    assert expired["expired_at"] >= expired["expires_at"]
    assert expired["compartment"] == cid
    assert states(expiring)[cid] == "OCCUPIED"  # still inside until a courier takes it
    (event,) = expiring.events("parcel_expired")
    assert event["compartment"] == cid
    note = expiring.wait_for(lambda: messages(expiring, "parcel_expired"), what="notification")
    assert note[0]["recipient"] == PHONE
    assert note[0]["payload"]["barcode"] == "PKG-EXPIRE"


def test_recipient_gets_reminders_before_the_parcel_expires() -> None:
    # Early reminders leave the expiry check plenty of ticks to send both before expiry.
    policy = {**POLICY, "reminder_hours": [HOLD_HOURS / 6, HOLD_HOURS / 3]}
    with running_daemon(sections={"policy": policy}) as daemon:
        store_parcel(daemon, "PKG-REMIND", size="S")
        wait_expired(daemon, "PKG-REMIND")
        daemon.wait_for(lambda: messages(daemon, "parcel_expired"), what="expiry notification")

        kinds = [m["kind"] for m in daemon.inbox()]
        assert kinds == ["parcel_stored", "pickup_reminder", "pickup_reminder", "parcel_expired"]
        reminders = daemon.events("pickup_reminder")
        assert [e["detail"]["reminder"] for e in reminders] == [1, 2]
        assert all(m["recipient"] == PHONE for m in messages(daemon, "pickup_reminder"))


def test_courier_collects_expired_parcels_one_door_at_a_time(expiring: Daemon) -> None:
    for barcode, size in (("PKG-R1", "S"), ("PKG-R2", "M"), ("PKG-R3", "S")):
        store_parcel(expiring, barcode, size=size)
    wait_expired(expiring, "PKG-R1", "PKG-R2", "PKG-R3")

    courier = expiring.signed_in()
    collected = []
    while True:
        try:
            view = courier.post("/v1/returns/next")
        except ApiError as exc:
            end = exc
            break
        assert view["message"] == (
            f"Door {view['compartment']} is open: take the expired parcel and close the door."
        )
        done = courier.wait_operation(view["operation"])
        assert done["message"] == (
            f"Parcel from {view['compartment']} collected for return to the sender."
        )
        assert parcel(expiring, view["barcode"])["state"] == "RETURNED"
        assert states(expiring)[view["compartment"]] == "AVAILABLE"
        collected.append((view["barcode"], view["compartment"], view["remaining"]))

    assert collected == [("PKG-R1", "A01", 2), ("PKG-R3", "A02", 1), ("PKG-R2", "A04", 0)]
    assert (end.status, end.message) == (404, "No expired parcels to collect.")
    returned = expiring.events("parcel_returned")
    assert [e["compartment"] for e in returned] == ["A01", "A02", "A04"]
    assert all(e["actor"] == "carla" for e in returned)


def test_courier_with_nothing_to_collect_is_told_so(daemon: Daemon) -> None:
    store_parcel(daemon, "PKG-NOT-YET", size="S")
    err = refused(lambda: daemon.signed_in().post("/v1/returns/next"), 404)
    assert err.message == "No expired parcels to collect."
    assert parcel(daemon, "PKG-NOT-YET")["state"] == "STORED"


def test_parcel_past_its_hold_time_expires_when_the_kiosk_starts() -> None:
    # Checked only at start (the periodic check is an hour away): the daemon was down.
    policy = {**POLICY, "expiry_check_s": 3600}
    with running_daemon(sections={"policy": policy}) as daemon:
        store_parcel(daemon, "PKG-DOWNTIME", size="S")
        expires_at = parcel(daemon, "PKG-DOWNTIME")["expires_at"]
        assert daemon.stop() == 0
        daemon.wait_for(lambda: time.time() > expires_at + 0.1, what="the hold time to pass")

        daemon.start()
        daemon.wait_for(lambda: parcel(daemon, "PKG-DOWNTIME")["state"] == "EXPIRED",
                        timeout=3, what="expiry at start")  # fmt: skip
