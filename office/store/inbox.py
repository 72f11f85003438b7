"""The alarm inbox: every alarm of the network, and its acknowledgement with a note."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from office.store import schema as s
from office.store.accounts import audit
from office.store.scope import within

A, U, K = s.alarms.c, s.console_users.c, s.kiosks.c
PAGE = 50
COUNT_MAX = 10_000
"""Alarms are counted up to this many (the inbox then says "more than 10,000")."""
VIEWS = ("open", "acknowledged", "all")
"""open: not yet acknowledged by a person (resolved or not); acknowledged; all."""


@dataclass(frozen=True)
class Filter:
    view: str = "open"
    kind: str | None = None
    kiosk: str | None = None
    site: str | None = None
    page: int = 1


class NotFound(LookupError):
    pass


def alarms(
    conn: sa.Connection, f: Filter, sites: Sequence[str]
) -> tuple[list[dict[str, Any]], int]:
    """One page of alarms, newest first, with who acknowledged each; and how many match."""
    wanted = _filtered(sa.select(A.id), f)
    if f.site:
        wanted = wanted.where(A.kiosk.in_(sa.select(K.id).where(K.site == f.site)))
    wanted = within(wanted, A.kiosk, sites)
    # newest first on an index ((acked_at, raised_at) for the open ones, raised_at for
    # all); counted only as far as there are pages to show; the page's 50 read whole
    counted = wanted.limit(COUNT_MAX + 1).subquery()
    total = conn.execute(sa.select(sa.func.count()).select_from(counted)).scalar_one()
    page = wanted.order_by(A.raised_at.desc()).limit(PAGE).offset((f.page - 1) * PAGE)
    ids = [alarm_id for (alarm_id,) in conn.execute(page)]
    if not ids:
        return [], int(total)
    joined = s.alarms.outerjoin(s.console_users, U.id == A.acked_by).join(s.kiosks, K.id == A.kiosk)
    rows = conn.execute(
        sa.select(s.alarms, U.username.label("acked_by_name"), K.site)
        .select_from(joined)
        .where(A.id.in_(ids))
        .order_by(A.raised_at.desc())
    )
    return [dict(r) for r in rows.mappings()], int(total)


def _filtered(query: Any, f: Filter) -> Any:
    if f.view == "open":
        query = query.where(A.acked_at.is_(None))
    elif f.view == "acknowledged":
        query = query.where(A.acked_at.is_not(None))
    if f.kind:
        query = query.where(A.kind == f.kind)
    if f.kiosk:
        query = query.where(A.kiosk == f.kiosk)
    return query


def acknowledge(
    conn: sa.Connection,
    alarm_id: int,
    user_id: int,
    username: str,
    note: str,
    sites: Sequence[str],
    now: float,
) -> str:
    """Acknowledge an alarm with ``note``, once; the kiosk it was raised on. An alarm
    acknowledged already keeps its first acknowledgement (NotFound says so)."""
    kiosk = conn.execute(within(sa.select(A.kiosk).where(A.id == alarm_id), A.kiosk, sites))
    found = kiosk.scalar()
    if found is None:
        raise NotFound("no such alarm")
    done = conn.execute(
        s.alarms.update()
        .where(A.id == alarm_id, A.acked_at.is_(None))
        .values(acked_at=now, acked_by=user_id, ack_note=note or None)
    )
    if done.rowcount != 1:
        raise NotFound("this alarm was acknowledged already")
    audit(conn, username, "alarm_acknowledged", str(alarm_id), kiosk=found, note=note)
    return str(found)
