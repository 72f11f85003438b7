"""The Staff page: couriers and technicians managed centrally (admins only), and the
enrolment page where a person sets their own PIN with a one-time code.

The logic is :mod:`office.staff`'s (``list_staff``, ``kiosk_lists``, ``create_staff``,
``update_staff``, ``revoke_staff``, ``enrol_staff``); this module only checks the forms
and shows the result. An office without that module answers these pages with 503 and
says so. A new person's (or a reset PIN's) enrolment code is shown once, on the page
that answers the form, never stored in a form of its own or a redirect.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from office.web import forms
from office.web.auth import form_token_ok, render_tokened_form
from office.web.console import Admin, AdminForm, PageError, console_of
from office.web.i18n import N_

router = APIRouter()
ROLES = ("courier", "technician")
BADGE = re.compile(r"[A-Za-z0-9_-]{4,64}")


def _staff() -> ModuleType:
    try:
        return importlib.import_module("office.staff")
    except ImportError:
        raise PageError(
            503, N_("Central staff management is not part of this office's version.")
        ) from None


def _page(request: Request, **shown: Any) -> Response:
    staff = _staff()
    console = console_of(request)
    people = staff.list_staff(console.engine, include_revoked=True)
    lists = staff.kiosk_lists(console.engine)
    return console.render(
        request, "staff.html", nav="staff", people=people, lists=lists, roles=ROLES, **shown
    )


@router.get("/staff")
def staff_page(request: Request, user: Admin) -> Response:
    return _page(request, enrolment=None, done=None)


def _scope(staff: ModuleType, everywhere: str, sites: str, kiosks: str) -> Any:
    if forms.flag(everywhere, "everywhere"):
        return staff.Scope.all()
    site_names = _names(sites, "sites", forms.NAME)
    kiosk_ids = _names(kiosks, "kiosks", forms.KIOSK_ID)
    if not site_names and not kiosk_ids:
        raise forms.BadInput("kiosks", N_("Name the sites or kiosks, or choose all kiosks."))
    return staff.Scope(sites=site_names, kiosks=kiosk_ids)


def _names(text: str, field: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    found = [part.strip() for part in forms.text(text, field, 2000).split(",") if part.strip()]
    if len(found) > 200 or not all(pattern.fullmatch(name) for name in found):
        raise forms.BadInput(field, N_("This is not a valid value here."))
    return tuple(sorted(set(found)))


def _sender(request: Request) -> Any:
    sender = console_of(request).actions.sender
    if sender is None:
        raise PageError(503, N_("This office has no signing key, so it cannot send commands."))
    return sender


def _changed(request: Request, staff: ModuleType, call: Any) -> Response:
    try:
        change = call()
    except staff.StaffError as exc:
        raise PageError(400, str(exc)) from None
    return _page(request, enrolment=change.enrolment, done=change)


@router.post("/staff/add")
def add(
    request: Request,
    user: AdminForm,
    name: str = Form(""),
    role: str = Form(""),
    everywhere: str = Form(""),
    sites: str = Form(""),
    kiosks: str = Form(""),
    badge: str = Form(""),
) -> Response:
    staff = _staff()
    who = forms.matching(name, "name", forms.NAME)
    kind = forms.choice(role, "role", ROLES) or "courier"
    scope = _scope(staff, everywhere, sites, kiosks)
    tag = forms.matching(badge, "badge", BADGE, required=False) or None
    sender = _sender(request)
    return _changed(
        request,
        staff,
        lambda: staff.create_staff(sender, who, kind, scope, actor=user.username, badge=tag),
    )


@router.post("/staff/change")
def change(
    request: Request,
    user: AdminForm,
    name: str = Form(""),
    role: str = Form(""),
    everywhere: str = Form(""),
    sites: str = Form(""),
    kiosks: str = Form(""),
    reset_pin: str = Form(""),
) -> Response:
    staff = _staff()
    who = forms.matching(name, "name", forms.NAME)
    kind = forms.choice(role, "role", ROLES) or None
    scope = _scope(staff, everywhere, sites, kiosks) if (everywhere or sites or kiosks) else None
    reset = forms.flag(reset_pin, "reset_pin")
    sender = _sender(request)
    return _changed(
        request,
        staff,
        lambda: staff.update_staff(
            sender, who, actor=user.username, role=kind, scope=scope, reset_pin=reset
        ),
    )


@router.post("/staff/revoke")
def revoke(
    request: Request, user: AdminForm, name: str = Form(""), why: str = Form("")
) -> Response:
    staff = _staff()
    who = forms.matching(name, "name", forms.NAME)
    reason = forms.text(why, "why", 200)
    sender = _sender(request)
    return _changed(
        request,
        staff,
        lambda: staff.revoke_staff(sender, who, actor=user.username, why=reason or None),
    )


# -- a person sets their PIN (no console account: the one-time code is the credential) --


@router.get("/enrol")
def enrol_page(request: Request) -> Response:
    _staff()
    return _enrol_form(request, None, None, 200)


def _enrol_form(request: Request, error: str | None, done: str | None, status: int) -> Response:
    return render_tokened_form(request, "enrol.html", status, error=error, done=done)


@router.post("/enrol")
def enrol(
    request: Request,
    name: str = Form(""),
    code: str = Form(""),
    pin: str = Form(""),
    login_token: str = Form(""),
) -> Response:
    staff = _staff()
    if not form_token_ok(request, login_token):
        return _enrol_form(request, N_("The form was too old. Please try again."), None, 403)
    who = forms.matching(name, "name", forms.NAME)
    given = forms.matching(
        code.replace(" ", "").replace("-", ""), "code", re.compile(r"[0-9]{6,24}")
    )
    secret = forms.matching(pin, "pin", re.compile(r"[0-9]{4,16}"))
    try:
        staff.enrol_staff(_sender(request), who, given, secret)
    except staff.StaffError as exc:
        return _enrol_form(request, str(exc), None, 400)
    return _enrol_form(request, None, who, 200)
