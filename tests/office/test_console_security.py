"""The console's own security, in a real browser and over plain HTTP: roles checked on
the server for every action, forms without their CSRF token or from another origin
refused, the sign-in throttle, the session cookie and the headers."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from office.store import schema
from testkit.broker import Broker, free_port
from testkit.console import (
    PASSWORDS,
    Session,
    browser,
    console_network,
    sign_in,
    text_of,
    wait_for_element,
)
from tests.office.conftest import Database
from tests.office.journeys import scalar

pytestmark = pytest.mark.slow

ACTIONS = {
    "/kiosks/KIOSK-1/open": {"compartment": "A01", "reason": "test"},
    "/kiosks/KIOSK-1/out-of-service": {"compartment": "A01", "reason": "test"},
    "/kiosks/KIOSK-1/in-service": {"compartment": "A01"},
    "/kiosks/KIOSK-1/selftest": {},
    "/kiosks/KIOSK-1/resend": {"from_seq": "1"},
    "/kiosks/KIOSK-1/announce": {"barcode": "JJD1", "size": "M", "phone": "+4915112345678"},
    "/parcels/extend": {"kiosk": "KIOSK-1", "barcode": "JJD1", "hours": "24"},
    "/parcels/cancel": {"kiosk": "KIOSK-1", "barcode": "JJD1"},
    "/alarms/1/acknowledge": {"note": "seen"},
}
"""Every action URL of the console with a valid form for it."""


def test_a_viewer_sees_no_action_and_is_refused_every_action_posted_directly(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net:
        with browser() as page:
            sign_in(page, net.url, "vic", "/kiosks/KIOSK-1")
            wait_for_element(page, "li.tile")
            assert page.locator("main form[method=post]").count() == 0
            assert "Actions" not in text_of(page)
            page.goto(f"{net.url}/alarms?view=all")
            assert page.locator("form.ackform").count() == 0

        viewer = Session(net.url, "vic")
        try:
            for path, form in ACTIONS.items():
                answer = viewer.post(path, form)
                assert answer.status_code == 403, (path, answer.status_code)
                assert "Your role may not do this." in answer.text
        finally:
            viewer.close()
        fires = net.kiosk.sim().fire_counts()
    assert set(fires.values()) == {0}, "no door opened"
    assert scalar(database.engine, "SELECT count(*) FROM commands WHERE asked_by = 'vic'") == 0
    assert scalar(database.engine, "SELECT count(*) FROM alarms WHERE acked_at IS NOT NULL") == 0
    refused = scalar(
        database.engine,
        "SELECT count(*) FROM console_audit WHERE actor = 'vic' AND action = 'refused'",
    )
    assert refused == len(ACTIONS)


@contextmanager
def forger(target: str) -> Iterator[str]:
    """Another site (another origin) whose page posts a form to the console at once."""
    page = f"""<!doctype html><html><body>
<form id="f" method="post" action="{target}/kiosks/KIOSK-1/open">
<input name="compartment" value="A01"><input name="reason" value="forged">
<input name="csrf" value="guessed"></form>
<script>document.getElementById('f').submit()</script></body></html>""".encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: object) -> None:
            pass

    port = free_port()
    # threads: a browser may open a second connection first and send nothing on it
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_forged_form_without_its_csrf_token_is_refused(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net, browser() as page:
        sign_in(page, net.url, "dora", "/kiosks/KIOSK-1")
        wait_for_element(page, "li.tile")
        # the console's own form, its token taken out
        form = page.locator("form[action='/kiosks/KIOSK-1/open']")
        form.locator("input[name=reason]").fill("no token")
        page.evaluate(
            "document.querySelector(\"form[action='/kiosks/KIOSK-1/open'] input[name=csrf]\")"
            ".remove()"
        )
        form.locator("button[type=submit]").click()
        assert "did not come from the console" in text_of(page)
        # another site's page, posting in the signed-in browser
        with forger(net.url) as evil:
            page.goto(evil)
            page.wait_for_url(f"{net.url}/kiosks/KIOSK-1/open")
            assert "did not come from the console" in text_of(page)
        fires = net.kiosk.sim().fire_counts()
    assert set(fires.values()) == {0}, "no door opened"
    assert scalar(database.engine, "SELECT count(*) FROM commands") == 0
    with database.engine.connect() as conn:
        refused = (
            conn.execute(
                sa.select(schema.console_audit.c.target).where(
                    schema.console_audit.c.action == "refused"
                )
            )
            .scalars()
            .all()
        )
    assert refused == ["csrf:/kiosks/KIOSK-1/open"] * 2


def test_sign_ins_are_throttled_per_account_even_with_the_right_password(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net, browser() as page:
        for _ in range(5):
            page.goto(f"{net.url}/login")
            page.fill("input[name=username]", "ada")
            page.fill("input[name=password]", "not-the-password")
            page.click("form[action='/login'] button[type=submit]")
            assert "Wrong user name or password." in text_of(page)
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", PASSWORDS["ada"][1])
        page.click("form[action='/login'] button[type=submit]")
        assert "Too many failed sign-ins" in text_of(page)
        assert page.locator("header .user").count() == 0
        # another account is not locked by it
        sign_in(page, net.url, "dora")
    with database.engine.connect() as conn:
        lines = conn.execute(
            sa.select(schema.console_audit.c.actor, schema.console_audit.c.action)
            .where(schema.console_audit.c.action.like("login%"))
            .order_by(schema.console_audit.c.id)
        ).all()
    assert lines == [("ada", "login_failed")] * 5 + [("ada", "login_throttled"), ("dora", "login")]


def test_the_session_cookie_and_the_headers_keep_the_console_to_itself(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net, browser() as page:
        sign_in(page, net.url, "dora")
        (cookie,) = [c for c in page.context.cookies() if c["name"] == "lo_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        answer = page.goto(f"{net.url}/alarms")
        assert answer is not None
        headers = answer.headers
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY"
        assert page.locator("script").count() == 0

        page.click("header form[action='/logout'] button")
        page.wait_for_url(f"{net.url}/login")
        page.goto(f"{net.url}/alarms")
        assert page.url.startswith(f"{net.url}/login"), "signed out: the session is gone"
    revoked = scalar(
        database.engine, "SELECT count(*) FROM console_sessions WHERE revoked_at IS NOT NULL"
    )
    assert revoked == 1
