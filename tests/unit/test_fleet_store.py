"""The fleet's records in the store: a command, its action and its record are one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.domain import CompartmentState
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
        store.set_out_of_service("A01", "remote", "fleet:ops")
        store.record_fleet_command("cmd-00000001", "ops", "out_of_service", {}, True, None, {})
    assert store.compartment("A01").state is CompartmentState.AVAILABLE
    assert store.last_event_seq() == events_before, "no event of an action that did not happen"


def test_a_recorded_command_is_found_again_with_its_result(store: Store) -> None:
    with store.transaction():
        store.set_out_of_service("A01", "hinge", "fleet:ops")
        store.record_fleet_command("cmd-00000002", "ops", "out_of_service",
                                   {"compartment": "A01"}, True, None,
                                   {"message": "Compartment A01 is out of service."})  # fmt: skip
    seen = store.fleet_command("cmd-00000002")
    assert seen is not None and seen.ok and seen.result["message"].startswith("Compartment A01")
    kinds = [e.kind for e in store.events()]
    assert kinds[-2:] == ["out_of_service", "remote_command"]
    assert store.fleet_command("cmd-unknown-1") is None


def test_remote_opens_are_counted_for_the_hourly_cap(store: Store) -> None:
    for n in range(3):
        store.record_fleet_command(f"open-0000000{n}", "ops", "open", {}, n != 1, None, {})
    assert store.remote_opens_since(999_000.0) == 2
    assert store.remote_opens_since(1_000_000.0) == 0
