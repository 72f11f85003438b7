"""Signing in and out, and the language switch.

The sign-in form is protected like every other form: it must come from the console's
own page (Origin) and carry the token of a short-lived cookie set with the page
(double submit), so another site cannot sign a browser in to an account of its
choosing. Tries are throttled per account and per client address before the password
is checked at all (office/store/sessions.py); every attempt is a line of the audit.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from office import passwords
from office.store import sessions
from office.store.accounts import audit
from office.vocab import ConsoleAction
from office.web import forms, i18n
from office.web.console import (
    Console,
    NotSignedIn,
    check_form,
    console_of,
    cookie_name,
    signed_in,
)
from office.web.security import client_address, same_origin

router = APIRouter()
LOGIN_COOKIE = "lo_login"


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    try:
        signed_in(request)
        return RedirectResponse(forms.next_path(next), 303)
    except NotSignedIn:
        pass
    return _login_form(request, next, None, 200)


def _login_form(request: Request, next: str, error: str | None, status: int) -> Response:
    return render_tokened_form(
        request, "login.html", status, next=forms.next_path(next), error=error
    )


def render_tokened_form(request: Request, template: str, status: int, **context: Any) -> Response:
    """A page whose form is sent without a session (signing in, enrolling): the token it
    carries is also set in a short-lived cookie, and :func:`form_token_ok` compares them."""
    token = request.cookies.get(LOGIN_COOKIE)
    if not token or len(token) != 43:
        token = secrets.token_urlsafe(32)
    response = console_of(request).render(request, template, status, login_token=token, **context)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def form_token_ok(request: Request, login_token: str) -> bool:
    """Whether a form sent without a session came from the console's own page: its
    origin, and its token the same as the cookie :func:`render_tokened_form` set."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return (
        same_origin(request, console_of(request).config.web.public_origin)
        and bool(cookie)
        and secrets.compare_digest(cookie.encode(), login_token.encode())
    )


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    login_token: str = Form(""),
    next: str = Form(""),
) -> Response:
    console = console_of(request)
    if not form_token_ok(request, login_token):
        return _login_form(
            request, next, i18n.N_("The sign-in form was too old. Please try again."), 403
        )
    name = username.strip()[:64]
    client = client_address(request)
    now = time.time()
    with console.engine.begin() as conn:
        wait = sessions.wait_s(conn, name, client, now)
        if wait > 0:
            audit(conn, name or "-", ConsoleAction.LOGIN_THROTTLED, name, "refused", client=client)
            return _login_form(request, next, i18n.N_("Too many failed sign-ins. Wait a few "
                                                      "minutes and try again."), 429)  # fmt: skip
    found = _check(console, name, password[:1024], client, now)
    if found is None:
        return _login_form(request, next, i18n.N_("Wrong user name or password."), 401)
    return _signed_in_response(request, found, client, next)


def _check(console: Console, name: str, password: str, client: str, now: float) -> int | None:
    """The account's id when ``password`` is right; every try recorded."""
    engine = console.engine
    with engine.connect() as conn:
        account = sessions.account(conn, name) if forms.NAME.fullmatch(name) else None
    ok = account is not None and passwords.verify(account.password_hash, password)
    with engine.begin() as conn:
        sessions.record_attempt(conn, name or "-", client, ok, now)
        action = ConsoleAction.LOGIN if ok else ConsoleAction.LOGIN_FAILED
        audit(conn, name or "-", action, name or "-", "ok" if ok else "refused", client=client)
        if account is not None and ok and passwords.needs_rehash(account.password_hash):
            sessions.rehash(conn, account.id, passwords.hash_password(password))
    return int(account.id) if account is not None and ok else None


def _signed_in_response(request: Request, user_id: int, client: str, next: str) -> Response:
    console = console_of(request)
    with console.engine.begin() as conn:
        token, _csrf = sessions.create(conn, user_id, client, time.time(), console.max_age_s)
    response = RedirectResponse(forms.next_path(next), 303)
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=int(console.max_age_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    try:
        user = signed_in(request)
    except NotSignedIn:
        return RedirectResponse("/login", 303)
    check_form(request, user, csrf)
    console = console_of(request)
    with console.engine.begin() as conn:
        sessions.revoke(conn, user.session_id, time.time())
        audit(conn, user.username, ConsoleAction.LOGOUT, user.username)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(cookie_name(request), path="/")
    return response


@router.get("/language/{code}")
def language(request: Request, code: str, next: str = "") -> Response:
    """Remember the person's language (a preference, not an action: no audit line)."""
    response = RedirectResponse(forms.next_path(next), 303)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response
