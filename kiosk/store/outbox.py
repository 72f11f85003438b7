"""The outbox: notifications to recipients, and what may stay of them on the disk.

A stored-parcel notification carries the nonce its pickup code derives from
(``code_nonce``, see :func:`kiosk.access.codes.derive_code`). The nonce is removed, in the
transaction that makes it useless, when the notification is delivered, when the
dispatcher gives up on it, and when its parcel leaves the kiosk (picked up or returned;
a notification still waiting then is withdrawn). Rows delivered or given up are deleted
after ``notify.outbox_keep_days`` by the daemon's housekeeping, which also calls
:meth:`OutboxMixin.scrub`: SQLite keeps earlier versions of a page in its write-ahead
log until a checkpoint, so a removed nonce is only gone from the disk once the log has
been copied into the database and emptied (``secure_delete`` zeroes the freed space).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from kiosk.protocol.events import EventKind, Severity
from kiosk.store.base import StoreBase
from kiosk.store.rows import OutboxRow

CODE_NONCE = "code_nonce"
_PENDING = "delivered_at IS NULL AND failed = 0"
_DONE = "(delivered_at IS NOT NULL OR failed = 1)"  # as the index outbox_done says it


class OutboxMixin(StoreBase):
    # A scrub is owed at start too: a log left by a crash may hold removed nonces.
    _scrub_owed = True

    def outbox_due(
        self, now: float, limit: int = 20, horizon: float | None = None
    ) -> list[OutboxRow]:
        """Notifications to send now. With ``horizon`` (the longest retry delay), one
        planned further ahead than that is due too: only a change of the kiosk's
        timeline puts it there (:mod:`kiosk.clock`), and it must not wait for ever."""
        later = now + horizon if horizon is not None else float("inf")
        rows = self._db.execute(
            f"SELECT * FROM outbox WHERE {_PENDING} AND (next_at <= ? OR next_at > ?)"
            " ORDER BY next_at, id LIMIT ?",
            (now, later, limit),
        )
        return [OutboxRow.from_row(r) for r in rows]

    def outbox_next_at(self) -> float | None:
        row = self._one(f"SELECT MIN(next_at) AS t FROM outbox WHERE {_PENDING}")
        return float(row["t"]) if row and row["t"] is not None else None

    def outbox_depth(self) -> int:
        row = self._one(f"SELECT COUNT(*) AS n FROM outbox WHERE {_PENDING}")
        return int(row["n"]) if row else 0

    def outbox_delivered(self, item_id: int, redact: Sequence[str] = (CODE_NONCE,)) -> None:
        """Mark delivered and drop secrets (``redact`` payload keys) from the row."""
        with self._tx() as db:
            row = self._one("SELECT * FROM outbox WHERE id = ?", item_id)
            if row is None:
                return
            db.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, payload = ?,"
                " last_error = NULL WHERE id = ?",
                (self.clock(), _without(row["payload"], redact), item_id),
            )
            self._scrub_owed = True
            self._event(EventKind.NOTIFICATION_SENT, Severity.INFO, None, None, key=row["key"],
                        notification=row["kind"], channel=row["channel"])  # fmt: skip

    def outbox_retry(self, item_id: int, error: str, next_at: float, give_up: bool) -> None:
        """A failed attempt: try again at ``next_at``, or (``give_up``) never, and then
        the code's nonce goes with the hope of delivering it."""
        with self._tx() as db:
            row = self._one("SELECT key, payload FROM outbox WHERE id = ?", item_id)
            payload = row["payload"] if row else "{}"
            if give_up:
                payload = _without(payload, (CODE_NONCE,))
                self._scrub_owed = True
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?,"
                " failed = ?, payload = ? WHERE id = ?",
                (next_at, error, int(give_up), payload, item_id),
            )
            severity = Severity.ALARM if give_up else Severity.WARNING
            kind = EventKind.NOTIFICATION_FAILED if give_up else EventKind.NOTIFICATION_RETRY
            self._event(kind, severity, None, None, key=row["key"] if row else None, error=error)

    def _drop_code_nonces(self, parcel_id: int) -> None:
        """The parcel left the kiosk: no row keeps the means to rebuild its code, and a
        notification of it still waiting is withdrawn. Call inside ``_tx``."""
        rows = self._db.execute(
            "SELECT id, key, payload, delivered_at, failed FROM outbox"
            " WHERE parcel_id = ? AND json_extract(payload, '$.code_nonce') IS NOT NULL",
            (parcel_id,),
        ).fetchall()
        for row in rows:
            waiting = row["delivered_at"] is None and not row["failed"]
            self._db.execute(
                "UPDATE outbox SET payload = ?, failed = failed OR ?,"
                " last_error = CASE WHEN ? THEN ? ELSE last_error END WHERE id = ?",
                (_without(row["payload"], (CODE_NONCE,)), waiting, waiting,
                 "withdrawn: the parcel left the kiosk first", row["id"]),
            )  # fmt: skip
            if waiting:
                self._event(
                    EventKind.NOTIFICATION_WITHDRAWN,
                    Severity.INFO,
                    None,
                    None,
                    key=row["key"],
                    parcel=parcel_id,
                )
            self._scrub_owed = True

    def purge_outbox(self, before: float) -> int:
        """Delete notifications delivered or given up that were queued before ``before``."""
        with self._tx() as db:
            n = db.execute(f"DELETE FROM outbox WHERE {_DONE} AND created_at < ?", (before,))
            purged = n.rowcount
        if purged:
            self._scrub_owed = True
        return purged

    def scrub(self) -> bool:
        """Empty the write-ahead log into the database if a secret was removed since the
        last scrub, so no earlier version of a row stays on the disk. Never waits: with a
        reader in the way (a backup) it is owed to the next call. True when done."""
        if not self._scrub_owed:
            return True
        self._db.execute("PRAGMA busy_timeout=0")
        try:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError:
            busy = 1  # no room to copy the log into the database: owed to the next call
        finally:
            self._db.execute("PRAGMA busy_timeout=5000")
        self._scrub_owed = bool(busy)
        return not busy


def _without(payload: str, keys: Sequence[str]) -> str:
    return json.dumps(
        {k: v for k, v in json.loads(payload).items() if k not in keys}, sort_keys=True
    )
