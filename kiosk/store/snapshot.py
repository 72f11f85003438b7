"""A consistent copy of the database while the daemon writes to it (SQLite's online
backup), for ``locker-kiosk backup``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from kiosk.store.base import StoreError


def snapshot(db: Path, copy: Path) -> dict[str, Any]:
    """Copy ``db`` into ``copy`` as one self-contained file (no -wal beside it); return
    its store id and key fingerprint, its schema version, how many parcels and events it
    holds, and its quick check."""
    try:
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
            return _summary(target)
        finally:
            target.close()
            source.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot read {db}: {exc}") from exc


def _summary(db: sqlite3.Connection) -> dict[str, Any]:
    def one(sql: str) -> Any:
        return db.execute(sql).fetchone()[0]

    def meta(key: str) -> Any:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    return {
        # which store and which key it belongs with (kiosk/store/identity.py)
        "store": meta("store.id"),
        "key_fingerprint": meta("store.key_fingerprint"),
        "schema_version": one("PRAGMA user_version"),
        "parcels": one("SELECT COUNT(*) FROM parcels"),
        "events": one("SELECT COUNT(*) FROM events"),
        "integrity": one("PRAGMA quick_check"),
    }
