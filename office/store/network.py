"""What the console shows of the network: the overview's rows and one kiosk's page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from office.store import schema as s
from office.store.scope import contains, within

K, ST, H, A, E = s.kiosks.c, s.kiosk_state.c, s.kiosk_health.c, s.alarms.c, s.events.c
PAGE = 50
SORTS = ("id", "-id", "status", "last_seen", "-last_seen", "alarms", "version", "site")
STATUSES = ("online", "offline", "unknown")


@dataclass(frozen=True)
class Filter:
    """The overview's query, already checked (office/web/forms.py)."""

    status: str | None = None
    site: str | None = None
    q: str | None = None
    with_alarms: bool = False
    boards_down: bool = False
    guard_tripped: bool = False
    sort: str = "id"
    page: int = 1


@dataclass
class KioskRow:
    id: str
    site: str | None
    status: str
    status_since: float | None
    last_seen_at: float | None
    version: str | None
    free: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    boards_down: int = 0
    guard: str | None = None
    open_alarms: int = 0
    state_at: float | None = None


def _open_alarms() -> Any:
    return (
        sa.select(A.kiosk, sa.func.count().label("n"))
        .where(A.acked_at.is_(None))
        .group_by(A.kiosk)
        .subquery("open_alarms")
    )


def overview(conn: sa.Connection, f: Filter, sites: Sequence[str]) -> tuple[list[KioskRow], int]:
    """One page of kiosks as filtered and sorted, and how many match in all.

    The page's ids are found first (only the columns the filter and the order need),
    then the 50 rows are read whole; the open alarms are counted for the whole network
    only when the order or the filter needs them, else for the 50 shown."""
    counts = _open_alarms() if (f.with_alarms or f.sort == "alarms") else None
    base: Any = s.kiosks
    if f.boards_down or f.guard_tripped:
        base = base.join(s.kiosk_state, ST.kiosk == K.id)
    if counts is not None:
        base = base.outerjoin(counts, counts.c.kiosk == K.id)
    ids = _filtered(within(sa.select(K.id).select_from(base), K.id, sites), f)
    if f.with_alarms and counts is not None:
        ids = ids.where(counts.c.n > 0)
    total = conn.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar_one()
    page = ids.order_by(*_order(f.sort, counts)).limit(PAGE).offset((f.page - 1) * PAGE)
    order = [kiosk for (kiosk,) in conn.execute(page)]
    return _rows(conn, order), int(total)


def _rows(conn: sa.Connection, order: list[str]) -> list[KioskRow]:
    """The overview's rows of the kiosks ``order`` names, in that order."""
    if not order:
        return []
    query = sa.select(
        K.id, K.site, K.status, K.status_since, K.last_seen_at, K.version,
        ST.free, ST.total, ST.boards_down, ST.guard, ST.received_at, sa.literal(0).label("n"),
    ).select_from(s.kiosks.outerjoin(s.kiosk_state, ST.kiosk == K.id))  # fmt: skip
    query = query.where(K.id.in_(order))
    found = {r.id: _row(r) for r in conn.execute(query)}
    rows = [found[kiosk] for kiosk in order if kiosk in found]
    _count_alarms(conn, rows)
    return rows


def _filtered(query: Any, f: Filter) -> Any:
    if f.status:
        query = query.where(K.status == f.status)
    if f.site:
        query = query.where(K.site == f.site)
    if f.q:
        query = query.where(K.id.like(contains(f.q), escape="\\"))
    if f.boards_down:
        query = query.where(ST.boards_down > 0)
    if f.guard_tripped:
        query = query.where(ST.guard == "tripped")
    return query


def _order(sort: str, counts: Any) -> list[Any]:
    if sort == "alarms" and counts is not None:
        return [sa.func.coalesce(counts.c.n, 0).desc(), K.id]
    orders: dict[str, list[Any]] = {
        "id": [K.id],
        "-id": [K.id.desc()],
        "status": [K.status, K.id],
        "last_seen": [K.last_seen_at.asc().nulls_first(), K.id],
        "-last_seen": [K.last_seen_at.desc().nulls_last(), K.id],
        "version": [K.version, K.id],
        "site": [K.site, K.id],
    }
    return orders.get(sort, [K.id])


def _row(r: Any) -> KioskRow:
    return KioskRow(
        r.id, r.site, r.status, r.status_since, r.last_seen_at, r.version,
        r.free or {}, r.total or {}, r.boards_down or 0, r.guard, r.n, r.received_at,
    )  # fmt: skip


def _count_alarms(conn: sa.Connection, rows: list[KioskRow]) -> None:
    found: dict[str, int] = dict(
        conn.execute(
            sa.select(A.kiosk, sa.func.count())
            .where(A.kiosk.in_([r.id for r in rows]), A.acked_at.is_(None))
            .group_by(A.kiosk)
        ).all()
    )
    for row in rows:
        row.open_alarms = int(found.get(row.id, 0))


def sites(conn: sa.Connection, limited_to: Sequence[str]) -> list[str]:
    """The sites an account may filter by."""
    query = sa.select(K.site).where(K.site.is_not(None)).distinct().order_by(K.site)
    if limited_to:
        query = query.where(K.site.in_(list(limited_to)))
    return [site for site in conn.execute(query).scalars()]


# -- one kiosk --------------------------------------------------------------------------


@dataclass
class KioskPage:
    kiosk: KioskRow
    name: str | None
    state: dict[str, Any] | None
    health: dict[str, Any] | None
    wall: list[dict[str, Any]]
    events: list[dict[str, Any]]
    alarms: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    commands: list[dict[str, Any]]
    stored: list[dict[str, Any]]


def kiosk_page(conn: sa.Connection, kiosk: str, events: int = 50) -> KioskPage | None:
    row = conn.execute(
        sa.select(
            K.id, K.site, K.status, K.status_since, K.last_seen_at, K.version, K.name,
            ST.free, ST.total, ST.boards_down, ST.guard, ST.received_at, sa.literal(0).label("n"),
        ).select_from(s.kiosks.outerjoin(s.kiosk_state, ST.kiosk == K.id)).where(K.id == kiosk)
    ).first()  # fmt: skip
    if row is None:
        return None
    state = _one(conn, sa.select(s.kiosk_state).where(ST.kiosk == kiosk))
    return KioskPage(
        kiosk=_row(row),
        name=row.name,
        state=state,
        health=_one(conn, sa.select(s.kiosk_health).where(H.kiosk == kiosk)),
        wall=wall(conn, kiosk, state),
        events=_all(conn, _EVENTS.where(E.kiosk == kiosk).limit(events)),
        alarms=_all(conn, _ALARMS.where(A.kiosk == kiosk)),
        gaps=_all(conn, _GAPS.where(G.kiosk == kiosk)),
        commands=_all(conn, _COMMANDS.where(C.kiosk == kiosk)),
        stored=_all(conn, _PARCELS.where(P.kiosk == kiosk)),
    )


G, C, P = s.gaps.c, s.commands.c, s.parcels.c
_EVENTS = sa.select(s.events).order_by(E.seq.desc())
_ALARMS = sa.select(s.alarms).where(A.acked_at.is_(None)).order_by(A.raised_at.desc()).limit(50)
_GAPS = sa.select(s.gaps).where(G.repaired_at.is_(None)).order_by(G.first_seq)
_COMMANDS = sa.select(s.commands).order_by(C.sent_at.desc()).limit(20)
_PARCELS = (
    sa.select(s.parcels)
    .where(P.state.in_(["STORED", "EXPIRED", "ANNOUNCED"]))
    .order_by(P.compartment, P.id)
    .limit(200)
)


def wall(conn: sa.Connection, kiosk: str, state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every compartment of the kiosk, as its latest state message lists them; from an
    older kiosk that lists none, what its events said of each compartment."""
    if state is not None and state.get("compartments"):
        return list(state["compartments"])
    W = s.compartments.c
    rows = conn.execute(
        sa.select(W.compartment, W.state, W.door).where(W.kiosk == kiosk).order_by(W.compartment)
    )
    return [
        {"id": cid, "size": None, "state": st or "AVAILABLE", "door": door or "UNKNOWN",
         "accessible": False, "held": False, "board_online": True}
        for cid, st, door in rows
    ]  # fmt: skip


def _one(conn: sa.Connection, query: Any) -> dict[str, Any] | None:
    found = conn.execute(query).mappings().first()
    return dict(found) if found is not None else None


def _all(conn: sa.Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(query).mappings()]
