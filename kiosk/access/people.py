"""Everyone who may sign in at this kiosk, as ``locker-kiosk users list`` and
``GET /v1/users`` show them.

Two kinds of people sign in: **local** users, added at the kiosk with ``locker-kiosk
users`` (for a kiosk without a network, or one person at one kiosk), and the operator's
**central** staff, from the staff list the network last sent (kiosk/fleet/staff.py).
When a name is both, the local user is the one who signs in: a list from the network
never takes over an account made at the kiosk, and the central one is shown as
``shadowed``, so the clash is seen and a technician can remove the local user if the
central one should sign in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kiosk.store import Store


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    source: str
    """``local`` or ``central``."""
    badge: bool
    pin_set: bool
    """False for central staff who have not chosen a PIN yet: they cannot sign in."""
    in_force: bool
    """Whether this is who signs in under the name (False: shadowed by a local user)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def people(store: Store) -> list[Person]:
    """Local users and central staff, by name (a local user first on a clash)."""
    local = store.users()
    taken = {u.name.lower() for u in local}
    found = [Person(u.name, str(u.role), "local", u.has_badge, True, True) for u in local]
    for u in store.staff():
        in_force = u.name.lower() not in taken
        pin_set = u.pin_hash is not None
        found.append(Person(u.name, str(u.role), "central", u.has_badge, pin_set, in_force))
    return sorted(found, key=lambda p: (p.name.lower(), p.source != "local"))


def describe(person: Person) -> str:
    """One line of ``locker-kiosk users list``."""
    notes = []
    if person.badge:
        notes.append("badge")
    if not person.pin_set:
        notes.append("no PIN chosen yet: cannot sign in")
    if not person.in_force:
        notes.append("shadowed: the local user of this name signs in here")
    return f"{person.name:<24} {person.role:<11} {person.source:<8} {', '.join(notes)}".rstrip()
