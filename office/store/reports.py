"""The reports: the clean-out list (overdue and expiring parcels per kiosk), occupancy
over time and alarm counts, each for the kiosks an account may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from office.store import schema as s
from office.store.scope import within

P, OS, A = s.parcels.c, s.occupancy_samples.c, s.alarms.c
DAY = 86_400.0
CLEANOUT_MAX = 5000
PERIODS = (1, 7, 30, 90)
"""The periods (days) a report may cover."""


@dataclass(frozen=True)
class Period:
    days: int
    until: float

    @property
    def since(self) -> float:
        return self.until - self.days * DAY

    @property
    def bucket_s(self) -> float:
        """Hours for a day, days for longer."""
        return 3600.0 if self.days <= 1 else DAY


def cleanout(
    conn: sa.Connection, sites: Sequence[str], now: float, days: int
) -> list[dict[str, Any]]:
    """Parcels still inside whose deadline passed or falls within ``days``, per kiosk,
    the most overdue first; each with ``overdue``."""
    query = within(
        sa.select(
            P.kiosk, P.barcode, P.compartment, P.size, P.state, P.stored_at, P.expires_at
        ).where(
            P.state.in_(["STORED", "EXPIRED"]),
            P.expires_at.is_not(None),
            P.expires_at < now + days * DAY,
        ),
        P.kiosk,
        sites,
    )
    rows = conn.execute(query.order_by(P.kiosk, P.expires_at).limit(CLEANOUT_MAX)).mappings()
    return [{**r, "overdue": r["state"] == "EXPIRED" or r["expires_at"] < now} for r in rows]


def occupancy(
    conn: sa.Connection, sites: Sequence[str], period: Period, kiosk: str | None = None
) -> list[dict[str, Any]]:
    """Per time bucket and size: compartments in use as a share of all, from the
    samples the ingest keeps (``occupancy_sample_min``)."""
    bucket = sa.func.floor(OS.at / period.bucket_s).label("bucket")
    query = sa.select(
        bucket,
        OS.size,
        sa.func.sum(OS.free).label("free"),
        sa.func.sum(OS.total).label("total"),
    ).where(OS.at >= period.since, OS.at < period.until)
    if kiosk:
        query = query.where(OS.kiosk == kiosk)
    query = within(query, OS.kiosk, sites).group_by(bucket, OS.size).order_by(bucket, OS.size)
    out = []
    for r in conn.execute(query):
        total = int(r.total or 0)
        used = total - int(r.free or 0)
        out.append(
            {
                "at": float(r.bucket) * period.bucket_s,
                "size": r.size,
                "used": used,
                "total": total,
                "share": used / total if total else 0.0,
            }
        )
    return out


def alarm_counts(
    conn: sa.Connection, sites: Sequence[str], period: Period
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Alarms raised in the period: per kind, and the twenty kiosks with the most."""
    raised = within(
        sa.select(A.kind, A.kiosk, A.acked_at).where(
            A.raised_at >= period.since, A.raised_at < period.until
        ),
        A.kiosk,
        sites,
    ).subquery()
    by_kind = sa.select(
        raised.c.kind,
        sa.func.count().label("raised"),
        sa.func.count(raised.c.acked_at).label("acknowledged"),
    ).group_by(raised.c.kind)
    by_kiosk = (
        sa.select(raised.c.kiosk, sa.func.count().label("raised"))
        .group_by(raised.c.kiosk)
        .order_by(sa.func.count().desc(), raised.c.kiosk)
        .limit(20)
    )
    kinds = [dict(r) for r in conn.execute(by_kind.order_by(raised.c.kind)).mappings()]
    return kinds, [dict(r) for r in conn.execute(by_kiosk).mappings()]
