"""The kiosk that ``scale.py`` measures: its compartments, its codes and its store.

Compartments ``A0001``, ``A0002``, ... with sizes in a fixed cycle (more small doors),
64 locks a board. Pickup codes of ``DIGITS`` digits under one key. The store file holds
the history: parcels ``PICKED_UP`` (90 %) or ``RETURNED`` with code tags, and the two
door operations each of them left; it is built once with ``executemany`` in one
transaction and cached in ``CACHE`` between runs. A measurement works on a copy of it,
opened with the product's :class:`kiosk.store.Store`, with one live parcel in every
compartment.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kiosk.access.codes import code_tag
from kiosk.store import Store
from kiosk.store.schema import SCHEMA_VERSION
from kiosk.store.store import CompartmentSpec

COMPARTMENTS = (64, 1536)
SIZES = ("S", "M", "L", "XL")
SIZE_CYCLE = (0, 0, 1, 1, 2, 3, 0, 1)  # ranks of A0001, A0002, ...: more small doors
KEY = hashlib.sha256(b"locker-kiosk bench key").digest()
DIGITS = 8
CACHE = Path(tempfile.gettempdir()) / "locker-kiosk-bench"


def cid_of(i: int) -> str:
    return f"A{i + 1:04d}"


def size_rank_of(i: int) -> int:
    return SIZE_CYCLE[i % len(SIZE_CYCLE)]


def random_code(rng: random.Random) -> str:
    return f"{rng.randrange(10**DIGITS):0{DIGITS}d}"


def history_db(rows: int, rebuild: bool) -> Path:
    """A store file holding ``rows`` parcels of history (cached between runs)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"history-{rows}-schema{SCHEMA_VERSION}.db"
    if path.exists() and not rebuild:
        return path
    for stale in CACHE.glob(path.name + "*"):
        stale.unlink()
    building = path.with_suffix(".building")
    for stale in CACHE.glob(building.name + "*"):
        stale.unlink()
    started = time.monotonic()
    print(f"  building a store with {rows:,} parcels of history ...", file=sys.stderr)
    Store(building).close()  # the product's schema
    insert_history(building, rows)
    building.rename(path)
    print(f"  built in {time.monotonic() - started:.0f} s: {path}", file=sys.stderr)
    return path


def insert_history(path: Path, rows: int) -> None:
    """Picked-up and returned parcels with their door operations, in one transaction."""
    rng = random.Random(rows)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")  # 256 MB while building only
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO compartments (id, size, board, lock, accessible) VALUES (?,?,?,?,?)",
            [
                (cid_of(i), SIZES[size_rank_of(i)], f"b{i // 64}", i % 64 + 1, int(i % 8 == 7))
                for i in range(max(COMPARTMENTS))
            ],
        )
        chunk = 100_000
        for first in range(0, rows, chunk):
            parcels, ops = _history_chunk(rng, first, min(rows, first + chunk))
            db.executemany(
                "INSERT INTO parcels (id, barcode, size, phone, state, compartment_id, code_tag,"
                " courier, stored_at, expires_at, picked_up_at, expired_at, returned_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                parcels,
            )
            db.executemany(
                "INSERT INTO door_ops (compartment_id, purpose, status, parcel_id, actor,"
                " details, fires, created_at, updated_at) VALUES (?,?,'CLOSED',?,?,'{}',1,?,?)",
                ops,
            )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _history_chunk(
    rng: random.Random, first: int, end: int
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    parcels: list[tuple[object, ...]] = []
    ops: list[tuple[object, ...]] = []
    t0 = 1.6e9
    for pid in range(first + 1, end + 1):
        i = rng.randrange(max(COMPARTMENTS))
        cid, size = cid_of(i), SIZES[size_rank_of(i)]
        stored = t0 + pid * 60.0
        returned = rng.random() < 0.1
        gone = stored + (72 * 3600 if returned else rng.uniform(600, 48 * 3600))
        parcels.append(
            (pid, f"H{pid:010d}", size, "+49 30 1234567",
             "RETURNED" if returned else "PICKED_UP", cid,
             code_tag(KEY, random_code(rng)), "courier", stored, stored + 72 * 3600,
             None if returned else gone, gone if returned else None, gone if returned else None)
        )  # fmt: skip
        ops.append((cid, "deposit", pid, "courier", stored, stored))
        removal = "return" if returned else "pickup"
        ops.append((cid, removal, pid, "courier" if returned else "customer", gone, gone))
    return parcels, ops


@dataclass
class Kiosk:
    """A working copy of a history store, with one live parcel per compartment."""

    store: Store
    live_codes: list[str]
    compartments: list[str]


def open_kiosk(history: Path, compartments: int, work: Path) -> Kiosk:
    path = work / "kiosk.db"
    for old in work.glob("kiosk.db*"):
        old.unlink()
    shutil.copyfile(history, path)
    path.chmod(0o600)  # the store refuses a file that group or others may read
    store = Store(path)
    ids = [cid_of(i) for i in range(compartments)]
    store.sync_compartments(
        [
            CompartmentSpec(cid, SIZES[size_rank_of(i)], f"b{i // 64}", i % 64 + 1, i % 8 == 7)
            for i, cid in enumerate(ids)
        ]
    )
    codes = insert_live(store, ids)
    return Kiosk(store, codes, ids)


def insert_live(store: Store, compartments: list[str]) -> list[str]:
    """A STORED parcel with a unique code in every compartment (one transaction)."""
    rng = random.Random(len(compartments))
    codes: list[str] = []
    taken: set[str] = set()
    while len(codes) < len(compartments):
        code = random_code(rng)
        if code not in taken and not store.is_code_tag_live(code_tag(KEY, code)):
            taken.add(code)
            codes.append(code)
    now = time.time()
    db = sqlite3.connect(store.path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO parcels (barcode, size, phone, state, compartment_id, code_tag,"
            " courier, stored_at, expires_at) SELECT ?, size, ?, 'STORED', id, ?, ?, ?, ?"
            " FROM compartments WHERE id = ?",
            [
                (f"L{n:06d}", "+49 30 1234567", code_tag(KEY, code), "courier", now,
                 now + 72 * 3600, cid)
                for n, (cid, code) in enumerate(zip(compartments, codes, strict=True))
            ],
        )  # fmt: skip
        db.executemany(
            "UPDATE compartments SET state = 'OCCUPIED' WHERE id = ?", [(c,) for c in compartments]
        )
        db.execute("COMMIT")
    finally:
        db.close()
    return codes
