"""Compartments held for announced parcels (reservations).

An operator may ask a kiosk to keep a compartment for a parcel it announced, so that the
courier who brings it finds room. A held compartment stays ``AVAILABLE`` in the table
(nothing is in it and no door operation is live) but carries ``held_for``: the kiosk
gives it to no other deposit until the parcel arrives, the announcement is withdrawn, or
``held_until`` passes.
"""

from __future__ import annotations

from kiosk.domain import CompartmentState, ParcelState
from kiosk.errors import ConflictError
from kiosk.protocol.events import EventKind, Severity
from kiosk.store.base import StoreBase
from kiosk.store.rows import CompartmentRow


class HoldsMixin(StoreBase):
    def hold(self, cid: str, parcel_id: int, until: float, actor: str | None) -> None:
        with self._tx() as db:
            row = self._one("SELECT state, held_for FROM compartments WHERE id = ?", cid)
            parcel = self._one("SELECT state, barcode FROM parcels WHERE id = ?", parcel_id)
            if row is None or row["state"] != str(CompartmentState.AVAILABLE):
                raise ConflictError(f"compartment {cid} is not free to hold")
            if row["held_for"] is not None:
                raise ConflictError(f"compartment {cid} is already held")
            if parcel is None or parcel["state"] != str(ParcelState.ANNOUNCED):
                raise ConflictError("only an announced parcel can have a compartment held")
            db.execute(
                "UPDATE compartments SET held_for = ?, held_until = ? WHERE id = ?",
                (parcel_id, until, cid),
            )
            self._event(EventKind.COMPARTMENT_HELD, Severity.INFO, actor, cid, parcel=parcel_id,
                        barcode=parcel["barcode"], until=until)  # fmt: skip

    def next_parcel_id(self) -> int:
        """The id the next parcel will get (parcels are never deleted): what is held for
        it or a later one was held from now on."""
        row = self._one("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM parcels")
        return int(row["n"]) if row else 1

    def held_for_parcel(self, parcel_id: int) -> CompartmentRow | None:
        row = self._one("SELECT * FROM compartments WHERE held_for = ?", parcel_id)
        return CompartmentRow.from_row(row) if row else None

    def release_holds_of(self, parcel_id: int, reason: str, actor: str | None) -> list[str]:
        """Let go of what is held for a parcel; part of the caller's transaction if any."""
        with self._tx() as db:
            cids = [r["id"] for r in db.execute(
                "SELECT id FROM compartments WHERE held_for = ?", (parcel_id,))]  # fmt: skip
            for cid in cids:
                db.execute(
                    "UPDATE compartments SET held_for = NULL, held_until = NULL WHERE id = ?",
                    (cid,),
                )
                self._event(
                    EventKind.HOLD_RELEASED,
                    Severity.INFO,
                    actor,
                    cid,
                    parcel=parcel_id,
                    reason=reason,
                )
        return cids

    def release_expired_holds(self, now: float) -> list[str]:
        with self._tx() as db:
            rows = list(db.execute(
                "SELECT id, held_for FROM compartments WHERE held_for IS NOT NULL"
                " AND held_until <= ?", (now,)))  # fmt: skip
            for r in rows:
                db.execute(
                    "UPDATE compartments SET held_for = NULL, held_until = NULL WHERE id = ?",
                    (r["id"],),
                )
                self._event(
                    EventKind.HOLD_RELEASED,
                    Severity.INFO,
                    None,
                    r["id"],
                    parcel=r["held_for"],
                    reason="expired",
                )
        return [r["id"] for r in rows]
