"""A parcel's hold extended in the store: how far, from which states, and what is logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.domain import ParcelState, Purpose
from kiosk.errors import ConflictError, InvalidInput, NotFound
from kiosk.store import Store
from kiosk.store.store import CompartmentSpec

NOW = 1_000_000.0
HOLD_ENDS = NOW + 72 * 3600
HOUR = 3600.0
DEPOSIT = {"barcode": "1Z999", "size": "M", "phone": "+4915112345678", "email": None}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    s = Store(tmp_path / "kiosk.db", clock=clock)
    s.sync_compartments([CompartmentSpec(f"A0{i}", "M", "bank", i, False) for i in (1, 2)])
    return s


def stored_parcel(store: Store, barcode: str = "1Z999") -> int:
    op = store.begin_op("A01", Purpose.DEPOSIT, "carla", details={**DEPOSIT, "barcode": barcode})
    store.op_opened(op.id)
    return store.finish_deposit(op.id, "tag1", HOLD_ENDS, lambda pid: []).id


def extend(store: Store, hours: float, limit: float = 72, barcode: str = "1Z999") -> Any:
    return store.extend_hold(barcode, hours, "tomas", limit_hours=limit)


def test_extending_a_stored_parcel_moves_its_hold_end_and_counts_the_hours(store: Store) -> None:
    pid = stored_parcel(store)

    parcel = extend(store, 24)

    assert (parcel.id, parcel.state) == (pid, ParcelState.STORED)
    assert parcel.expires_at == HOLD_ENDS + 24 * HOUR
    assert parcel.extended_hours == 24
    assert store.parcel(pid) == parcel
    assert store.expire_due(HOLD_ENDS + HOUR, lambda p: []) == []


def test_the_extension_is_logged_with_who_where_and_the_new_end_but_no_code(
    store: Store,
) -> None:
    pid = stored_parcel(store)
    extend(store, 24)

    (event,) = [e for e in store.events() if e.kind == "hold_extended"]
    assert (event.severity, event.actor, event.compartment) == ("info", "tomas", "A01")
    assert event.detail == {
        "parcel": pid,
        "barcode": "1Z999",
        "hours": 24,
        "expires_at": HOLD_ENDS + 24 * HOUR,
        "extended_hours": 24,
        "was": "STORED",
    }
    assert "tag1" not in str(event.as_dict())
    assert store.verify_events().ok


def test_extensions_add_up_to_the_limit_and_no_further(store: Store) -> None:
    stored_parcel(store)
    extend(store, 24)
    extend(store, 48)

    with pytest.raises(ConflictError, match="extended by the most allowed") as full:
        extend(store, 0.5)
    assert full.value.reason == "extend_limit"
    assert store.parcel_by_barcode("1Z999").extended_hours == 72  # type: ignore[union-attr]


def test_an_extension_past_the_limit_is_refused_whole_and_says_what_is_left(
    store: Store,
) -> None:
    stored_parcel(store)
    extend(store, 60)

    with pytest.raises(ConflictError, match="by 12 more hours at most") as over:
        extend(store, 24)

    assert over.value.reason == "extend_limit"
    parcel = store.parcel_by_barcode("1Z999")
    assert parcel is not None and parcel.expires_at == HOLD_ENDS + 60 * HOUR
    assert [e.kind for e in store.events()].count("hold_extended") == 1


def test_a_kiosk_whose_limit_is_zero_extends_nothing(store: Store) -> None:
    stored_parcel(store)
    with pytest.raises(ConflictError, match="switched off") as off:
        extend(store, 1, limit=0)
    assert off.value.reason == "extend_off"


@pytest.mark.parametrize("hours", [0, -24, float("nan"), float("inf")])
def test_an_extension_of_no_hours_or_less_is_refused(store: Store, hours: float) -> None:
    stored_parcel(store)
    with pytest.raises(InvalidInput, match="more than 0 hours"):
        extend(store, hours)
    assert store.parcel_by_barcode("1Z999").expires_at == HOLD_ENDS  # type: ignore[union-attr]


def test_an_unknown_barcode_is_not_found(store: Store) -> None:
    stored_parcel(store)
    with pytest.raises(NotFound, match="No parcel NOPE is in this kiosk"):
        extend(store, 24, barcode="NOPE")


def test_a_parcel_already_picked_up_is_not_found(store: Store) -> None:
    pid = stored_parcel(store)
    op = store.begin_op("A01", Purpose.PICKUP, "customer", parcel_id=pid)
    store.finish_removal(op.id)
    with pytest.raises(NotFound):
        extend(store, 24)


def test_an_announced_parcel_not_yet_delivered_cannot_be_extended(store: Store) -> None:
    store.announce("JJD1", "M", None, None, "carla")
    with pytest.raises(ConflictError, match="not been delivered") as early:
        extend(store, 24, barcode="JJD1")
    assert early.value.reason == "not_stored"


def test_an_expired_parcel_still_inside_is_stored_again_until_its_new_end(
    store: Store, clock: Clock
) -> None:
    pid = stored_parcel(store)
    clock.now = HOLD_ENDS + HOUR
    store.expire_due(clock.now, lambda p: [])
    assert store.next_expired() is not None

    parcel = extend(store, 24)

    assert (parcel.state, parcel.expired_at) == (ParcelState.STORED, None)
    assert parcel.expires_at == HOLD_ENDS + 24 * HOUR
    assert store.next_expired() is None  # no longer offered to a courier for return
    assert store.parcel_by_code_tag("tag1").id == pid  # type: ignore[union-attr]
    (event,) = [e for e in store.events() if e.kind == "hold_extended"]
    assert event.detail["was"] == "EXPIRED"


def test_an_expired_parcel_whose_new_end_has_passed_too_stays_expired(
    store: Store, clock: Clock
) -> None:
    stored_parcel(store)
    clock.now = HOLD_ENDS + 30 * HOUR
    store.expire_due(clock.now, lambda p: [])

    with pytest.raises(ConflictError, match="extend it by more") as short:
        extend(store, 24)

    assert short.value.reason == "still_expired"
    assert store.parcel_by_barcode("1Z999").state is ParcelState.EXPIRED  # type: ignore[union-attr]


def test_an_expired_parcel_being_collected_for_return_is_not_extended(
    store: Store, clock: Clock
) -> None:
    pid = stored_parcel(store)
    clock.now = HOLD_ENDS + HOUR
    store.expire_due(clock.now, lambda p: [])
    store.begin_op("A01", Purpose.RETURN, "carla", parcel_id=pid)

    with pytest.raises(ConflictError, match="collected for return") as busy:
        extend(store, 24)

    assert busy.value.reason == "being_returned"
    assert store.parcel(pid).state is ParcelState.EXPIRED


def test_an_extension_whose_event_cannot_be_written_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = stored_parcel(store)
    before = store.parcel(pid)

    def power_cut(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "_event", power_cut)
    with pytest.raises(RuntimeError):
        extend(store, 24)

    assert store.parcel(pid) == before


def test_the_parcel_in_each_occupied_compartment_is_listed_by_compartment(store: Store) -> None:
    pid = stored_parcel(store)
    assert {cid: p.id for cid, p in store.live_parcels().items()} == {"A01": pid}
