"""The office's first schema: every table of office/store/schema.py, and the console
audit made append-only by triggers on both databases.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    _tables()
    _append_only_audit()


def _tables() -> None:

    op.create_table(
        "console_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("kiosk", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_audit")),
    )
    with op.batch_alter_table("console_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_audit_actor_at"), ["actor", "at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_console_audit_at"), ["at"], unique=False)

    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("password_changed_at", sa.Double(), nullable=False),
        sa.Column("last_login_at", sa.Double(), nullable=True),
        sa.Column("disabled_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_users")),
        sa.UniqueConstraint("username", name=op.f("uq_console_users_username")),
    )
    op.create_table(
        "ingest_rejects",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("kiosk", sa.String(length=64), nullable=True),
        sa.Column("leaf", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_rejects")),
    )
    with op.batch_alter_table("ingest_rejects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_rejects_at"), ["at"], unique=False)

    op.create_table(
        "kiosks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("first_seen_at", sa.Double(), nullable=False),
        sa.Column("last_seen_at", sa.Double(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="unknown", nullable=False),
        sa.Column("status_since", sa.Double(), nullable=True),
        sa.Column("presence_at", sa.Double(), nullable=True),
        sa.Column("online_since", sa.Double(), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("announcements_cursor", sa.BigInteger(), nullable=True),
        sa.Column("scanned_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("max_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "reported_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("reported_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
    )
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kiosks_site"), ["site"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_attempts_client_at"), ["client", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_attempts_username_at"), ["username", "at"], unique=False
        )

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=False),
        sa.Column("badge_tag", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("name", name=op.f("uq_staff_name")),
    )
    op.create_table(
        "alarms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_seq", sa.BigInteger(), nullable=True),
        sa.Column("compartment", sa.String(length=32), nullable=True),
        sa.Column("board", sa.String(length=64), nullable=True),
        sa.Column("raised_at", sa.Double(), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.Double(), nullable=True),
        sa.Column("resolved_seq", sa.BigInteger(), nullable=True),
        sa.Column("acked_at", sa.Double(), nullable=True),
        sa.Column("acked_by", sa.Integer(), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acked_by"], ["console_users.id"], name=op.f("fk_alarms_acked_by_console_users")
        ),
        sa.ForeignKeyConstraint(["kiosk"], ["kiosks.id"], name=op.f("fk_alarms_kiosk_kiosks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("kiosk", "source_seq", name=op.f("uq_alarms_kiosk_source_seq")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alarms_acked_at_raised_at"), ["acked_at", "raised_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alarms_kiosk_kind_resolved_at"),
            ["kiosk", "kind", "resolved_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_alarms_open_offline",
            ["kiosk"],
            unique=True,
            sqlite_where=sa.text("kind = 'kiosk_offline' AND resolved_at IS NULL"),
            postgresql_where=sa.text("kind = 'kiosk_offline' AND resolved_at IS NULL"),
        )

    op.create_table(
        "commands",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column(
            "args",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("asked_by", sa.String(length=64), nullable=False),
        sa.Column("why", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("published_at", sa.Double(), nullable=True),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("replayed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["kiosk"], ["kiosks.id"], name=op.f("fk_commands_kiosk_kiosks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commands_kiosk_sent_at"), ["kiosk", "sent_at"], unique=False
        )

    op.create_table(
        "compartments",
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("compartment", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("state_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("oos_reason", sa.Text(), nullable=True),
        sa.Column("parcel_ref", sa.BigInteger(), nullable=True),
        sa.Column("door", sa.String(length=8), nullable=True),
        sa.Column("door_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kiosk"], ["kiosks.id"], name=op.f("fk_compartments_kiosk_kiosks")
        ),
        sa.PrimaryKeyConstraint("kiosk", "compartment", name=op.f("pk_compartments")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_seen_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("client", sa.String(length=128), nullable=True),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["console_users.id"],
            name=op.f("fk_console_sessions_user_id_console_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "console_user_sites",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["console_users.id"],
            name=op.f("fk_console_user_sites_user_id_console_users"),
        ),
        sa.PrimaryKeyConstraint("user_id", "site", name=op.f("pk_console_user_sites")),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("compartment", sa.String(length=32), nullable=True),
        sa.Column("parcel_ref", sa.BigInteger(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("detail_dropped", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("kiosk", "seq", name=op.f("uq_events_kiosk_seq")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_kiosk_parcel_ref"), ["kiosk", "parcel_ref"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_ts"), ["ts"], unique=False)

    op.create_table(
        "gaps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("found_at", sa.Double(), nullable=False),
        sa.Column("requested_at", sa.Double(), nullable=True),
        sa.Column("requests", sa.Integer(), server_default="0", nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=True),
        sa.Column("repaired_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["kiosk"], ["kiosks.id"], name=op.f("fk_gaps_kiosk_kiosks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gaps")),
        sa.UniqueConstraint("kiosk", "first_seq", name=op.f("uq_gaps_kiosk_first_seq")),
    )
    with op.batch_alter_table("gaps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gaps_repaired_at"), ["repaired_at"], unique=False)

    op.create_table(
        "kiosk_health",
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("clock_offset_s", sa.Double(), nullable=False),
        sa.Column("uptime_s", sa.Double(), nullable=True),
        sa.Column("outbox_depth", sa.BigInteger(), nullable=True),
        sa.Column("notify_depth", sa.BigInteger(), nullable=True),
        sa.Column("acked_seq", sa.BigInteger(), nullable=True),
        sa.Column("acked_seq_at", sa.Double(), nullable=True),
        sa.Column(
            "boards",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["kiosk"], ["kiosks.id"], name=op.f("fk_kiosk_health_kiosk_kiosks")
        ),
        sa.PrimaryKeyConstraint("kiosk", name=op.f("pk_kiosk_health")),
    )
    op.create_table(
        "kiosk_state",
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Double(), nullable=True),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column(
            "free",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "total",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "out_of_service",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "held",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "doors_open",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "doors_unknown",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "boards",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("guard", sa.String(length=16), nullable=False),
        sa.Column("alarms_24h", sa.Integer(), nullable=False),
        sa.Column("sampled_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["kiosk"], ["kiosks.id"], name=op.f("fk_kiosk_state_kiosk_kiosks")),
        sa.PrimaryKeyConstraint("kiosk", name=op.f("pk_kiosk_state")),
    )
    op.create_table(
        "occupancy_samples",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("free", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kiosk"], ["kiosks.id"], name=op.f("fk_occupancy_samples_kiosk_kiosks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occupancy_samples")),
    )
    with op.batch_alter_table("occupancy_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_occupancy_samples_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_occupancy_samples_kiosk_at"), ["kiosk", "at"], unique=False
        )

    op.create_table(
        "parcels",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("local_id", sa.BigInteger(), nullable=False),
        sa.Column("barcode", sa.String(length=128), nullable=True),
        sa.Column("size", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("state_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("compartment", sa.String(length=32), nullable=True),
        sa.Column("courier", sa.String(length=128), nullable=True),
        sa.Column("announced_at", sa.Double(), nullable=True),
        sa.Column("stored_at", sa.Double(), nullable=True),
        sa.Column("expires_at", sa.Double(), nullable=True),
        sa.Column("picked_up_at", sa.Double(), nullable=True),
        sa.Column("expired_at", sa.Double(), nullable=True),
        sa.Column("returned_at", sa.Double(), nullable=True),
        sa.Column("cancelled_at", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
        sa.UniqueConstraint("kiosk", "local_id", name=op.f("uq_parcels_kiosk_local_id")),
    )
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parcels_barcode"), ["barcode"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_parcels_state_expires_at"), ["state", "expires_at"], unique=False
        )

    op.create_table(
        "staff_scopes",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_scopes_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("staff_id", "scope", "name", name=op.f("pk_staff_scopes")),
    )
    op.create_table(
        "staff_updates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("sent_at", sa.Double(), nullable=True),
        sa.Column("applied_at", sa.Double(), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["command_id"], ["commands.id"], name=op.f("fk_staff_updates_command_id_commands")
        ),
        sa.ForeignKeyConstraint(
            ["kiosk"], ["kiosks.id"], name=op.f("fk_staff_updates_kiosk_kiosks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_updates")),
        sa.UniqueConstraint("kiosk", "version", name=op.f("uq_staff_updates_kiosk_version")),
    )


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER console_audit_no_{verb.lower()} BEFORE {verb} ON console_audit"
    " BEGIN SELECT RAISE(ABORT, 'console_audit is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION office_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
    "CREATE TRIGGER console_audit_append_only BEFORE UPDATE OR DELETE ON console_audit"
    " FOR EACH ROW EXECUTE FUNCTION office_append_only()",
    "CREATE TRIGGER console_audit_no_truncate BEFORE TRUNCATE ON console_audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION office_append_only()",
]


def _append_only_audit() -> None:
    """The audit refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) from anyone."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER console_audit_no_truncate ON console_audit")
        op.execute("DROP TRIGGER console_audit_append_only ON console_audit")
        op.execute("DROP FUNCTION office_append_only()")

    op.drop_table("staff_updates")
    op.drop_table("staff_scopes")
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parcels_state_expires_at"))
        batch_op.drop_index(batch_op.f("ix_parcels_barcode"))

    op.drop_table("parcels")
    with op.batch_alter_table("occupancy_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_occupancy_samples_kiosk_at"))
        batch_op.drop_index(batch_op.f("ix_occupancy_samples_at"))

    op.drop_table("occupancy_samples")
    op.drop_table("kiosk_state")
    op.drop_table("kiosk_health")
    with op.batch_alter_table("gaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gaps_repaired_at"))

    op.drop_table("gaps")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_ts"))
        batch_op.drop_index(batch_op.f("ix_events_kiosk_parcel_ref"))

    op.drop_table("events")
    op.drop_table("console_user_sites")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_user_id"))

    op.drop_table("console_sessions")
    op.drop_table("compartments")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commands_kiosk_sent_at"))

    op.drop_table("commands")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alarms_open_offline",
            sqlite_where=sa.text("kind = 'kiosk_offline' AND resolved_at IS NULL"),
            postgresql_where=sa.text("kind = 'kiosk_offline' AND resolved_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_alarms_kiosk_kind_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_alarms_acked_at_raised_at"))

    op.drop_table("alarms")
    op.drop_table("staff")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_username_at"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_client_at"))

    op.drop_table("login_attempts")
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kiosks_site"))

    op.drop_table("kiosks")
    with op.batch_alter_table("ingest_rejects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_rejects_at"))

    op.drop_table("ingest_rejects")
    op.drop_table("console_users")
    with op.batch_alter_table("console_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_audit_at"))
        batch_op.drop_index(batch_op.f("ix_console_audit_actor_at"))

    op.drop_table("console_audit")
