"""The console in a real browser: Debian's Chromium driven by Playwright, a real
``locker-office serve``, a real Mosquitto and real kiosk daemons on the simulator.

:func:`console_network` starts the office on a database of either kind with three
accounts (admin, dispatcher, viewer) made by ``locker-office users add``, and a linked
kiosk; :func:`browser` opens a fresh Chromium profile; :func:`sign_in` signs in the way
a person does (typing into the form).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.broker import Broker
from testkit.daemon import Daemon
from testkit.fleet import linked_kiosk
from testkit.office import OfficeProcess, running_office, write_config, write_keys

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORDS = {
    "ada": ("admin", "ada-password-1234"),
    "dora": ("dispatcher", "dora-password-1234"),
    "vic": ("viewer", "vic-password-1234"),
}
FAST_INGEST = {"kiosk_offline_alarm_min": 0.1}


@dataclass
class ConsoleNetwork:
    office: OfficeProcess
    kiosk: Daemon
    engine: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.office.port}"


def add_accounts(office: OfficeProcess) -> None:
    for name, (role, password) in PASSWORDS.items():
        done = office.office("users", "add", name, "--role", role, "--password-stdin",
                             stdin=password + "\n")  # fmt: skip
        assert done.returncode == 0, done.stderr


@contextmanager
def console_network(
    database: Any, broker: Broker, folder: Path, kiosk: str = "KIOSK-1", **ingest: Any
) -> Iterator[ConsoleNetwork]:
    """The office (with its accounts) and one linked kiosk, until the end."""
    _key, key_file, keyring = write_keys(folder)
    config = write_config(folder, broker, database.url, key_file, **{**FAST_INGEST, **ingest})
    with running_office(config) as office:
        add_accounts(office)
        with linked_kiosk(broker, kiosk, keyring, folder) as daemon:
            yield ConsoleNetwork(office, daemon, database.engine)


@contextmanager
def browser(locale: str = "en-GB") -> Iterator[Any]:
    """A page in a fresh Chromium profile (headless), closed at the end."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lk-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            locale=locale,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def sign_in(page: Any, base: str, name: str, path: str = "/") -> None:
    """Sign in as ``name`` through the form, landing on ``path``."""
    page.goto(f"{base}{path}")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORDS[name][1])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("header .user")


def text_of(page: Any) -> str:
    return str(page.inner_text("main"))


def wait_for_text(page: Any, wanted: str | re.Pattern[str], timeout_s: float = 30.0) -> str:
    """Reload ``page`` until its main text shows ``wanted`` (as a person would)."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = text_of(page)
        if wanted.search(text) if isinstance(wanted, re.Pattern) else wanted in text:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {wanted!r}; it shows:\n{text}")
        time.sleep(0.3)
        page.reload()


class Session:
    """A signed-in account over plain HTTP (what a script or an attacker would send)."""

    def __init__(self, base: str, name: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        form = self.http.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token is not None
        done = self.http.post(
            "/login",
            data={"username": name, "password": PASSWORDS[name][1],
                  "login_token": token.group(1), "next": "/"},
            headers={"origin": base},
        )  # fmt: skip
        assert done.status_code == 303 and done.headers["location"] == "/", done.text
        page = self.http.get("/")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        self.csrf = csrf.group(1)

    def post(self, path: str, data: dict[str, str], **headers: str) -> httpx.Response:
        return self.http.post(
            path, data={"csrf": self.csrf, **data}, headers={"origin": self.base, **headers}
        )

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)

    def close(self) -> None:
        self.http.close()


def wait_for_element(page: Any, selector: str, has_text: str = "", timeout_s: float = 30.0) -> Any:
    """Reload ``page`` until an element matching ``selector`` (holding ``has_text``) is there."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = page.locator(selector, has_text=has_text) if has_text else page.locator(selector)
        if found.count():
            return found.first
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {selector} with {has_text!r}")
        time.sleep(0.3)
        page.reload()
