"""The staff tables: people, where they may work, and each kiosk's signed lists.

SQL only; office/staff.py decides. Every function works inside the caller's
transaction. A kiosk's list is rebuilt with its row locked (``FOR UPDATE`` on
PostgreSQL; SQLite's transactions begin ``IMMEDIATE`` and so take one writer at a time),
so two processes changing staff at once give each kiosk lists whose versions follow the
order of the changes they carry.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from office.store import schema as s

S = s.staff.c
SC = s.staff_scopes.c
K = s.kiosks.c
U = s.staff_updates.c
C = s.commands.c

ALL = "all"
EVERYWHERE = "*"


@dataclass(frozen=True)
class Row:
    """One person as stored (what office/staff.py shows is made from this)."""

    id: int
    name: str
    role: str
    pin_hash: str | None
    pin_set_at: float | None
    badge: str | None
    enrol_hash: str | None
    enrol_expires_at: float | None
    enrol_failures: int
    created_at: float
    created_by: str
    updated_at: float
    revoked_at: float | None
    revoked_by: str | None
    scopes: tuple[tuple[str, str], ...]
    """``(scope, name)``: ``("all", "*")``, ``("site", S)``, ``("kiosk", K)``."""


@dataclass(frozen=True)
class Registered:
    kiosk: str
    site: str | None
    staff_key: str


@dataclass(frozen=True)
class Newest:
    """A kiosk's newest list: its record, whether it went out, and the kiosk's answer."""

    kiosk: str
    version: int
    command_id: str
    people: int
    payload: str
    created_at: float
    published_at: float | None
    answered_at: float | None
    ok: bool | None
    reason: str | None
    result: dict[str, Any] | None


# -- people ---------------------------------------------------------------------------


def person(conn: sa.Connection, name: str, lock: bool = False) -> Row | None:
    """The person named ``name`` (capitals aside), revoked or not."""
    query = sa.select(s.staff).where(S.name_key == name.lower())
    if lock:
        query = query.with_for_update()
    found = conn.execute(query).mappings().first()
    return _row(conn, found) if found is not None else None


def people(conn: sa.Connection, include_revoked: bool = False) -> list[Row]:
    query = sa.select(s.staff).order_by(S.name_key)
    if not include_revoked:
        query = query.where(S.revoked_at.is_(None))
    scopes = _scopes(conn)
    return [_row(conn, r, scopes) for r in conn.execute(query).mappings()]


def badge_holder(conn: sa.Connection, badge: str) -> str | None:
    """Who, not revoked, has the badge ``badge``."""
    return conn.execute(
        sa.select(S.name).where(S.badge == badge, S.revoked_at.is_(None))
    ).scalar_one_or_none()


def insert(conn: sa.Connection, values: dict[str, Any], scopes: Iterable[tuple[str, str]]) -> int:
    now = time.time()
    key = conn.execute(
        s.staff.insert().values(
            **values, name_key=values["name"].lower(), created_at=now, updated_at=now
        )
    ).inserted_primary_key
    assert key is not None
    set_scopes(conn, int(key[0]), scopes)
    return int(key[0])


def update(conn: sa.Connection, staff_id: int, **values: Any) -> None:
    conn.execute(s.staff.update().where(S.id == staff_id).values(**values, updated_at=time.time()))


def set_scopes(conn: sa.Connection, staff_id: int, scopes: Iterable[tuple[str, str]]) -> None:
    conn.execute(s.staff_scopes.delete().where(SC.staff_id == staff_id))
    rows = [{"staff_id": staff_id, "scope": kind, "name": name} for kind, name in set(scopes)]
    if rows:
        conn.execute(s.staff_scopes.insert(), sorted(rows, key=lambda r: (r["scope"], r["name"])))


def _scopes(conn: sa.Connection, staff_id: int | None = None) -> dict[int, list[tuple[str, str]]]:
    query = sa.select(SC.staff_id, SC.scope, SC.name).order_by(SC.scope, SC.name)
    if staff_id is not None:
        query = query.where(SC.staff_id == staff_id)
    found: dict[int, list[tuple[str, str]]] = {}
    for sid, kind, name in conn.execute(query):
        found.setdefault(sid, []).append((kind, name))
    return found


def _row(
    conn: sa.Connection,
    r: sa.RowMapping,
    scopes: dict[int, list[tuple[str, str]]] | None = None,
) -> Row:
    if scopes is None:
        scopes = _scopes(conn, r["id"])
    fields = {k: r[k] for k in Row.__dataclass_fields__ if k != "scopes"}
    return Row(**fields, scopes=tuple(scopes.get(r["id"], [])))


# -- kiosks ---------------------------------------------------------------------------


def register(conn: sa.Connection, kiosk: str, key: str, site: str | None, actor: str) -> None:
    """The kiosk's staff key and site; its row is made if the office never heard it."""
    now = time.time()
    if conn.execute(sa.select(K.id).where(K.id == kiosk)).first() is None:
        conn.execute(s.kiosks.insert().values(id=kiosk, first_seen_at=now))
    conn.execute(
        s.kiosks.update()
        .where(K.id == kiosk)
        .values(site=site, staff_key=key, staff_key_at=now, staff_key_by=actor)
    )


def unregister(conn: sa.Connection, kiosk: str, actor: str) -> bool:
    """The kiosk gets no more lists (its site stays, for who was allowed there); whether
    it was registered."""
    done = conn.execute(
        s.kiosks.update()
        .where(K.id == kiosk, K.staff_key.is_not(None))
        .values(staff_key=None, staff_key_at=time.time(), staff_key_by=actor)
    )
    return bool(done.rowcount)


def sites(conn: sa.Connection, kiosks: Iterable[str]) -> list[str]:
    """The sites of ``kiosks``, registered or not."""
    query = sa.select(K.site).where(K.id.in_(sorted(set(kiosks))), K.site.is_not(None))
    return sorted(set(conn.execute(query).scalars()))


def registered(conn: sa.Connection, kiosks: Iterable[str] | None = None) -> list[Registered]:
    """The kiosks whose staff key is known (of ``kiosks``, or all), by id."""
    query = sa.select(K.id, K.site, K.staff_key).where(K.staff_key.is_not(None)).order_by(K.id)
    if kiosks is not None:
        query = query.where(K.id.in_(sorted(set(kiosks))))
    return [Registered(kid, site, key) for kid, site, key in conn.execute(query)]


def kiosks_in(conn: sa.Connection, scopes: Iterable[tuple[str, str]]) -> list[str]:
    """The registered kiosks that ``scopes`` reach."""
    scopes = list(scopes)
    if (ALL, EVERYWHERE) in scopes:
        return [r.kiosk for r in registered(conn)]
    sites = [name for kind, name in scopes if kind == "site"]
    ids = [name for kind, name in scopes if kind == "kiosk"]
    query = sa.select(K.id).where(
        K.staff_key.is_not(None), sa.or_(K.site.in_(sites), K.id.in_(ids))
    )
    return sorted(conn.execute(query).scalars())


def lock_kiosk(conn: sa.Connection, kiosk: str) -> Registered | None:
    """The kiosk's row, locked until the transaction ends; None unless registered."""
    found = conn.execute(
        sa.select(K.id, K.site, K.staff_key).where(K.id == kiosk).with_for_update()
    ).first()
    if found is None or found.staff_key is None:
        return None
    return Registered(found.id, found.site, found.staff_key)


def allowed_on(conn: sa.Connection, kiosk: Registered) -> list[Row]:
    """Everyone not revoked whom a scope lets on ``kiosk``, by name."""
    reach = [(ALL, EVERYWHERE), ("kiosk", kiosk.kiosk)]
    if kiosk.site is not None:
        reach.append(("site", kiosk.site))
    ids = sa.select(SC.staff_id).where(
        sa.or_(*(sa.and_(SC.scope == kind, SC.name == name) for kind, name in reach))
    )
    query = sa.select(s.staff).where(S.revoked_at.is_(None), S.id.in_(ids)).order_by(S.name_key)
    scopes = _scopes(conn)
    return [_row(conn, r, scopes) for r in conn.execute(query).mappings()]


# -- lists ----------------------------------------------------------------------------


def newest_version(conn: sa.Connection, kiosk: str) -> int:
    found = conn.execute(sa.select(sa.func.max(U.version)).where(U.kiosk == kiosk)).scalar()
    return int(found or 0)


def add_update(
    conn: sa.Connection, kiosk: str, version: int, command_id: str, people: int, payload: str
) -> None:
    conn.execute(
        s.staff_updates.insert().values(
            kiosk=kiosk,
            version=version,
            command_id=command_id,
            people=people,
            payload=payload,
            created_at=time.time(),
        )
    )


def newest(conn: sa.Connection, kiosks: Sequence[str] | None = None) -> list[Newest]:
    """Each kiosk's newest list (of ``kiosks``, or of every kiosk that has one)."""
    top = sa.select(U.kiosk, sa.func.max(U.version).label("version")).group_by(U.kiosk)
    if kiosks is not None:
        top = top.where(U.kiosk.in_(sorted(set(kiosks))))
    latest = top.subquery()
    query = (
        sa.select(
            U.kiosk,
            U.version,
            U.command_id,
            U.people,
            U.payload,
            U.created_at,
            C.published_at,
            C.answered_at,
            C.ok,
            C.reason,
            C.result,
        )
        .join(latest, sa.and_(U.kiosk == latest.c.kiosk, U.version == latest.c.version))
        .join(s.commands, C.id == U.command_id)
        .order_by(U.kiosk)
    )
    return [Newest(*r) for r in conn.execute(query)]
