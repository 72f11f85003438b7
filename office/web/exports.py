"""The reports as CSV, safe to open in a spreadsheet.

A cell that a spreadsheet would read as a formula (one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return: a barcode or a kiosk id can be anything a
kiosk sent) is written with a leading apostrophe, so it stays text (OWASP's advice on
CSV injection). Numbers are written as numbers; times as ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import datetime
import io
import time
from collections.abc import Iterable, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import Response

from office.store import reports
from office.web import forms
from office.web.console import Viewer, console_of

router = APIRouter()
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """``value`` as a CSV cell that no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(timespec="seconds")


def as_csv(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _days(value: str, field: str) -> int:
    return int(forms.choice(value, field, [str(d) for d in reports.PERIODS], "7"))


@router.get("/reports/cleanout.csv")
def cleanout_csv(request: Request, user: Viewer, within: str = "") -> Response:
    with console_of(request).engine.connect() as conn:
        rows = reports.cleanout(conn, user.sites, time.time(), _days(within, "within"))
    return as_csv(
        "cleanout.csv",
        ["kiosk", "compartment", "barcode", "size", "state", "stored_at", "expires_at", "overdue"],
        (
            [r["kiosk"], r["compartment"], r["barcode"], r["size"], r["state"],
             iso(r["stored_at"]), iso(r["expires_at"]), "yes" if r["overdue"] else "no"]
            for r in rows
        ),
    )  # fmt: skip


@router.get("/reports/occupancy.csv")
def occupancy_csv(request: Request, user: Viewer, days: str = "", kiosk: str = "") -> Response:
    period = reports.Period(_days(days, "days"), time.time())
    shown = forms.matching(kiosk, "kiosk", forms.KIOSK_ID, required=False) or None
    with console_of(request).engine.connect() as conn:
        rows = reports.occupancy(conn, user.sites, period, shown)
    return as_csv(
        "occupancy.csv",
        ["from", "size", "in_use", "total", "share"],
        ([iso(r["at"]), r["size"], r["used"], r["total"], round(r["share"], 4)] for r in rows),
    )


@router.get("/reports/alarms.csv")
def alarms_csv(request: Request, user: Viewer, days: str = "") -> Response:
    period = reports.Period(_days(days, "days"), time.time())
    with console_of(request).engine.connect() as conn:
        by_kind, _by_kiosk = reports.alarm_counts(conn, user.sites, period)
    return as_csv(
        "alarms.csv",
        ["kind", "raised", "acknowledged", "from", "until"],
        (
            [r["kind"], r["raised"], r["acknowledged"], iso(period.since), iso(period.until)]
            for r in by_kind
        ),
    )
