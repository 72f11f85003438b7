"""Signed-in couriers and technicians: opaque tokens with an idle time-out."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from kiosk.domain import Role
from kiosk.errors import AuthError


@dataclass
class Session:
    token: str
    user: str
    role: Role
    last_used: float
    source: str = "local"  # or "central": signed in from the operator's staff list


class Sessions:
    def __init__(self, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.clock = clock
        self._by_token: dict[str, Session] = {}

    def create(self, user: str, role: Role, source: str = "local") -> Session:
        self._sweep()
        session = Session(secrets.token_urlsafe(24), user, role, self.clock(), source)
        self._by_token[session.token] = session
        return session

    def get(self, token: str | None, *roles: Role) -> Session:
        """The live session for ``token``, refreshed; raises AuthError otherwise."""
        self._sweep()
        session = self._by_token.get(token or "")
        if session is None:
            raise AuthError("please sign in first")
        if roles and session.role not in roles:
            raise AuthError(f"this needs a {' or '.join(str(r) for r in roles)} sign-in")
        session.last_used = self.clock()
        return session

    def end(self, token: str | None) -> None:
        self._by_token.pop(token or "", None)

    def end_for(self, users: Collection[str], source: str) -> int:
        """End every session of ``users`` (names, capitals aside) that came from
        ``source``; how many ended."""
        names = {u.lower() for u in users}
        ended = [t for t, s in self._by_token.items()
                 if s.source == source and s.user.lower() in names]  # fmt: skip
        for token in ended:
            del self._by_token[token]
        return len(ended)

    def _sweep(self) -> None:
        cutoff = self.clock() - self.idle_s
        for token in [t for t, s in self._by_token.items() if s.last_used < cutoff]:
            del self._by_token[token]
