"""The Staff page, in a real browser: an admin adds a courier for a kiosk, the courier
sets their PIN on the enrolment page and signs in at the kiosk; revoked in the console,
the kiosk refuses them. Runs where the office has central staff management
(office/staff.py); a dispatcher may not open the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testkit.broker import Broker
from testkit.console import Session, browser, console_network, sign_in, text_of
from tests.office.conftest import Database

pytestmark = pytest.mark.slow


def test_a_dispatcher_may_not_open_the_staff_page(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net:
        dora = Session(net.url, "dora")
        try:
            assert dora.get("/staff").status_code == 403
            answer = dora.post("/staff/add", {"name": "x", "role": "courier", "everywhere": "1"})
            assert answer.status_code == 403
        finally:
            dora.close()


def test_a_courier_added_in_the_console_signs_in_at_the_kiosk_and_revoked_is_refused(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    pytest.importorskip("office.staff", reason="this office has no central staff management")
    with console_network(database, broker, tmp_path) as net, browser() as page:
        key = (
            net.kiosk.kiosk_cmd("users", "--config", str(net.kiosk.config_path), "staff-key")
            .stdout.strip()
            .split()[-1]
        )
        done = net.office.office("staff", "register", "KIOSK-1", "--key", key)
        assert done.returncode == 0, done.stderr

        sign_in(page, net.url, "ada", "/staff")
        add = page.locator("form[action='/staff/add']")
        add.locator("input[name=name]").fill("kim")
        add.locator("input[name=kiosks]").fill("KIOSK-1")
        add.locator("button[type=submit]").click()
        shown = re.search(r"code for kim: (\S+)", text_of(page))
        assert shown, text_of(page)

        page.goto(f"{net.url}/enrol")
        page.fill("input[name=name]", "kim")
        page.fill("input[name=code]", shown.group(1))
        page.fill("input[name=pin]", "480264")
        page.click("form[action='/enrol'] button[type=submit]")
        assert "Your PIN is set, kim." in text_of(page)

        tries = iter(range(1000))

        def kim_signs_in() -> bool:
            barcode = f"JJD-KIM-{next(tries)}"  # announcing needs a courier's sign-in
            done = net.kiosk.ctl("announce", barcode, "--size", "S", "--phone",
                                 "+4915112345678", user="kim", pin="480264")  # fmt: skip
            return done.returncode == 0

        net.kiosk.wait_for(kim_signs_in, timeout=15, what="kim to sign in at the kiosk")
        page.goto(f"{net.url}/staff")
        revoke = page.locator("form[action='/staff/revoke']")
        revoke.locator("select[name=name]").select_option("kim")
        revoke.locator("input[name=why]").fill("left the company")
        revoke.locator("button[type=submit]").click()
        assert "Revoked" in page.locator("tr[data-staff=kim]").inner_text()
        net.kiosk.wait_for(lambda: not kim_signs_in(), timeout=10, what="the kiosk to refuse kim")
