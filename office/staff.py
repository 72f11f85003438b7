"""Couriers and technicians managed centrally: what the console and ``locker-office
staff`` call.

A person is created here with a role, the kiosks they may work at (:class:`Scope`: all,
sites, a list of kiosks, or sites and kiosks) and optionally a badge. They choose their
PIN themselves with a **one-time enrolment code** (12 digits, 7 days, 5 tries) that the
office shows once, on creation or after a PIN reset: the person types the code and their
PIN into the console's enrolment page or ``locker-office staff enrol``, and the admin
never sees the PIN. The office keeps the PIN only as the kiosk-side verifier
(:func:`kiosk.fleet.messages.pin_verifier`, scrypt), the code as an argon2id hash.

Every change rebuilds the **whole** list of each kiosk it touches, in the transaction of
the change (all the lists, or no change), each list signed with the office's key and
sealed to that kiosk's staff key (``kiosk.fleet.messages.staff_list``), then publishes
each retained on the kiosk's ``staff`` topic. Each list is a command in ``commands``
(who asked, why, when it went out, the kiosk's answer) and a row of ``staff_updates``
(its version and envelope); every change is a line of the console audit with who asked.
A kiosk must be registered (:func:`register_kiosk`, with the key it prints) before it
gets a list. A list the broker did not take now goes out later: ``serve`` runs
:class:`StaffKeeper`, which also signs each list again before its 30 days run out.

Signatures (``sender`` is the serve process's :class:`~office.ingest.outgoing.
CommandSender`, or the one ``locker-office staff`` makes; ``actor`` names who asked, as
the audit shows it)::

    list_staff(engine, *, kiosk=None, site=None, include_revoked=False)
        -> list[StaffMember]
    create_staff(sender, name, role, scope, *, actor, badge=None) -> StaffChange
        # StaffChange.enrolment holds the one-time code: show it once
    update_staff(sender, name, *, actor, role=None, scope=None, badge=KEEP,
                 reset_pin=False) -> StaffChange
        # a new role, or reset_pin, voids the PIN at once and gives a new code
    revoke_staff(sender, name, *, actor, why=None) -> StaffChange
    enrol_staff(sender, name, code, pin) -> StaffChange
        # the person sets their PIN; the audit's actor is "staff:<name>"
    register_kiosk(sender, kiosk, key, *, actor, site=None) -> StaffChange
    unregister_kiosk(sender, kiosk, *, actor) -> bool
    kiosk_lists(engine) -> list[KioskList]
    publish_pending(sender, *, resign_after_s=RESIGN_AFTER_S) -> list[Delivery]

Each raises :class:`StaffError` (a ValueError) with a message for a person; none ever
holds a PIN or a code but the :class:`Enrolment` it returns.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

import kiosk.fleet.messages as messages
from kiosk.fleet.payloads import Body
from office.ingest.outgoing import CommandSender
from office.passwords import hash_password, verify
from office.store import commands
from office.store import staff as rows
from office.store.accounts import audit
from office.vocab import StaffRole

__all__ = [
    "KEEP",
    "RESIGN_AFTER_S",
    "Delivery",
    "Enrolment",
    "KioskList",
    "Scope",
    "StaffChange",
    "StaffError",
    "StaffKeeper",
    "StaffMember",
    "create_staff",
    "enrol_staff",
    "kiosk_lists",
    "list_staff",
    "publish_pending",
    "register_kiosk",
    "revoke_staff",
    "unregister_kiosk",
    "update_staff",
]

log = logging.getLogger("office.staff")

ENROL_DAYS = 7
ENROL_TRIES = 5
CODE_DIGITS = 12
RESIGN_AFTER_S = 7 * 86400.0
"""A list older than this is signed again (a new version, the same people), so a kiosk
that comes back after weeks finds one within its 30 days."""
SITE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()
"""``update_staff``'s ``badge`` when the badge stays as it is."""


class StaffError(ValueError):
    """A change that cannot be made; the message says why, for a person."""


@dataclass(frozen=True)
class Scope:
    """Where a person may sign in: every registered kiosk, or the kiosks of ``sites``
    and the ``kiosks`` named (a kiosk's site is set when it is registered)."""

    everywhere: bool = False
    sites: tuple[str, ...] = ()
    kiosks: tuple[str, ...] = ()

    @classmethod
    def all(cls) -> Scope:
        return cls(everywhere=True)

    def rows(self) -> list[tuple[str, str]]:
        if self.everywhere:
            return [(rows.ALL, rows.EVERYWHERE)]
        return [("site", s) for s in self.sites] + [("kiosk", k) for k in self.kiosks]

    @classmethod
    def of(cls, stored: Iterable[tuple[str, str]]) -> Scope:
        stored = list(stored)
        if (rows.ALL, rows.EVERYWHERE) in stored:
            return cls.all()
        return cls(
            sites=tuple(sorted(n for k, n in stored if k == "site")),
            kiosks=tuple(sorted(n for k, n in stored if k == "kiosk")),
        )

    def describe(self) -> str:
        if self.everywhere:
            return "all kiosks"
        return ", ".join([f"site {s}" for s in self.sites] + list(self.kiosks))


@dataclass(frozen=True)
class StaffMember:
    """A person as the console lists them; never their PIN, verifier or code."""

    name: str
    role: StaffRole
    scope: Scope
    has_badge: bool
    pin_set: bool
    enrolment_open_until: float | None
    created_at: float
    created_by: str
    updated_at: float
    revoked_at: float | None
    revoked_by: str | None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class Enrolment:
    """The one-time code a person sets their PIN with: show it once, to them."""

    name: str
    code: str = field(repr=False)
    expires_at: float


@dataclass(frozen=True)
class Delivery:
    """One kiosk's new list: its version, how many people, whether the broker took it
    (``False``: it goes out later, with ``serve``'s keeper)."""

    kiosk: str
    version: int
    people: int
    published: bool


@dataclass(frozen=True)
class StaffChange:
    member: StaffMember | None
    enrolment: Enrolment | None
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class KioskList:
    """A registered kiosk and its newest list: sent when, and what the kiosk said
    (``shadowed``: names a local user of that kiosk signs in as instead)."""

    kiosk: str
    site: str | None
    version: int | None
    people: int | None
    published_at: float | None
    answered_at: float | None
    ok: bool | None
    reason: str | None
    shadowed: tuple[str, ...]


# -- reading --------------------------------------------------------------------------


def list_staff(
    engine: Engine,
    *,
    kiosk: str | None = None,
    site: str | None = None,
    include_revoked: bool = False,
) -> list[StaffMember]:
    """Everyone, by name; ``kiosk``: those allowed on it (who is exposed if it is
    stolen); ``site``: those allowed on any kiosk of it."""
    with engine.connect() as conn:
        found = rows.people(conn, include_revoked)
        if kiosk is not None:
            reach = _reach(conn, [kiosk])
            found = [r for r in found if _reaches(r, reach)]
        if site is not None:
            ids = [r.kiosk for r in rows.registered(conn) if r.site == site]
            reach = _reach(conn, ids) | {("site", site)}
            found = [r for r in found if _reaches(r, reach)]
    return [_member(r) for r in found]


def kiosk_lists(engine: Engine) -> list[KioskList]:
    """Every registered kiosk with its newest list, by id."""
    with engine.connect() as conn:
        kiosks = rows.registered(conn)
        newest = {n.kiosk: n for n in rows.newest(conn, [k.kiosk for k in kiosks])}
    return [_kiosk_list(k, newest.get(k.kiosk)) for k in kiosks]


def _kiosk_list(kiosk: rows.Registered, n: rows.Newest | None) -> KioskList:
    if n is None:
        return KioskList(kiosk.kiosk, kiosk.site, None, None, None, None, None, None, ())
    shadowed = tuple((n.result or {}).get("shadowed", ()))
    return KioskList(
        kiosk.kiosk,
        kiosk.site,
        n.version,
        n.people,
        n.published_at,
        n.answered_at,
        n.ok,
        n.reason,
        shadowed,
    )


# -- changing -------------------------------------------------------------------------


def create_staff(
    sender: CommandSender,
    name: str,
    role: StaffRole | str,
    scope: Scope,
    *,
    actor: str,
    badge: str | None = None,
) -> StaffChange:
    """A new courier or technician, known at the kiosks of ``scope`` at once; they sign
    in once they set their PIN with the enrolment code returned."""
    name, role = _name(name), _role(role)
    scope, badge = _scope(scope), _badge(badge)
    code, expires = _new_code()
    enrol_hash = hash_password(code)  # (argon2id takes a while: not inside the transaction)
    with sender.engine.begin() as conn:
        taken = rows.person(conn, name)
        if taken is not None:
            raise StaffError(_taken(taken))
        _badge_free(conn, badge, name)
        rows.insert(
            conn,
            {
                "name": name,
                "role": str(role),
                "badge": badge,
                "created_by": actor,
                "enrol_hash": enrol_hash,
                "enrol_expires_at": expires,
            },
            scope.rows(),
        )
        audit(
            conn,
            actor,
            "staff_added",
            name,
            role=str(role),
            scope=scope.describe(),
            badge=badge is not None,
        )
        updates = _rebuild(conn, sender, rows.kiosks_in(conn, scope.rows()), actor, name)
        member = _member(_person(conn, name))
    return StaffChange(member, Enrolment(name, _shown(code), expires), _publish(sender, updates))


def update_staff(
    sender: CommandSender,
    name: str,
    *,
    actor: str,
    role: StaffRole | str | None = None,
    scope: Scope | None = None,
    badge: str | _Keep | None = KEEP,
    reset_pin: bool = False,
) -> StaffChange:
    """Change a person's role, kiosks or badge, or reset their PIN. A new role, or
    ``reset_pin``, voids the PIN at once (the person cannot sign in until they set a
    new one) and returns a new enrolment code: a PIN chosen for a courier may be too
    short for a technician, and a reset is for a PIN others may know."""
    fresh = _new_code() if (role is not None or reset_pin) else None
    fresh_hash = hash_password(fresh[0]) if fresh else None  # before the transaction
    with sender.engine.begin() as conn:
        person = _active(conn, name)
        before = rows.kiosks_in(conn, person.scopes)
        values, said = _changes(conn, person, role, scope, badge)
        enrolment = None
        if fresh is not None and ("role" in values or reset_pin):
            code, expires = fresh
            values.update(_voided_pin(fresh_hash, expires))
            enrolment = Enrolment(person.name, _shown(code), expires)
            said["pin"] = "reset"
        if not values and scope is None:
            raise StaffError(f"nothing to change for {person.name}")
        rows.update(conn, person.id, **values)
        if scope is not None:
            rows.set_scopes(conn, person.id, _scope(scope).rows())
        audit(conn, actor, "staff_changed", person.name, **said)
        after = rows.kiosks_in(conn, (scope or Scope.of(person.scopes)).rows())
        updates = _rebuild(conn, sender, set(before) | set(after), actor, person.name)
        member = _member(_person(conn, person.name))
    return StaffChange(member, enrolment, _publish(sender, updates))


def _voided_pin(enrol_hash: str | None, expires: float) -> dict[str, Any]:
    return {
        "pin_hash": None,
        "pin_set_at": None,
        "enrol_hash": enrol_hash,
        "enrol_expires_at": expires,
        "enrol_failures": 0,
    }


def revoke_staff(
    sender: CommandSender, name: str, *, actor: str, why: str | None = None
) -> StaffChange:
    """The person may no longer sign in anywhere: every kiosk they were allowed on gets
    a list without them (online kiosks within seconds; one that is away before its
    next sign-in after it is back), which also ends their sessions there. Their PIN's
    verifier is dropped; their name stays taken, for the history."""
    with sender.engine.begin() as conn:
        person = _active(conn, name)
        rows.update(
            conn,
            person.id,
            revoked_at=time.time(),
            revoked_by=actor,
            pin_hash=None,
            enrol_hash=None,
            enrol_expires_at=None,
        )
        audit(conn, actor, "staff_revoked", person.name, why=(why or "")[:500])
        kiosks = rows.kiosks_in(conn, person.scopes)
        updates = _rebuild(conn, sender, kiosks, actor, person.name, why)
        member = _member(_person(conn, person.name))
    return StaffChange(member, None, _publish(sender, updates))


def enrol_staff(sender: CommandSender, name: str, code: str, pin: str) -> StaffChange:
    """The person sets their PIN with their enrolment code. A wrong code counts: after
    :data:`ENROL_TRIES` the code is void and an admin resets the PIN again. The PIN
    must suit their role (:data:`kiosk.fleet.messages.STAFF_PIN_DIGITS`, none a guesser
    tries first); a PIN refused for that leaves the code as it was."""
    with sender.engine.connect() as conn:
        person = rows.person(conn, name)
    if person is None or person.revoked_at is not None or person.enrol_hash is None:
        raise StaffError(f"no enrolment is open for {name[:32]!r}: ask for a new code")
    try:
        verifier = messages.pin_verifier(pin, person.role)
    except ValueError as exc:
        raise StaffError(str(exc)) from None
    _check_code(sender.engine, person, code)
    actor = f"staff:{person.name}"
    with sender.engine.begin() as conn:
        person = _active(conn, person.name)
        if person.enrol_hash is None:
            raise StaffError(f"the code for {person.name} was used meanwhile: ask for a new one")
        rows.update(
            conn,
            person.id,
            pin_hash=verifier,
            pin_set_at=time.time(),
            enrol_hash=None,
            enrol_expires_at=None,
            enrol_failures=0,
        )
        audit(conn, actor, "staff_enrolled", person.name)
        updates = _rebuild(conn, sender, rows.kiosks_in(conn, person.scopes), actor, person.name)
        member = _member(_person(conn, person.name))
    return StaffChange(member, None, _publish(sender, updates))


def register_kiosk(
    sender: CommandSender, kiosk: str, key: str, *, actor: str, site: str | None = None
) -> StaffChange:
    """The kiosk's staff key (``locker-kiosk users staff-key`` prints it on the kiosk)
    and its site: from now on it gets its list, at once (maybe an empty one, so that it
    always finds one at the broker when it connects). Registering again changes the key
    or the site."""
    try:
        kiosk, key = messages.check_kiosk_id(kiosk), messages.check_staff_key(key)
    except ValueError as exc:
        raise StaffError(str(exc)) from None
    if site is not None and not SITE.fullmatch(site):
        raise StaffError(f"a site is 1 to 64 letters, digits, '_', '.' or '-'; got {site!r}")
    with sender.engine.begin() as conn:
        rows.register(conn, kiosk, key, site, actor)
        audit(conn, actor, "staff_kiosk_registered", kiosk, kiosk=kiosk, site=site)
        updates = _rebuild(conn, sender, [kiosk], actor, None)
    return StaffChange(None, None, _publish(sender, updates))


def unregister_kiosk(sender: CommandSender, kiosk: str, *, actor: str) -> bool:
    """The kiosk gets no more lists, and the broker keeps none for it (its retained list
    is cleared): for a kiosk taken out of service, or stolen. For a stolen kiosk, first
    list who was allowed on it (``list_staff(engine, kiosk=...)``), then unregister it,
    then reset those people's PINs: lists sent to it after that would carry the new
    verifiers to whoever holds its key. Whether it was registered."""
    with sender.engine.begin() as conn:
        was = rows.unregister(conn, kiosk, actor)
        if was:
            audit(conn, actor, "staff_kiosk_unregistered", kiosk, kiosk=kiosk)
    if was and not sender.link.publish(messages.topic(kiosk, "staff"), b"", retain=True):
        log.warning(
            "the retained staff list of %s could not be cleared: the broker is not reachable", kiosk
        )
    return was


def publish_pending(
    sender: CommandSender, *, resign_after_s: float = RESIGN_AFTER_S
) -> list[Delivery]:
    """Publish each kiosk's newest list the broker has not taken yet, and sign again the
    lists older than ``resign_after_s``; what went out."""
    with sender.engine.connect() as conn:
        newest = {n.kiosk: n for n in rows.newest(conn)}
        kiosks = [k.kiosk for k in rows.registered(conn)]
    now = time.time()
    stale = [k for k in kiosks if k not in newest or now - newest[k].created_at > resign_after_s]
    updates: list[_Update] = []
    if stale:
        with sender.engine.begin() as conn:
            updates = _rebuild(conn, sender, stale, "office", None, "signed again")
    unsent = [
        _Update(n.kiosk, n.version, n.people)
        for k, n in newest.items()
        if n.published_at is None and k not in stale
    ]
    return list(_publish(sender, updates + unsent))


# -- the lists ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Update:
    kiosk: str
    version: int
    people: int


def _rebuild(
    conn: sa.Connection,
    sender: CommandSender,
    kiosks: Iterable[str],
    actor: str,
    about: str | None,
    why: str | None = None,
) -> list[_Update]:
    """Each of ``kiosks``' whole list as it now stands, signed, sealed and recorded;
    in kiosk order, each kiosk locked, so versions follow the changes."""
    made = []
    for kiosk in sorted(set(kiosks)):
        registered = rows.lock_kiosk(conn, kiosk)
        if registered is not None:
            made.append(_one_list(conn, sender, registered, actor, about, why))
    return made


def _one_list(
    conn: sa.Connection,
    sender: CommandSender,
    kiosk: rows.Registered,
    actor: str,
    about: str | None,
    why: str | None,
) -> _Update:
    people = [
        messages.StaffEntry(p.name, p.role, p.pin_hash, p.badge)
        for p in rows.allowed_on(conn, kiosk)
    ]
    now = time.time()
    version = max(rows.newest_version(conn, kiosk.kiosk) + 1, int(now * 1000))
    try:
        out = messages.staff_list(
            sender.signer, kiosk.kiosk, kiosk.staff_key, people, version=version, now=now
        )
    except ValueError as exc:
        raise StaffError(str(exc)) from None
    sent: Body = {**out.body, "args": {"version": version, "people": len(people)}}
    reason = (f"staff: {about}" if about else "staff") + (f" ({why})" if why else "")
    commands.record(conn, sent, actor, reason[:500])
    rows.add_update(conn, kiosk.kiosk, version, out.id, len(people), out.payload.decode())
    return _Update(kiosk.kiosk, version, len(people))


def _publish(sender: CommandSender, updates: Sequence[_Update]) -> tuple[Delivery, ...]:
    """Publish each kiosk's newest list, retained, until the newest the broker took is
    the newest recorded: another process may have recorded a newer list meanwhile, and
    the broker must keep the newest, whatever order the two publish in."""
    return tuple(
        Delivery(u.kiosk, u.version, u.people, _publish_newest(sender, u.kiosk)) for u in updates
    )


def _publish_newest(sender: CommandSender, kiosk: str) -> bool:
    done: str | None = None
    while True:
        with sender.engine.connect() as conn:
            (newest,) = rows.newest(conn, [kiosk]) or (None,)
        if newest is None or newest.command_id == done:
            return True
        topic = messages.topic(kiosk, "staff")
        if not sender.link.publish(topic, newest.payload.encode(), retain=True):
            log.warning(
                "the staff list of %s was not published: the broker is not reachable; "
                "it is sent again later",
                kiosk,
            )
            return False
        with sender.engine.begin() as conn:
            commands.published(conn, newest.command_id, time.time())
        done = newest.command_id


# -- checks ---------------------------------------------------------------------------


def _name(name: str) -> str:
    if not isinstance(name, str) or not messages.PERSON_NAME.fullmatch(name):
        raise StaffError(
            "a name is 1 to 32 letters A-Z, digits or '-', as the kiosk's keyboard types "
            f"them; got {str(name)[:40]!r}"
        )
    return name


def _role(role: StaffRole | str) -> StaffRole:
    try:
        return StaffRole(role)
    except ValueError:
        raise StaffError(f"a role is courier or technician, not {str(role)[:20]!r}") from None


def _scope(scope: Scope) -> Scope:
    if scope.everywhere and (scope.sites or scope.kiosks):
        raise StaffError("all kiosks, or sites and kiosks: not both")
    if not (scope.everywhere or scope.sites or scope.kiosks):
        raise StaffError("say where they may sign in: all kiosks, a site or kiosks")
    for site in scope.sites:
        if not SITE.fullmatch(site):
            raise StaffError(f"a site is 1 to 64 letters, digits, '_', '.' or '-'; got {site!r}")
    for kiosk in scope.kiosks:
        try:
            messages.check_kiosk_id(kiosk)
        except ValueError as exc:
            raise StaffError(str(exc)) from None
    return scope


def _badge(badge: str | None) -> str | None:
    if badge is None:
        return None
    badge = badge.strip()
    if not 0 < len(badge) <= 256 or not badge.isprintable():
        raise StaffError("a badge code is 1 to 256 printable characters")
    return badge


def _badge_free(conn: sa.Connection, badge: str | None, name: str) -> None:
    holder = rows.badge_holder(conn, badge) if badge else None
    if holder is not None and holder.lower() != name.lower():
        raise StaffError(f"that badge is {holder}'s")


def _changes(
    conn: sa.Connection,
    person: rows.Row,
    role: StaffRole | str | None,
    scope: Scope | None,
    badge: str | _Keep | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = {}
    said: dict[str, Any] = {}
    if role is not None and _role(role) != person.role:
        values["role"] = said["role"] = str(_role(role))
    if scope is not None:
        said["scope"] = _scope(scope).describe()
    if not isinstance(badge, _Keep):
        values["badge"] = _badge(badge)
        _badge_free(conn, values["badge"], person.name)
        said["badge"] = values["badge"] is not None
    return values, said


def _taken(person: rows.Row) -> str:
    if person.revoked_at is not None:
        return f"{person.name} was revoked; a name is not given again: choose another"
    return (
        f"there is already a {person.role} named {person.name} (names are read without "
        "regard to capitals)"
    )


def _active(conn: sa.Connection, name: str) -> rows.Row:
    person = rows.person(conn, name, lock=True)
    if person is None or person.revoked_at is not None:
        raise StaffError(f"there is nobody named {name[:32]!r} who is not revoked")
    return person


def _person(conn: sa.Connection, name: str) -> rows.Row:
    person = rows.person(conn, name)
    assert person is not None
    return person


def _new_code() -> tuple[str, float]:
    digits = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    return digits, time.time() + ENROL_DAYS * 86400


def _shown(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _check_code(engine: Engine, person: rows.Row, code: str) -> None:
    """A wrong, expired or used-up code is refused, and a wrong one counted."""
    digits = "".join(c for c in code if c.isdigit())
    expired = person.enrol_expires_at is not None and person.enrol_expires_at < time.time()
    if expired or person.enrol_failures >= ENROL_TRIES:
        raise StaffError(
            f"the enrolment code for {person.name} is no longer valid: ask for a new one"
        )
    assert person.enrol_hash is not None
    if verify(person.enrol_hash, digits):
        return
    left = ENROL_TRIES - person.enrol_failures - 1
    with engine.begin() as conn:
        rows.update(conn, person.id, enrol_failures=person.enrol_failures + 1)
        audit(
            conn,
            f"staff:{person.name}",
            "staff_enrol_refused",
            person.name,
            outcome="refused",
            tries_left=left,
        )
    then = f" ({left} tries left)" if left else "; it is void now: ask for a new one"
    raise StaffError(f"that is not the enrolment code for {person.name}{then}")


def _member(r: rows.Row) -> StaffMember:
    open_until = r.enrol_expires_at if r.enrol_hash is not None else None
    if r.enrol_failures >= ENROL_TRIES:
        open_until = None
    return StaffMember(
        r.name,
        StaffRole(r.role),
        Scope.of(r.scopes),
        r.badge is not None,
        r.pin_hash is not None,
        open_until,
        r.created_at,
        r.created_by,
        r.updated_at,
        r.revoked_at,
        r.revoked_by,
    )


def _reach(conn: sa.Connection, kiosks: Sequence[str]) -> set[tuple[str, str]]:
    """The scopes that reach any of ``kiosks``."""
    reach = {(rows.ALL, rows.EVERYWHERE)} | {("kiosk", kiosk) for kiosk in kiosks}
    return reach | {("site", site) for site in rows.sites(conn, kiosks)}


def _reaches(person: rows.Row, reach: set[tuple[str, str]]) -> bool:
    return any(scope in reach for scope in person.scopes)


# -- in serve -------------------------------------------------------------------------


class StaffKeeper:
    """``serve``'s thread for :func:`publish_pending`, every ``interval_s``."""

    def __init__(self, sender: CommandSender, interval_s: float = 30.0) -> None:
        self.sender = sender
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="office-staff", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                sent = publish_pending(self.sender)
            except Exception:
                log.exception("staff lists could not be published; tried again later")
                continue
            if sent:
                log.info("staff lists published: %s", ", ".join(d.kiosk for d in sent))
