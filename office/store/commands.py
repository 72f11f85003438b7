"""The record of commands the office sends: who asked, why, and the kiosk's answer.

A command is written here (in its own transaction) before it is published, so an
answer can always be matched to it; the ingest fills in the answer when the kiosk's
``results`` message arrives (office/store/ingest.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kiosk.fleet.payloads import Body
from office.store import schema as s


def record(conn: sa.Connection, sent: Body, asked_by: str, why: str | None) -> None:
    """A signed command's payload as sent (``id``, ``kiosk``, ``command``, ``args``...)."""
    conn.execute(
        s.commands.insert().values(
            id=sent["id"],
            kiosk=sent["kiosk"],
            command=sent["command"],
            args=sent["args"],
            asked_by=asked_by,
            why=why,
            sent_at=sent["issued_at"],
            expires_at=sent["expires_at"],
        )
    )


def published(conn: sa.Connection, command_id: str, at: float) -> None:
    conn.execute(s.commands.update().where(s.commands.c.id == command_id).values(published_at=at))


def answer(conn: sa.Connection, command_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(s.commands).where(s.commands.c.id == command_id)).mappings()
    found = row.first()
    return dict(found) if found is not None else None
