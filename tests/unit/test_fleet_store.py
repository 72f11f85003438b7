"""The fleet's records in the store: a command, its action and its record are one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.domain import CompartmentState
from kiosk.reasons import OosReason, OutOfService
from kiosk.store import Store
from kiosk.store.store import CompartmentSpec


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "kiosk.db", clock=lambda: 1_000_000.0)
    s.sync_compartments([CompartmentSpec("A01", "M", "bank", 1, False)])
    return s


def test_a_command_whose_record_fails_leaves_no_action_behind(store: Store) -> None:
    store.record_fleet_command("cmd-00000001", "ops", "in_service", {}, True, None, {})
    events_before = store.last_event_seq()
    with pytest.raises(sqlite3.IntegrityError), store.transaction():
        store.set_out_of_service("A01", OutOfService(OosReason.REMOTE), "fleet:ops")
        store.record_fleet_command("cmd-00000001", "ops", "out_of_service", {}, True, None, {})
    assert store.compartment("A01").state is CompartmentState.AVAILABLE
    assert store.last_event_seq() == events_before, "no event of an action that did not happen"


def test_a_recorded_command_is_found_again_with_its_result(store: Store) -> None:
    with store.transaction():
        store.set_out_of_service("A01", OutOfService.typed("hinge"), "fleet:ops")
        store.record_fleet_command("cmd-00000002", "ops", "out_of_service",
                                   {"compartment": "A01"}, True, None,
                                   {"message": "Compartment A01 is out of service."})  # fmt: skip
    seen = store.fleet_command("cmd-00000002")
    assert seen is not None and seen.ok and seen.result["message"].startswith("Compartment A01")
    kinds = [e.kind for e in store.events()]
    assert kinds[-2:] == ["out_of_service", "remote_command"]
    assert store.fleet_command("cmd-unknown-1") is None


def test_a_hold_is_only_for_an_announced_parcel_and_ends_with_its_deposit(store: Store) -> None:
    from kiosk.domain import Purpose
    from kiosk.errors import ConflictError

    parcel = store.announce("JJD1", "M", "+4915112345678", None, "fleet")
    store.hold("A01", parcel.id, 1_000_000.0 + 3600, "fleet")
    held = store.held_for_parcel(parcel.id)
    assert held is not None and held.id == "A01" and held.held_until == 1_003_600.0
    with pytest.raises(ConflictError, match="already held"):
        store.hold("A01", parcel.id, 1_003_600.0, "fleet")
    op = store.begin_op("A01", Purpose.DEPOSIT, "carla", details={
        "barcode": "JJD1", "size": "M", "phone": "+4915112345678", "email": None,
        "announced_parcel": parcel.id})  # fmt: skip
    store.op_opened(op.id)
    store.finish_deposit(op.id, "tag", 2_000_000.0, lambda pid: [])
    assert store.held_for_parcel(parcel.id) is None
    with pytest.raises(ConflictError, match="not free to hold"):
        store.hold("A01", parcel.id, 1_003_600.0, "fleet")  # the parcel is in it now
    store.sync_compartments([CompartmentSpec("A01", "M", "bank", 1, False),
                             CompartmentSpec("A02", "M", "bank", 2, False)])  # fmt: skip
    with pytest.raises(ConflictError, match="only an announced parcel"):
        store.hold("A02", parcel.id, 1_003_600.0, "fleet")


def test_holds_past_their_time_are_released(store: Store) -> None:
    parcel = store.announce("JJD2", "M", "+4915112345678", None, "fleet")
    store.hold("A01", parcel.id, 1_000_100.0, "fleet")
    assert store.release_expired_holds(1_000_099.0) == []
    assert store.release_expired_holds(1_000_100.0) == ["A01"]
    assert store.compartment("A01").held_for is None
