"""What an account may see: every kiosk, or the kiosks of its sites."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from office.store import schema as s

K = s.kiosks.c


def kiosks_of(sites: Sequence[str]) -> sa.Select[Any]:
    return sa.select(K.id).where(K.site.in_(list(sites)))


def within(query: Any, kiosk_column: Any, sites: Sequence[str]) -> Any:
    """``query`` limited to the kiosks of ``sites`` (no sites: no limit)."""
    if not sites:
        return query
    return query.where(kiosk_column.in_(kiosks_of(sites)))


def may_see(conn: sa.Connection, kiosk: str, sites: Sequence[str]) -> bool:
    """Whether the kiosk exists and lies within ``sites`` (or ``sites`` is empty)."""
    query = within(sa.select(K.id).where(K.id == kiosk), K.id, sites)
    return conn.execute(query).first() is not None


def contains(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
