"""The console's shared parts: its templates, who a request comes from, and refusals.

:class:`Console` holds what every page needs (the database, the config, the actions,
the templates). Pages depend on :func:`viewer`, :func:`dispatcher` or :func:`admin`,
which find the request's session and refuse a role too small, on the server, for every
page and every action; forms also pass :func:`check_form` (the Origin and the
session's CSRF token).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine

from office.actions import Actions
from office.config import OfficeConfig
from office.store import sessions
from office.store.accounts import audit
from office.store.scope import may_see
from office.vocab import ConsoleAction, Role
from office.web import i18n, labels
from office.web.security import client_address, same_origin

TEMPLATES = Path(__file__).with_name("templates")
SESSION_COOKIE = "lo_session"


class NotSignedIn(Exception):
    """No live session: the person is sent to the sign-in page."""


class Refused(Exception):
    """The account may not see this page or do this action (403)."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.message = message
        self.what = what


class PageError(Exception):
    """A page that cannot be shown as asked (404 a kiosk not found, 400 bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Console:
    engine: Engine
    config: OfficeConfig
    actions: Actions
    env: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the templates are part of the release
        )

    @property
    def idle_s(self) -> float:
        return self.config.web.session_idle_min * 60

    @property
    def max_age_s(self) -> float:
        return self.config.web.session_max_hours * 3600

    def render(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        tr = translator(request)
        ctx.setdefault("nav", "")
        user = getattr(request.state, "user", None)
        body = self.env.get_template(name).render(
            request=request,
            user=user,
            lang=tr.code,
            languages=i18n.LANGUAGES,
            _=tr._,
            ngettext=tr.ngettext,
            tr=tr,
            now=time.time(),
            labels=labels,
            Role=Role,
            can_sign=self.actions.can_sign,
            **ctx,
        )
        return HTMLResponse(body, status_code=status)


def console_of(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def translator(request: Request) -> i18n.Translator:
    tr = getattr(request.state, "tr", None)
    if tr is None:
        code = i18n.negotiate(
            request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")
        )
        tr = request.state.tr = i18n.Translator(code)
    return tr


def cookie_name(request: Request) -> str:
    """``__Host-`` cookies are bound to this host and sent only over HTTPS."""
    return f"__Host-{SESSION_COOKIE}" if request.url.scheme == "https" else SESSION_COOKIE


def session_token(request: Request) -> str | None:
    return request.cookies.get(f"__Host-{SESSION_COOKIE}") or request.cookies.get(SESSION_COOKIE)


def signed_in(request: Request) -> sessions.SignedIn:
    """The account of the request's session; :class:`NotSignedIn` when there is none."""
    token = session_token(request)
    if not token or len(token) > 100:
        raise NotSignedIn
    console = console_of(request)
    with console.engine.begin() as conn:
        user = sessions.lookup(conn, token, time.time(), console.idle_s)
    if user is None:
        raise NotSignedIn
    request.state.user = user
    return user


def _needs(role: Role) -> Callable[[Request], sessions.SignedIn]:
    def check(request: Request) -> sessions.SignedIn:
        user = signed_in(request)
        if not user.may(role):
            refuse(request, user, i18n.N_("Your role may not do this."), request.url.path)
        return user

    return check


viewer = _needs(Role.VIEWER)
dispatcher = _needs(Role.DISPATCHER)
admin = _needs(Role.ADMIN)


def refuse(request: Request, user: sessions.SignedIn, message: str, what: str) -> None:
    """Record the refusal in the audit and answer 403."""
    with console_of(request).engine.begin() as conn:
        audit(
            conn,
            user.username,
            ConsoleAction.REFUSED,
            what[:128],
            outcome="refused",
            method=request.method,
            role=str(user.role),
        )
    raise Refused(message, what)


def check_kiosk(request: Request, user: sessions.SignedIn, kiosk: str) -> None:
    """404 for a kiosk that does not exist or lies outside the account's sites (the
    same answer for both: a site-limited account learns nothing of other sites)."""
    with console_of(request).engine.connect() as conn:
        if not may_see(conn, kiosk, user.sites):
            raise PageError(404, i18n.N_("There is no such kiosk."))


def check_form(request: Request, user: sessions.SignedIn, csrf: str) -> None:
    """A form must come from the console's own page (Origin) and carry the session's
    CSRF token; anything else is refused and recorded."""
    console = console_of(request)
    if not same_origin(request, console.config.web.public_origin) or not (
        csrf and secrets.compare_digest(csrf.encode(), user.csrf_token.encode())
    ):
        refuse(
            request,
            user,
            i18n.N_("This form did not come from the console, or it is too old: reload the "
                    "page and try again."),
            "csrf:" + request.url.path,
        )  # fmt: skip


def form_by(role: Role) -> Callable[..., sessions.SignedIn]:
    """A dependency for a form's POST: the role, then the form's origin and token."""
    needs = _needs(role)

    def check(request: Request, csrf: str = Form("")) -> sessions.SignedIn:
        user = needs(request)
        check_form(request, user, csrf)
        return user

    return check


Viewer = Annotated[sessions.SignedIn, Depends(viewer)]
Dispatcher = Annotated[sessions.SignedIn, Depends(dispatcher)]
Admin = Annotated[sessions.SignedIn, Depends(admin)]
DispatcherForm = Annotated[sessions.SignedIn, Depends(form_by(Role.DISPATCHER))]
AdminForm = Annotated[sessions.SignedIn, Depends(form_by(Role.ADMIN))]

__all__ = ["Console", "client_address"]
