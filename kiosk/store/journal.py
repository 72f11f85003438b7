"""The intent journal: every door operation, committed before its lock fires."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from kiosk.domain import CompartmentState, OpStatus, ParcelState, Purpose
from kiosk.errors import ConflictError, NotFound
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import OosReason, OutOfService
from kiosk.store.base import LIVE_OPS, OutboxItem
from kiosk.store.outbox import OutboxMixin
from kiosk.store.rows import OpRow, ParcelRow

# The statuses written out, not bound as parameters: SQLite uses the partial index
# door_ops_live only when it can see that the query's WHERE implies the index's, and a
# bound parameter hides that. Bound, every begin_op scanned the whole journal (about
# 90 ms with a million parcels of history; see docs/performance.md).
_IS_LIVE = "status IN (" + ", ".join(f"'{status}'" for status in LIVE_OPS) + ")"


class JournalMixin(OutboxMixin):
    def op(self, op_id: int) -> OpRow:
        row = self._one("SELECT * FROM door_ops WHERE id = ?", op_id)
        if row is None:
            raise NotFound(f"no door operation {op_id}")
        return OpRow.from_row(row)

    def _live_op(self, cid: str) -> sqlite3.Row | None:
        return self._one(f"SELECT * FROM door_ops WHERE compartment_id = ? AND {_IS_LIVE}", cid)

    def counted_opens_since(self, since: float) -> list[float]:
        """When each door operation begun after ``since`` was begun, oldest first, leaving
        out a technician's open-all and self-test (``bulk``), which the guard does not count."""
        rows = self._db.execute(
            "SELECT created_at FROM door_ops WHERE created_at > ?"
            " AND json_extract(details, '$.bulk') IS NULL ORDER BY created_at",
            (since,),
        )
        return [float(r["created_at"]) for r in rows]

    def next_op_id(self) -> int:
        """The id the next door operation will get (ids are never reused)."""
        row = self._one("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM door_ops")
        return int(row["n"]) if row else 1

    def unfinished_ops(self) -> list[OpRow]:
        # "+id": order after the fact, or the planner walks the whole table in id order.
        rows = self._db.execute(f"SELECT * FROM door_ops WHERE {_IS_LIVE} ORDER BY +id")
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
                if comp["state"] != CompartmentState.AVAILABLE:
                    raise ConflictError(f"compartment {cid} is not free")
                db.execute("UPDATE compartments SET state = 'RESERVED' WHERE id = ?", (cid,))
            cur = db.execute(
                "INSERT INTO door_ops (compartment_id, purpose, status, parcel_id, actor,"
                " details, fires, created_at, updated_at) VALUES (?,?,?,?,?,?,1,?,?)",
                (cid, str(purpose), "UNLOCK_SENT", parcel_id, actor,
                 json.dumps(details or {}, sort_keys=True), now, now),
            )  # fmt: skip
            op_id = int(cur.lastrowid or 0)
            self._event(
                EventKind.UNLOCK, Severity.INFO, actor, cid, operation=op_id, purpose=str(purpose)
            )
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
            self._event(
                EventKind.UNLOCK_RETRY,
                Severity.WARNING,
                op.actor,
                op.compartment_id,
                operation=op_id,
            )

    def update_details(self, op_id: int, **details: Any) -> OpRow:
        with self._tx():
            self._set_status(op_id, self.op(op_id).status, **details)
        return self.op(op_id)

    def op_opened(self, op_id: int) -> OpRow:
        with self._tx():
            op = self._set_status(op_id, OpStatus.OPENED)
            self._event(
                EventKind.DOOR_OPENED,
                Severity.INFO,
                op.actor,
                op.compartment_id,
                operation=op_id,
                purpose=str(op.purpose),
            )
        return self.op(op_id)

    def op_left_open(self, op_id: int, after_s: float) -> OpRow:
        with self._tx():
            op = self._set_status(op_id, OpStatus.LEFT_OPEN)
            self._event(EventKind.DOOR_LEFT_OPEN, Severity.ALARM, op.actor, op.compartment_id,
                        operation=op_id, open_for_s=round(after_s, 1))  # fmt: skip
        return self.op(op_id)

    def op_open_not_detected(self, op_id: int) -> OpRow:
        """The door did not open: the compartment goes out of service, a deposit's
        reservation is dropped, a parcel inside stays where it is."""
        with self._tx():
            op = self._set_status(op_id, OpStatus.OPEN_NOT_DETECTED)
            self._out_of_service(op.compartment_id, OutOfService(OosReason.DID_NOT_OPEN))
            self._event(EventKind.OPEN_NOT_DETECTED, Severity.ALARM, op.actor, op.compartment_id,
                        operation=op_id, purpose=str(op.purpose))  # fmt: skip
        return self.op(op_id)

    def abandon_op(self, op_id: int, reason: str, item_inside: bool | None = None) -> OpRow:
        """End an operation whose door was not seen to open (reconciled at start).

        A deposit's reservation is dropped, unless the item sensor says something is
        inside: then the door may have opened and closed while the daemon was away, with
        a parcel put in, so the compartment goes out of service for a person to check
        instead of being handed out again (an alarm says so).
        """
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.ABANDONED, reason=reason)
            if op.purpose is Purpose.DEPOSIT and item_inside:
                held = OutOfService(OosReason.CHECK_AFTER_INTERRUPTED_DEPOSIT)
                self._out_of_service(op.compartment_id, held, CompartmentState.RESERVED)
                self._event(
                    EventKind.DEPOSIT_NEEDS_CHECK,
                    Severity.ALARM,
                    op.actor,
                    op.compartment_id,
                    operation=op_id,
                    barcode=op.details.get("barcode"),
                )
            elif op.purpose is Purpose.DEPOSIT:
                db.execute(
                    "UPDATE compartments SET state = 'AVAILABLE'"
                    " WHERE id = ? AND state = 'RESERVED'",
                    (op.compartment_id,),
                )
            self._event(
                EventKind.OPERATION_ABANDONED,
                Severity.WARNING,
                op.actor,
                op.compartment_id,
                operation=op_id,
                reason=reason,
            )
        return self.op(op_id)

    def finish_plain(self, op_id: int) -> OpRow:
        """A technician's or self-test door closed: nothing changes hands."""
        with self._tx():
            op = self._set_status(op_id, OpStatus.CLOSED)
            self._event(
                EventKind.DOOR_CLOSED,
                Severity.INFO,
                op.actor,
                op.compartment_id,
                operation=op_id,
                purpose=str(op.purpose),
            )
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
            updated = 0
            if announced is not None:
                updated = db.execute(
                    "UPDATE parcels SET state = 'STORED', compartment_id = ?, code_tag = ?,"
                    " courier = ?, stored_at = ?, expires_at = ?, size = ?"
                    " WHERE id = ? AND state = 'ANNOUNCED'",
                    (op.compartment_id, code_tag, op.actor, now, expires_at, d["size"],
                     announced),
                ).rowcount  # fmt: skip
                pid = int(announced)
                db.execute(
                    "UPDATE compartments SET held_for = NULL, held_until = NULL WHERE held_for = ?",
                    (pid,),
                )  # it arrived: whatever was held for it is free (or is where it went)
            if not updated:  # not announced, or its announcement was withdrawn meanwhile
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
            # size and expires_at: a consumer of the event log (the back office) knows
            # the parcel's deadline without asking the kiosk
            self._event(
                EventKind.PARCEL_STORED,
                Severity.INFO,
                op.actor,
                op.compartment_id,
                operation=op_id,
                parcel=pid,
                barcode=d["barcode"],
                size=d["size"],
                expires_at=expires_at,
            )
        return self.parcel(pid)

    def ask_deposit(self, op_id: int) -> OpRow:
        """The courier closed the door and the item sensor sees nothing inside: nothing
        is stored and nobody notified until the courier answers whether the parcel is
        inside (``confirm`` ``asked``); the compartment stays reserved meanwhile."""
        with self._tx():
            op = self._set_status(op_id, OpStatus.CLOSED, outcome="unconfirmed", confirm="asked")
            self._event(
                EventKind.DEPOSIT_UNCONFIRMED,
                Severity.WARNING,
                op.actor,
                op.compartment_id,
                operation=op_id,
                barcode=op.details.get("barcode"),
            )
        return self.op(op_id)

    def unconfirmed_deposits(self) -> list[OpRow]:
        """Deposits still waiting for their courier's answer (``ask_deposit``)."""
        rows = self._db.execute(
            "SELECT * FROM door_ops WHERE status = 'CLOSED' AND purpose = 'deposit'"
            " AND json_extract(details, '$.confirm') = 'asked' ORDER BY id"
        )
        return [OpRow.from_row(r) for r in rows]

    def drop_unconfirmed(self, op_id: int, confirm: str, reason: str) -> OpRow:
        """An unconfirmed deposit is not stored after all (``confirm``: the answer, or
        who settled it): the compartment is free again."""
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.CLOSED, outcome=reason, confirm=confirm)
            db.execute(
                "UPDATE compartments SET state = 'AVAILABLE' WHERE id = ? AND state = 'RESERVED'",
                (op.compartment_id,),
            )
            self._event(EventKind.COMPARTMENT_FREED, Severity.INFO, op.actor, op.compartment_id,
                        operation=op_id, reason=reason)  # fmt: skip
        return self.op(op_id)

    def finish_unused_deposit(self, op_id: int, reason: str) -> OpRow:
        """A deposit door closed without a parcel (it did not fit): the compartment is free."""
        with self._tx() as db:
            op = self._set_status(op_id, OpStatus.CLOSED, outcome=reason)
            db.execute(
                "UPDATE compartments SET state = 'AVAILABLE' WHERE id = ? AND state = 'RESERVED'",
                (op.compartment_id,),
            )
            self._event(EventKind.COMPARTMENT_FREED, Severity.INFO, op.actor, op.compartment_id,
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
                state, column, kind = (
                    ParcelState.PICKED_UP,
                    "picked_up_at",
                    EventKind.PARCEL_PICKED_UP,
                )
            else:
                state, column, kind = ParcelState.RETURNED, "returned_at", EventKind.PARCEL_RETURNED
            db.execute(
                f"UPDATE parcels SET state = ?, {column} = ? WHERE id = ?",
                (state, now, op.parcel_id),
            )
            db.execute(
                "UPDATE compartments SET state = 'AVAILABLE'"
                " WHERE id = ? AND state IN ('OCCUPIED', 'RESERVED')",
                (op.compartment_id,),
            )
            self._drop_code_nonces(op.parcel_id)
            self._event(kind, Severity.INFO, op.actor, op.compartment_id, operation=op_id,
                        parcel=op.parcel_id)  # fmt: skip
        return self.parcel(op.parcel_id)
