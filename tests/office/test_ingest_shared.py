"""Two ``serve`` processes on one shared subscription split the load: none stored twice,
none missing, on both databases."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from testkit.broker import Broker
from testkit.office import running_office, write_config, write_keys
from tests.office.conftest import Database
from tests.office.journeys import peer, scalar, wait_for

pytestmark = pytest.mark.slow
KIOSKS = ("KIOSK-1", "KIOSK-2", "KIOSK-3")
PER_KIOSK = 300


def event(kiosk: str, seq: int) -> bytes:
    return json.dumps(
        {
            "kiosk": kiosk,
            "seq": seq,
            "key": f"{kiosk}:{seq}",
            "ts": time.time(),
            "kind": "parcel_stored",
            "severity": "info",
            "actor": "carla",
            "compartment": "A07",
            "detail": {"parcel": seq, "barcode": f"JJD{seq:07d}"},
        }
    ).encode()


def test_two_serve_processes_store_every_event_once_between_them(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    _key, key_file, _keyring = write_keys(tmp_path)
    config = write_config(tmp_path, broker, database.url, key_file)
    with (
        running_office(config, "office-1") as one,
        running_office(config, "office-2") as two,
        peer(broker, "KIOSK-1") as k1,
        peer(broker, "KIOSK-2") as k2,
        peer(broker, "KIOSK-3") as k3,
    ):
        offices, kiosks = [one, two], [k1, k2, k3]
        for seq in range(1, PER_KIOSK + 1):
            for kiosk, client in zip(KIOSKS, kiosks, strict=True):
                client.client.publish(f"lk/v1/kiosk/{kiosk}/events", event(kiosk, seq), qos=1)
        total = len(KIOSKS) * PER_KIOSK
        wait_for(
            lambda: scalar(database.engine, "SELECT count(*) FROM events") == total,
            60,
            "every event stored",
        )
        time.sleep(1.0)  # anything stored twice would show by now
        stored = [o.health() for o in offices]
    assert scalar(database.engine, "SELECT count(*) FROM events") == total
    assert (
        scalar(
            database.engine, "SELECT count(*) FROM (SELECT DISTINCT kiosk, seq FROM events) AS d"
        )
        == total
    )
    for kiosk in KIOSKS:
        low, high, n = (
            scalar(database.engine, f"SELECT {f}(seq) FROM events WHERE kiosk = :k", k=kiosk)
            for f in ("min", "max", "count")
        )
        assert (low, high, n) == (1, PER_KIOSK, PER_KIOSK)
    counts = [h["ingest"]["events"] for h in stored if h is not None]
    assert len(counts) == 2 and all(n > 0 for n in counts), counts  # both did a share
    assert sum(counts) == total  # and neither stored one the other had
    assert scalar(database.engine, "SELECT count(*) FROM parcels WHERE state = 'STORED'") == total
