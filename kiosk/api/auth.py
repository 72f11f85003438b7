"""Who is asking: the bearer token of a request, and the session it must belong to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header

from kiosk.access.sessions import Session
from kiosk.core import Kiosk
from kiosk.domain import Role


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


Token = Annotated[str | None, Depends(bearer_token)]


def session_of(kiosk: Kiosk, *roles: Role) -> Callable[[str | None], Session]:
    """A dependency: the request's session, which must have one of ``roles``."""

    def session(tok: Token) -> Session:
        return kiosk.session(tok, *roles)

    return session
