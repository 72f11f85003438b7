"""The store: pragmas, migrations, the journal, the hash chain, one transaction per use case."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from kiosk.domain import CompartmentState, OpStatus, ParcelState, Purpose
from kiosk.errors import ConflictError, NeedsAPerson
from kiosk.reasons import OutOfService
from kiosk.store import OutboxItem, Store, StoreError
from kiosk.store.schema import SCHEMA_VERSION
from kiosk.store.store import CompartmentSpec

DEPOSIT = {"barcode": "1Z999", "size": "M", "phone": "+4915112345678", "email": None}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "kiosk.db", clock=lambda: 1_000_000.0)
    s.sync_compartments([CompartmentSpec(f"A0{i}", "M", "bank", i, False) for i in (1, 2, 3)])
    return s


def note(pid: int) -> list[OutboxItem]:
    return [OutboxItem(f"k:{pid}", "parcel_stored", "sms", "+49151", {"code_nonce": "ab"})]


def stored_parcel(store: Store, cid: str = "A01", tag: str = "tag1") -> int:
    op = store.begin_op(cid, Purpose.DEPOSIT, "carla", details=dict(DEPOSIT))
    store.op_opened(op.id)
    return store.finish_deposit(op.id, tag, 2_000_000.0, note).id


def test_database_uses_wal_full_sync_and_foreign_keys(store: Store) -> None:
    db = store._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_an_existing_database_keeps_its_rows(tmp_path: Path) -> None:
    Store(tmp_path / "k.db").log_event("hello")
    again = Store(tmp_path / "k.db")
    assert [e.kind for e in again.events()] == ["hello"]


def test_an_upgrade_from_the_first_schema_keeps_every_parcel_and_event(tmp_path: Path) -> None:
    from kiosk.store.schema import MIGRATIONS, _split

    path = tmp_path / "k.db"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in _split(MIGRATIONS[0]):
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO parcels (barcode, size, state, announced_at)"
        " VALUES ('JJD1', 'M', 'ANNOUNCED', 1)"
    )
    db.close()
    path.chmod(0o600)
    upgraded = Store(path)
    (parcel,) = upgraded.parcels()
    assert (parcel.barcode, parcel.extended_hours) == ("JJD1", 0.0)
    assert upgraded._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "k.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    (tmp_path / "k.db").chmod(0o600)
    with pytest.raises(StoreError, match="newer than this program"):
        Store(tmp_path / "k.db")


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    path.write_bytes(b"this is not sqlite" * 100)
    path.chmod(0o600)
    with pytest.raises(StoreError, match=r"is damaged \(file is not a database\); it was left"):
        Store(path)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_a_damaged_database_is_refused_with_a_way_out_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    store = Store(path)
    for n in range(200):
        store.log_event("filler", detail="x" * 200, n=n)
    store.close()
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 2 + 600] = b"\xa5" * 600  # a page of the event log scribbled on
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as refused:
        Store(path)
    assert "is damaged" in str(refused.value)
    assert "restore the data dir from a backup (docs/operations.md)" in str(refused.value)
    assert path.read_bytes() == bytes(data)


def test_a_new_database_is_readable_by_the_kiosk_only(tmp_path: Path) -> None:
    Store(tmp_path / "k.db").log_event("hello")
    for name in ("k.db", "k.db-wal", "k.db-shm"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_a_database_others_may_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    Store(path).close()
    path.chmod(0o644)
    with pytest.raises(StoreError) as refused:
        Store(path)
    assert str(refused.value) == (
        f"the database file {path} is accessible by group or others (mode 0644); it holds "
        f"who may open what: fix it with: chmod 600 {path}*"
    )


def test_a_write_ahead_log_others_may_read_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    kept = Store(path)  # open: its -wal and -shm files stay
    kept.log_event("hello")
    (tmp_path / "k.db-wal").chmod(0o640)
    with pytest.raises(NeedsAPerson, match=r"k\.db-wal is accessible by group or others"):
        Store(path)
    kept.close()


def test_deposit_stores_the_parcel_queues_the_notice_and_occupies_the_compartment(
    store: Store,
) -> None:
    pid = stored_parcel(store)
    parcel = store.parcel(pid)
    assert parcel.state is ParcelState.STORED and parcel.compartment_id == "A01"
    assert store.compartment("A01").state is CompartmentState.OCCUPIED
    assert [r.key for r in store.outbox_due(2e9)] == [f"k:{pid}"]
    assert store.parcel_by_code_tag("tag1") == parcel


def test_a_deposit_that_fails_midway_leaves_nothing_behind(store: Store) -> None:
    op = store.begin_op("A01", Purpose.DEPOSIT, "carla", details=dict(DEPOSIT))

    def broken(pid: int) -> list[OutboxItem]:
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        store.finish_deposit(op.id, "tag1", 2e6, broken)
    assert store.parcels() == []
    assert store.op(op.id).status is OpStatus.UNLOCK_SENT
    assert store.compartment("A01").state is CompartmentState.RESERVED
    assert store.outbox_depth() == 0


def test_two_live_operations_on_one_compartment_are_refused(store: Store) -> None:
    store.begin_op("A01", Purpose.TECHNICIAN, "tomas")
    with pytest.raises(ConflictError, match="busy"):
        store.begin_op("A01", Purpose.TECHNICIAN, "tomas")


def test_a_pickup_code_tag_is_unique_among_live_parcels(store: Store) -> None:
    stored_parcel(store, "A01", "same")
    op = store.begin_op("A02", Purpose.DEPOSIT, "carla", details={**DEPOSIT, "barcode": "2"})
    with pytest.raises(sqlite3.IntegrityError):
        store.finish_deposit(op.id, "same", 2e6, note)
    assert store.is_code_tag_live("same")


def test_pickup_frees_the_compartment_and_the_code_is_no_longer_live(store: Store) -> None:
    pid = stored_parcel(store)
    op = store.begin_op("A01", Purpose.PICKUP, "customer", parcel_id=pid)
    store.finish_removal(op.id)
    assert store.parcel(pid).state is ParcelState.PICKED_UP
    assert store.compartment("A01").state is CompartmentState.AVAILABLE
    assert not store.is_code_tag_live("tag1")
    assert store.parcel_by_code_tag("tag1").state is ParcelState.PICKED_UP  # type: ignore[union-attr]


def test_expiry_moves_due_parcels_and_queues_their_notices(store: Store) -> None:
    pid = stored_parcel(store)
    assert store.expire_due(1_999_999.0, lambda p: []) == []
    expired = store.expire_due(2_000_000.0, lambda p: note(p.id + 100))
    assert [p.id for p in expired] == [pid]
    assert store.parcel(pid).state is ParcelState.EXPIRED
    assert store.next_expired().id == pid  # type: ignore[union-attr]


def test_the_event_log_is_append_only(store: Store) -> None:
    store.log_event("x")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("UPDATE events SET kind = 'y'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("DELETE FROM events")


def test_tampering_with_an_event_breaks_the_chain_from_that_row(store: Store) -> None:
    for i in range(5):
        store.log_event("tick", detail=i)
    assert store.verify_events().ok
    db = store._db
    db.execute("DROP TRIGGER events_append_only_update")
    db.execute("UPDATE events SET detail = '{\"detail\":99}' WHERE seq = 3")
    report = store.verify_events()
    assert not report.ok and report.first_bad_seq == 3


def test_a_delivered_notification_loses_its_code_nonce(store: Store) -> None:
    stored_parcel(store)
    row = store.outbox_due(2e9)[0]
    store.outbox_delivered(row.id, redact=("code_nonce",))
    payload = store._db.execute("SELECT payload FROM outbox WHERE id = ?", (row.id,)).fetchone()
    assert "code_nonce" not in payload[0]
    assert store.outbox_depth() == 0


def test_back_in_service_returns_to_occupied_when_a_parcel_is_inside(store: Store) -> None:
    stored_parcel(store)
    store.set_out_of_service("A01", OutOfService.typed("hinge loose"), "tomas")
    assert store.compartment("A01").oos_reason == "hinge loose"
    assert store.set_in_service("A01", "tomas").state is CompartmentState.OCCUPIED
    assert store.compartment("A01").out_of_service is None
    store.set_out_of_service("A02", OutOfService.typed("hinge loose"), "tomas")
    assert store.set_in_service("A02", "tomas").state is CompartmentState.AVAILABLE


def fill_up(store: Store) -> int:
    """Let the database grow no more, and use up the room left in its pages: a full
    disk, as SQLite sees one. Returns how many writes were refused on the way."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")
    refused = 0
    for size in (2000, 200, 20, 0):
        for _ in range(1000):
            try:
                store.log_event_or_refuse("filler", detail="x" * size)
            except StoreError:
                refused += 1
                break
    return refused


def test_a_full_disk_refuses_a_new_door_operation_and_writes_nothing(store: Store) -> None:
    assert fill_up(store) == 4
    events_before = len(store.events(limit=100_000))
    with pytest.raises(StoreError) as full:
        store.begin_op("A02", Purpose.DEPOSIT, "carla", details=dict(DEPOSIT))
    assert "full" in str(full.value) and "nothing was changed" in str(full.value)
    assert store.unfinished_ops() == []
    assert store.compartment("A02").state is CompartmentState.AVAILABLE
    assert store.verify_events().ok
    assert len(store.events(limit=100_000)) == events_before


def test_a_deposit_that_cannot_be_finished_on_a_full_disk_is_kept_whole_for_later(
    store: Store,
) -> None:
    op = store.begin_op("A01", Purpose.DEPOSIT, "carla", details=dict(DEPOSIT))
    store.op_opened(op.id)
    fill_up(store)
    with pytest.raises(StoreError):
        store.finish_deposit(op.id, "tag1", 2_000_000.0, note)
    # Nothing half-written: the operation is still OPENED and no parcel exists.
    assert store.op(op.id).status is OpStatus.OPENED
    assert store.parcels() == []
    assert store.compartment("A01").state is CompartmentState.RESERVED

    store._db.execute("PRAGMA max_page_count = 1000000")  # room again
    parcel = store.finish_deposit(op.id, "tag1", 2_000_000.0, note)
    assert parcel.state is ParcelState.STORED and parcel.compartment_id == "A01"


def test_status_counts_the_parcels_announced_or_in_the_kiosk_and_leaves_history_out(
    store: Store,
) -> None:
    def deposit(cid: str, barcode: str) -> int:
        op = store.begin_op(cid, Purpose.DEPOSIT, "carla", details={**DEPOSIT, "barcode": barcode})
        return store.finish_deposit(op.id, f"tag-{barcode}", 2_000_000.0, note).id

    store.announce("JJD-A", "M", None, None, "fleet")
    stays = deposit("A01", "JJD-1")
    leaves = deposit("A02", "JJD-2")
    op = store.begin_op("A02", Purpose.PICKUP, None, parcel_id=leaves)
    store.op_opened(op.id)
    store.finish_removal(op.id)
    store.expire_due(3_000_000.0, lambda parcel: [])
    deposit("A02", "JJD-3")

    assert store.counts() == {"ANNOUNCED": 1, "EXPIRED": 1, "STORED": 1}
    assert store.parcel(stays).state is ParcelState.EXPIRED
    # Through the state index: the cost follows the parcels in the kiosk, not the history.
    plan = " ".join(
        str(row[3])
        for row in store._db.execute(
            "EXPLAIN QUERY PLAN SELECT state, COUNT(*) AS n FROM parcels"
            " WHERE state IN ('ANNOUNCED', 'STORED', 'EXPIRED') GROUP BY state"
        )
    )
    assert "SEARCH parcels USING COVERING INDEX parcels_by_state_expiry" in plan
