"""Malformed, hostile and deeply nested messages on every topic the office reads.

None crashes the office, none leaves a stored row that is not true, each is recorded
as refused with what was wrong (never its content), and the kiosk's real messages
after them are stored as usual. On both databases, through a real Mosquitto.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from office.store import schema
from testkit.broker import Broker
from testkit.office import running_office, write_config, write_keys
from tests.office.conftest import Database
from tests.office.journeys import peer, scalar, wait_for

pytestmark = pytest.mark.slow


def _event(**changes: object) -> bytes:
    body: dict[str, object] = {
        "kiosk": "KIOSK-1",
        "seq": 7,
        "ts": 1796238600.0,
        "kind": "door_opened",
        "severity": "info",
        "actor": "carla",
        "compartment": "A07",
        "detail": {},
    }
    body.update(changes)
    return json.dumps(body).encode()


def _nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


HOSTILE: dict[str, list[bytes]] = {
    "events": [
        b"not json at all",
        b"[1, 2, 3]",
        b"[" * 60_000,
        ("[" * 5000 + "]" * 5000).encode(),
        _nested(40).encode(),
        b'{"seq": NaN}',
        b"\xff\xfe\x00",
        b"[" + b"0," * 30_000 + b"0]",
        _event(seq=2**70),
        _event(seq=True),
        _event(seq=-3),
        _event(seq="7"),
        _event(ts=float("inf")).replace(b"Infinity", b"1e999"),
        _event(kind="x" * 65),
        _event(kind="a/b"),
        _event(severity="panic"),
        _event(actor="a\u0000b"),
        _event(kiosk="KIOSK-2"),
        _event(detail=[1, 2]),
    ],
    "presence": [
        b"{}",
        b'{"status": "hacked"}',
        b'{"status": "online", "since": "yesterday"}',
        b'{"kiosk": "KIOSK-2", "status": "online"}',
        _nested(30).encode(),
    ],
    "state/compartments": [
        b'{"free": {"S": -1}, "total": {"S": 1}}',
        b'{"free": {}, "total": {}, "boards": {"x": "yes"}}',
        b'{"free": {}, "total": {}, "guard": "open"}',
        b"null",
    ],
    "health": [
        b'{"uptime_s": 3}',
        b'{"ts": 1, "boards": {"a": {"online": "maybe"}}}',
        b'{"ts": 1, "acked_seq": 1e30}',
    ],
    "results": [
        b'{"id": "abc", "ok": "yes"}',
        b'{"id": "a/b#", "ok": true}',
        json.dumps({"id": "cmd-12345678", "ok": True, "result": json.loads(_nested(12))}).encode(),
    ],
    "config/reported": [json.dumps({"applied": json.loads(_nested(6))}).encode(), b"[]"],
}


def test_hostile_messages_on_every_topic_are_refused_and_the_real_ones_still_stored(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    _key, key_file, _keyring = write_keys(tmp_path)
    config = write_config(tmp_path, broker, database.url, key_file)
    with running_office(config) as office, peer(broker, "KIOSK-1") as kiosk:
        for leaf, payloads in HOSTILE.items():
            for payload in payloads:
                kiosk.publish(f"lk/v1/kiosk/KIOSK-1/{leaf}", payload)
        # The detail is too deep to keep, the event itself is true: kept, detail dropped.
        kiosk.publish(
            "lk/v1/kiosk/KIOSK-1/events",
            _event(seq=1, detail={"parcel": 2**70, "n": json.loads(_nested(3))}),
        )
        kiosk.publish("lk/v1/kiosk/KIOSK-1/events", _event(seq=2, detail=json.loads(_nested(12))))
        kiosk.publish("lk/v1/kiosk/KIOSK-1/events", _event(seq=3, detail={"operation": 4}))
        kiosk.publish("lk/v1/kiosk/KIOSK-1/presence", b'{"status": "online", "since": 5}')
        refused = sum(len(p) for p in HOSTILE.values())
        wait_for(
            lambda: (
                scalar(database.engine, "SELECT count(*) FROM ingest_rejects") >= refused
                and scalar(database.engine, "SELECT count(*) FROM events") == 3
            ),
            30,
            "every message handled",
        )
        health = office.health()
    assert health is not None and health["ok"]
    with database.engine.connect() as conn:
        events = conn.execute(
            sa.select(
                schema.events.c.seq, schema.events.c.detail, schema.events.c.detail_dropped
            ).order_by(schema.events.c.seq)
        ).all()
        kiosks = conn.execute(
            sa.select(schema.kiosks.c.id, schema.kiosks.c.status, schema.kiosks.c.online_since)
        ).all()
        rejects = conn.execute(
            sa.select(
                schema.ingest_rejects.c.leaf,
                schema.ingest_rejects.c.reason,
                schema.ingest_rejects.c.detail,
            )
        ).all()
        for table in (
            schema.kiosk_state,
            schema.kiosk_health,
            schema.commands,
            schema.alarms,
            schema.parcels,
        ):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
    assert events == [
        (1, {}, "detail holds an integer beyond 64 bits"),
        (2, {}, "detail nested deeper than 8 levels"),
        (3, {"operation": 4}, None),
    ]
    assert kiosks == [("KIOSK-1", "online", 5.0)]  # from the real presence only
    assert len(rejects) == refused
    reasons = {reason for _leaf, reason, _detail in rejects}
    assert reasons == {"not_json", "too_deep", "not_an_object", "wrong_kiosk", "bad_field"}
    assert {leaf for leaf, _r, _d in rejects} == set(HOSTILE)
    details = " ".join(detail for _l, _r, detail in rejects)
    assert "seq: must be an integer from 1 to 2^63-1" in details
    assert "status: must be online or offline" in details
    assert "a\x00b" not in details and "hacked" not in details  # what was wrong, not what was sent
