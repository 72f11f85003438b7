"""The store's plumbing: the connection, transactions, the event log, meta."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import LockerError, NeedsAPerson, NotFound
from kiosk.store.eventlog import GENESIS, ChainReport, Event, canonical_detail, row_hash
from kiosk.store.eventlog import verify_rows as _verify_rows
from kiosk.store.rows import ParcelRow
from kiosk.store.schema import SchemaTooNew, migrate

LIVE_OPS = ("UNLOCK_SENT", "OPENED", "LEFT_OPEN")


class StoreError(LockerError):
    """The database cannot be opened or written (corrupt, too new, disk full)."""


class StoreRefused(StoreError, NeedsAPerson):
    """The database must not be opened: others may read it, or it is damaged."""


RESTORE_HINT = "restore the data dir from a backup (docs/operations.md)"


def check_before_open(path: Path) -> None:
    """Refuse a database others may read, or one that is damaged, before writing to it.

    A new database file is made with mode 0600 (SQLite gives its -wal and -shm files the
    same mode); the -wal and -shm files left by the last run are checked as well. An
    existing database is first read, read-only, with ``PRAGMA quick_check``: opening a
    damaged file for writing could make it worse, so it is left as it was.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreRefused(f"cannot read the database {path}: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    modes = {path: info.st_mode}
    for suffix in ("-wal", "-shm"):
        with suppress(FileNotFoundError):
            modes[Path(f"{path}{suffix}")] = os.stat(f"{path}{suffix}").st_mode
    for where, mode in modes.items():
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise StoreRefused(
                f"the database file {where} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); it holds who may open what: "
                f"fix it with: chmod 600 {path}*"
            )
    if info.st_size == 0:
        return
    try:
        check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = [row[0] for row in check.execute("PRAGMA quick_check(5)")]
        finally:
            check.close()
    except sqlite3.DatabaseError as exc:
        raise StoreRefused(
            f"the database {path} is damaged ({exc}); it was left untouched: {RESTORE_HINT}"
        ) from exc
    if verdict != ["ok"]:
        raise StoreRefused(
            f"the database {path} is damaged ({'; '.join(verdict)}); it was left untouched: "
            f"{RESTORE_HINT}"
        )


@dataclass(frozen=True)
class OutboxItem:
    """A notification to queue in the same transaction as its cause."""

    key: str
    kind: str
    channel: str
    recipient: str
    payload: dict[str, Any]
    parcel_id: int | None = None  # whose notification: its code's nonce goes when it leaves


@dataclass(frozen=True)
class CompartmentSpec:
    id: str
    size: str
    board: str
    lock: int
    accessible: bool


class StoreBase:
    """One connection, used by one thread (the daemon's event loop)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self.listeners: list[Callable[[Event], None]] = []
        self._pending: list[Event] = []
        self._depth = 0  # transactions open: use cases may be composed into one
        check_before_open(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            # Freed space is zeroed: a removed nonce or a purged recipient leaves no trace.
            self._db.execute("PRAGMA secure_delete=ON")
            migrate(self._db)
        except (sqlite3.DatabaseError, SchemaTooNew) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several use cases as one transaction: all of them, or (on an exception) none."""
        with self._tx():
            yield

    # -- plumbing -------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self._depth:  # inside another use case's transaction: part of it
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        self._pending = []
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"database busy or unwritable: {exc}") from exc
        self._depth = 1
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._depth = 0
            if self._db.in_transaction:  # SQLite may have rolled back by itself (disk full)
                self._db.execute("ROLLBACK")
            self._pending = []
            if isinstance(exc, sqlite3.OperationalError):
                raise StoreError(
                    f"the database could not be written ({exc}); nothing was changed"
                ) from exc
            raise
        self._depth = 0
        events, self._pending = self._pending, []
        for event in events:
            for listener in self.listeners:
                listener(event)

    def _event(
        self,
        kind: str,
        severity: str = "info",
        actor: str | None = None,
        compartment: str | None = None,
        **detail: Any,
    ) -> Event:
        """Append to the event log; call inside ``_tx``."""
        last = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        prev = last["hash"] if last else GENESIS
        seq = (last["seq"] if last else 0) + 1
        ts = self.clock()
        detail_json = canonical_detail(detail)
        digest = row_hash(prev, seq, ts, kind, severity, actor, compartment, detail_json)
        self._db.execute(
            "INSERT INTO events (seq, ts, kind, severity, actor, compartment, detail,"
            " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
            (seq, ts, kind, severity, actor, compartment, detail_json, prev, digest),
        )
        event = Event(seq, ts, kind, severity, actor, compartment, json.loads(detail_json))
        self._pending.append(event)
        return event

    def _queue(self, items: Sequence[OutboxItem]) -> None:
        now = self.clock()
        for item in items:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (key, kind, channel, recipient, payload,"
                " next_at, created_at, parcel_id) VALUES (?,?,?,?,?,?,?,?)",
                (item.key, item.kind, item.channel, item.recipient,
                 json.dumps(item.payload, sort_keys=True), now, now, item.parcel_id),
            )  # fmt: skip

    def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
        return row

    # -- events ---------------------------------------------------------------------

    def log_event(
        self,
        kind: str,
        severity: str = "info",
        actor: str | None = None,
        compartment: str | None = None,
        **detail: Any,
    ) -> Event:
        with self._tx():
            return self._event(kind, severity, actor, compartment, **detail)

    def events(self, after: int = 0, limit: int = 100, newest_first: bool = False) -> list[Event]:
        if newest_first:
            sql = "SELECT * FROM events WHERE seq > ? ORDER BY seq DESC LIMIT ?"
        else:
            sql = "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?"
        return [
            Event(r["seq"], r["ts"], r["kind"], r["severity"], r["actor"], r["compartment"],
                  json.loads(r["detail"]))
            for r in self._db.execute(sql, (after, limit))
        ]  # fmt: skip

    def last_event_seq(self) -> int:
        row = self._one("SELECT MAX(seq) AS s FROM events")
        return int(row["s"] or 0) if row else 0

    def verify_events(self) -> ChainReport:
        rows = self._db.execute(
            "SELECT seq, ts, kind, severity, actor, compartment, detail, prev_hash, hash"
            " FROM events ORDER BY seq"
        )
        return _verify_rows(tuple(r) for r in rows)

    # -- meta -----------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", key)
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def set_meta_with_events(
        self, key: str, value: str, events: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> None:
        """``set_meta`` and ``(kind, severity, detail)`` events in one transaction (a wrong
        code: the throttle's new state and what it led to, all or nothing)."""
        self.set_metas_with_events({key: value}, events)

    def set_metas_with_events(
        self, values: Mapping[str, str], events: Sequence[tuple[str, str, dict[str, Any]]] = ()
    ) -> None:
        """Several meta values and events in one transaction."""
        with self._tx() as db:
            for key, value in values.items():
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            for kind, severity, detail in events:
                self._event(kind, severity, None, None, **detail)

    def parcel(self, pid: int) -> ParcelRow:
        row = self._one("SELECT * FROM parcels WHERE id = ?", pid)
        if row is None:
            raise NotFound(f"no parcel {pid}")
        return ParcelRow.from_row(row)
