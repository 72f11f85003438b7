"""Staff managed centrally: people with an enrolment code and a PIN verifier, where they
may work, each kiosk's signed staff lists, and the key each kiosk's list is sealed to.

The staff tables of 0001 were placeholders nothing wrote; they are made again in the
shape office/staff.py uses: a person's name unique without regard to capitals (the kiosk
reads names so), the PIN as a verifier that may be absent, the badge code itself (the
office seals it to each kiosk, which keeps only a tag of it), and each list's envelope
kept to publish it again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.drop_table("staff_updates")
    op.drop_table("staff_scopes")
    op.drop_table("staff")
    _staff()
    _scopes()
    _updates()
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("staff_key_at", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("staff_key_by", sa.String(length=64), nullable=True))


def _staff() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("name_key", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("pin_set_at", sa.Double(), nullable=True),
        sa.Column("badge", sa.String(length=256), nullable=True),
        sa.Column("enrol_hash", sa.String(length=255), nullable=True),
        sa.Column("enrol_expires_at", sa.Double(), nullable=True),
        sa.Column("enrol_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("name", name=op.f("uq_staff_name")),
        sa.UniqueConstraint("name_key", name=op.f("uq_staff_name_key")),
    )


def _scopes() -> None:
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


def _updates() -> None:
    op.create_table(
        "staff_updates",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["command_id"], ["commands.id"], name=op.f("fk_staff_updates_command_id_commands")
        ),
        sa.ForeignKeyConstraint(
            ["kiosk"], ["kiosks.id"], name=op.f("fk_staff_updates_kiosk_kiosks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_updates")),
        sa.UniqueConstraint("kiosk", "version", name=op.f("uq_staff_updates_kiosk_version")),
    )


def downgrade() -> None:
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.drop_column("staff_key_by")
        batch_op.drop_column("staff_key_at")
        batch_op.drop_column("staff_key")
    op.drop_table("staff_updates")
    op.drop_table("staff_scopes")
    op.drop_table("staff")
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
    _scopes()
    op.create_table(
        "staff_updates",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kiosk", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("sent_at", sa.Double(), nullable=True),
        sa.Column("applied_at", sa.Double(), nullable=True),
        sa.Column("result", Json, nullable=True),
        sa.ForeignKeyConstraint(
            ["command_id"], ["commands.id"], name=op.f("fk_staff_updates_command_id_commands")
        ),
        sa.ForeignKeyConstraint(
            ["kiosk"], ["kiosks.id"], name=op.f("fk_staff_updates_kiosk_kiosks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_updates")),
        sa.UniqueConstraint("kiosk", "version", name=op.f("uq_staff_updates_kiosk_version")),
    )
