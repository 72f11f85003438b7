"""The console: each kiosk's wall of compartments and its boards down beside its state,
and the indexes the audit pages filter by and the alarm inbox sorts by.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
INDEXES = (
    ("events", "ix_events_kind_ts", ["kind", "ts"]),
    ("events", "ix_events_actor_ts", ["actor", "ts"]),
    ("console_audit", "ix_console_audit_action_at", ["action", "at"]),
    ("console_audit", "ix_console_audit_kiosk_at", ["kiosk", "at"]),
    ("alarms", "ix_alarms_raised_at", ["raised_at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("kiosk_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("boards_down", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("compartments", Json, nullable=True))
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_index(
        "ix_alarms_open_kiosk",
        "alarms",
        ["kiosk"],
        unique=False,
        sqlite_where=sa.text("acked_at IS NULL"),
        postgresql_where=sa.text("acked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_alarms_open_kiosk", table_name="alarms")
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("kiosk_state", schema=None) as batch_op:
        batch_op.drop_column("compartments")
        batch_op.drop_column("boards_down")
