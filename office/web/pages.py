"""The console's pages: the network, a kiosk, the alarm inbox, parcels, reports, audit.

Every page needs a signed-in account (:func:`~office.web.console.viewer`) and shows
only the kiosks of its sites. Every query parameter is checked (office/web/forms.py)
before it reaches a query; a bad one is answered 400 with what was wrong.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from office.store import audit_log, inbox, network, parcel_search, reports
from office.vocab import AlarmKind, Role
from office.web import forms, labels
from office.web.console import PageError, Viewer, check_kiosk, console_of
from office.web.i18n import N_

router = APIRouter()
EVENTS_SHOWN = 50


@router.get("/")
def overview(
    request: Request,
    user: Viewer,
    status: str = "",
    site: str = "",
    q: str = "",
    alarms: str = "",
    boards: str = "",
    guard: str = "",
    sort: str = "",
    page: str = "",
) -> Response:
    f = network.Filter(
        status=forms.choice(status, "status", network.STATUSES) or None,
        site=forms.matching(site, "site", forms.NAME, required=False) or None,
        q=forms.text(q, "q", 64) or None,
        with_alarms=forms.flag(alarms, "alarms"),
        boards_down=forms.flag(boards, "boards"),
        guard_tripped=forms.flag(guard, "guard"),
        sort=forms.choice(sort, "sort", network.SORTS, "id"),
        page=forms.page(page),
    )
    console = console_of(request)
    with console.engine.connect() as conn:
        rows, total = network.overview(conn, f, user.sites)
        sites = network.sites(conn, user.sites)
    return console.render(
        request,
        "overview.html",
        nav="network",
        rows=rows,
        total=total,
        f=f,
        sites=sites,
        pages=_pages(total, network.PAGE),
        sizes=_sizes(rows),
    )


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


def _sizes(rows: list[network.KioskRow]) -> list[str]:
    found = {size for r in rows for size in r.total}
    return sorted(found, key=labels.size_key)


@router.get("/kiosks/{kiosk}")
def kiosk_page(request: Request, kiosk: str, user: Viewer) -> Response:
    forms.matching(kiosk, "kiosk", forms.KIOSK_ID)
    check_kiosk(request, user, kiosk)
    console = console_of(request)
    with console.engine.connect() as conn:
        page = network.kiosk_page(conn, kiosk, EVENTS_SHOWN)
    if page is None:
        raise PageError(404, N_("There is no such kiosk."))
    pending = any(c["answered_at"] is None and c["expires_at"] > time.time() for c in page.commands)
    sizes = sorted(
        {c["size"] for c in page.wall if c.get("size")} | set(page.kiosk.total),
        key=labels.size_key,
    )
    return console.render(
        request, "kiosk.html", nav="network", page=page, k=page.kiosk, pending=pending, sizes=sizes
    )


@router.get("/alarms")
def alarm_inbox(
    request: Request,
    user: Viewer,
    view: str = "",
    kind: str = "",
    kiosk: str = "",
    site: str = "",
    page: str = "",
) -> Response:
    f = inbox.Filter(
        view=forms.choice(view, "view", inbox.VIEWS, "open"),
        kind=forms.choice(kind, "kind", [str(k) for k in AlarmKind]) or None,
        kiosk=forms.matching(kiosk, "kiosk", forms.KIOSK_ID, required=False) or None,
        site=forms.matching(site, "site", forms.NAME, required=False) or None,
        page=forms.page(page),
    )
    console = console_of(request)
    with console.engine.connect() as conn:
        rows, total = inbox.alarms(conn, f, user.sites)
        sites = network.sites(conn, user.sites)
    return console.render(
        request,
        "alarms.html",
        nav="alarms",
        rows=rows,
        total=total,
        f=f,
        sites=sites,
        kinds=list(AlarmKind),
        pages=_pages(min(total, inbox.COUNT_MAX), inbox.PAGE),
        count_max=inbox.COUNT_MAX,
        may_ack=user.may(Role.DISPATCHER),
    )


@router.get("/parcels")
def parcels(request: Request, user: Viewer, barcode: str = "") -> Response:
    wanted = forms.text(barcode, "barcode", 128)
    console = console_of(request)
    stays: list[dict[str, object]] = []
    timeline: list[dict[str, object]] = []
    if wanted:
        with console.engine.connect() as conn:
            stays = parcel_search.stays(conn, wanted, user.sites)
            timeline = parcel_search.timeline(conn, stays)
    return console.render(
        request,
        "parcels.html",
        nav="parcels",
        barcode=wanted,
        stays=stays,
        timeline=timeline,
        may_act=user.may(Role.DISPATCHER),
    )


@router.get("/reports")
def report_page(
    request: Request,
    user: Viewer,
    days: str = "",
    within: str = "",
    kiosk: str = "",
) -> Response:
    period = reports.Period(_days(days), time.time())
    ahead = _days(within, "within")
    shown = forms.matching(kiosk, "kiosk", forms.KIOSK_ID, required=False) or None
    console = console_of(request)
    with console.engine.connect() as conn:
        cleanout = reports.cleanout(conn, user.sites, time.time(), ahead)
        occupancy = reports.occupancy(conn, user.sites, period, shown)
        by_kind, by_kiosk = reports.alarm_counts(conn, user.sites, period)
    return console.render(
        request,
        "reports.html",
        nav="reports",
        period=period,
        ahead=ahead,
        kiosk=shown,
        cleanout=cleanout,
        occupancy=occupancy,
        by_kind=by_kind,
        by_kiosk=by_kiosk,
        periods=reports.PERIODS,
        cleanout_max=reports.CLEANOUT_MAX,
    )


def _days(value: str, field: str = "days") -> int:
    return int(forms.choice(value, field, [str(d) for d in reports.PERIODS], "7"))


@router.get("/audit")
def audit_page(
    request: Request,
    user: Viewer,
    source: str = "",
    kind: str = "",
    actor: str = "",
    kiosk: str = "",
    since: str = "",
    until: str = "",
    page: str = "",
) -> Response:
    f = audit_log.Filter(
        source=forms.choice(source, "source", audit_log.SOURCES, "console"),
        kind=forms.matching(kind, "kind", forms.NAME, required=False) or None,
        actor=forms.text(actor, "actor", 128) or None,
        kiosk=forms.matching(kiosk, "kiosk", forms.KIOSK_ID, required=False) or None,
        since=forms.day(since, "since"),
        until=forms.day(until, "until", end=True),
        page=forms.page(page),
    )
    console = console_of(request)
    with console.engine.connect() as conn:
        rows = audit_log.entries(conn, f, user.sites)
    return console.render(
        request,
        "audit.html",
        nav="audit",
        rows=rows[: audit_log.PAGE],
        more=len(rows) > audit_log.PAGE,
        f=f,
        raw={"since": since[:10], "until": until[:10]},
    )
