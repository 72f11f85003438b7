"""The console in German: every page a German browser asks for, with no English left.

The rendered text of each page is scanned for every English string of the catalog
whose German differs: one found means a string is missing from the catalog or was
never passed through gettext. The switch on every page changes the language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo

from kiosk.ui.event_names import EVENT_NAMES
from office.web import labels
from office.web.i18n import DOMAIN, LOCALE_DIR
from testkit.api import store_parcel
from testkit.broker import Broker
from testkit.console import browser, console_network, sign_in, wait_for_element
from tests.office.conftest import Database

pytestmark = pytest.mark.slow


def english_strings() -> list[str]:
    """Every English string of the console whose German differs (plurals: both forms)."""
    with (LOCALE_DIR / "de" / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as mo:
        catalog = read_mo(mo)
    found = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for english in ids:
            if english and english not in strings:
                found.append(english)
    return found


def english_left(text: str, strings: list[str]) -> list[str]:
    left = []
    for english in strings:
        pattern = re.escape(english).replace(re.escape("%(n)s"), r"\S+")
        pattern = re.sub(r"%\\\(\w+\\\)s", r".+?", pattern)
        if re.search(rf"(?<!\w){pattern}(?!\w)", text):
            left.append(english)
    return left


SHOWN_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('[lang]').forEach(e => e.remove());
  document.documentElement.appendChild(copy);
  const text = copy.innerText;
  copy.remove();
  return text;
}"""
"""The page's text less what is marked as another language: a kiosk's own words (its
answers come in its language, marked ``lang="en"``) and the language switch."""

PAGES = [
    "/",
    "/?status=offline",
    "/kiosks/KIOSK-1",
    "/alarms?view=all",
    "/parcels?barcode=JJD000555",
    "/parcels?barcode=NOT-THERE",
    "/reports?days=1",
    "/audit",
    "/audit?source=kiosks",
    "/kiosks/NOT-A-KIOSK",
    "/?sort=nonsense",
]


def test_german_pages_have_no_english_left(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    strings = english_strings()
    assert len(strings) > 150
    with console_network(database, broker, tmp_path) as net, browser("de-DE") as page:
        store_parcel(net.kiosk, "JJD000555", size="S")
        page.goto(f"{net.url}/login")
        assert page.locator("html").get_attribute("lang") == "de"
        login_text = page.inner_text("body")
        assert "Anmelden" in login_text and english_left(login_text, strings) == []
        sign_in(page, net.url, "dora", "/kiosks/KIOSK-1")
        form = page.locator("form[action='/kiosks/KIOSK-1/selftest']")
        form.locator("button[type=submit]").click()
        wait_for_element(page, "td.answer", "Selbsttest")
        for path in PAGES:
            page.goto(f"{net.url}{path}")
            text = page.evaluate(SHOWN_TEXT)
            assert english_left(text, strings) == [], path

        page.goto(f"{net.url}/alarms")
        page.click("header a[hreflang=en]")
        assert page.url == f"{net.url}/alarms"
        assert "Alarms" in page.inner_text("h1")
        page.click("header a[hreflang=de]")
        assert "Alarme" in page.inner_text("h1")


def test_the_scan_finds_english_left_on_a_page() -> None:
    strings = english_strings()
    assert "Open alarms" in english_left("Netzwerk · Open alarms · 3 Kioske", strings)
    assert english_left("Seite 2 von 7", strings) == []
    assert english_left("Page 2 of 7", strings) == ["Page %(page)s of %(pages)s"]


def test_every_event_a_kiosk_sends_has_a_name_in_the_console() -> None:
    # The console shows a kind it has no name for as its code: a German dispatcher would
    # read `store_behind` where the kiosk's own screen says "Datenbank hat Änderungen verloren".
    assert sorted(set(EVENT_NAMES) - set(labels.EVENTS)) == []
