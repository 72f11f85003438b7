"""The :class:`Store`: use cases as transactions over the SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.domain import OpStatus, ParcelState, Purpose, Role
from kiosk.errors import ConflictError, LockerError, NotFound
from kiosk.store.eventlog import GENESIS, ChainReport, Event, canonical_detail, row_hash
from kiosk.store.eventlog import verify_rows as _verify_rows
from kiosk.store.rows import CompartmentRow, OpRow, OutboxRow, ParcelRow, UserRow
from kiosk.store.schema import SchemaTooNew, migrate

LIVE_OPS = ("UNLOCK_SENT", "OPENED", "LEFT_OPEN")


class StoreError(LockerError):
    """The database cannot be opened or written (corrupt, too new, disk full)."""


@dataclass(frozen=True)
class OutboxItem:
    """A notification to queue in the same transaction as its cause."""

    key: str
    kind: str
    channel: str
    recipient: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CompartmentSpec:
    id: str
    size: str
    board: str
    lock: int
    accessible: bool


class Store:
    """One connection, used by one thread (the daemon's event loop)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self.listeners: list[Callable[[Event], None]] = []
        self._pending: list[Event] = []
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            migrate(self._db)
        except (sqlite3.DatabaseError, SchemaTooNew) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # -- plumbing -------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._pending = []
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"database busy or unwritable: {exc}") from exc
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._db.execute("ROLLBACK")
            self._pending = []
            if isinstance(exc, sqlite3.OperationalError):
                raise StoreError(f"database write failed: {exc}") from exc
            raise
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
                " next_at, created_at) VALUES (?,?,?,?,?,?,?)",
                (item.key, item.kind, item.channel, item.recipient,
                 json.dumps(item.payload, sort_keys=True), now, now),
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

    # -- compartments ---------------------------------------------------------------

    def sync_compartments(self, specs: Sequence[CompartmentSpec]) -> None:
        """Make the table match the config; compartments left out are kept, hidden."""
        with self._tx() as db:
            db.execute("UPDATE compartments SET in_config = 0")
            for s in specs:
                db.execute(
                    "INSERT INTO compartments (id, size, board, lock, accessible)"
                    " VALUES (?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET size=excluded.size,"
                    " board=excluded.board, lock=excluded.lock,"
                    " accessible=excluded.accessible, in_config=1",
                    (s.id, s.size, s.board, s.lock, int(s.accessible)),
                )

    def compartments(self) -> list[CompartmentRow]:
        rows = self._db.execute("SELECT * FROM compartments WHERE in_config = 1 ORDER BY id")
        return [CompartmentRow.from_row(r) for r in rows]

    def compartment(self, cid: str) -> CompartmentRow:
        row = self._one("SELECT * FROM compartments WHERE id = ? AND in_config = 1", cid)
        if row is None:
            raise NotFound(f"no compartment {cid}")
        return CompartmentRow.from_row(row)

    def set_out_of_service(self, cid: str, reason: str, actor: str | None) -> CompartmentRow:
        with self._tx() as db:
            db.execute(
                "UPDATE compartments SET state = 'OUT_OF_SERVICE', oos_reason = ? WHERE id = ?",
                (reason, cid),
            )
            self._event("out_of_service", "warning", actor, cid, reason=reason)
        return self.compartment(cid)

    def set_in_service(self, cid: str, actor: str | None) -> CompartmentRow:
        with self._tx() as db:
            if self._live_op(cid) is not None:
                raise ConflictError(f"compartment {cid} has a door operation in progress")
            state = "OCCUPIED" if self._live_parcel_row(cid) else "AVAILABLE"
            db.execute(
                "UPDATE compartments SET state = ?, oos_reason = NULL WHERE id = ?", (state, cid)
            )
            self._event("in_service", "info", actor, cid, state=state)
        return self.compartment(cid)

    # -- parcels --------------------------------------------------------------------

    def parcel(self, pid: int) -> ParcelRow:
        row = self._one("SELECT * FROM parcels WHERE id = ?", pid)
        if row is None:
            raise NotFound(f"no parcel {pid}")
        return ParcelRow.from_row(row)

    def parcels(self, state: ParcelState | None = None, limit: int = 1000) -> list[ParcelRow]:
        if state is None:
            rows = self._db.execute("SELECT * FROM parcels ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._db.execute(
                "SELECT * FROM parcels WHERE state = ? ORDER BY id DESC LIMIT ?",
                (str(state), limit),
            )
        return [ParcelRow.from_row(r) for r in rows]

    def parcel_by_code_tag(self, tag: str) -> ParcelRow | None:
        """The live parcel with this code, else the newest one that had it."""
        row = self._one(
            "SELECT * FROM parcels WHERE code_tag = ?"
            " ORDER BY state IN ('STORED', 'EXPIRED') DESC, id DESC LIMIT 1",
            tag,
        )
        return ParcelRow.from_row(row) if row else None

    def is_code_tag_live(self, tag: str) -> bool:
        row = self._one(
            "SELECT 1 FROM parcels WHERE code_tag = ? AND state IN ('STORED', 'EXPIRED')", tag
        )
        return row is not None

    def parcel_in(self, cid: str) -> ParcelRow | None:
        row = self._live_parcel_row(cid)
        return ParcelRow.from_row(row) if row else None

    def _live_parcel_row(self, cid: str) -> sqlite3.Row | None:
        return self._one(
            "SELECT * FROM parcels WHERE compartment_id = ? AND state IN ('STORED', 'EXPIRED')",
            cid,
        )

    def parcel_by_barcode(self, barcode: str) -> ParcelRow | None:
        """The parcel with this barcode that is announced or still in the kiosk."""
        row = self._one(
            "SELECT * FROM parcels WHERE barcode = ?"
            " AND state IN ('ANNOUNCED', 'STORED', 'EXPIRED')",
            barcode,
        )
        return ParcelRow.from_row(row) if row else None

    def announce(
        self, barcode: str, size: str, phone: str | None, email: str | None, actor: str | None
    ) -> ParcelRow:
        with self._tx() as db:
            if self.parcel_by_barcode(barcode) is not None:
                raise ConflictError(f"parcel {barcode} is already announced or in the kiosk")
            cur = db.execute(
                "INSERT INTO parcels (barcode, size, phone, email, state, announced_at)"
                " VALUES (?,?,?,?, 'ANNOUNCED', ?)",
                (barcode, size, phone, email, self.clock()),
            )
            pid = int(cur.lastrowid or 0)
            self._event("parcel_announced", "info", actor, None, parcel=pid, barcode=barcode,
                        size=size)  # fmt: skip
        return self.parcel(pid)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self._db.execute("SELECT state, COUNT(*) AS n FROM parcels GROUP BY state"):
            out[r["state"]] = r["n"]
        return out

    # -- door operations (the intent journal) ----------------------------------------

    def op(self, op_id: int) -> OpRow:
        row = self._one("SELECT * FROM door_ops WHERE id = ?", op_id)
        if row is None:
            raise NotFound(f"no door operation {op_id}")
        return OpRow.from_row(row)

    def _live_op(self, cid: str) -> sqlite3.Row | None:
        return self._one(
            "SELECT * FROM door_ops WHERE compartment_id = ? AND status IN (?,?,?)",
            cid,
            *LIVE_OPS,
        )

    def unfinished_ops(self) -> list[OpRow]:
        rows = self._db.execute(
            "SELECT * FROM door_ops WHERE status IN (?,?,?) ORDER BY id", LIVE_OPS
        )
        return [OpRow.from_row(r) for r in rows]

    def begin_op(
        self,
        cid: str,
        purpose: Purpose,
        actor: str | None,
        parcel_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> OpRow:
        """Commit the intent to unlock ``cid``: the lock may fire only after this returns.

        A deposit reserves the compartment, which must be AVAILABLE.
        """
        now = self.clock()
        with self._tx() as db:
            comp = self._one("SELECT state FROM compartments WHERE id = ?", cid)
            if comp is None:
                raise NotFound(f"no compartment {cid}")
            if self._live_op(cid) is not None:
                raise ConflictError(f"compartment {cid} is busy with another door operation")
            if purpose is Purpose.DEPOSIT:
                if comp["state"] != "AVAILABLE":
                    raise ConflictError(f"compartment {cid} is not free")
                db.execute("UPDATE compartments SET state = 'RESERVED' WHERE id = ?", (cid,))
            cur = db.execute(
                "INSERT INTO door_ops (compartment_id, purpose, status, parcel_id, actor,"
                " details, fires, created_at, updated_at) VALUES (?,?,?,?,?,?,1,?,?)",
                (cid, str(purpose), "UNLOCK_SENT", parcel_id, actor,
                 json.dumps(details or {}, sort_keys=True), now, now),
            )  # fmt: skip
            op_id = int(cur.lastrowid or 0)
            self._event("unlock", "info", actor, cid, operation=op_id, purpose=str(purpose))
        return self.op(op_id)

    def _set_status(self, op_id: int, status: OpStatus, **details: Any) -> OpRow:
        row = self._one("SELECT * FROM door_ops WHERE id = ?", op_id)
        if row is None:
            raise NotFound(f"no door operation {op_id}")
        merged = json.loads(row["details"])
        merged.update(details)
        self._db.execute(
            "UPDATE door_ops SET status = ?, details = ?, updated_at = ? WHERE id = ?",
            (str(status), json.dumps(merged, sort_keys=True), self.clock(), op_id),
        )
        return OpRow.from_row(row)

    def refire_op(self, op_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE door_ops SET fires = fires + 1 WHERE id = ?", (op_id,))
            op = self.op(op_id)
            self._event("unlock_retry", "warning", op.actor, op.compartment_id, operation=op_id)

    def update_details(self, op_id: int, **details: Any) -> OpRow:
        with self._tx():
            self._set_status(op_id, self.op(op_id).status, **details)
        return self.op(op_id)

    def op_opened(self, op_id: int) -> OpRow:
        with self._tx():
            op = self._set_status(op_id, OpStatus.OPENED)
            self._event("door_opened", "info", op.actor, op.compartment_id, operation=op_id,
                        purpose=str(op.purpose))  # fmt: skip
        return self.op(op_id)

    def op_left_open(self, op_id: int, after_s: float) -> OpRow:
        with self._tx():
            op = self._set_status(op_id, OpStatus.LEFT_OPEN)
            self._event("door_left_open", "alarm", op.actor, op.compartment_id,
                        operation=op_id, open_for_s=round(after_s, 1))  # fmt: skip
        return self.op(op_id)

    def op_open_not_detected(self, op_id: int) -> OpRow:
        """The door did not open: the compartment goes out of service, a deposit's
        reservation is dropped, a parcel inside stays where it is."""
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.OPEN_NOT_DETECTED)
            db.execute(
                "UPDATE compartments SET state = 'OUT_OF_SERVICE', oos_reason = ? WHERE id = ?",
                ("door did not open", op.compartment_id),
            )
            self._event("open_not_detected", "alarm", op.actor, op.compartment_id,
                        operation=op_id, purpose=str(op.purpose))  # fmt: skip
        return self.op(op_id)

    def abandon_op(self, op_id: int, reason: str) -> OpRow:
        """End an operation whose door never opened (reconciled at start)."""
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.ABANDONED, reason=reason)
            if op.purpose is Purpose.DEPOSIT:
                db.execute(
                    "UPDATE compartments SET state = 'AVAILABLE'"
                    " WHERE id = ? AND state = 'RESERVED'",
                    (op.compartment_id,),
                )
            self._event("operation_abandoned", "warning", op.actor, op.compartment_id,
                        operation=op_id, reason=reason)  # fmt: skip
        return self.op(op_id)

    def finish_plain(self, op_id: int) -> OpRow:
        """A technician's or self-test door closed: nothing changes hands."""
        with self._tx():
            op = self._set_status(op_id, OpStatus.CLOSED)
            self._event("door_closed", "info", op.actor, op.compartment_id, operation=op_id,
                        purpose=str(op.purpose))  # fmt: skip
        return self.op(op_id)

    def finish_deposit(
        self,
        op_id: int,
        code_tag: str,
        expires_at: float,
        notifications: Callable[[int], Sequence[OutboxItem]],
    ) -> ParcelRow:
        """The courier closed the door: the parcel is STORED, its code's tag kept and the
        recipient's notification queued, all in one transaction."""
        now = self.clock()
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.CLOSED, outcome="stored")
            d = op.details
            announced = d.get("announced_parcel")
            if announced is not None:
                db.execute(
                    "UPDATE parcels SET state = 'STORED', compartment_id = ?, code_tag = ?,"
                    " courier = ?, stored_at = ?, expires_at = ?, size = ?"
                    " WHERE id = ? AND state = 'ANNOUNCED'",
                    (op.compartment_id, code_tag, op.actor, now, expires_at, d["size"],
                     announced),
                )  # fmt: skip
                pid = int(announced)
            else:
                cur = db.execute(
                    "INSERT INTO parcels (barcode, size, phone, email, state, compartment_id,"
                    " code_tag, courier, stored_at, expires_at)"
                    " VALUES (?,?,?,?, 'STORED', ?,?,?,?,?)",
                    (d["barcode"], d["size"], d.get("phone"), d.get("email"),
                     op.compartment_id, code_tag, op.actor, now, expires_at),
                )  # fmt: skip
                pid = int(cur.lastrowid or 0)
            db.execute("UPDATE door_ops SET parcel_id = ? WHERE id = ?", (pid, op_id))
            db.execute(
                "UPDATE compartments SET state = 'OCCUPIED' WHERE id = ? AND state = 'RESERVED'",
                (op.compartment_id,),
            )
            self._queue(notifications(pid))
            self._event("parcel_stored", "info", op.actor, op.compartment_id, operation=op_id,
                        parcel=pid, barcode=d["barcode"])  # fmt: skip
        return self.parcel(pid)

    def finish_unused_deposit(self, op_id: int, reason: str) -> OpRow:
        """A deposit door closed without a parcel (it did not fit): the compartment is free."""
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.CLOSED, outcome=reason)
            db.execute(
                "UPDATE compartments SET state = 'AVAILABLE' WHERE id = ? AND state = 'RESERVED'",
                (op.compartment_id,),
            )
            self._event("compartment_freed", "info", op.actor, op.compartment_id,
                        operation=op_id, reason=reason)  # fmt: skip
        return self.op(op_id)

    def finish_removal(self, op_id: int) -> ParcelRow:
        """A pickup or return door closed: the parcel has left, the compartment is free."""
        now = self.clock()
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.CLOSED)
            if op.parcel_id is None:
                raise ConflictError(f"operation {op_id} has no parcel")
            if op.purpose is Purpose.PICKUP:
                state, column, kind = "PICKED_UP", "picked_up_at", "parcel_picked_up"
            else:
                state, column, kind = "RETURNED", "returned_at", "parcel_returned"
            db.execute(
                f"UPDATE parcels SET state = ?, {column} = ? WHERE id = ?",
                (state, now, op.parcel_id),
            )
            db.execute(
                "UPDATE compartments SET state = 'AVAILABLE'"
                " WHERE id = ? AND state IN ('OCCUPIED', 'RESERVED')",
                (op.compartment_id,),
            )
            self._event(kind, "info", op.actor, op.compartment_id, operation=op_id,
                        parcel=op.parcel_id)  # fmt: skip
        return self.parcel(op.parcel_id)

    # -- expiry and reminders -------------------------------------------------------

    def expire_due(self, now: float, notifications: Callable[[ParcelRow], Sequence[OutboxItem]]
                   ) -> list[ParcelRow]:  # fmt: skip
        """Parcels past their hold time become EXPIRED (for return to the sender)."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM parcels WHERE state = 'STORED' AND expires_at <= ?", (now,)
            ).fetchall()
            for r in rows:
                db.execute(
                    "UPDATE parcels SET state = 'EXPIRED', expired_at = ? WHERE id = ?",
                    (now, r["id"]),
                )
                parcel = ParcelRow.from_row(r)
                self._queue(notifications(parcel))
                self._event("parcel_expired", "info", None, r["compartment_id"], parcel=r["id"],
                            barcode=r["barcode"])  # fmt: skip
        return [self.parcel(r["id"]) for r in rows]

    def send_due_reminders(
        self,
        now: float,
        reminder_hours: Sequence[float],
        notifications: Callable[[ParcelRow, int], Sequence[OutboxItem]],
    ) -> int:
        sent = 0
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM parcels WHERE state = 'STORED' AND reminders_sent < ?",
                (len(reminder_hours),),
            ).fetchall()
            for r in rows:
                n = r["reminders_sent"]
                if r["stored_at"] + reminder_hours[n] * 3600 > now:
                    continue
                db.execute(
                    "UPDATE parcels SET reminders_sent = reminders_sent + 1 WHERE id = ?",
                    (r["id"],),
                )
                self._queue(notifications(ParcelRow.from_row(r), n + 1))
                self._event("pickup_reminder", "info", None, r["compartment_id"],
                            parcel=r["id"], reminder=n + 1)  # fmt: skip
                sent += 1
        return sent

    def next_expired(self, skip: Sequence[str] = ()) -> ParcelRow | None:
        """The next expired parcel whose compartment can be opened for its return."""
        marks = ",".join("?" * len(skip)) or "''"
        row = self._one(
            "SELECT p.* FROM parcels p JOIN compartments c ON c.id = p.compartment_id"
            " WHERE p.state = 'EXPIRED' AND c.state = 'OCCUPIED'"
            f" AND p.compartment_id NOT IN ({marks}) ORDER BY p.compartment_id LIMIT 1",
            *skip,
        )
        return ParcelRow.from_row(row) if row else None

    # -- users ----------------------------------------------------------------------

    def add_user(self, name: str, role: Role, pin_hash: str, badge_tag: str | None) -> UserRow:
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO users (name, role, pin_hash, badge_tag, created_at)"
                    " VALUES (?,?,?,?,?)",
                    (name, str(role), pin_hash, badge_tag, self.clock()),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"a user named {name!r} or with that badge exists") from None
            self._event("user_added", "info", None, None, user=name, role=str(role))
        return self.user(name)

    def user(self, name: str) -> UserRow:
        row = self._one("SELECT * FROM users WHERE name = ?", name)
        if row is None:
            raise NotFound(f"no user {name!r}")
        return UserRow.from_row(row)

    def users(self) -> list[UserRow]:
        return [UserRow.from_row(r) for r in self._db.execute("SELECT * FROM users ORDER BY name")]

    def user_by_badge(self, tag: str) -> UserRow | None:
        row = self._one("SELECT * FROM users WHERE badge_tag = ?", tag)
        return UserRow.from_row(row) if row else None

    def remove_user(self, name: str) -> None:
        with self._tx() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no user {name!r}")
            self._event("user_removed", "info", None, None, user=name)

    # -- outbox ---------------------------------------------------------------------

    def outbox_due(self, now: float, limit: int = 20) -> list[OutboxRow]:
        rows = self._db.execute(
            "SELECT * FROM outbox WHERE delivered_at IS NULL AND failed = 0 AND next_at <= ?"
            " ORDER BY next_at, id LIMIT ?",
            (now, limit),
        )
        return [OutboxRow.from_row(r) for r in rows]

    def outbox_next_at(self) -> float | None:
        row = self._one(
            "SELECT MIN(next_at) AS t FROM outbox WHERE delivered_at IS NULL AND failed = 0"
        )
        return float(row["t"]) if row and row["t"] is not None else None

    def outbox_depth(self) -> int:
        row = self._one(
            "SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL AND failed = 0"
        )
        return int(row["n"]) if row else 0

    def outbox_delivered(self, item_id: int, redact: Sequence[str] = ()) -> None:
        """Mark delivered and drop secrets (``redact`` payload keys) from the row."""
        with self._tx() as db:
            row = self._one("SELECT * FROM outbox WHERE id = ?", item_id)
            if row is None:
                return
            payload = {k: v for k, v in json.loads(row["payload"]).items() if k not in redact}
            db.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, payload = ?,"
                " last_error = NULL WHERE id = ?",
                (self.clock(), json.dumps(payload, sort_keys=True), item_id),
            )
            self._event("notification_sent", "info", None, None, key=row["key"],
                        notification=row["kind"], channel=row["channel"])  # fmt: skip

    def outbox_retry(self, item_id: int, error: str, next_at: float, give_up: bool) -> None:
        with self._tx() as db:
            row = self._one("SELECT key, kind FROM outbox WHERE id = ?", item_id)
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?,"
                " failed = ? WHERE id = ?",
                (next_at, error, int(give_up), item_id),
            )
            severity = "alarm" if give_up else "warning"
            kind = "notification_failed" if give_up else "notification_retry"
            self._event(kind, severity, None, None, key=row["key"] if row else None, error=error)
