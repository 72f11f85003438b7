"""Gaps in the kiosks' event sequences, and kiosks offline too long: the sweeper's SQL.

A kiosk's ``seq`` has no holes, so a missing number is a lost event. Events of one
kiosk may arrive out of order for a moment (two ``serve`` processes, a redelivery), so
a hole counts as a gap only once the event after it is ``grace_s`` old. ``scanned_seq``
moves past every number that is stored or recorded as a gap, so each sweep reads only
what arrived since the last one. A gap stays open, and visible, until every event in
it is stored; asking the kiosk again is the sweeper's (office/ingest/sweeper.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from office.store import schema as s
from office.vocab import AlarmKind

E, K, G, A = s.events.c, s.kiosks.c, s.gaps.c, s.alarms.c


@dataclass(frozen=True)
class Gap:
    id: int
    kiosk: str
    first_seq: int
    last_seq: int
    found_at: float
    requested_at: float | None
    requests: int


def scan(conn: sa.Connection, now: float, grace_s: float) -> int:
    """Record new gaps and move each kiosk's ``scanned_seq``; the gaps found.

    A hole between stored events is a gap once the event after it is ``grace_s`` old. A
    loss at the end shows through the kiosk's health: ``acked_seq`` says every event up
    to it reached the broker, so one still missing ``grace_s`` after that cursor was
    first reported was lost on the way from the broker. The database finds the holes
    (a window over the events above ``scanned_seq``); only their edges come back.
    """
    settled = now - grace_s
    tops = dict(conn.execute(_TOPS).all())
    edges: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for kiosk, seq, prev, received_at in conn.execute(_EDGES):
        edges[kiosk].append((int(seq), int(prev), received_at))
    scanned = dict(
        conn.execute(sa.select(K.id, K.scanned_seq).where(K.id.in_(list(tops) or [""]))).all()
    )
    acked = _acked_beyond_scanned(conn, settled)
    for kiosk, (upto, _acked) in acked.items():
        scanned.setdefault(kiosk, upto)
    found: list[dict[str, object]] = []
    moved: list[dict[str, object]] = []
    for kiosk in sorted(scanned):
        top = int(tops.get(kiosk) or scanned[kiosk])
        upto, holes, whole = _walk(sorted(edges.get(kiosk, [])), top, settled)
        tail = acked.get(kiosk, (0, 0))[1]
        if whole and tail > upto:
            holes.append((upto + 1, tail))
            upto = tail
        found += [
            {"kiosk": kiosk, "first_seq": a, "last_seq": b, "found_at": now} for a, b in holes
        ]
        if upto > scanned[kiosk]:
            moved.append({"k": kiosk, "upto": upto, "top": max(upto, top)})
    if found:
        conn.execute(_insert_ignore(conn, s.gaps), found)
    if moved:
        conn.execute(_MOVE, moved)
    return len(found)


def _walk(
    edges: list[tuple[int, int, float]], top: int, settled: float
) -> tuple[int, list[tuple[int, int]], bool]:
    """How far the kiosk is scanned now, the holes older than the grace, and whether
    every stored event was passed (False: a hole is still too young to call).

    ``edges``: ``(seq, the stored seq before it, when seq arrived)`` for each event
    with a hole before it; ``top``: the highest seq stored."""
    holes: list[tuple[int, int]] = []
    for seq, prev, received_at in edges:
        if received_at > settled:
            return prev, holes, False  # the events before it may still be on their way
        holes.append((prev + 1, seq - 1))
    return top, holes, True


def _acked_beyond_scanned(conn: sa.Connection, settled: float) -> dict[str, tuple[int, int]]:
    """``{kiosk: (scanned_seq, acked_seq)}`` where a cursor reported ``grace_s`` ago
    claims more than is stored."""
    H = s.kiosk_health.c
    rows = conn.execute(
        sa.select(K.id, K.scanned_seq, H.acked_seq)
        .join(s.kiosk_health, H.kiosk == K.id)
        .where(H.acked_seq > K.scanned_seq, H.acked_seq_at <= settled)
    ).all()
    return {kiosk: (int(upto), int(acked)) for kiosk, upto, acked in rows}


def check_repaired(conn: sa.Connection, now: float) -> int:
    """Close every open gap whose events are all stored now; how many closed."""
    closed = 0
    for gap in open_gaps(conn):
        have = conn.execute(
            sa.select(sa.func.count())
            .select_from(s.events)
            .where(E.kiosk == gap.kiosk, E.seq.between(gap.first_seq, gap.last_seq))
        ).scalar_one()
        if have == gap.last_seq - gap.first_seq + 1:
            conn.execute(s.gaps.update().where(G.id == gap.id).values(repaired_at=now))
            closed += 1
    return closed


def open_gaps(conn: sa.Connection, kiosk: str | None = None) -> list[Gap]:
    query = (
        sa.select(G.id, G.kiosk, G.first_seq, G.last_seq, G.found_at, G.requested_at, G.requests)
        .where(G.repaired_at.is_(None))
        .order_by(G.kiosk, G.first_seq)
    )
    if kiosk is not None:
        query = query.where(G.kiosk == kiosk)
    return [Gap(*row) for row in conn.execute(query)]


def claim(conn: sa.Connection, gap: Gap, now: float, command_id: str) -> bool:
    """Mark ``gap`` as asked for now, unless another process just did."""
    done = conn.execute(
        s.gaps.update()
        .where(G.id == gap.id, G.repaired_at.is_(None))
        .where(G.requests == gap.requests)
        .values(requested_at=now, requests=G.requests + 1, command_id=command_id)
    )
    return done.rowcount == 1


def kiosks_offline(conn: sa.Connection, now: float, after_s: float) -> None:
    """Raise an alarm for each kiosk offline longer than ``after_s``; close those back."""
    detail = {"offline_alarm_after_min": round(after_s / 60, 1)}
    raised = sa.select(
        K.id,
        sa.literal(str(AlarmKind.KIOSK_OFFLINE)),
        sa.func.coalesce(K.status_since, now),
        sa.literal(detail, type_=s.Json),
    ).where(K.status == "offline", K.status_since <= now - after_s)
    columns = ["kiosk", "kind", "raised_at", "detail"]
    conn.execute(_insert_ignore(conn, s.alarms).from_select(columns, raised))
    conn.execute(
        s.alarms.update()
        .where(A.kind == str(AlarmKind.KIOSK_OFFLINE), A.resolved_at.is_(None))
        .where(A.kiosk.in_(sa.select(K.id).where(K.status == "online")))
        .values(resolved_at=now)
    )


def _insert_ignore(conn: sa.Connection, table: sa.Table) -> sa.Insert:
    from office.store.ingest import dialect_insert

    stmt: sa.Insert = dialect_insert(conn.engine, table).on_conflict_do_nothing()
    return stmt


_ABOVE = (
    sa.select(E.kiosk, E.seq, E.received_at, K.scanned_seq)
    .join(s.kiosks, K.id == E.kiosk)
    .where(E.seq > K.scanned_seq)
    .subquery()
)
_TOPS = sa.select(_ABOVE.c.kiosk, sa.func.max(_ABOVE.c.seq)).group_by(_ABOVE.c.kiosk)
_WINDOW = sa.select(
    _ABOVE.c.kiosk,
    _ABOVE.c.seq,
    sa.func.lag(_ABOVE.c.seq, 1, _ABOVE.c.scanned_seq)
    .over(partition_by=_ABOVE.c.kiosk, order_by=_ABOVE.c.seq)
    .label("prev"),
    _ABOVE.c.received_at,
).subquery()
_EDGES = sa.select(_WINDOW.c.kiosk, _WINDOW.c.seq, _WINDOW.c.prev, _WINDOW.c.received_at).where(
    _WINDOW.c.seq > _WINDOW.c.prev + 1
)
_MOVE = (
    s.kiosks.update()
    .where(K.id == sa.bindparam("k"), K.scanned_seq < sa.bindparam("upto"))
    .values(
        scanned_seq=sa.bindparam("upto"),
        max_seq=sa.case((K.max_seq < sa.bindparam("top"), sa.bindparam("top")), else_=K.max_seq),
    )
)
