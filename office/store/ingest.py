"""Writing what the kiosks said: one batch of messages, one transaction.

:meth:`IngestStore.write` stores a batch and commits; the caller acknowledges the
messages to the broker only after it returns. Every statement is set-based (one
``executemany`` per table, whatever the batch's size), rows are written in key order
so that two ``serve`` processes never take the same locks in opposite orders, and
each insert has insert-or-ignore (or upsert) semantics on both databases
(``ON CONFLICT``), so a message delivered twice changes nothing the second time.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from kiosk.fleet.payloads import BoardHealth, WallCompartment
from office import received as m
from office.store import schema as s
from office.store.derive import Derived, derive

SEEN_EVERY_S = 10.0
"""A kiosk's ``last_seen_at`` is written at most this often by one process: it is for
people ("last seen 3 min ago"), and writing it with every batch would make two
processes queue for the same rows."""

Item = tuple[m.Parsed, float]
RecordItem = tuple[m.Record, float]
"""A parsed message and when the office received it."""


@dataclass
class Written:
    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    other: int = 0


def dialect_insert(engine: Engine, table: sa.Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` for this engine's database."""
    module = postgresql if engine.dialect.name == "postgresql" else sqlite
    return module.insert(table)


class IngestStore:
    def __init__(self, engine: Engine, occupancy_sample_s: float = 900.0) -> None:
        self.engine = engine
        self.occupancy_sample_s = occupancy_sample_s
        self._known: set[str] = set()
        self._seen_written: dict[str, float] = {}
        self._sampled: dict[str, float] = {}
        self._after_commit: list[Callable[[], None]] = []
        """What this process remembers of a batch, applied once it committed: a batch
        rolled back and written again must insert its kiosks again."""
        self._statements()

    def _statements(self) -> None:
        """What each bulk write adds to its INSERT (the rows come with the call)."""
        self._new_kiosk = lambda i: i.on_conflict_do_nothing(index_elements=["id"])
        self._new_event = lambda i: i.on_conflict_do_nothing(
            index_elements=["kiosk", "seq"]
        ).returning(s.events.c.kiosk, s.events.c.seq)
        self._new_alarm = lambda i: i.on_conflict_do_nothing(index_elements=["kiosk", "source_seq"])

    def _bulk(
        self,
        conn: sa.Connection,
        table: sa.Table,
        finish: Any,
        rows: Sequence[Mapping[str, object]],
    ) -> sa.CursorResult[Any]:
        """``INSERT`` of ``rows`` into ``table``, with ``finish`` adding ON CONFLICT (and
        RETURNING). On PostgreSQL the rows travel as one JSON text the server turns into
        rows: one short statement, where a multi-row VALUES list cost psycopg more to
        parse than the server to run. SQLite takes them as executemany."""
        if self.engine.dialect.name != "postgresql":
            return conn.execute(finish(dialect_insert(self.engine, table)), rows)
        names = list(rows[0])
        source = recordset(table, names, rows)
        return conn.execute(finish(dialect_insert(self.engine, table).from_select(names, source)))

    # -- the batch ------------------------------------------------------------------------

    def write(self, items: Sequence[Item]) -> Written:
        """Store ``items`` in one transaction (committed when this returns)."""
        written = Written()
        now = time.time()
        records: list[RecordItem] = []
        rejected: list[tuple[m.Rejected, float]] = []
        for p, at in items:
            if isinstance(p, m.Rejected):
                rejected.append((p, at))
            elif not isinstance(p, m.Cleared):
                records.append((p, at))
        self._after_commit = []
        with self.engine.begin() as conn:
            self._kiosks(conn, records, now)
            events = [p for p, at in records if isinstance(p, m.EventMsg)]
            new = self._events(conn, records)
            written.events, written.duplicates = len(new), len(events) - len(new)
            self._derived(conn, derive(new, now))
            self._presence(conn, records)
            self._latest(conn, records, now)
            self._results(conn, records, now)
            self._rejects(conn, rejected)
        for remember in self._after_commit:  # only now are they true
            remember()
        written.rejected = len(rejected)
        written.other = len(records) - len(events)
        return written

    def _kiosks(self, conn: sa.Connection, records: list[RecordItem], now: float) -> None:
        ids = sorted({p.kiosk for p, _at in records})
        unknown = [k for k in ids if k not in self._known]
        if unknown:
            rows = [{"id": k, "first_seen_at": now} for k in unknown]
            self._bulk(conn, s.kiosks, self._new_kiosk, rows)
        stale = [k for k in ids if now - self._seen_written.get(k, 0.0) > SEEN_EVERY_S]
        if stale:
            conn.execute(
                s.kiosks.update()
                .where(s.kiosks.c.id == sa.bindparam("k"))
                .values(last_seen_at=sa.bindparam("t")),
                [{"k": k, "t": now} for k in stale],
            )
        self._after_commit.append(lambda: self._known.update(unknown))
        self._after_commit.append(lambda: self._seen_written.update(dict.fromkeys(stale, now)))

    def _events(self, conn: sa.Connection, records: list[RecordItem]) -> list[m.EventMsg]:
        """Insert the batch's events; the ones stored now for the first time."""
        unique: dict[tuple[str, int], tuple[m.EventMsg, float]] = {}
        for p, at in records:
            if isinstance(p, m.EventMsg):
                unique.setdefault((p.kiosk, p.seq), (p, at))
        if not unique:
            return []
        rows = [
            {
                "kiosk": e.kiosk,
                "seq": e.seq,
                "ts": e.ts,
                "received_at": at,
                "kind": e.kind,
                "severity": e.severity,
                "actor": e.actor,
                "compartment": e.compartment,
                "parcel_ref": e.parcel_ref,
                "detail": e.detail,
                "detail_dropped": e.detail_dropped,
            }
            for key, (e, at) in sorted(unique.items())
        ]
        inserted = {(r.kiosk, r.seq) for r in self._bulk(conn, s.events, self._new_event, rows)}
        return [unique[key][0] for key in sorted(inserted)]

    def _derived(self, conn: sa.Connection, d: Derived) -> None:
        if d.alarms:
            self._bulk(conn, s.alarms, self._new_alarm, d.alarms)
        matched = [r for r in d.resolutions if r["r_match"] is not None]
        anywhere = [r for r in d.resolutions if r["r_match"] is None]
        for statement, rows in ((_RESOLVE_MATCH, matched), (_RESOLVE_ANY, anywhere)):
            if rows:
                conn.execute(statement, rows)
        if d.parcels:
            self._bulk(conn, s.parcels, _parcel_upsert, [d.parcels[k] for k in sorted(d.parcels)])
        if d.compartments:
            walls = [d.compartments[k] for k in sorted(d.compartments)]
            self._bulk(conn, s.compartments, _compartment_upsert, walls)

    def _presence(self, conn: sa.Connection, records: list[RecordItem]) -> None:
        latest: dict[str, tuple[m.PresenceMsg, float]] = {}
        for p, at in records:
            if isinstance(p, m.PresenceMsg):
                latest[p.kiosk] = (p, at)
        if latest:
            conn.execute(
                _PRESENCE,
                [
                    {
                        "k": p.kiosk,
                        "s": p.status,
                        "t": at,
                        "since": p.since,
                        "v": p.version,
                        "c": p.announcements_cursor,
                    }
                    for _k, (p, at) in sorted(latest.items())
                ],
            )

    def _latest(self, conn: sa.Connection, records: list[RecordItem], now: float) -> None:
        """Compartment state, health and reported config: the newest of each kiosk."""
        states: dict[str, StateRow] = {}
        health: dict[str, HealthRow] = {}
        reported: dict[str, dict[str, Any]] = {}
        for p, at in records:
            if isinstance(p, m.StateMsg):
                states[p.kiosk] = _state_row(p, at)
            elif isinstance(p, m.HealthMsg):
                health[p.kiosk] = _health_row(p, at)
            elif isinstance(p, m.ReportedConfigMsg):
                reported[p.kiosk] = {"k": p.kiosk, "body": p.body, "t": at}
        if states:
            finish = lambda i: _latest_upsert(i, s.kiosk_state)  # noqa: E731
            self._bulk(conn, s.kiosk_state, finish, [states[k] for k in sorted(states)])
            self._occupancy(conn, [states[k] for k in sorted(states)], now)
        if health:
            self._bulk(conn, s.kiosk_health, _health_upsert, [health[k] for k in sorted(health)])
        if reported:
            conn.execute(_REPORTED, [reported[k] for k in sorted(reported)])

    def _occupancy(self, conn: sa.Connection, states: list[StateRow], now: float) -> None:
        due = [
            r for r in states if now - self._sampled.get(r["kiosk"], 0.0) >= self.occupancy_sample_s
        ]
        samples: list[OccupancySample] = []
        for row in due:
            claimed = conn.execute(
                _CLAIM_SAMPLE, {"k": row["kiosk"], "now": now, "due": now - self.occupancy_sample_s}
            )
            self._after_commit.append(
                functools.partial(self._sampled.__setitem__, row["kiosk"], now)
            )
            if claimed.rowcount == 1:  # not sampled lately by any process
                samples += [
                    OccupancySample(
                        kiosk=row["kiosk"],
                        at=now,
                        size=size,
                        free=row["free"].get(size, 0),
                        total=total,
                    )
                    for size, total in sorted(row["total"].items())
                ]
        if samples:
            conn.execute(s.occupancy_samples.insert(), samples)

    def _results(self, conn: sa.Connection, records: list[RecordItem], now: float) -> None:
        rows = [
            {
                "i": p.id,
                "k": p.kiosk,
                "now": now,
                "ok": p.ok,
                "reason": p.reason,
                "message": p.message,
                "result": p.result,
                "replayed": p.replayed,
            }
            for p, _at in records
            if isinstance(p, m.ResultMsg)
        ]
        if rows:
            conn.execute(_ANSWER, sorted(rows, key=lambda r: str(r["i"])))

    def _rejects(self, conn: sa.Connection, rejected: list[tuple[m.Rejected, float]]) -> None:
        rows = [
            {
                "at": at,
                "kiosk": p.kiosk,
                "leaf": p.leaf,
                "reason": str(p.reason),
                "detail": p.detail,
                "size": p.size,
                "sha256": p.sha256,
            }
            for p, at in rejected
        ]
        if rows:
            conn.execute(s.ingest_rejects.insert(), rows)


def recordset(
    table: sa.Table, names: list[str], rows: Sequence[Mapping[str, object]]
) -> sa.Select[Any]:
    """``SELECT`` from ``json_to_recordset`` of the rows sent as one JSON text (PostgreSQL).

    One parameter that the server parses: psycopg's text dumper for arrays quoted every
    element with a regular expression, which cost more than the rest of the batch."""
    columns = [sa.column(name, table.c[name].type) for name in names]
    payload = json.dumps([{n: r[n] for n in names} for r in rows], separators=(",", ":"))
    source = (
        sa.func.json_to_recordset(
            sa.cast(sa.bindparam(None, payload, type_=sa.Text), postgresql.JSON)
        )
        .table_valued(*columns)
        .render_derived(with_types=True)
    )
    return sa.select(*(source.c[name] for name in names))


# -- statements -------------------------------------------------------------------------

K = s.kiosks.c
_PRESENCE = (
    s.kiosks.update()
    .where(K.id == sa.bindparam("k"))
    .where(sa.or_(K.presence_at.is_(None), K.presence_at <= sa.bindparam("t")))
    .values(
        status=sa.bindparam("s"),
        status_since=sa.case(
            (K.status != sa.bindparam("s"), sa.bindparam("t")),
            else_=sa.func.coalesce(K.status_since, sa.bindparam("t")),
        ),
        presence_at=sa.bindparam("t"),
        online_since=sa.bindparam("since"),
        version=sa.func.coalesce(sa.bindparam("v"), K.version),
        announcements_cursor=sa.func.coalesce(sa.bindparam("c"), K.announcements_cursor),
    )
)
_REPORTED = (
    s.kiosks.update()
    .where(K.id == sa.bindparam("k"))
    .where(sa.or_(K.reported_at.is_(None), K.reported_at <= sa.bindparam("t")))
    .values(reported_config=sa.bindparam("body", type_=s.Json), reported_at=sa.bindparam("t"))
)
A = s.alarms.c
_RESOLVE_ANY = (
    s.alarms.update()
    .where(A.kiosk == sa.bindparam("r_kiosk"), A.kind == sa.bindparam("r_kind"))
    .where(A.resolved_at.is_(None), A.source_seq < sa.bindparam("r_seq"))
    .values(resolved_at=sa.bindparam("r_now"), resolved_seq=sa.bindparam("r_seq"))
)
_RESOLVE_MATCH = _RESOLVE_ANY.where(
    sa.func.coalesce(A.board, A.compartment) == sa.bindparam("r_match")
)
C = s.commands.c
_ANSWER = (
    s.commands.update()
    .where(C.id == sa.bindparam("i"), C.kiosk == sa.bindparam("k"), C.answered_at.is_(None))
    .values(
        answered_at=sa.bindparam("now"),
        ok=sa.bindparam("ok"),
        reason=sa.bindparam("reason"),
        message=sa.bindparam("message"),
        result=sa.bindparam("result", type_=s.Json),
        replayed=sa.bindparam("replayed"),
    )
)
S = s.kiosk_state.c
_CLAIM_SAMPLE = (
    s.kiosk_state.update()
    .where(S.kiosk == sa.bindparam("k"))
    .where(sa.or_(S.sampled_at.is_(None), S.sampled_at <= sa.bindparam("due")))
    .values(sampled_at=sa.bindparam("now"))
)


def _newer(excluded: Any, table: sa.Table, seq: str) -> Any:
    return excluded[seq] > table.c[seq]


def _parcel_upsert(stmt: Any) -> Any:
    x, t = stmt.excluded, s.parcels
    newer = _newer(x, t, "state_seq")
    kept = {
        name: sa.func.coalesce(t.c[name], x[name])
        for name in (
            "announced_at",
            "stored_at",
            "picked_up_at",
            "expired_at",
            "returned_at",
            "cancelled_at",
        )
    }
    return stmt.on_conflict_do_update(
        index_elements=["kiosk", "local_id"],
        set_={
            "barcode": sa.func.coalesce(t.c.barcode, x.barcode),
            "size": sa.func.coalesce(x.size, t.c.size),
            "state": sa.case((newer, x.state), else_=t.c.state),
            "state_seq": sa.case((newer, x.state_seq), else_=t.c.state_seq),
            "expires_at": sa.case(
                (sa.and_(newer, x.expires_at.is_not(None)), x.expires_at),
                else_=sa.func.coalesce(t.c.expires_at, x.expires_at),
            ),
            "compartment": sa.func.coalesce(x.compartment, t.c.compartment),
            "courier": sa.func.coalesce(x.courier, t.c.courier),
            "updated_at": x.updated_at,
            **kept,
        },
    )


def _compartment_upsert(stmt: Any) -> Any:
    x, t = stmt.excluded, s.compartments
    state_newer = sa.and_(x.state.is_not(None), _newer(x, t, "state_seq"))
    door_newer = sa.and_(x.door.is_not(None), _newer(x, t, "door_seq"))
    return stmt.on_conflict_do_update(
        index_elements=["kiosk", "compartment"],
        set_={
            "state": sa.case((state_newer, x.state), else_=t.c.state),
            "state_seq": sa.case((state_newer, x.state_seq), else_=t.c.state_seq),
            "oos_reason": sa.case((state_newer, x.oos_reason), else_=t.c.oos_reason),
            "parcel_ref": sa.case((state_newer, x.parcel_ref), else_=t.c.parcel_ref),
            "door": sa.case((door_newer, x.door), else_=t.c.door),
            "door_seq": sa.case((door_newer, x.door_seq), else_=t.c.door_seq),
            "updated_at": x.updated_at,
        },
    )


def _latest_upsert(stmt: Any, table: sa.Table) -> Any:
    """Replace a kiosk's row only with one received later (two processes may race)."""
    x = stmt.excluded
    columns = [c.name for c in table.columns if c.name not in ("kiosk", "sampled_at")]
    return stmt.on_conflict_do_update(
        index_elements=["kiosk"],
        set_={c: x[c] for c in columns},
        where=table.c.received_at <= x.received_at,
    )


def _health_upsert(stmt: Any) -> Any:
    """The newest health replaces the row; ``acked_seq_at`` keeps the time the cursor
    was first reported at, so a cursor that stands still grows old (office/store/gaps.py)."""
    x, t = stmt.excluded, s.kiosk_health
    columns = [c.name for c in t.columns if c.name not in ("kiosk", "acked_seq_at")]
    same = t.c.acked_seq.is_not_distinct_from(x.acked_seq)
    return stmt.on_conflict_do_update(
        index_elements=["kiosk"],
        set_={
            **{c: x[c] for c in columns},
            "acked_seq_at": sa.case((same, t.c.acked_seq_at), else_=x.acked_seq_at),
        },
        where=t.c.received_at <= x.received_at,
    )


class StateRow(TypedDict):
    """A kiosk's latest ``state/compartments`` (``kiosk_state``)."""

    kiosk: str
    ts: float | None
    received_at: float
    free: dict[str, int]
    total: dict[str, int]
    out_of_service: list[str]
    held: list[str]
    doors_open: list[str]
    doors_unknown: list[str]
    boards: dict[str, bool]
    guard: str
    alarms_24h: int
    boards_down: int
    compartments: list[WallCompartment] | None


class HealthRow(TypedDict):
    """A kiosk's latest ``health`` (``kiosk_health``)."""

    kiosk: str
    ts: float
    received_at: float
    clock_offset_s: float
    uptime_s: float | None
    outbox_depth: int | None
    notify_depth: int | None
    acked_seq: int | None
    acked_seq_at: float
    boards: dict[str, BoardHealth]


class OccupancySample(TypedDict):
    """Free and total compartments of one size at one time (``occupancy_samples``)."""

    kiosk: str
    at: float
    size: str
    free: int
    total: int


def _state_row(p: m.StateMsg, at: float) -> StateRow:
    return StateRow(
        kiosk=p.kiosk,
        ts=p.ts,
        received_at=at,
        free=p.free,
        total=p.total,
        out_of_service=p.out_of_service,
        held=p.held,
        doors_open=p.doors_open,
        doors_unknown=p.doors_unknown,
        boards=p.boards,
        guard=p.guard,
        alarms_24h=p.alarms,
        boards_down=p.boards_down,
        compartments=p.compartments,
    )


def _health_row(p: m.HealthMsg, at: float) -> HealthRow:
    return HealthRow(
        kiosk=p.kiosk,
        ts=p.ts,
        received_at=at,
        clock_offset_s=at - p.ts,
        uptime_s=p.uptime_s,
        outbox_depth=p.outbox_depth,
        notify_depth=p.notify_depth,
        acked_seq=p.acked_seq,
        acked_seq_at=at,
        boards=p.boards,
    )
