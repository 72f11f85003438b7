"""What the office makes of the kiosks' events: alarms, parcels, compartments, gaps.

Written through the ingest's own store (no broker), on both databases; the sweeper's
resend goes through the real signing code, and a kiosk's keyring checks it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from kiosk.fleet.envelope import Keyring, verify
from kiosk.fleet.messages import Signer
from office.config import IngestSection
from office.ingest.outgoing import CommandSender
from office.ingest.sweeper import Sweeper
from office.received import parse
from office.store import schema
from office.store.ingest import IngestStore
from testkit.office import KID, write_keys
from tests.office.conftest import Database


def event(
    kiosk: str,
    seq: int,
    kind: str,
    severity: str = "info",
    compartment: str | None = None,
    **detail: Any,
) -> Any:
    body = {
        "kiosk": kiosk,
        "seq": seq,
        "ts": 1000.0 + seq,
        "kind": kind,
        "severity": severity,
        "actor": "carla",
        "compartment": compartment,
        "detail": detail,
    }
    return parse(f"lk/v1/kiosk/{kiosk}/events", json.dumps(body).encode())


def message(kiosk: str, leaf: str, body: dict[str, Any]) -> Any:
    return parse(f"lk/v1/kiosk/{kiosk}/{leaf}", json.dumps(body).encode())


def rows(database: Database, table: sa.Table, *columns: str, order: str = "id") -> list[Any]:
    with database.engine.connect() as conn:
        query = sa.select(*(table.c[c] for c in columns)).order_by(table.c[order])
        return [tuple(r) for r in conn.execute(query)]


def test_alarms_come_from_the_kiosks_events_and_close_when_the_condition_ends(
    database: Database,
) -> None:
    store = IngestStore(database.engine)
    now = time.time()
    store.write(
        [
            (e, now)
            for e in (
                event("K1", 1, "forced_open", "alarm", "A03"),
                event("K1", 2, "door_left_open", "alarm", "A05", operation=9),
                event("K1", 3, "board_offline", "alarm", board="top", error="timeout"),
                event("K1", 4, "brute_force_suspected", "alarm", input="code"),
                event("K1", 5, "mass_open_guard_tripped", "alarm", "A01"),
                event("K1", 6, "customer_needs_help", "alarm", "A02", operation=3),
                event(
                    "K1",
                    7,
                    "out_of_service",
                    "warning",
                    "A04",
                    reason="courier reported: door did not open",
                ),
                event("K1", 8, "open_not_detected", "alarm", "A06", operation=11),
                event("K1", 9, "notification_failed", "alarm", parcel=4),
                event("K1", 10, "out_of_service", "warning", "A07", reason="hinge"),
            )
        ]
    )
    store.write(
        [
            (e, now)
            for e in (
                event("K1", 11, "door_closed", "info", "A03"),
                event("K1", 12, "board_online", "info", board="top"),
                event("K1", 13, "door_closed", "info", "A09"),  # closes nothing: no alarm there
                event("K1", 2, "door_left_open", "alarm", "A05", operation=9),  # sent again
            )
        ]
    )
    alarms = rows(database, schema.alarms, "kind", "source_seq", "compartment", "board")
    assert alarms == [
        ("forced_open", 1, "A03", None),
        ("door_left_open", 2, "A05", None),
        ("board_offline", 3, None, "top"),
        ("brute_force_suspected", 4, None, None),
        ("guard_tripped", 5, "A01", None),
        ("problem_report", 6, "A02", None),
        ("problem_report", 7, "A04", None),
        ("door_did_not_open", 8, "A06", None),
        ("kiosk_alarm", 9, None, None),
    ]
    resolved = rows(database, schema.alarms, "source_seq", "resolved_seq")
    assert [r for r in resolved if r[1] is not None] == [(1, 11), (3, 12)]


def test_a_problem_reported_at_the_kiosks_screen_is_a_problem_report_in_the_inbox(
    database: Database,
) -> None:
    store = IngestStore(database.engine)
    reported = event("K1", 1, "problem_reported", "alarm", "A02", operation=7,
                     purpose="deposit", reason="compartment_dirty")  # fmt: skip
    store.write([(reported, time.time())])
    alarms = rows(database, schema.alarms, "kind", "source_seq", "compartment", "detail")
    assert [a[:3] for a in alarms] == [("problem_report", 1, "A02")]
    assert alarms[0][3]["reason"] == "compartment_dirty"
    assert alarms[0][3]["event"] == "problem_reported"


def test_a_parcels_state_and_timeline_do_not_depend_on_the_order_events_arrive(
    database: Database,
) -> None:
    store = IngestStore(database.engine)
    now = time.time()
    # The pickup arrives before the deposit (a gap repaired later): the pickup wins.
    store.write([(event("K1", 9, "parcel_picked_up", compartment="A07", parcel=88), now)])
    store.write(
        [
            (e, now)
            for e in (
                event("K1", 5, "parcel_announced", parcel=88, barcode="JJD0001", size="M"),
                event(
                    "K1",
                    7,
                    "parcel_stored",
                    compartment="A07",
                    parcel=88,
                    barcode="JJD0001",
                    expires_at=5000.0,
                ),
            )
        ]
    )
    # Then the same barcode, returned to sender from another kiosk.
    store.write(
        [
            (e, now)
            for e in (
                event("K2", 3, "parcel_stored", compartment="B02", parcel=5, barcode="JJD0001"),
                event("K2", 4, "parcel_expired", compartment="B02", parcel=5, barcode="JJD0001"),
                event(
                    "K2",
                    5,
                    "hold_extended",
                    compartment="B02",
                    parcel=5,
                    barcode="JJD0001",
                    expires_at=9000.0,
                ),
            )
        ]
    )
    parcels = rows(
        database,
        schema.parcels,
        "kiosk",
        "local_id",
        "barcode",
        "state",
        "compartment",
        "courier",
        "stored_at",
        "picked_up_at",
        "expires_at",
    )
    assert parcels == [
        ("K1", 88, "JJD0001", "PICKED_UP", "A07", "carla", 1007.0, 1009.0, 5000.0),
        ("K2", 5, "JJD0001", "STORED", "B02", "carla", 1003.0, None, 9000.0),
    ]
    compartments = rows(
        database,
        schema.compartments,
        "kiosk",
        "compartment",
        "state",
        "state_seq",
        order="compartment",
    )
    assert compartments == [("K1", "A07", "AVAILABLE", 9), ("K2", "B02", "OCCUPIED", 3)]
    with database.engine.connect() as conn:
        timeline = conn.execute(
            sa.select(schema.events.c.kiosk, schema.events.c.kind)
            .join(
                schema.parcels,
                sa.and_(
                    schema.parcels.c.kiosk == schema.events.c.kiosk,
                    schema.parcels.c.local_id == schema.events.c.parcel_ref,
                ),
            )
            .where(schema.parcels.c.barcode == "JJD0001")
            .order_by(schema.events.c.ts, schema.events.c.kiosk)
        ).all()
    assert [tuple(t) for t in timeline] == [
        ("K2", "parcel_stored"),
        ("K2", "parcel_expired"),
        ("K1", "parcel_announced"),
        ("K2", "hold_extended"),
        ("K1", "parcel_stored"),
        ("K1", "parcel_picked_up"),
    ]


class Published:
    """Stands in for the broker link: keeps what the office publishes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, timeout_s: float = 10.0) -> bool:
        self.messages.append((topic, payload))
        return True


def test_a_gap_stays_visible_until_its_events_arrive_and_is_asked_for_signed(
    database: Database, tmp_path: Any
) -> None:
    key, _key_file, keyring_file = write_keys(tmp_path)
    published = Published()
    sender = CommandSender(database.engine, published, Signer(key, KID))
    sweeper = Sweeper(database.engine, IngestSection(gap_grace_s=5.0, resend_retry_s=60.0), sender)
    store = IngestStore(database.engine)
    long_ago = time.time() - 60
    store.write([(event("K1", s, "door_closed", compartment="A01"), long_ago) for s in (1, 2, 5)])
    store.write([(event("K1", 9, "door_closed", compartment="A01"), time.time())])

    sweeper.sweep(time.time())
    sweeper.sweep(time.time())  # asked once: the next ask waits resend_retry_s
    gaps = rows(database, schema.gaps, "kiosk", "first_seq", "last_seq", "requests", "repaired_at")
    assert gaps == [("K1", 3, 4, 1, None)]  # 6-8 are younger than the grace: not yet a gap
    assert len(published.messages) == 1
    topic, envelope = published.messages[0]
    assert topic == "lk/v1/kiosk/K1/commands"
    command = verify(envelope, Keyring.load(keyring_file), "K1")
    assert (command.command, command.args) == ("resend_events", {"from_seq": 3})
    recorded = rows(database, schema.commands, "id", "kiosk", "asked_by", "why", order="id")
    assert recorded == [(command.id, "K1", "office", "events missing: 3-4")]

    store.write([(event("K1", s, "door_closed", compartment="A01"), time.time()) for s in (3, 4)])
    sweeper.sweep(time.time())
    assert rows(database, schema.gaps, "first_seq", "repaired_at")[0][1] is not None


def test_a_kiosk_offline_too_long_raises_one_alarm_closed_when_it_is_back(
    database: Database,
) -> None:
    store = IngestStore(database.engine)
    sweeper = Sweeper(database.engine, IngestSection(kiosk_offline_alarm_min=10.0), None)
    now = time.time()
    store.write(
        [
            (message("K1", "presence", {"status": "online", "since": 1.0}), now - 3600),
            (message("K2", "presence", {"status": "online", "since": 1.0}), now - 3600),
        ]
    )
    store.write(
        [
            (message("K1", "presence", {"status": "offline"}), now - 11 * 60),
            (message("K2", "presence", {"status": "offline"}), now - 60),
        ]
    )
    sweeper.sweep(now)
    sweeper.sweep(now + 1)
    assert rows(database, schema.alarms, "kiosk", "kind", "resolved_at") == [
        ("K1", "kiosk_offline", None)
    ]
    store.write([(message("K1", "presence", {"status": "online", "since": 2.0}), now)])
    sweeper.sweep(now + 2)
    assert rows(database, schema.alarms, "kiosk", "resolved_at") == [("K1", now + 2)]


def test_a_batch_written_again_after_a_rollback_stores_its_kiosk_and_all_that_hangs_on_it(
    database: Database, monkeypatch: Any
) -> None:
    store = IngestStore(database.engine)
    batch = [
        (e, time.time())
        for e in (
            event("K7", 1, "board_offline", "alarm", board="top"),
            message("K7", "state/compartments", {"free": {"S": 1}, "total": {"S": 2}}),
        )
    ]
    real = store._results

    def database_went_away(*args: Any) -> None:
        raise sa.exc.OperationalError("UPDATE commands", {}, Exception("connection lost"))

    monkeypatch.setattr(store, "_results", database_went_away)
    try:
        store.write(batch)
    except sa.exc.OperationalError:
        pass
    else:
        raise AssertionError("the first write should have failed")
    assert rows(database, schema.kiosks, "id") == []  # rolled back whole
    monkeypatch.setattr(store, "_results", real)
    store.write(batch)  # as the ingest does: the same batch again
    assert rows(database, schema.kiosks, "id") == [("K7",)]
    assert rows(database, schema.alarms, "kiosk", "kind") == [("K7", "board_offline")]
    assert rows(database, schema.kiosk_state, "kiosk", "free", order="kiosk") == [("K7", {"S": 1})]
