"""The store's plumbing: the connection, transactions, the event log, meta."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.domain import CompartmentState
from kiosk.errors import LockerError, NeedsAPerson, NotFound
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import OutOfService
from kiosk.store.eventlog import GENESIS, ChainReport, Event, canonical_detail, row_hash
from kiosk.store.eventlog import verify_rows as _verify_rows
from kiosk.store.rows import ParcelRow
from kiosk.store.schema import SCHEMA_VERSION, SchemaTooNew, migrate
from kiosk.store.space import (
    FULL_BELOW_BYTES,
    free_bytes,
    has_unread_log,
    is_full_error,
    open_immutable,
)

log = logging.getLogger(__name__)

LIVE_OPS = ("UNLOCK_SENT", "OPENED", "LEFT_OPEN")


class StoreError(LockerError):
    """The database cannot be opened or written (corrupt, too new, disk full)."""


class StoreRefused(StoreError, NeedsAPerson):
    """The database must not be opened: others may read it, or it is damaged."""


class StoreFull(StoreError):
    """Nothing can be written: the disk is full. Nothing was changed."""

    reason = "storage_full"


FULL_MESSAGE = "the database could not be written (database or disk is full); nothing was changed"
MAX_UNWRITTEN = 10_000
"""Events kept in memory while the disk is full; past this, new ones are only logged."""


class StoreDamaged(StoreRefused):
    """The database fails SQLite's own check; it was left as it was."""


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
        verdict = _quick_check(path)
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(
            f"the database {path} is damaged ({exc}); it was left untouched: {RESTORE_HINT}"
        ) from exc
    if verdict != ["ok"]:
        raise StoreDamaged(
            f"the database {path} is damaged ({'; '.join(verdict)}); it was left untouched: "
            f"{RESTORE_HINT}"
        )


def _quick_check(path: Path) -> list[str]:
    """``PRAGMA quick_check``, read-only; on a full disk without the log's index, on the
    main file alone (:mod:`kiosk.store.space`)."""
    try:
        check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return [row[0] for row in check.execute("PRAGMA quick_check(5)")]
        finally:
            check.close()
    except sqlite3.OperationalError as exc:
        if not is_full_error(exc, path) or has_unread_log(path):
            raise
    check = open_immutable(path)
    try:
        return [row[0] for row in check.execute("PRAGMA quick_check(5)")]
    finally:
        check.close()


@dataclass(frozen=True)
class OutboxItem:
    """A notification to queue in the same transaction as its cause."""

    key: str
    template: str  # which message: parcel_stored, pickup_reminder, ... (column ``kind``)
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
        # Events that could not be written (a full disk), as they happened: told to these
        # at once, written by flush_unwritten() once there is room.
        self.unwritten_listeners: list[Callable[[Event], None]] = []
        self._unwritten: list[Event] = []
        self._pending: list[Event] = []
        self._depth = 0  # transactions open: use cases may be composed into one
        self.is_full = False  # the last write failed for want of space
        self.full_listeners: list[Callable[[], None]] = []  # told when it becomes full
        self.read_only = False  # opened on a full disk: reads only, until reopen_writable()
        check_before_open(self.path)
        try:
            self._db = self._connect()
        except sqlite3.OperationalError as exc:
            if not is_full_error(exc, self.path):
                raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
            self._db = self._open_read_only(exc)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            # Freed space is zeroed: a removed nonce or a purged recipient leaves no trace.
            db.execute("PRAGMA secure_delete=ON")
            migrate(db)
        except sqlite3.OperationalError:
            db.close()
            raise
        except (sqlite3.DatabaseError, SchemaTooNew) as exc:
            db.close()
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        return db

    def _open_read_only(self, exc: sqlite3.Error) -> sqlite3.Connection:
        """The disk is full: read the database as its main file holds it, or refuse."""
        where = self.path.parent
        if has_unread_log(self.path):
            raise StoreRefused(
                f"the disk holding {where} is full and the database's write-ahead log "
                f"cannot be read without room for its index: free space on it ({exc})"
            ) from exc
        db = open_immutable(self.path)
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
        if found != SCHEMA_VERSION:
            db.close()
            raise StoreRefused(
                f"the disk holding {where} is full and the database needs its schema moved "
                f"from version {found} to {SCHEMA_VERSION}: free space on it"
            ) from exc
        self.read_only = self.is_full = True
        log.error("the disk holding %s is full: the kiosk reads its database but can store "
                  "nothing until there is room", where)  # fmt: skip
        return db

    def reopen_writable(self) -> bool:
        """After a start on a full disk: open the database for writing once there is
        room. True when it is (or already was) writable."""
        if not self.read_only:
            return True
        if self._depth or not self._has_room():
            return False
        try:
            db = self._connect()
        except (sqlite3.OperationalError, StoreError) as exc:
            log.warning("the database cannot be opened for writing yet: %s", exc)
            return False
        self._db.close()
        self._db, self.read_only = db, False
        log.info("the database is writable again")
        return True

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
            self._raise_if_full(exc)
            raise StoreError(f"database busy or unwritable: {exc}") from exc
        self._depth = 1
        kept = len(self._unwritten)
        try:
            # Events kept while the disk was full go first: the log keeps the order in
            # which things happened, and each keeps the time it happened.
            for e in self._unwritten:
                self._append(e.kind, e.severity, e.actor, e.compartment, e.detail, e.ts)
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._depth = 0
            if self._db.in_transaction:  # SQLite may have rolled back by itself (disk full)
                self._db.execute("ROLLBACK")
            self._pending = []
            if isinstance(exc, sqlite3.OperationalError):
                self._raise_if_full(exc)
                raise StoreError(
                    f"the database could not be written ({exc}); nothing was changed"
                ) from exc
            raise
        self._depth = 0
        if kept:
            log.info("%d events kept while the disk was full are written", kept)
            self._unwritten = self._unwritten[kept:]
        if self.is_full and self._has_room():
            # Not before: SQLite may fit a small write into its files' slack on a disk
            # that has no room, and the kiosk would say "full" and "room" by turns.
            self.is_full = False
        events, self._pending = self._pending, []
        for event in events:
            for listener in self.listeners:
                listener(event)

    def _has_room(self) -> bool:
        try:
            return free_bytes(self.path.parent) >= FULL_BELOW_BYTES
        except OSError:
            return True

    def _raise_if_full(self, exc: sqlite3.OperationalError) -> None:
        if self.read_only or is_full_error(exc, self.path):
            became_full, self.is_full = not self.is_full, True
            if became_full:
                for listener in self.full_listeners:
                    listener()
            raise StoreFull(FULL_MESSAGE) from exc

    def _event(
        self,
        kind: EventKind,
        severity: Severity = Severity.INFO,
        actor: str | None = None,
        compartment: str | None = None,
        **detail: Any,
    ) -> Event:
        """Append to the event log; call inside ``_tx``."""
        return self._append(kind, severity, actor, compartment, detail, self.clock())

    def _append(
        self,
        kind: str,
        severity: str,
        actor: str | None,
        compartment: str | None,
        detail: dict[str, Any],
        ts: float,
    ) -> Event:
        last = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        prev = last["hash"] if last else GENESIS
        seq = (last["seq"] if last else 0) + 1
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
                (item.key, item.template, item.channel, item.recipient,
                 json.dumps(item.payload, sort_keys=True), now, now, item.parcel_id),
            )  # fmt: skip

    def _out_of_service(
        self, cid: str, why: OutOfService, only_if: CompartmentState | None = None
    ) -> None:
        """Set ``cid`` OUT_OF_SERVICE with ``why`` (only from state ``only_if``, when
        given); call inside ``_tx``."""
        self._db.execute(
            "UPDATE compartments SET state = 'OUT_OF_SERVICE', oos_code = ?, oos_result = ?,"
            " oos_seconds = ?, oos_words = ? WHERE id = ? AND state = coalesce(?, state)",
            (why.code, why.result, why.seconds, why.words, cid, only_if),
        )

    def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
        return row

    # -- events ---------------------------------------------------------------------

    def log_event(
        self,
        kind: EventKind,
        severity: Severity = Severity.INFO,
        actor: str | None = None,
        compartment: str | None = None,
        **detail: Any,
    ) -> Event:
        """Append one event. On a full disk, an event logged on its own (not inside a
        transaction) is not lost: it is kept in memory, told to
        :attr:`unwritten_listeners` at once (the journal), and written with its own time
        by :meth:`flush_unwritten` once there is room; it is returned with ``seq`` 0."""
        if self._depth:
            return self._event(kind, severity, actor, compartment, **detail)
        try:
            with self._tx():
                return self._event(kind, severity, actor, compartment, **detail)
        except StoreFull:
            event = Event(0, self.clock(), kind, severity, actor, compartment,
                          json.loads(canonical_detail(detail)))  # fmt: skip
            self._keep_unwritten(event)
            return event

    def log_event_or_refuse(
        self,
        kind: EventKind,
        severity: Severity = Severity.INFO,
        actor: str | None = None,
        compartment: str | None = None,
        **detail: Any,
    ) -> Event:
        """Append one event that must be on the disk before what it records is done (a
        lock fired without a door operation): :class:`StoreFull` on a full disk."""
        with self._tx():
            return self._event(kind, severity, actor, compartment, **detail)

    def _keep_unwritten(self, event: Event) -> None:
        if len(self._unwritten) < MAX_UNWRITTEN:
            self._unwritten.append(event)
        else:
            log.error("%d events wait for room on the disk: %s is not kept",
                      len(self._unwritten), event.kind)  # fmt: skip
        for listener in self.unwritten_listeners:
            listener(event)

    def try_write(self) -> bool:
        """One small write, to learn whether the disk takes writes again (after it was
        full, with no event waiting to be written that would tell)."""
        try:
            self.set_meta("store.written_at", repr(self.clock()))
        except StoreFull:
            return False
        return True

    @property
    def unwritten_count(self) -> int:
        """Events kept in memory until the disk has room for them."""
        return len(self._unwritten)

    def flush_unwritten(self) -> int:
        """Write the events kept while the disk was full (every transaction writes them
        first; this is one with nothing else). Returns how many; raises
        :class:`StoreFull`, and keeps them, while there is still no room."""
        kept = len(self._unwritten)
        if kept:
            with self._tx():
                pass
        return kept

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
        self, key: str, value: str, events: Sequence[tuple[EventKind, Severity, dict[str, Any]]]
    ) -> None:
        """``set_meta`` and ``(kind, severity, detail)`` events in one transaction (a wrong
        code: the throttle's new state and what it led to, all or nothing)."""
        self.set_metas_with_events({key: value}, events)

    def set_metas_with_events(
        self,
        values: Mapping[str, str],
        events: Sequence[tuple[EventKind, Severity, dict[str, Any]]] = (),
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
