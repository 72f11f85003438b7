"""The console's own accounts (``locker-office users``), each change in the audit."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from office.passwords import hash_password
from office.store import schema as s
from office.vocab import Role

U = s.console_users.c


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Account:
    username: str
    role: Role
    sites: tuple[str, ...]
    created_at: float
    last_login_at: float | None
    disabled_at: float | None


def audit(
    conn: sa.Connection,
    actor: str,
    action: str,
    target: str | None,
    outcome: str = "ok",
    kiosk: str | None = None,
    **detail: Any,
) -> None:
    """One line of the append-only console audit."""
    conn.execute(
        s.console_audit.insert().values(
            at=time.time(),
            actor=actor,
            action=action,
            kiosk=kiosk,
            target=target,
            outcome=outcome,
            detail=detail,
        )
    )


def add(
    conn: sa.Connection, username: str, password: str, role: Role, sites: list[str], actor: str
) -> None:
    if conn.execute(sa.select(U.id).where(U.username == username)).first() is not None:
        raise AccountError(f"there is already an account {username!r}")
    now = time.time()
    inserted = conn.execute(
        s.console_users.insert().values(
            username=username,
            password_hash=hash_password(password),
            role=str(role),
            created_at=now,
            created_by=actor,
            password_changed_at=now,
        )
    ).inserted_primary_key
    assert inserted is not None
    user_id = inserted[0]
    if sites:
        conn.execute(
            s.console_user_sites.insert(),
            [{"user_id": user_id, "site": site} for site in sorted(set(sites))],
        )
    audit(conn, actor, "user_added", username, role=str(role), sites=sorted(set(sites)))


def set_password(conn: sa.Connection, username: str, password: str, actor: str) -> None:
    done = conn.execute(
        s.console_users.update()
        .where(U.username == username)
        .values(password_hash=hash_password(password), password_changed_at=time.time())
    )
    if done.rowcount != 1:
        raise AccountError(f"there is no account {username!r}")
    conn.execute(
        s.console_sessions.update()
        .where(
            s.console_sessions.c.user_id == _id(conn, username),
            s.console_sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=time.time())
    )
    audit(conn, actor, "password_changed", username)


def disable(conn: sa.Connection, username: str, actor: str) -> None:
    """Sign the account out everywhere and refuse it from now on (its history stays)."""
    now = time.time()
    done = conn.execute(
        s.console_users.update()
        .where(U.username == username, U.disabled_at.is_(None))
        .values(disabled_at=now)
    )
    if done.rowcount != 1:
        raise AccountError(f"there is no active account {username!r}")
    conn.execute(
        s.console_sessions.update()
        .where(
            s.console_sessions.c.user_id == _id(conn, username),
            s.console_sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    audit(conn, actor, "user_disabled", username)


def accounts(conn: sa.Connection) -> list[Account]:
    sites: dict[int, list[str]] = {}
    for user_id, site in conn.execute(sa.select(s.console_user_sites)):
        sites.setdefault(user_id, []).append(site)
    rows = conn.execute(sa.select(s.console_users).order_by(U.username)).mappings()
    return [
        Account(
            r["username"],
            Role(r["role"]),
            tuple(sorted(sites.get(r["id"], []))),
            r["created_at"],
            r["last_login_at"],
            r["disabled_at"],
        )
        for r in rows
    ]


def _id(conn: sa.Connection, username: str) -> int:
    return int(conn.execute(sa.select(U.id).where(U.username == username)).scalar_one())
