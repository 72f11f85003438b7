"""The data dir's rules (kiosk/daemon/data_dir.py) and the mark (kiosk/store/mark.py), without a
daemon: what a first start makes, what an older database is given, which key is
replaced and which refused, and when the store counts as behind its mark.

The faults on a running daemon are in tests/faults/test_store_identity.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.access.codes import create_key, key_fingerprint
from kiosk.config import Config, load_config
from kiosk.daemon.data_dir import (
    DataDir,
    DataDirRefused,
    behind_mark,
    check_against_mark,
    keep_mark_offline,
    open_data_dir,
)
from kiosk.domain import Purpose, Role
from kiosk.doors.checks import StartItemCheck
from kiosk.errors import ConflictError
from kiosk.reasons import CheckReason
from kiosk.store import OutboxItem, ParcelRow, Store
from kiosk.store.base import StoreFull
from kiosk.store.identity import Rekeyed
from kiosk.store.mark import Mark, MarkKeeper, mark_of, read_mark, write_mark
from kiosk.store.store import CompartmentSpec
from testkit.daemon import render_config


def config_for(tmp_path: Path, kiosk_id: str = "TEST-01") -> Config:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True, mode=0o700)
    path = tmp_path / f"{kiosk_id}.toml"
    path.write_text(render_config(data, {"kiosk": {"id": kiosk_id}}))
    return load_config(path)


def opened_store(config: Config) -> Store:
    opened = open_data_dir(config)
    specs = [CompartmentSpec(c.id, c.size, c.board, c.lock, c.accessible)
             for c in config.compartments]  # fmt: skip
    opened.store.sync_compartments(specs)
    return opened.store


def store_parcel(store: Store, cid: str, barcode: str, tag: str) -> int:
    op = store.begin_op(cid, Purpose.DEPOSIT, "carla", details={"barcode": barcode, "size": "S"})
    store.op_opened(op.id)
    return store.finish_deposit(op.id, tag, 9e9, lambda pid: []).id


def kinds(store: Store) -> list[str]:
    return [e.kind for e in store.events(limit=1000)]


# -- opening --------------------------------------------------------------------------


def test_a_first_start_makes_a_database_that_knows_its_kiosk_and_its_key(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    opened = open_data_dir(config)
    identity = opened.store.identity()
    assert identity is not None and identity.kiosk == "TEST-01"
    assert identity.key_fingerprint == key_fingerprint(opened.key)
    assert kinds(opened.store) == ["store_identity_recorded"]
    assert opened.mark is None


def test_a_first_start_cut_short_before_its_key_is_not_taken_for_a_lost_database(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path)
    paths = DataDir(config.kiosk.data_dir)
    paths.db.write_bytes(b"")  # SQLite had only made the file
    paths.db.chmod(0o600)
    store = open_data_dir(config).store
    store.close()
    paths.key.unlink()  # ... or the database was made and the key not yet
    opened = open_data_dir(config)
    identity = opened.store.identity()
    assert identity is not None and identity.key_fingerprint == key_fingerprint(opened.key)


def test_a_database_from_before_identities_is_given_one_with_the_key_beside_it(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path)
    paths = DataDir(config.kiosk.data_dir)
    old = Store(paths.db)
    old.add_user("anna", Role.COURIER, "x", "a-badge-tag")
    old.close()
    key = create_key(paths.key)
    opened = open_data_dir(config)
    identity = opened.store.identity()
    assert identity is not None and identity.key_fingerprint == key_fingerprint(key)
    event = opened.store.events(limit=10)[-1]
    assert event.kind == "store_identity_recorded" and event.detail["new_database"] is False


def test_a_lost_key_that_nothing_was_made_with_is_replaced_with_a_warning(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    open_data_dir(config).store.close()
    DataDir(config.kiosk.data_dir).key.unlink()
    opened = open_data_dir(config)
    event = opened.store.events(limit=10)[-1]
    assert (event.kind, event.severity) == ("kiosk_key_replaced", "warning")
    identity = opened.store.identity()
    assert identity is not None and identity.key_fingerprint == key_fingerprint(opened.key)


def test_a_lost_key_that_a_badge_was_made_with_is_refused(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    store = open_data_dir(config).store
    store.add_user("anna", Role.COURIER, "x", "a-badge-tag")
    store.close()
    DataDir(config.kiosk.data_dir).key.unlink()
    with pytest.raises(DataDirRefused, match="holds 1 badge made with it") as refused:
        open_data_dir(config)
    assert refused.value.problem == "key_lost"
    assert not DataDir(config.kiosk.data_dir).key.exists()


def test_another_kiosks_database_is_refused_naming_both_kiosks(tmp_path: Path) -> None:
    open_data_dir(config_for(tmp_path, "KIOSK-2")).store.close()
    config = config_for(tmp_path, "KIOSK-1")
    with pytest.raises(DataDirRefused) as refused:
        open_data_dir(config)
    assert refused.value.problem == "other_kiosk"
    assert f"belongs to kiosk KIOSK-2, but {config.path} is the config of kiosk KIOSK-1" in str(
        refused.value
    )
    assert "--forget-stored-parcels" in str(refused.value)


# -- the mark ---------------------------------------------------------------------------


def test_a_store_ahead_of_its_mark_is_not_behind_it(tmp_path: Path) -> None:
    # A kill -9 between a commit and the mark's next write leaves the mark older.
    config = config_for(tmp_path)
    store = opened_store(config)
    mark = mark_of(store)
    store_parcel(store, "A01", "P-1", "tag-1")
    assert behind_mark(store, mark) is None
    assert check_against_mark(store, mark, None) == []
    assert "store_behind" not in kinds(store)


def test_a_store_behind_its_mark_holds_the_compartments_whose_contents_differ(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path)
    store = opened_store(config)
    store_parcel(store, "A01", "P-1", "tag-1")
    now = json.loads(mark_of(store).to_json())
    # What the kiosk had recorded after changes the store then lost: P-1 picked up from
    # A01, P-2 stored in A02.
    recorded = now | {
        "seq": now["seq"] + 9,
        "compartments": {"A02": {"parcel": 2, "barcode": "P-2", "op": None}},
    }
    mark = Mark.from_json(json.dumps(recorded))
    assert behind_mark(store, mark) == "behind"
    assert check_against_mark(store, mark, None) == ["A01", "A02"]
    behind = [e for e in store.events(limit=100) if e.kind == "store_behind"]
    assert behind[0].severity == "alarm" and behind[0].detail["compartments"] == ["A01", "A02"]
    a02 = store.compartment("A02")
    assert a02.check_reason == CheckReason.STORE_BEHIND
    assert a02.check_detail["recorded"]["barcode"] == "P-2"
    assert store.compartment("A01").check_detail["stored"]["barcode"] == "P-1"
    assert store.compartment("A03").check_reason is None


def test_another_history_or_another_database_counts_as_behind(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    store = opened_store(config)
    mark = mark_of(store)
    other_hash = json.loads(mark.to_json()) | {"hash": "f" * 64}
    assert behind_mark(store, Mark.from_json(json.dumps(other_hash))) == "other_history"
    other_store = json.loads(mark.to_json()) | {"store": "another"}
    assert behind_mark(store, Mark.from_json(json.dumps(other_store))) == "other_database"


def test_an_unreadable_mark_is_said_in_an_event_and_still_says_the_kiosk_ran_here(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path)
    paths = DataDir(config.kiosk.data_dir)
    open_data_dir(config).store.close()
    paths.mark.write_text("{torn")
    paths.key.unlink()
    paths.db.unlink()
    with pytest.raises(DataDirRefused, match=r"kiosk.mark is there"):
        open_data_dir(config)


def test_a_damaged_mark_is_reported_at_start(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    paths = DataDir(config.kiosk.data_dir)
    open_data_dir(config).store.close()
    paths.mark.write_text("{torn")
    opened = open_data_dir(config)
    assert check_against_mark(opened.store, opened.mark, opened.mark_error) == []
    event = opened.store.events(limit=10)[-1]
    assert (event.kind, event.severity) == ("mark_unreadable", "warning")
    assert "is damaged" in event.detail["error"]


def test_an_offline_command_leaves_a_mark_the_store_is_behind_for_the_daemon(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path)
    store = opened_store(config)
    store_parcel(store, "A01", "P-1", "tag-1")
    paths = DataDir(config.kiosk.data_dir)
    ahead = mark_of(store)
    ahead_json = json.loads(ahead.to_json()) | {"seq": ahead.seq + 5}
    paths.mark.write_text(json.dumps(ahead_json))
    store.close()
    opened = open_data_dir(config)
    assert keep_mark_offline(opened, config) is None
    mark = read_mark(paths.mark)
    assert mark is not None and mark.seq == ahead.seq + 5  # untouched


def test_the_mark_is_written_only_after_a_commit_and_private(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    store = opened_store(config)
    paths = DataDir(config.kiosk.data_dir)
    keeper = MarkKeeper(store, paths.mark)  # no loop: at once, after each commit
    with pytest.raises(RuntimeError), store.transaction():
        store.log_event("door_closed", "info", None, "A01")
        raise RuntimeError("rolled back")
    assert not paths.mark.exists()
    store.log_event("door_closed", "info", None, "A01")
    mark = read_mark(paths.mark)
    assert mark is not None and mark.seq == store.last_event()[0]
    assert paths.mark.stat().st_mode & 0o077 == 0
    keeper.close()
    write_mark(paths.mark, mark)  # a plain rewrite keeps it private
    assert paths.mark.stat().st_mode & 0o077 == 0


# -- the check flag ---------------------------------------------------------------------


def test_a_compartment_is_flagged_once_and_cleared_once(tmp_path: Path) -> None:
    store = opened_store(config_for(tmp_path))
    assert store.flag_for_check("A01", CheckReason.ITEM_UNEXPECTED, item=True)
    assert not store.flag_for_check("A01", CheckReason.ITEM_MISSING)  # the first stays
    assert store.compartment("A01").check_reason == CheckReason.ITEM_UNEXPECTED
    assert [c.id for c in store.compartments_needing_check()] == ["A01"]
    row = store.clear_check("A01", "tomas", item=False)
    assert not row.needs_check
    with pytest.raises(ConflictError, match=r"Compartment A01 does not need a check\."):
        store.clear_check("A01", "tomas")
    assert kinds(store).count("compartment_needs_check") == 1
    assert kinds(store).count("compartment_check_cleared") == 1


# -- a new key --------------------------------------------------------------------------


def test_a_new_key_gives_stored_parcels_new_codes_and_gives_up_what_the_old_key_made(
    tmp_path: Path,
) -> None:
    store = opened_store(config_for(tmp_path))
    op = store.begin_op("A01", Purpose.DEPOSIT, "carla", details={"barcode": "P-1", "size": "S"})
    store.op_opened(op.id)
    waiting = OutboxItem("old:1", "parcel_stored", "sms", "+49151", {"code_nonce": "n-old"}, 1)
    store.finish_deposit(op.id, "old-tag", 9e9, lambda pid: [waiting])
    store.add_user("bea", Role.COURIER, "x", "bea-badge-tag")

    def reissue(parcel: ParcelRow) -> tuple[str, list[OutboxItem]]:
        payload = {"code_nonce": "n-new", "replaces_code": True}
        return "new-tag", [OutboxItem(f"new:{parcel.id}", "parcel_stored", "sms", "+49151",
                                      payload, parcel.id)]  # fmt: skip

    done = store.rekey("fingerprint-2", reissue)

    assert done == Rekeyed(new_codes=1, void_codes=0, badges_removed=("bea",))
    assert not store.is_code_tag_live("old-tag")
    found = store.parcel_by_code_tag("new-tag")
    assert found is not None and found.barcode == "P-1"
    due = store.outbox_due(9e9)
    assert [(row.key, row.payload) for row in due] == [
        ("new:1", {"code_nonce": "n-new", "replaces_code": True})
    ]
    old = store._one("SELECT payload, failed, last_error FROM outbox WHERE key = 'old:1'")
    assert old is not None and json.loads(old["payload"]) == {} and old["failed"] == 1
    assert old["last_error"] == "superseded: the kiosk key was replaced"
    assert not store.user("bea").has_badge
    identity = store.identity()
    assert identity is not None and identity.key_fingerprint == "fingerprint-2"
    event = store.events(limit=100)[-1]
    assert (event.kind, event.severity) == ("kiosk_rekeyed", "alarm")


# -- a full disk at start -----------------------------------------------------------------


class Sensors:
    """The item sensors of the hardware, as the start check reads them."""

    def __init__(self, items: dict[str, bool | None]) -> None:
        self.items = items

    def item(self, cid: str) -> bool | None:
        return self.items.get(cid)


def test_a_finding_a_full_disk_cannot_record_holds_the_compartment_until_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(tmp_path)
    store = opened_store(config)
    check = StartItemCheck(store, Sensors({"A01": True, "A02": False}))  # type: ignore[arg-type]
    check.begin(["A01", "A02"])
    assert check.holds("A01") and check.holds("A02")  # not compared yet: not handed out
    real = store.flag_for_check

    def full(*args: Any, **kwargs: Any) -> bool:
        raise StoreFull("the database could not be written (database or disk is full)")

    monkeypatch.setattr(store, "flag_for_check", full)
    check.reading("A01", busy=False)
    check.reading("A02", busy=False)
    assert check.holds("A01") and not check.holds("A02")  # A01 found, not recorded
    assert store.compartment("A01").check_reason is None

    paths = DataDir(config.kiosk.data_dir)
    keeper = MarkKeeper(store, paths.mark, hold=lambda: bool(check.unwritten))
    keeper.write_now()
    assert not paths.mark.exists()  # what it would record is still needed

    monkeypatch.setattr(store, "flag_for_check", real)
    store.log_event("door_closed", "info", None, "A02")  # room again: a commit goes through
    assert not check.holds("A01")
    assert store.compartment("A01").check_reason == CheckReason.ITEM_UNEXPECTED
    assert paths.mark.exists()  # and the mark follows again
