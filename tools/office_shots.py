"""Screenshots of every page of the office's web console, from a real browser.

A real Mosquitto, three real kiosk daemons on the simulator and ``locker-office
serve`` on SQLite; a courier deposits at each kiosk, the console opens a door and takes
a compartment out of service, a door is forced at one kiosk and another kiosk loses its
power, and an alarm is acknowledged. Then headless Chromium (Debian's, driven by
Playwright) signs in and saves every page, in English and in German, on a desktop and
(the network and a kiosk) on a phone, under docs/screenshots/office/<lang>/.

    .venv/bin/python tools/office_shots.py            # ~1 min
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from office.store import migrate
from office.store.engine import make_engine
from testkit.api import store_parcel
from testkit.broker import running_broker
from testkit.console import (
    add_accounts,
    browser,
    sign_in,
    wait_for_element,
    wait_for_text,
)
from testkit.fleet import linked_kiosk
from testkit.office import BROKER_USERS, running_office, write_config, write_keys

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "office"
PAGES = {
    "overview": "/",
    "kiosk": "/kiosks/KIOSK-1",
    "alarms": "/alarms?view=all",
    "parcel": "/parcels?barcode=JJD0001000001",
    "reports": "/reports",
    "audit": "/audit",
    "audit-kiosks": "/audit?source=kiosks&kiosk=KIOSK-1",
}
PHONE = {"overview-phone": "/", "kiosk-phone": "/kiosks/KIOSK-1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lk-shots-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        broker = stack.enter_context(running_broker(folder / "broker", BROKER_USERS))
        _key, key_file, keyring = write_keys(folder)
        database = f"sqlite:///{folder / 'office.db'}"
        engine = make_engine(database)
        migrate.upgrade(engine)
        engine.dispose()
        config = write_config(folder, broker, database, key_file, kiosk_offline_alarm_min=0.1)
        office = stack.enter_context(running_office(config))
        add_accounts(office)
        kiosks = [
            stack.enter_context(linked_kiosk(broker, f"KIOSK-{n}", keyring, folder))
            for n in (1, 2, 3)
        ]
        base = f"http://127.0.0.1:{office.port}"
        _happenings(base, kiosks)
        for lang, locale in (("en", "en-GB"), ("de", "de-DE")):
            _shots(base, lang, locale, args.out / lang)
    print(f"screenshots in {args.out} ({time.monotonic() - started:.0f} s)")
    return 0


def _happenings(base: str, kiosks: list[Any]) -> None:
    for n, kiosk in enumerate(kiosks, start=1):
        store_parcel(kiosk, f"JJD000{n}000001", size="M")
        store_parcel(kiosk, f"JJD000{n}000002", size="S")
    with browser() as page:
        sign_in(page, base, "dora", "/kiosks/KIOSK-1")
        wait_for_element(page, "li.tile")
        _post(page, "open", {"compartment": "A03", "reason": "parcel stuck, customer on phone"})
        _post(page, "out-of-service", {"compartment": "A05", "reason": "hinge broken"})
        page.locator("form[action='/kiosks/KIOSK-1/selftest'] button").click()
        wait_for_text(page, "Self-test passed")
        kiosks[1].sim().force_open("A02")
        kiosks[2].kill9()
        page.goto(f"{base}/alarms")
        alarm = wait_for_element(page, "li.alarm", "Door forced open")
        alarm.locator("input[name=note]").fill("technician on the way")
        alarm.locator("button[type=submit]").click()
        wait_for_element(page, "li.alarm", "Kiosk offline")


def _post(page: Any, action: str, fields: dict[str, str]) -> None:
    form = page.locator(f"form[action='/kiosks/KIOSK-1/{action}']")
    for name, value in fields.items():
        if name == "compartment":
            form.locator("select[name=compartment]").select_option(value)
        else:
            form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    wait_for_text(page, "The kiosk says:")


def _shots(base: str, lang: str, locale: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with browser(locale) as page:
        page.goto(f"{base}/login")
        page.screenshot(path=str(out / "login.png"), full_page=True)
        sign_in(page, base, "dora")
        for name, path in PAGES.items():
            page.goto(f"{base}{path}")
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        for name, path in PHONE.items():
            page.goto(f"{base}{path}")
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
    with browser(locale) as page:
        sign_in(page, base, "vic", "/kiosks/KIOSK-1")
        page.screenshot(path=str(out / "kiosk-viewer.png"), full_page=True)


if __name__ == "__main__":
    sys.exit(main())
