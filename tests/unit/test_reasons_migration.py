"""Upgrade: a database whose out-of-service reasons were kept in English (schema 5) keeps
every reason, now as codes, and the API's answer for each compartment is what it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.reasons import DoorResult, OosReason, OutOfService, reason_codes
from kiosk.store import Store
from kiosk.store.schema import MIGRATIONS, SCHEMA_VERSION, _split

# What schema 5 stored, and what the API answered for it (reason, reason_code,
# reason_detail): the answer must not change with the upgrade.
V5_ROWS = {
    "A01": ("door did not open", "did_not_open", None),
    "A02": ("courier reported: door did not open", "courier_reported", None),
    "A03": (
        "something inside after an interrupted deposit: check it",
        "check_after_interrupted_deposit",
        None,
    ),
    "A04": ("taken out of service remotely", "remote", None),
    "A05": ("reported at the screen: the compartment is dirty", "reported_dirty", None),
    "A06": (
        "self-test: door not closed within 30 s",
        "self_test",
        {"code": "not_closed", "seconds": 30},
    ),
    "A07": ("self-test: board offline", "self_test", {"code": "board_offline"}),
    "A08": ("self-test: board 'top': no reply", "self_test", {"code": "error"}),
    "A09": ("hinge loose, ordered a new one", "technician", None),
}


def v5_database(path: Path) -> None:
    """A database as schema 5 made it, with one compartment out of service per kind of
    reason it could write, and one in service."""
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:5]:
        assert isinstance(script, str)
        for statement in _split(script):
            db.execute(statement)
    db.execute("PRAGMA user_version = 5")
    for cid, (reason, _, _) in [*V5_ROWS.items(), ("A10", (None, None, None))]:
        state = "AVAILABLE" if reason is None else "OUT_OF_SERVICE"
        db.execute(
            "INSERT INTO compartments (id, size, board, lock, state, oos_reason)"
            " VALUES (?, 'M', 'top', ?, ?, ?)",
            (cid, int(cid[1:]), state, reason),
        )
    db.close()
    path.chmod(0o600)


@pytest.fixture
def upgraded(tmp_path: Path) -> Store:
    v5_database(tmp_path / "kiosk.db")
    return Store(tmp_path / "kiosk.db")


def test_every_english_reason_reads_back_as_the_same_answer(upgraded: Store) -> None:
    for cid, (reason, code, detail) in V5_ROWS.items():
        row = upgraded.compartment(cid)
        answer = {"reason": row.oos_reason, **reason_codes(row.out_of_service)}
        assert answer == {"reason": reason, "reason_code": code, "reason_detail": detail}, cid
    assert upgraded.compartment("A10").out_of_service is None


def test_the_reasons_are_stored_as_codes_and_no_english_is_left(upgraded: Store) -> None:
    stored = {
        r[0]: tuple(r[1:])
        for r in upgraded._db.execute(
            "SELECT id, oos_code, oos_result, oos_seconds, oos_words, oos_reason"
            " FROM compartments WHERE oos_code IS NOT NULL"
        )
    }
    assert stored["A06"] == ("self_test", "not_closed", 30, None, None)
    assert stored["A07"] == ("self_test", "board_offline", None, None, None)
    assert stored["A09"] == ("technician", None, None, "hinge loose, ordered a new one", None)
    assert stored["A01"] == ("did_not_open", None, None, None, None)
    assert upgraded._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_migration_runs_once(tmp_path: Path) -> None:
    v5_database(tmp_path / "kiosk.db")
    Store(tmp_path / "kiosk.db").set_out_of_service(
        "A10", OutOfService.typed("self-test: board offline"), "tomas"
    )
    again = Store(tmp_path / "kiosk.db").compartment("A10").out_of_service
    assert again == OutOfService(OosReason.TECHNICIAN, words="self-test: board offline")


def test_a_self_test_failure_reads_back_with_its_code_and_seconds_after_a_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kiosk.db"
    v5_database(path)
    why = OutOfService.self_test(DoorResult.NOT_CLOSED, "door not closed within 45 s", 45.0)
    Store(path).set_out_of_service("A10", why, "tomas")
    row = Store(path).compartment("A10")
    assert row.out_of_service == OutOfService(OosReason.SELF_TEST, DoorResult.NOT_CLOSED, 45)
    assert row.oos_reason == "self-test: door not closed within 45 s"
