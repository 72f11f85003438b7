"""Bad input to the console: every query parameter and every form field with wrong,
huge and hostile values, through a real office; and hostile strings from a kiosk, in
barcodes and in notes, rendered in a real browser. None causes a server error, none
stores a row that is not true, and all of it renders as text."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from office.store import schema
from office.web import forms
from testkit.broker import Broker
from testkit.console import Session, browser, console_network, sign_in, wait_for_element
from tests.office.conftest import Database
from tests.office.journeys import peer, scalar, wait_for

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
HOSTILE = [
    "",
    " ",
    "x" * 5000,
    "\x00",
    "A01\x00",
    "\r\nSet-Cookie: x=1",
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1",
    "../../etc/passwd",
    "-1",
    "0",
    "1e309",
    "NaN",
    "9" * 30,
    "１２",
    "\u202eevil",
    '=HYPERLINK("http://x")',
    "{{7*7}}",
    "%ff",
]
QUERIES = {
    "/": ["status", "site", "q", "alarms", "boards", "guard", "sort", "page"],
    "/alarms": ["view", "kind", "kiosk", "site", "page"],
    "/parcels": ["barcode"],
    "/reports": ["days", "within", "kiosk"],
    "/audit": ["source", "kind", "actor", "kiosk", "since", "until", "page"],
    "/reports/cleanout.csv": ["within"],
    "/reports/occupancy.csv": ["days", "kiosk"],
    "/reports/alarms.csv": ["days"],
    "/login": ["next"],
}
FORMS = {
    "/kiosks/KIOSK-1/open": {"compartment": "A01", "reason": "input test"},
    "/kiosks/KIOSK-1/out-of-service": {"compartment": "A02", "reason": "input test"},
    "/kiosks/KIOSK-1/in-service": {"compartment": "A02", "reason": ""},
    "/kiosks/KIOSK-1/resend": {"from_seq": "1"},
    "/kiosks/KIOSK-1/announce": {
        "barcode": "JJD-INPUT",
        "size": "M",
        "phone": "+4915112345678",
        "email": "",
    },
    "/parcels/extend": {"kiosk": "KIOSK-1", "barcode": "JJD-STORED", "hours": "2"},
    "/parcels/cancel": {"kiosk": "KIOSK-1", "barcode": "JJD-STORED"},
    "/alarms/1/acknowledge": {"note": "input test"},
}


def test_every_parameter_and_field_with_hostile_values_gets_a_clear_answer_and_no_false_row(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    from testkit.api import store_parcel

    with console_network(database, broker, tmp_path) as net:
        store_parcel(net.kiosk, "JJD-STORED", size="S")
        dora = Session(net.url, "dora")
        try:
            statuses = _queries(dora) | _forms(dora) | _paths(dora)
            huge = dora.post("/kiosks/KIOSK-1/open", {"reason": "x" * 100_000})
            assert huge.status_code == 413
        finally:
            dora.close()
    assert statuses <= {200, 303, 400, 403, 404, 405, 413}, statuses
    with database.engine.connect() as conn:
        commands = conn.execute(sa.select(schema.commands)).mappings().all()
    for command in commands:  # each stored command was a valid one
        args = command["args"]
        assert command["asked_by"] == "dora"
        if "compartment" in args:
            assert forms.COMPARTMENT.fullmatch(args["compartment"]), args
        if "barcode" in args:
            assert args["barcode"].strip() == args["barcode"] and "\x00" not in args["barcode"]
        if command["why"] is not None:
            assert "\x00" not in command["why"] and len(command["why"]) <= 200
    assert scalar(database.engine, "SELECT count(*) FROM commands WHERE command = 'open'") >= 1


def _queries(session: Session) -> set[int]:
    seen = set()
    for path, params in QUERIES.items():
        for name in params:
            for value in HOSTILE:
                answer = session.get(path, **{name: value})
                seen.add(answer.status_code)
                assert answer.status_code < 500, (path, name, value)
                assert SCRIPT not in answer.text, (path, name)
                if answer.status_code == 400:
                    assert "Please check your input" in answer.text
    return seen


def _forms(session: Session) -> set[int]:
    seen = set()
    for path, form in FORMS.items():
        for name in form:
            for value in HOSTILE:
                answer = session.post(path, {**form, name: value})
                seen.add(answer.status_code)
                assert answer.status_code < 500, (path, name, value)
                assert SCRIPT not in answer.text
    return seen


def _paths(session: Session) -> set[int]:
    seen = set()
    for value in HOSTILE[1:]:
        for template in ("/kiosks/{}", "/kiosks/{}/open", "/alarms/{}/acknowledge"):
            path = template.format(quote(value, safe=""))
            answer = (
                session.post(path, {}) if "/open" in path or "ack" in path else session.get(path)
            )
            seen.add(answer.status_code)
            assert answer.status_code < 500, (path, value)
    return seen


def test_hostile_strings_from_a_kiosk_and_in_notes_render_as_text(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    barcode = '<script>alert("b")</script>'
    spoofed = '=HYPERLINK("http://evil")'
    with console_network(database, broker, tmp_path) as net, browser() as page:
        with peer(broker, "KIOSK-2") as thief:
            _hostile_kiosk(thief, barcode, spoofed)
            wait_for(
                lambda: (
                    scalar(database.engine, "SELECT count(*) FROM parcels WHERE kiosk = 'KIOSK-2'")
                    == 2
                ),
                what="the hostile kiosk's parcels",
            )
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, net.url, "dora")
        pages = [
            "/",
            "/kiosks/KIOSK-2",
            f"/parcels?barcode={quote(barcode)}",
            "/audit?source=kiosks&kiosk=KIOSK-2",
            "/alarms",
            "/reports?within=90",
        ]
        for path in pages:
            page.goto(f"{net.url}{path}")
            assert page.locator("script").count() == 0, path
            assert page.locator("main img").count() == 0, path
        page.goto(f"{net.url}/parcels?barcode={quote(barcode)}")
        assert page.input_value("form[role=search] input[name=barcode]") == barcode
        assert "KIOSK-2" in page.inner_text("table.stays")
        page.goto(f"{net.url}/kiosks/KIOSK-2")
        assert "<img src=x onerror=alert(2)>" in page.inner_text("ul.wall")

        page.goto(f"{net.url}/alarms")
        alarm = wait_for_element(page, "li.alarm", "KIOSK-2")
        alarm.locator("input[name=note]").fill('<img src=x onerror=alert("note")>')
        alarm.locator("button[type=submit]").click()
        page.goto(f"{net.url}/alarms?view=acknowledged")
        assert '<img src=x onerror=alert("note")>' in page.inner_text("main")
        assert page.locator("main img").count() == 0
        time.sleep(0.5)
        csv_text = page.request.get(f"{net.url}/reports/cleanout.csv?within=90").text()
    assert dialogs == [], "no script ran"
    rows = list(csv.reader(io.StringIO(csv_text)))
    cells = {cell for row in rows for cell in row}
    assert "'" + spoofed in cells and spoofed not in cells, "a formula stays text"
    assert barcode in cells


def _hostile_kiosk(thief: object, barcode: str, spoofed: str) -> None:
    """A kiosk whose every string is markup: version, actor, compartment ids, barcodes."""
    now = time.time()
    send = thief.publish  # type: ignore[attr-defined]
    topic = "lk/v1/kiosk/KIOSK-2"
    send(f"{topic}/presence", json.dumps({"kiosk": "KIOSK-2", "status": "online",
         "since": now, "version": "<b>9</b><script>alert(3)</script>"}), retain=True)  # fmt: skip
    wall = [{"id": "<img src=x onerror=alert(2)>", "size": "<i>M</i>", "state": "OCCUPIED",
             "door": "OPEN", "accessible": False, "held": False, "board_online": True}]  # fmt: skip
    send(f"{topic}/state/compartments", json.dumps({"kiosk": "KIOSK-2", "ts": now,
         "free": {"M": 0}, "total": {"M": 1}, "boards": {"<b>": False}, "guard": "ok",
         "compartments": wall}), retain=True)  # fmt: skip
    events = [
        ("parcel_stored", "info", {"parcel": 1, "barcode": barcode, "expires_at": now - 60}),
        ("parcel_stored", "info", {"parcel": 2, "barcode": spoofed, "expires_at": now - 30}),
        ("forced_open", "alarm", {"reason": SCRIPT}),
    ]
    for seq, (kind, severity, detail) in enumerate(events, start=1):
        send(f"{topic}/events", json.dumps({
            "kiosk": "KIOSK-2", "seq": seq, "ts": now, "kind": kind, "severity": severity,
            "actor": '"><script>alert(4)</script>', "compartment": "<u>A1</u>",
            "detail": detail}))  # fmt: skip
