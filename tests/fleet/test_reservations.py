"""Reservations: an announcement that holds a compartment until its parcel arrives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.fleet import messages
from testkit.api import PHONE, compartments, store_parcel
from testkit.broker import running_broker
from testkit.daemon import Daemon
from testkit.fleet import USERS, Operator, linked_kiosk, operator

KIOSK = "KIOSK-1"
TOPIC = f"lk/v1/kiosk/{KIOSK}"
SIZES = ["S", "M", "M", "L"]  # A01..A04: two M compartments


@pytest.fixture
def linked(tmp_path: Path, operator_key: Any) -> Iterator[tuple[Operator, Daemon]]:
    key, keyring = operator_key
    with (
        running_broker(tmp_path / "b", USERS) as broker,
        operator(broker, key, keyring, f"{TOPIC}/results") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path, sizes=SIZES) as daemon,
    ):
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "connected",
                        what="the link")  # fmt: skip
        yield op, daemon


def announce(op: Operator, version: int, barcode: str, **more: Any) -> dict[str, Any]:
    message = messages.announce(op.signer, KIOSK, barcode, "M", PHONE, version=version, **more)
    return op.ask(message)


def withdraw(op: Operator, version: int, barcode: str) -> dict[str, Any]:
    return op.ask(messages.withdraw(op.signer, KIOSK, barcode, version=version))


def free_m(daemon: Daemon) -> int:
    return int(daemon.client().get("/v1/status")["compartments"]["free_by_size"]["M"])


def test_a_held_compartment_waits_for_its_parcel_and_no_other(linked: Any) -> None:
    op, daemon = linked
    answer = announce(op, 1, "RESERVED-1", reserve=True)
    assert answer["ok"] is True and answer["result"]["held"] == "A02"
    assert (
        answer["message"] == "Parcel RESERVED-1 announced. Compartment A02 is held for it for 24 h."
    )
    assert free_m(daemon) == 1
    assert compartments(daemon)["A02"]["held_for"] == answer["result"]["parcel"]

    other, _ = store_parcel(daemon, "WALK-IN-1", size="M")
    assert other == "A03", "the held compartment is not given to another parcel"
    mine, _ = store_parcel(daemon, "RESERVED-1")
    assert mine == "A02", "the parcel it was held for gets it"
    assert compartments(daemon)["A02"]["held_for"] is None
    kinds = [e["kind"] for e in daemon.events()]
    assert "compartment_held" in kinds and "hold_released" in kinds


def test_a_hold_ends_when_the_announcement_is_withdrawn_or_its_time_is_up(linked: Any) -> None:
    op, daemon = linked
    assert announce(op, 1, "RESERVED-2", reserve=True)["result"]["held"] == "A02"
    assert withdraw(op, 2, "RESERVED-2")["ok"] is True
    daemon.wait_for(lambda: free_m(daemon) == 2, what="A02 free again after the cancel")

    assert announce(op, 3, "RESERVED-3", reserve=True, reserve_hours=0.0005)["result"]["held"]
    daemon.wait_for(lambda: free_m(daemon) == 2, timeout=10, what="the hold running out")
    released = [e for e in daemon.events() if e["kind"] == "hold_released"]
    assert [e["detail"]["reason"] for e in released] == ["announcement cancelled", "expired"]


def test_reservations_stop_at_half_the_kiosk_and_when_nothing_is_free(linked: Any) -> None:
    op, daemon = linked
    assert announce(op, 1, "R-A", reserve=True)["result"]["held"] == "A02"
    assert announce(op, 2, "R-B", reserve=True)["result"]["held"] == "A03"
    capped = announce(op, 3, "R-C", reserve=True)
    assert capped["ok"] is True and capped["result"]["held"] is None
    assert capped["message"] == (
        "Parcel R-C announced. No compartment is held for it: 2 of the kiosk's 4"
        " compartments are held already, the most allowed."
    )
    bad = announce(op, 4, "R-E", reserve=True, reserve_hours=1000)
    assert (bad["ok"], bad["reason"]) == (False, "refused")
    assert "reserve_hours" in bad["message"]
    assert withdraw(op, 5, "R-A")["ok"] is True
    store_parcel(daemon, "WALK-IN-M", size="M")
    store_parcel(daemon, "WALK-IN-L", size="L")
    full = announce(op, 6, "R-D", reserve=True)
    assert full["ok"] is True and full["result"]["held"] is None
    assert full["message"] == (
        "Parcel R-D announced. No compartment of size M is free to hold for it."
    )
