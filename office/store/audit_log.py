"""The audit pages: every console action (``console_audit``) and every kiosk event,
filtered by kind, actor, kiosk and date, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from office.store import schema as s
from office.store.scope import within

CA, E = s.console_audit.c, s.events.c
PAGE = 100
SOURCES = ("console", "kiosks")


@dataclass(frozen=True)
class Filter:
    source: str = "console"
    kind: str | None = None
    actor: str | None = None
    kiosk: str | None = None
    since: float | None = None
    until: float | None = None
    page: int = 1


def entries(conn: sa.Connection, f: Filter, sites: Sequence[str]) -> list[dict[str, Any]]:
    """One page (:data:`PAGE` rows, and one more to tell whether there is a next page)."""
    query = _console(f) if f.source == "console" else _events(f)
    column = CA.kiosk if f.source == "console" else E.kiosk
    if sites:  # an account limited to sites sees no line that names no kiosk
        query = within(query.where(column.is_not(None)), column, sites)
    page = query.limit(PAGE + 1).offset((f.page - 1) * PAGE)
    return [dict(r) for r in conn.execute(page).mappings()]


def _console(f: Filter) -> Any:
    query = sa.select(s.console_audit)
    for column, value in ((CA.action, f.kind), (CA.actor, f.actor), (CA.kiosk, f.kiosk)):
        if value:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(CA.at >= f.since)
    if f.until is not None:
        query = query.where(CA.at < f.until)
    return query.order_by(CA.at.desc(), CA.id.desc())


def _events(f: Filter) -> Any:
    query = sa.select(s.events)
    for column, value in ((E.kind, f.kind), (E.actor, f.actor), (E.kiosk, f.kiosk)):
        if value:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(E.ts >= f.since)
    if f.until is not None:
        query = query.where(E.ts < f.until)
    if f.kiosk:  # a kiosk's own order, on its (kiosk, seq) index
        return query.order_by(E.seq.desc())
    return query.order_by(E.ts.desc(), E.id.desc())
