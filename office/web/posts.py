"""What a person does from the console: acknowledge an alarm, or send a kiosk a signed
command. Each needs the dispatcher's role (or more), a form from the console's own page
with the session's CSRF token, and a kiosk within the account's sites; each is a line
of the audit, and a command is recorded with who asked and why before it is published.
The answer is a redirect to the page the person came from, where the command shows as
pending until the kiosk answers.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from office.actions import Actions, NoSigningKey
from office.store import inbox, parcel_search
from office.store.sessions import SignedIn
from office.web import forms
from office.web.console import DispatcherForm, PageError, check_kiosk, console_of
from office.web.i18n import N_

router = APIRouter()
MAX_EXTEND_HOURS = 720.0
"""The longest extension the console asks for; a kiosk refuses more than its
``policy.max_extend_hours`` in all."""


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge(
    request: Request, alarm_id: str, user: DispatcherForm, note: str = Form("")
) -> Response:
    number = forms.integer(alarm_id, "alarm", 1, 2**63 - 1)
    text = forms.note(note, "note")
    gone = N_("There is no such alarm, or it was acknowledged already.")
    with console_of(request).engine.begin() as conn:
        try:
            inbox.acknowledge(
                conn, number, user.user_id, user.username, text, user.sites, time.time()
            )
        except inbox.NotFound:
            raise PageError(404, gone) from None
    return RedirectResponse(_back(request, "/alarms"), 303)


def _kiosk(request: Request, user: SignedIn, kiosk: str) -> str:
    found = forms.matching(kiosk, "kiosk", forms.KIOSK_ID)
    check_kiosk(request, user, found)
    return found


def _sent(kiosk: str) -> Response:
    return RedirectResponse(f"/kiosks/{kiosk}#commands", 303)


def _back(request: Request, default: str) -> str:
    """The page the form was on (its path and query only), else ``default``."""
    referer = request.headers.get("referer", "")
    path = referer.split("://", 1)[-1].partition("/")[2] if "://" in referer else ""
    return forms.next_path("/" + path) if path else default


@router.post("/kiosks/{kiosk}/open")
def open_door(
    request: Request,
    kiosk: str,
    user: DispatcherForm,
    compartment: str = Form(""),
    reason: str = Form(""),
) -> Response:
    k = _kiosk(request, user, kiosk)
    door = forms.matching(compartment, "compartment", forms.COMPARTMENT)
    why = forms.text(reason, "reason", 200, required=True)
    _actions(request).open_door(user.username, k, door, why)
    return _sent(k)


@router.post("/kiosks/{kiosk}/out-of-service")
def out_of_service(
    request: Request,
    kiosk: str,
    user: DispatcherForm,
    compartment: str = Form(""),
    reason: str = Form(""),
) -> Response:
    k = _kiosk(request, user, kiosk)
    door = forms.matching(compartment, "compartment", forms.COMPARTMENT)
    why = forms.text(reason, "reason", 200, required=True)
    _actions(request).out_of_service(user.username, k, door, why)
    return _sent(k)


@router.post("/kiosks/{kiosk}/in-service")
def in_service(
    request: Request,
    kiosk: str,
    user: DispatcherForm,
    compartment: str = Form(""),
    reason: str = Form(""),
) -> Response:
    k = _kiosk(request, user, kiosk)
    door = forms.matching(compartment, "compartment", forms.COMPARTMENT)
    _actions(request).in_service(user.username, k, door, forms.text(reason, "reason", 200))
    return _sent(k)


@router.post("/kiosks/{kiosk}/selftest")
def selftest(request: Request, kiosk: str, user: DispatcherForm) -> Response:
    k = _kiosk(request, user, kiosk)
    _actions(request).selftest(user.username, k, "")
    return _sent(k)


@router.post("/kiosks/{kiosk}/resend")
def resend(
    request: Request, kiosk: str, user: DispatcherForm, from_seq: str = Form("")
) -> Response:
    k = _kiosk(request, user, kiosk)
    first = forms.integer(from_seq, "from_seq", 1, 2**63 - 1)
    _actions(request).resend(user.username, k, first, "")
    return _sent(k)


@router.post("/kiosks/{kiosk}/announce")
def announce(
    request: Request,
    kiosk: str,
    user: DispatcherForm,
    barcode: str = Form(""),
    size: str = Form(""),
    phone: str = Form(""),
    email: str = Form(""),
) -> Response:
    k = _kiosk(request, user, kiosk)
    code = forms.text(barcode, "barcode", 128, required=True)
    chosen = forms.matching(size, "size", forms.SIZE)
    number = forms.matching(phone, "phone", forms.PHONE, required=False)
    address = forms.matching(email, "email", forms.EMAIL, required=False)
    if not number and not address:
        raise forms.BadInput("phone", N_("Give the recipient's phone or e-mail."))
    _actions(request).announce(user.username, k, code, chosen, number or None, address or None, "")
    return _sent(k)


@router.post("/parcels/extend")
def extend(
    request: Request,
    user: DispatcherForm,
    kiosk: str = Form(""),
    barcode: str = Form(""),
    hours: str = Form(""),
) -> Response:
    k = _kiosk(request, user, kiosk)
    code = _live_barcode(request, user, k, barcode)
    more = forms.number(hours, "hours", 1, MAX_EXTEND_HOURS)
    _actions(request).extend(user.username, k, code, more, "")
    return RedirectResponse(f"/parcels?barcode={_quoted(code)}", 303)


@router.post("/parcels/cancel")
def cancel(
    request: Request, user: DispatcherForm, kiosk: str = Form(""), barcode: str = Form("")
) -> Response:
    k = _kiosk(request, user, kiosk)
    code = _live_barcode(request, user, k, barcode)
    _actions(request).cancel(user.username, k, code, "")
    return RedirectResponse(f"/parcels?barcode={_quoted(code)}", 303)


def _live_barcode(request: Request, user: SignedIn, kiosk: str, barcode: str) -> str:
    code = forms.text(barcode, "barcode", 128, required=True)
    with console_of(request).engine.connect() as conn:
        if parcel_search.live_stay(conn, kiosk, code, user.sites) is None:
            raise PageError(404, N_("This kiosk has no parcel with this barcode."))
    return code


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _actions(request: Request) -> Actions:
    actions = console_of(request).actions
    if not actions.can_sign:
        raise PageError(503, N_("This office has no signing key, so it cannot send commands."))
    return actions


__all__ = ["NoSigningKey"]
