"""The console's sign-in sessions and its login throttle, in the database.

A session is a random token in the person's cookie; the database keeps only its
SHA-256, so a copy of the database signs nobody in. Each session has its own CSRF
token, an idle time-out (``last_seen_at``) and an absolute one (``expires_at``); a
password change or a disabled account revokes every session of the account.

The throttle counts failed sign-ins in the last :data:`WINDOW_S` seconds, per account
and per client address (docs/office.md, "The console's security", has the arithmetic).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from office.store import schema as s
from office.vocab import Role

WINDOW_S = 15 * 60.0
ACCOUNT_FAILURES = 5
"""Failed sign-ins an account may have in a window; then it waits for the oldest to age."""
ADDRESS_FAILURES = 20
"""Failed sign-ins one client address may have in a window, whichever accounts it tries."""
TOUCH_EVERY_S = 30.0
"""A session's ``last_seen_at`` is written at most this often (a write per page is waste)."""

S, U, L = s.console_sessions.c, s.console_users.c, s.login_attempts.c


@dataclass(frozen=True)
class SignedIn:
    """Who a request comes from: the account, its role and sites, and its session."""

    user_id: int
    username: str
    role: Role
    sites: tuple[str, ...]
    session_id: str
    csrf_token: str

    def may(self, role: Role) -> bool:
        """Whether this account's role includes ``role`` (viewer < dispatcher < admin)."""
        order = list(Role)
        return order.index(self.role) >= order.index(role)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def wait_s(conn: sa.Connection, username: str, client: str, now: float) -> float:
    """Seconds until a sign-in may be tried for ``username`` from ``client`` (0: now)."""
    since = now - WINDOW_S
    waits = [0.0]
    for column, value, limit in (
        (L.username, username, ACCOUNT_FAILURES),
        (L.client, client, ADDRESS_FAILURES),
    ):
        failures = (
            conn.execute(
                sa.select(L.at)
                .where(column == value, L.at > since, L.ok.is_(False))
                .order_by(L.at.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )
        if len(failures) >= limit:
            waits.append(failures[-1] + WINDOW_S - now)
    return max(waits)


def record_attempt(conn: sa.Connection, username: str, client: str, ok: bool, now: float) -> None:
    conn.execute(
        s.login_attempts.insert().values(username=username[:64], client=client[:64], at=now, ok=ok)
    )


def create(
    conn: sa.Connection, user_id: int, client: str, now: float, max_age_s: float
) -> tuple[str, str]:
    """A new session for ``user_id``: ``(cookie token, CSRF token)``."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(
        s.console_sessions.insert().values(
            id=token_hash(token),
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + max_age_s,
            client=client[:128],
        )
    )
    conn.execute(s.console_users.update().where(U.id == user_id).values(last_login_at=now))
    return token, csrf


def lookup(conn: sa.Connection, token: str, now: float, idle_s: float) -> SignedIn | None:
    """The account signed in by ``token``, or None (unknown, revoked, expired, idle too
    long, or the account disabled); a live session's idle clock starts again."""
    row = conn.execute(
        sa.select(S.id, S.csrf_token, S.last_seen_at, U.id.label("uid"), U.username, U.role)
        .join(s.console_users, U.id == S.user_id)
        .where(S.id == token_hash(token), S.revoked_at.is_(None), U.disabled_at.is_(None))
        .where(S.expires_at > now, S.last_seen_at > now - idle_s)
    ).first()
    if row is None:
        return None
    if now - row.last_seen_at > TOUCH_EVERY_S:
        conn.execute(s.console_sessions.update().where(S.id == row.id).values(last_seen_at=now))
    sites = conn.execute(
        sa.select(s.console_user_sites.c.site)
        .where(s.console_user_sites.c.user_id == row.uid)
        .order_by(s.console_user_sites.c.site)
    ).scalars()
    return SignedIn(row.uid, row.username, Role(row.role), tuple(sites), row.id, row.csrf_token)


def revoke(conn: sa.Connection, session_id: str, now: float) -> None:
    conn.execute(
        s.console_sessions.update()
        .where(S.id == session_id, S.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def account(conn: sa.Connection, username: str) -> Any:
    """``(id, password_hash, role)`` of an active account, or None."""
    return conn.execute(
        sa.select(U.id, U.password_hash, U.role).where(
            U.username == username, U.disabled_at.is_(None)
        )
    ).first()


def rehash(conn: sa.Connection, user_id: int, new_hash: str) -> None:
    conn.execute(s.console_users.update().where(U.id == user_id).values(password_hash=new_hash))


def now() -> float:
    return time.time()
