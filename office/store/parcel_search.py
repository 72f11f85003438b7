"""A parcel by its barcode: each stay at a kiosk, and its timeline across kiosks.

What the office knows of a parcel is what the kiosks' events said: never a recipient's
phone or e-mail (no event carries one), so a barcode shows where a parcel is, its state
and its deadline, and nothing about who it is for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from office.store import schema as s
from office.store.scope import within

P, E = s.parcels.c, s.events.c
MAX_STAYS = 50
MAX_EVENTS = 500


def stays(conn: sa.Connection, barcode: str, sites: Sequence[str]) -> list[dict[str, Any]]:
    """Every stay of the parcel with ``barcode`` at a kiosk the account may see, newest first."""
    query = within(sa.select(s.parcels).where(P.barcode == barcode), P.kiosk, sites)
    rows = conn.execute(query.order_by(P.updated_at.desc(), P.id.desc()).limit(MAX_STAYS))
    return [dict(r) for r in rows.mappings()]


def timeline(conn: sa.Connection, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of those stays, in time order across kiosks."""
    if not found:
        return []
    keys = [sa.and_(E.kiosk == r["kiosk"], E.parcel_ref == r["local_id"]) for r in found]
    query = sa.select(s.events).where(sa.or_(*keys)).order_by(E.ts, E.kiosk, E.seq)
    return [dict(r) for r in conn.execute(query.limit(MAX_EVENTS)).mappings()]


def live_stay(
    conn: sa.Connection, kiosk: str, barcode: str, sites: Sequence[str]
) -> dict[str, Any] | None:
    """The parcel's stay at ``kiosk`` that an action may act on (the newest), or None."""
    query = within(
        sa.select(s.parcels).where(P.kiosk == kiosk, P.barcode == barcode), P.kiosk, sites
    )
    found = conn.execute(query.order_by(P.id.desc()).limit(1)).mappings().first()
    return dict(found) if found is not None else None
