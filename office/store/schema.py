"""Every table of the office's database, in SQLAlchemy Core.

Times are Unix seconds (``Double``) as in the fleet contract: a kiosk's own stamps
(``ts``) beside the office's (``received_at`` and the like). Kiosk-sent JSON is kept as
JSON (``JSONB`` on PostgreSQL). The migrations in ``office/migrations`` build exactly
this; tests/office/test_store_schema.py compares the two on both databases.

What fills what: ingest fills kiosks, kiosk_state, kiosk_health, events, gaps, alarms,
parcels, compartments, occupancy_samples, commands' answers and ingest_rejects; the
console fills console_users (and their sites), console_sessions, login_attempts,
console_audit, commands, alarms' acknowledgements and the staff tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite's rowid alias
Time = sa.Double
KioskId = sa.String(64)


def _kiosk_fk(nullable: bool = False) -> sa.Column[str]:
    return sa.Column("kiosk", KioskId, sa.ForeignKey("kiosks.id"), nullable=nullable)


def _kiosk_unchecked() -> sa.Column[str]:
    """A kiosk id without a foreign key: on the tables written for every event, where a
    per-row check cost PostgreSQL a third of the insert; the ingest writes the kiosk's
    row first, in the same transaction (office/store/ingest.py)."""
    return sa.Column("kiosk", KioskId, nullable=False)


kiosks = sa.Table(
    "kiosks",
    metadata,
    sa.Column("id", KioskId, primary_key=True),
    sa.Column("site", sa.String(64)),
    sa.Column("name", sa.String(128)),
    sa.Column("first_seen_at", Time, nullable=False),
    sa.Column("last_seen_at", Time),
    # presence: status online/offline/unknown, ordered by the office's receipt
    sa.Column("status", sa.String(8), nullable=False, server_default="unknown"),
    sa.Column("status_since", Time),
    sa.Column("presence_at", Time),
    sa.Column("online_since", Time),
    sa.Column("version", sa.String(64)),
    sa.Column("announcements_cursor", sa.BigInteger),
    # events: every seq up to scanned_seq is stored or lies in a recorded gap
    sa.Column("scanned_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("max_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reported_config", Json),
    sa.Column("reported_at", Time),
    # the key its staff list is sealed to (registered by a person, never from the broker)
    sa.Column("staff_key", sa.String(64)),
    sa.Column("staff_key_at", Time),
    sa.Column("staff_key_by", sa.String(64)),
    sa.Index(None, "site"),
)

kiosk_state = sa.Table(
    "kiosk_state",
    metadata,
    sa.Column("kiosk", KioskId, sa.ForeignKey("kiosks.id"), primary_key=True),
    sa.Column("ts", Time),
    sa.Column("received_at", Time, nullable=False),
    sa.Column("free", Json, nullable=False),
    sa.Column("total", Json, nullable=False),
    sa.Column("out_of_service", Json, nullable=False),
    sa.Column("held", Json, nullable=False),
    sa.Column("doors_open", Json, nullable=False),
    sa.Column("doors_unknown", Json, nullable=False),
    sa.Column("boards", Json, nullable=False),
    sa.Column("guard", sa.String(16), nullable=False),
    sa.Column("alarms_24h", sa.Integer, nullable=False),
    sa.Column("sampled_at", Time),
    sa.Column("boards_down", sa.Integer, nullable=False, server_default="0"),
    # every compartment (id, size, state, door, ...): the kiosk's wall; older kiosks send none
    sa.Column("compartments", Json),
)

kiosk_health = sa.Table(
    "kiosk_health",
    metadata,
    sa.Column("kiosk", KioskId, sa.ForeignKey("kiosks.id"), primary_key=True),
    sa.Column("ts", Time, nullable=False),
    sa.Column("received_at", Time, nullable=False),
    sa.Column("clock_offset_s", Time, nullable=False),
    sa.Column("uptime_s", Time),
    sa.Column("outbox_depth", sa.BigInteger),
    sa.Column("notify_depth", sa.BigInteger),
    # the kiosk's cursor: every event up to it reached the broker (a tail gap shows here)
    sa.Column("acked_seq", sa.BigInteger),
    sa.Column("acked_seq_at", Time),  # when the office first heard this acked_seq
    sa.Column("boards", Json, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _kiosk_unchecked(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts", Time, nullable=False),
    sa.Column("received_at", Time, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128)),
    sa.Column("compartment", sa.String(32)),
    sa.Column("parcel_ref", sa.BigInteger),
    sa.Column("detail", Json, nullable=False),
    # why the kiosk's detail was not kept (too deep, too big); the event itself was
    sa.Column("detail_dropped", sa.String(64)),
    sa.UniqueConstraint("kiosk", "seq"),
    sa.Index(None, "kiosk", "parcel_ref"),
    sa.Index(None, "ts"),
    # the console's audit of kiosk events, filtered by kind or by actor, newest first
    sa.Index(None, "kind", "ts"),
    sa.Index(None, "actor", "ts"),
)

gaps = sa.Table(
    "gaps",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _kiosk_fk(),
    sa.Column("first_seq", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("found_at", Time, nullable=False),
    sa.Column("requested_at", Time),
    sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
    sa.Column("command_id", sa.String(64)),
    sa.Column("repaired_at", Time),
    sa.UniqueConstraint("kiosk", "first_seq"),
    sa.Index(None, "repaired_at"),
)

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("password_changed_at", Time, nullable=False),
    sa.Column("last_login_at", Time),
    sa.Column("disabled_at", Time),
)

console_user_sites = sa.Table(
    "console_user_sites",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id"), primary_key=True),
    sa.Column("site", sa.String(64), primary_key=True),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # a hash of the cookie's token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("last_seen_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("client", sa.String(128)),
    sa.Column("revoked_at", Time),
    sa.Index(None, "user_id"),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Index(None, "username", "at"),
    sa.Index(None, "client", "at"),
)

console_audit = sa.Table(
    "console_audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", Time, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("kiosk", KioskId),
    sa.Column("target", sa.String(128)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", Json, nullable=False),
    sa.Index(None, "at"),
    sa.Index(None, "actor", "at"),
    sa.Index(None, "action", "at"),
    sa.Index(None, "kiosk", "at"),
)

alarms = sa.Table(
    "alarms",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _kiosk_fk(),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("source_seq", sa.BigInteger),  # the event that raised it (none: kiosk offline)
    sa.Column("compartment", sa.String(32)),
    sa.Column("board", sa.String(64)),
    sa.Column("raised_at", Time, nullable=False),
    sa.Column("detail", Json, nullable=False),
    sa.Column("resolved_at", Time),
    sa.Column("resolved_seq", sa.BigInteger),
    sa.Column("acked_at", Time),
    sa.Column("acked_by", sa.Integer, sa.ForeignKey("console_users.id")),
    sa.Column("ack_note", sa.Text),
    sa.UniqueConstraint("kiosk", "source_seq"),
    sa.Index(None, "acked_at", "raised_at"),
    sa.Index(None, "raised_at"),  # the inbox's "all", newest first
    # the network's open alarms per kiosk, counted from the index alone
    sa.Index(
        "ix_alarms_open_kiosk",
        "kiosk",
        sqlite_where=sa.text("acked_at IS NULL"),
        postgresql_where=sa.text("acked_at IS NULL"),
    ),
    sa.Index(None, "kiosk", "kind", "resolved_at"),
    # at most one open kiosk-offline alarm per kiosk, whichever serve process raises it
    sa.Index(
        "uq_alarms_open_offline",
        "kiosk",
        unique=True,
        sqlite_where=sa.text("kind = 'kiosk_offline' AND resolved_at IS NULL"),
        postgresql_where=sa.text("kind = 'kiosk_offline' AND resolved_at IS NULL"),
    ),
)

parcels = sa.Table(
    "parcels",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _kiosk_unchecked(),
    sa.Column("local_id", sa.BigInteger, nullable=False),  # the kiosk's own parcel id
    sa.Column("barcode", sa.String(128)),
    sa.Column("size", sa.String(16)),
    sa.Column("state", sa.String(16)),
    sa.Column("state_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("compartment", sa.String(32)),
    sa.Column("courier", sa.String(128)),
    sa.Column("announced_at", Time),
    sa.Column("stored_at", Time),
    sa.Column("expires_at", Time),
    sa.Column("picked_up_at", Time),
    sa.Column("expired_at", Time),
    sa.Column("returned_at", Time),
    sa.Column("cancelled_at", Time),
    sa.Column("updated_at", Time, nullable=False),
    sa.UniqueConstraint("kiosk", "local_id"),
    sa.Index(None, "barcode"),
    sa.Index(None, "state", "expires_at"),
)

compartments = sa.Table(
    "compartments",
    metadata,
    sa.Column("kiosk", KioskId, sa.ForeignKey("kiosks.id"), primary_key=True),
    sa.Column("compartment", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16)),
    sa.Column("state_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("oos_reason", sa.Text),
    sa.Column("parcel_ref", sa.BigInteger),
    sa.Column("door", sa.String(8)),
    sa.Column("door_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", Time, nullable=False),
)

occupancy_samples = sa.Table(
    "occupancy_samples",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _kiosk_fk(),
    sa.Column("at", Time, nullable=False),
    sa.Column("size", sa.String(16), nullable=False),
    sa.Column("free", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Index(None, "kiosk", "at"),
    sa.Index(None, "at"),
)

commands = sa.Table(
    "commands",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the signed payload's id
    _kiosk_fk(),
    sa.Column("command", sa.String(32), nullable=False),
    sa.Column("args", Json, nullable=False),
    sa.Column("asked_by", sa.String(64), nullable=False),  # a console user, or "office"
    sa.Column("why", sa.Text),
    sa.Column("sent_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("published_at", Time),
    sa.Column("answered_at", Time),
    sa.Column("ok", sa.Boolean),
    sa.Column("reason", sa.String(32)),
    sa.Column("message", sa.Text),
    sa.Column("result", Json),
    sa.Column("replayed", sa.Boolean),
    sa.Index(None, "kiosk", "sent_at"),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(32), nullable=False, unique=True),
    sa.Column("name_key", sa.String(32), nullable=False, unique=True),  # lower(name)
    sa.Column("role", sa.String(16), nullable=False),
    # the PIN's scrypt verifier (kiosk.fleet.messages.pin_verifier), never the PIN;
    # none until the person chose one with their enrolment code, or after a revocation
    sa.Column("pin_hash", sa.String(255)),
    sa.Column("pin_set_at", Time),
    sa.Column("badge", sa.String(256)),  # a badge only names its holder
    # a one-time enrolment code as an argon2id hash, until it is used or expires
    sa.Column("enrol_hash", sa.String(255)),
    sa.Column("enrol_expires_at", Time),
    sa.Column("enrol_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("revoked_at", Time),
    sa.Column("revoked_by", sa.String(64)),
)

staff_scopes = sa.Table(
    "staff_scopes",
    metadata,
    sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id"), primary_key=True),
    sa.Column("scope", sa.String(8), primary_key=True),  # "all", "site" or "kiosk"
    sa.Column("name", sa.String(64), primary_key=True),  # "*" for all
)

staff_updates = sa.Table(
    "staff_updates",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _kiosk_fk(),
    sa.Column("version", sa.BigInteger, nullable=False),  # the kiosk's staff list version
    # the signed message's record: who asked, why, when published, the kiosk's answer
    sa.Column("command_id", sa.String(64), sa.ForeignKey("commands.id"), nullable=False),
    sa.Column("people", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the envelope, to publish it again
    sa.Column("created_at", Time, nullable=False),
    sa.UniqueConstraint("kiosk", "version"),
)

ingest_rejects = sa.Table(
    "ingest_rejects",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", Time, nullable=False),
    sa.Column("kiosk", KioskId),  # from the topic, when the topic was a kiosk's at all
    sa.Column("leaf", sa.String(64)),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # what was wrong, never the content
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Index(None, "at"),
)
