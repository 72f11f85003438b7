"""Couriers and technicians managed centrally: what the operator's staff list last said.

The list arrives whole (kiosk/fleet/staff.py) and replaces the table in the transaction
that records it, its version and its events, so the kiosk holds one list or the next,
never part of either. Local users (``locker-kiosk users``) are another table and never
touched by a list; :meth:`kiosk.store.Store.person_by_name` says which of the two signs
in under a name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.domain import Role
from kiosk.store.base import StoreBase
from kiosk.store.rows import UserRow

STAFF_VERSION = "fleet.staff_version"
STAFF_ID = "fleet.staff_id"
STAFF_AT = "fleet.staff_at"


@dataclass(frozen=True)
class StaffPerson:
    """One person of a staff list, as the kiosk keeps them: the PIN as its verifier, the
    badge as its tag under the kiosk key."""

    name: str
    role: Role
    pin_hash: str | None
    badge_tag: str | None


@dataclass(frozen=True)
class StaffDiff:
    """What a new list changed, by name: who came, whose role, PIN or badge changed, and
    who is gone (revoked, or no longer allowed on this kiosk)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


class StaffMixin(StoreBase):
    def staff(self) -> list[UserRow]:
        """Everyone of the staff list in force, by name."""
        rows = self._db.execute("SELECT rowid, * FROM staff ORDER BY name COLLATE NOCASE")
        return [UserRow.from_staff_row(r) for r in rows]

    def staff_by_name(self, name: str) -> UserRow | None:
        row = self._one("SELECT rowid, * FROM staff WHERE name = ?", name)
        return UserRow.from_staff_row(row) if row else None

    def staff_by_badge(self, tag: str) -> UserRow | None:
        row = self._one("SELECT rowid, * FROM staff WHERE badge_tag = ?", tag)
        return UserRow.from_staff_row(row) if row else None

    def staff_version(self) -> int:
        """The version of the staff list in force; 0 before the first."""
        value = self.get_meta(STAFF_VERSION)
        return int(value) if value else 0

    def replace_staff(self, people: Sequence[StaffPerson], version: int, list_id: str) -> StaffDiff:
        """The table becomes ``people`` and the list in force ``version``; inside the
        caller's transaction (with its record and events), or alone. What changed, by
        name."""
        with self._tx() as db:
            before = {r["name"].lower(): r for r in db.execute("SELECT * FROM staff")}
            after = {p.name.lower(): p for p in people}
            now = self.clock()
            removed = sorted(before[k]["name"] for k in before.keys() - after.keys())
            added = sorted(after[k].name for k in after.keys() - before.keys())
            changed = sorted(p.name for k, p in after.items() if k in before
                             and _differs(before[k], p))  # fmt: skip
            db.execute("DELETE FROM staff")
            db.executemany(
                "INSERT INTO staff (name, role, pin_hash, badge_tag, version, updated_at)"
                " VALUES (?,?,?,?,?,?)",
                [(p.name, str(p.role), p.pin_hash, p.badge_tag, version, now) for p in people],
            )
            for key, value in ((STAFF_VERSION, str(version)), (STAFF_ID, list_id),
                               (STAFF_AT, repr(now))):  # fmt: skip
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        return StaffDiff(tuple(added), tuple(changed), tuple(removed))

    def pass_staff_version(self, version: int, list_id: str) -> None:
        """A list the kiosk could not use: the version in force moves past it, the people
        stay as they were."""
        self.set_metas_with_events({STAFF_VERSION: str(version), STAFF_ID: list_id})


def _differs(row: sqlite3.Row, person: StaffPerson) -> bool:
    kept = (row["name"], row["role"], row["pin_hash"], row["badge_tag"])
    return kept != (person.name, str(person.role), person.pin_hash, person.badge_tag)
