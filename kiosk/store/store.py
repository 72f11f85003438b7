"""The :class:`Store`: use cases as transactions over the SQLite file."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence

from kiosk.domain import CompartmentState, ParcelState, Purpose, Role
from kiosk.errors import ConflictError, InvalidInput, NotFound
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import OutOfService
from kiosk.store.base import CompartmentSpec, OutboxItem, StoreBase, StoreError
from kiosk.store.checks import ChecksMixin
from kiosk.store.fleet import FleetMixin
from kiosk.store.holds import HoldsMixin
from kiosk.store.identity import IdentityMixin
from kiosk.store.journal import JournalMixin
from kiosk.store.outbox import OutboxMixin
from kiosk.store.rows import CompartmentRow, ParcelRow, UserRow
from kiosk.store.staff import StaffMixin

__all__ = ["CompartmentSpec", "OutboxItem", "Store", "StoreError"]


class Store(
    StaffMixin,
    ChecksMixin,
    IdentityMixin,
    HoldsMixin,
    FleetMixin,
    JournalMixin,
    OutboxMixin,
    StoreBase,
):
    """One connection, used by one thread (the daemon's event loop)."""

    # -- compartments ---------------------------------------------------------------

    def sync_compartments(self, specs: Sequence[CompartmentSpec]) -> None:
        """Make the table match the config; compartments left out are kept, hidden.

        Writes only when something differs, so that an unchanged kiosk starts on a disk
        too full to write."""
        if self._compartments_match(specs):
            return
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

    def _compartments_match(self, specs: Sequence[CompartmentSpec]) -> bool:
        rows = self._db.execute(
            "SELECT id, size, board, lock, accessible FROM compartments WHERE in_config = 1"
        )
        stored = {(r["id"], r["size"], r["board"], r["lock"], bool(r["accessible"])) for r in rows}
        return stored == {(s.id, s.size, s.board, s.lock, s.accessible) for s in specs}

    def compartments(self) -> list[CompartmentRow]:
        rows = self._db.execute("SELECT * FROM compartments WHERE in_config = 1 ORDER BY id")
        return [CompartmentRow.from_row(r) for r in rows]

    def compartment(self, cid: str) -> CompartmentRow:
        row = self._one("SELECT * FROM compartments WHERE id = ? AND in_config = 1", cid)
        if row is None:
            raise NotFound(f"no compartment {cid}")
        return CompartmentRow.from_row(row)

    def set_out_of_service(self, cid: str, why: OutOfService, actor: str | None) -> CompartmentRow:
        """Take ``cid`` out of service, its reason kept as codes; the event carries the
        English made from them."""
        with self._tx():
            self._out_of_service(cid, why)
            self._event(EventKind.OUT_OF_SERVICE, Severity.WARNING, actor, cid, reason=why.text)
        return self.compartment(cid)

    def set_in_service(self, cid: str, actor: str | None) -> CompartmentRow:
        with self._tx() as db:
            if self._live_op(cid) is not None:
                raise ConflictError(f"compartment {cid} has a door operation in progress")
            state = (
                CompartmentState.OCCUPIED
                if self._live_parcel_row(cid)
                else CompartmentState.AVAILABLE
            )
            db.execute(
                "UPDATE compartments SET state = ?, oos_code = NULL, oos_result = NULL,"
                " oos_seconds = NULL, oos_words = NULL WHERE id = ?",
                (state, cid),
            )
            self._event(EventKind.IN_SERVICE, Severity.INFO, actor, cid, state=state)
        return self.compartment(cid)

    # -- parcels --------------------------------------------------------------------

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
            self._event(
                EventKind.PARCEL_ANNOUNCED,
                Severity.INFO,
                actor,
                None,
                parcel=pid,
                barcode=barcode,
                size=size,
            )
        return self.parcel(pid)

    def cancel_announcement(self, barcode: str, actor: str | None) -> ParcelRow:
        """Withdraw an announcement; refused once the parcel is in (or going into) the kiosk."""
        with self._tx() as db:
            parcel = self.parcel_by_barcode(barcode)
            if parcel is None:
                raise NotFound(f"no parcel {barcode} is announced")
            if parcel.state is not ParcelState.ANNOUNCED:
                raise ConflictError(f"parcel {barcode} is already in the kiosk")
            busy = self._one(
                "SELECT id FROM door_ops WHERE status IN ('UNLOCK_SENT', 'OPENED', 'LEFT_OPEN')"
                " AND json_extract(details, '$.announced_parcel') = ?",
                parcel.id,
            )
            if busy is not None:
                raise ConflictError(f"parcel {barcode} is being deposited right now")
            db.execute("UPDATE parcels SET state = 'CANCELLED' WHERE id = ?", (parcel.id,))
            self.release_holds_of(parcel.id, "announcement cancelled", actor)
            self._event(
                EventKind.ANNOUNCEMENT_CANCELLED,
                Severity.INFO,
                actor,
                None,
                parcel=parcel.id,
                barcode=barcode,
            )
        return self.parcel(parcel.id)

    def live_parcels(self) -> dict[str, ParcelRow]:
        """The parcel in each compartment that holds one (stored or expired), by compartment."""
        rows = self._db.execute(
            "SELECT * FROM parcels WHERE state IN ('STORED', 'EXPIRED')"
            " AND compartment_id IS NOT NULL"
        )
        return {r["compartment_id"]: ParcelRow.from_row(r) for r in rows}

    def extend_hold(
        self, barcode: str, hours: float, actor: str | None, *, limit_hours: float
    ) -> ParcelRow:
        """Move the end of a parcel's hold ``hours`` later, up to ``limit_hours`` in all.

        A STORED parcel's ``expires_at`` moves on. An EXPIRED parcel still in its
        compartment goes back to STORED, so its code opens the door again, if the new
        end lies in the future and no courier is collecting it for return right now.
        ``extended_hours`` counts every extension, so the hold never ends later than
        ``limit_hours`` after the end it was first given. Raises :class:`InvalidInput`
        (hours not above 0), :class:`NotFound` (no such parcel in the kiosk) or
        :class:`ConflictError` with a ``reason``.
        """
        if not math.isfinite(hours) or hours <= 0:
            raise InvalidInput("Extend a hold by more than 0 hours.")
        with self._tx() as db:
            parcel = self.parcel_by_barcode(barcode)
            if parcel is None:
                raise NotFound(f"No parcel {barcode} is in this kiosk.")
            self._check_extension(parcel, hours, limit_hours)
            assert parcel.expires_at is not None
            expires_at = parcel.expires_at + hours * 3600
            extended = parcel.extended_hours + hours
            db.execute(
                "UPDATE parcels SET state = 'STORED', expired_at = NULL, expires_at = ?,"
                " extended_hours = ? WHERE id = ?",
                (expires_at, extended, parcel.id),
            )
            self._event(
                EventKind.HOLD_EXTENDED,
                Severity.INFO,
                actor,
                parcel.compartment_id,
                parcel=parcel.id,
                barcode=barcode,
                hours=hours,
                expires_at=expires_at,
                extended_hours=extended,
                was=str(parcel.state),
            )
        return self.parcel(parcel.id)

    def _check_extension(self, parcel: ParcelRow, hours: float, limit_hours: float) -> None:
        if parcel.state not in (ParcelState.STORED, ParcelState.EXPIRED):
            raise ConflictError(
                f"Parcel {parcel.barcode} has not been delivered yet.", "not_stored"
            )
        if limit_hours <= 0:
            raise ConflictError("Extending a hold is switched off on this kiosk.", "extend_off")
        # A rounding margin: 24 h + 48 h must fit a limit of 72 h however floats add up.
        if parcel.extended_hours + hours > limit_hours + 1e-9:
            left = limit_hours - parcel.extended_hours
            most = f"{limit_hours:g} hours in all"
            raise ConflictError(
                f"Parcel {parcel.barcode}'s hold can be extended by {left:g} more hours at "
                f"most ({most})."
                if left > 0
                else f"Parcel {parcel.barcode}'s hold has been extended by the most allowed "
                f"({most}).",
                "extend_limit",
            )
        if parcel.state is ParcelState.EXPIRED:
            assert parcel.expires_at is not None and parcel.compartment_id is not None
            if parcel.expires_at + hours * 3600 <= self.clock():
                raise ConflictError(
                    f"Parcel {parcel.barcode}'s hold would still have ended: extend it by more.",
                    "still_expired",
                )
            live = self._live_op(parcel.compartment_id)
            if live is not None and live["purpose"] == Purpose.RETURN:
                raise ConflictError(
                    f"Parcel {parcel.barcode} is being collected for return right now.",
                    "being_returned",
                )

    def counts(self) -> dict[str, int]:
        """Parcels announced or in the kiosk, by state. History (picked up, returned)
        is left out: counting a million rows on every status request would be slow."""
        out: dict[str, int] = {}
        rows = self._db.execute(
            "SELECT state, COUNT(*) AS n FROM parcels"
            " WHERE state IN ('ANNOUNCED', 'STORED', 'EXPIRED') GROUP BY state"
        )
        for r in rows:
            out[r["state"]] = r["n"]
        return out

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
                self._event(
                    EventKind.PARCEL_EXPIRED,
                    Severity.INFO,
                    None,
                    r["compartment_id"],
                    parcel=r["id"],
                    barcode=r["barcode"],
                )
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
                self._event(EventKind.PICKUP_REMINDER, Severity.INFO, None, r["compartment_id"],
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

    # -- the kiosk's timeline -------------------------------------------------------

    def shift_times_since(self, first_op: int, step: float, first_parcel: int | None = None
                          ) -> int:  # fmt: skip
        """The kiosk's timeline moved ``step`` seconds (:mod:`kiosk.clock`): what was
        stamped on it since door operation ``first_op`` and parcel ``first_parcel`` moves
        along, so that no duration changes. That is the deadlines of parcels stored
        since then, the times of those door operations (the mass-open guard counts them
        again after a restart), the compartments held for parcels announced since then
        and those announcements' times, and the notifications waiting for a retry.
        Returns how many parcels moved."""
        with self._tx() as db:
            if first_parcel is not None:
                # A hold is made with its parcel's announcement: both are this timeline's.
                db.execute(
                    "UPDATE compartments SET held_until = held_until + ? WHERE held_for >= ?",
                    (step, first_parcel),
                )
                db.execute(
                    "UPDATE parcels SET announced_at = announced_at + ?"
                    " WHERE id >= ? AND announced_at IS NOT NULL",
                    (step, first_parcel),
                )
            moved = db.execute(
                "UPDATE parcels SET stored_at = stored_at + ?, expires_at = expires_at + ?"
                " WHERE state = 'STORED' AND id IN (SELECT parcel_id FROM door_ops"
                " WHERE id >= ? AND purpose = 'deposit' AND parcel_id IS NOT NULL)",
                (step, step, first_op),
            ).rowcount
            db.execute(
                "UPDATE door_ops SET created_at = created_at + ?, updated_at = updated_at + ?"
                " WHERE id >= ?",
                (step, step, first_op),
            )
            db.execute(
                "UPDATE outbox SET next_at = next_at + ? WHERE delivered_at IS NULL AND failed = 0",
                (step,),
            )
        return int(moved)

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
            self._event(EventKind.USER_ADDED, Severity.INFO, None, None, user=name, role=str(role))
        return self.user(name)

    def user(self, name: str) -> UserRow:
        row = self._one("SELECT * FROM users WHERE name = ?", name)
        if row is None:
            raise NotFound(f"no user {name!r}")
        return UserRow.from_row(row)

    def user_by_name(self, name: str) -> UserRow | None:
        """The user named ``name``, ignoring case (the touchscreen's keyboard types
        capitals), an exact match first; ``None`` if nobody is."""
        row = self._one(
            "SELECT * FROM users WHERE name = ? COLLATE NOCASE ORDER BY name = ? DESC LIMIT 1",
            name, name,
        )  # fmt: skip
        return UserRow.from_row(row) if row else None

    def users(self) -> list[UserRow]:
        return [UserRow.from_row(r) for r in self._db.execute("SELECT * FROM users ORDER BY name")]

    def person_by_name(self, name: str) -> UserRow | None:
        """Who signs in as ``name``: the local user of that name (capitals aside), else
        the centrally managed one. A local user wins a clash: a list from the network
        never takes over an account made at the kiosk (docs/fleet.md, "Staff")."""
        return self.user_by_name(name) or self.staff_by_name(name)

    def person_by_badge(self, tag: str) -> UserRow | None:
        """Whose badge has the tag ``tag``: a local user's first, as by name."""
        local = self.user_by_badge(tag)
        if local is not None:
            return local
        central = self.staff_by_badge(tag)
        if central is None or self.user_by_name(central.name) is not None:
            return None  # that name is a local user's here: the list's badge is not theirs
        return central

    def user_by_badge(self, tag: str) -> UserRow | None:
        row = self._one("SELECT * FROM users WHERE badge_tag = ?", tag)
        return UserRow.from_row(row) if row else None

    def remove_user(self, name: str) -> None:
        with self._tx() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no user {name!r}")
            self._event(EventKind.USER_REMOVED, Severity.INFO, None, None, user=name)
