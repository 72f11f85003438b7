"""The database schema and its forward migrations.

Each entry of :data:`MIGRATIONS` moves the schema one version forward and runs in the
same transaction as the ``user_version`` bump, so a power cut leaves either the old or
the new schema, never half of one. Never edit a released migration: add a new one.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE compartments (
    id          TEXT PRIMARY KEY,
    size        TEXT NOT NULL,
    board       TEXT NOT NULL,
    lock        INTEGER NOT NULL,
    accessible  INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'AVAILABLE'
                CHECK (state IN ('AVAILABLE', 'RESERVED', 'OCCUPIED', 'OUT_OF_SERVICE')),
    oos_reason  TEXT,
    in_config   INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE parcels (
    id              INTEGER PRIMARY KEY,
    barcode         TEXT NOT NULL,
    size            TEXT,
    phone           TEXT,
    email           TEXT,
    state           TEXT NOT NULL
                    CHECK (state IN ('ANNOUNCED', 'STORED', 'PICKED_UP', 'EXPIRED',
                                     'RETURNED', 'CANCELLED')),
    compartment_id  TEXT REFERENCES compartments(id),
    code_tag        TEXT,
    courier         TEXT,
    announced_at    REAL,
    stored_at       REAL,
    expires_at      REAL,
    picked_up_at    REAL,
    expired_at      REAL,
    returned_at     REAL,
    reminders_sent  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX parcels_by_code ON parcels(code_tag);
CREATE INDEX parcels_by_state_expiry ON parcels(state, expires_at);
-- A pickup code is unique among live parcels; a barcode among parcels not yet gone.
CREATE UNIQUE INDEX parcels_live_code ON parcels(code_tag)
    WHERE state IN ('STORED', 'EXPIRED');
CREATE UNIQUE INDEX parcels_live_barcode ON parcels(barcode)
    WHERE state IN ('ANNOUNCED', 'STORED', 'EXPIRED');
-- Never two parcels in one compartment.
CREATE UNIQUE INDEX parcels_one_per_compartment ON parcels(compartment_id)
    WHERE state IN ('STORED', 'EXPIRED');

CREATE TABLE door_ops (
    id              INTEGER PRIMARY KEY,
    compartment_id  TEXT NOT NULL REFERENCES compartments(id),
    purpose         TEXT NOT NULL
                    CHECK (purpose IN ('deposit', 'pickup', 'return', 'technician',
                                       'self-test')),
    status          TEXT NOT NULL
                    CHECK (status IN ('UNLOCK_SENT', 'OPENED', 'LEFT_OPEN', 'CLOSED',
                                      'OPEN_NOT_DETECTED', 'ABANDONED')),
    parcel_id       INTEGER REFERENCES parcels(id),
    actor           TEXT,
    details         TEXT NOT NULL DEFAULT '{}',
    fires           INTEGER NOT NULL DEFAULT 0,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
-- One live operation per compartment at a time.
CREATE UNIQUE INDEX door_ops_live ON door_ops(compartment_id)
    WHERE status IN ('UNLOCK_SENT', 'OPENED', 'LEFT_OPEN');

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('courier', 'technician')),
    pin_hash    TEXT NOT NULL,
    badge_tag   TEXT UNIQUE,
    created_at  REAL NOT NULL
);

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          REAL NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'alarm')),
    actor       TEXT,
    compartment TEXT,
    detail      TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    payload       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       REAL NOT NULL,
    created_at    REAL NOT NULL,
    delivered_at  REAL,
    failed        INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT
);
CREATE INDEX outbox_due ON outbox(next_at) WHERE delivered_at IS NULL AND failed = 0;
"""

# V2: pickup hold extensions, compartments held for announced parcels, and the fleet
# link's command record (the dedupe of signed
# remote commands: a replay returns the first result) with its cursors kept in ``meta``.
V2 = """
ALTER TABLE parcels ADD COLUMN extended_hours REAL NOT NULL DEFAULT 0;

-- A compartment held for an announced parcel (a reservation from the operator's network):
-- no other deposit is given it until the parcel arrives, the announcement is withdrawn,
-- or held_until passes.
ALTER TABLE compartments ADD COLUMN held_for INTEGER REFERENCES parcels(id);
ALTER TABLE compartments ADD COLUMN held_until REAL;

CREATE TABLE fleet_commands (
    id           TEXT PRIMARY KEY,
    received_at  REAL NOT NULL,
    kid          TEXT,
    command      TEXT NOT NULL,
    args         TEXT NOT NULL DEFAULT '{}',
    ok           INTEGER NOT NULL,
    reason       TEXT,
    result       TEXT NOT NULL
);
CREATE INDEX fleet_commands_by_kind ON fleet_commands(command, ok, received_at);
"""

# V3: each notification names its parcel, so a code's nonce can be removed from every
# notification of a parcel that has left the kiosk (rows from before are matched by their
# key, "<kiosk>:parcel:<id>:..."); a nonce left in a given-up row is removed now; and the
# housekeeping finds old delivered or given-up rows through an index.
V3 = """
ALTER TABLE outbox ADD COLUMN parcel_id INTEGER REFERENCES parcels(id);
UPDATE outbox SET parcel_id = (SELECT id FROM parcels
    WHERE id = CAST(substr(outbox.key, instr(outbox.key, ':parcel:') + 8) AS INTEGER))
    WHERE instr(key, ':parcel:') > 0;
UPDATE outbox SET payload = json_remove(payload, '$.code_nonce')
    WHERE failed = 1 OR delivered_at IS NOT NULL;
CREATE INDEX outbox_by_parcel ON outbox(parcel_id) WHERE parcel_id IS NOT NULL;
CREATE INDEX outbox_done ON outbox(created_at) WHERE delivered_at IS NOT NULL OR failed = 1;
"""

# V4: a compartment may need a person's check before it is handed out again (the item
# sensor disagrees with the store at start, the store was found behind its mark, a new
# database knows nothing of what is inside): the reason as a code
# (kiosk.reasons.CheckReason), what was found (JSON) and since when. Independent of the
# state: an occupied compartment may need a check as well as a free one.
V4 = """
ALTER TABLE compartments ADD COLUMN check_reason TEXT;
ALTER TABLE compartments ADD COLUMN check_detail TEXT;
ALTER TABLE compartments ADD COLUMN check_since REAL;
"""

# V5: couriers and technicians managed centrally, as the operator's signed staff list
# last gave them (kiosk/fleet/staff.py), beside the local users of `locker-kiosk users`.
# A name is one person whatever its capitals; a local user of the same name is the one
# who signs in here. The list's version and id are kept in ``meta``.
V5 = """
CREATE TABLE staff (
    name        TEXT PRIMARY KEY COLLATE NOCASE,
    role        TEXT NOT NULL CHECK (role IN ('courier', 'technician')),
    pin_hash    TEXT,
    badge_tag   TEXT UNIQUE,
    version     INTEGER NOT NULL,
    updated_at  REAL NOT NULL
);
"""

# V6: why a compartment is out of service is kept as codes (kiosk.reasons.OutOfService):
# the reason's code, a failed self-test's result code and seconds, and a person's own
# words, each in a column of its own. Until V5 the reason was English in ``oos_reason``;
# each such row is read once, here, and the column is emptied (kept, as an SQLite before
# 3.35 cannot drop it): nothing reads English back after this.
V6_COLUMNS = """
ALTER TABLE compartments ADD COLUMN oos_code TEXT;
ALTER TABLE compartments ADD COLUMN oos_result TEXT;
ALTER TABLE compartments ADD COLUMN oos_seconds INTEGER;
ALTER TABLE compartments ADD COLUMN oos_words TEXT;
"""

# The English the daemon wrote until V5, by code: a copy, so that the migration reads
# what was written then whatever the texts say later.
_V5_REASONS = {
    "door did not open": "did_not_open",
    "courier reported: door did not open": "courier_reported",
    "something inside after an interrupted deposit: check it": ("check_after_interrupted_deposit"),
    "taken out of service remotely": "remote",
    "reported at the screen: the door won't open": "reported_door_wont_open",
    "reported at the screen: the compartment is dirty": "reported_dirty",
    "reported at the screen: the compartment is damaged": "reported_damaged",
}
_V5_RESULTS = {
    "opened": "opened",
    "opened and closed": "opened_and_closed",
    "door did not open": "did_not_open",
    "board offline": "board_offline",
    "busy with another operation": "busy",
}
_V5_NOT_CLOSED = re.compile(r"door not closed within (\d+) s")
_V5_SELF_TEST = "self-test: "


def v5_reason_as_codes(reason: str) -> tuple[str, str | None, int | None, str | None]:
    """``(code, result, seconds, words)`` of a reason as V5 wrote it in English."""
    if reason in _V5_REASONS:
        return _V5_REASONS[reason], None, None, None
    if not reason.startswith(_V5_SELF_TEST):
        return "technician", None, None, reason
    detail = reason.removeprefix(_V5_SELF_TEST)
    if detail in _V5_RESULTS:
        return "self_test", _V5_RESULTS[detail], None, None
    match = _V5_NOT_CLOSED.fullmatch(detail)
    if match:
        return "self_test", "not_closed", int(match.group(1)), None
    return "self_test", "error", None, detail


def _v6(conn: sqlite3.Connection) -> None:
    for statement in _split(V6_COLUMNS):
        conn.execute(statement)
    rows = conn.execute("SELECT id, oos_reason FROM compartments WHERE oos_reason IS NOT NULL")
    for cid, reason in rows.fetchall():
        conn.execute(
            "UPDATE compartments SET oos_code = ?, oos_result = ?, oos_seconds = ?,"
            " oos_words = ?, oos_reason = NULL WHERE id = ?",
            (*v5_reason_as_codes(reason), cid),
        )


Migration = str | Callable[[sqlite3.Connection], None]
"""A script, or a function for what SQL alone cannot do; either runs in the migration's
transaction."""

MIGRATIONS: tuple[Migration, ...] = (V1, V2, V3, V4, V5, _v6)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The database was written by a newer version of this program."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`; returns the version found."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"database schema version {found} is newer than this program's "
            f"({SCHEMA_VERSION}); upgrade locker-kiosk"
        )
    for version in range(found, SCHEMA_VERSION):
        # executescript would commit on its own; run statements one by one instead so
        # the migration and the version bump share one transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            _run(conn, MIGRATIONS[version])
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def _run(conn: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration):
        migration(conn)
        return
    for statement in _split(migration):
        conn.execute(statement)


def _split(script: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
