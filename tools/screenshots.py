#!/usr/bin/env python3
"""Screenshots of every screen of every journey, from the real UI on the simulator.

One real daemon per language runs on the simulated bank (``testkit/daemon.py``,
16 doors in three columns as in ``config/demo.toml``); the real touchscreen UI runs in
this process with SDL's dummy video driver and is driven as a person would drive it
(``testkit/ui.py``): taps on buttons found by their name, never by their words, so
the same tour runs in every language. Each step is saved as
``<out>/<lang>/NN-name.png``; the numbers follow :data:`tools.shots.SHOTS`, the order
the user guide shows them in.

    .venv/bin/python tools/screenshots.py [--lang en,de] [--size 800x480] [--out docs/screenshots]

The simulated person is in "manual" mode: doors pop open when their lock fires and stay
open until the tour closes them, so an open door can be photographed. Two parcels are
stored under a hold time of two seconds before the daemon restarts with the normal one,
so there are expired parcels for the courier to collect. Takes about a minute a language.
"""

# ruff: noqa: E402 - SDL's driver is chosen before pygame is imported

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from hw_sim import window as sim_window
from kiosk.ui import i18n
from kiosk.ui.screens.courier import CourierMenuScreen
from kiosk.ui.screens.deposit import PhoneScreen, ReceiptScreen, SizeScreen
from kiosk.ui.screens.dialogs import MoreTimeDialog, OpenAllDialog
from kiosk.ui.screens.door import DoorScreen
from kiosk.ui.screens.eventlog import EventLogScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.pickup import PickupScreen
from kiosk.ui.screens.returns import ReturnsDoneScreen, ReturnsScreen, is_done
from kiosk.ui.screens.selftest import JobScreen
from kiosk.ui.screens.signin import SignInScreen
from kiosk.ui.screens.technician import TechnicianScreen
from testkit.daemon import COURIER, TECHNICIAN, Daemon, render_config, running_daemon
from testkit.ui import UiDriver
from tools.shots import SHOTS

IDS = [f"A{i:02d}" for i in range(1, 7)] + [f"{c}{i:02d}" for c in "BC" for i in range(1, 6)]
# columns A, B and C of config/demo.toml
SIZES = ["S", "S", "S", "M", "M", "L", "S", "M", "M", "L", "XL", "S", "S", "M", "L", "XL"]
KIOSK = {  # as config/demo.toml
    "name": {"en": "Demo kiosk, Main Street 1", "de": "Demo-Automat, Hauptstraße 1"},
    "languages": ["en", "de"],
    "operator_contact": {"en": "Call +49 30 1234567 (24 h)", "de": "Tel. +49 30 1234567 (24 h)"},
}
CALM_DOORS = {"remind_after_s": 120.0, "left_open_after_s": 300.0}  # doors stay open for a shot
PARCEL = "1Z999AA10123456784"
PHONE = "+4915112345678"
WRONG_CODE = "12345678"
SHORT_HOLD_H = 0.0006  # about two seconds: the parcels stored first expire at once
SIM_WINDOW_SIZE = (520, 600)


def daemon_config(hold_hours: float) -> dict[str, Any]:
    policy = {"hold_hours": hold_hours, "reminder_hours": [], "expiry_check_s": 0.2}
    return {
        "sections": {"kiosk": KIOSK, "doors": CALM_DOORS, "policy": policy},
        "sizes": SIZES,
        "ids": IDS,
        "person": "manual",
        "close_delay_s": 0.3,
    }


class Camera:
    """Saves each shot under its number and says so."""

    def __init__(self, out: Path, lang: str, done_before: int, total: int) -> None:
        self.dir = out / lang
        self.lang = lang
        self.count = done_before
        self.total = total
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob("[0-9][0-9]-*.png"):
            stale.unlink()

    def path(self, name: str) -> Path:
        return self.dir / f"{SHOTS.index(name) + 1:02d}-{name}.png"

    def save(self, surface: pygame.Surface, name: str) -> None:
        path = self.path(name)
        pygame.image.save(surface, str(path))
        self.count += 1
        print(f"[{self.count}/{self.total}] {self.lang}/{path.stem}", flush=True)


class Tour:
    """One language's walk through every journey, against one daemon."""

    def __init__(self, daemon: Daemon, camera: Camera, lang: str, size: tuple[int, int]) -> None:
        self.daemon = daemon
        self.camera = camera
        self.lang = lang
        self.size = size
        self.ui = self.connect(size)

    # -- the UI ---------------------------------------------------------------------

    def connect(self, size: tuple[int, int]) -> UiDriver:
        ui = UiDriver(str(self.daemon.touchscreen_socket), size, lang=self.lang)
        ui.wait_until(lambda: self.ready(ui), 15, "the UI to connect")
        return ui

    @staticmethod
    def ready(ui: UiDriver) -> bool:
        return ui.app.online and ui.app.kiosk is not None and ui.app.status is not None

    def shot(self, name: str) -> None:
        self.ui.pump(0.05)  # let answers already on their way land first
        self.ui.app.draw()
        self.camera.save(self.ui.app.surface, name)

    def until(self, predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
        self.ui.wait_until(lambda: bool(predicate()), timeout, what)

    def on(self, kind: type) -> Any:
        """The screen on show if it is a ``kind``, else None."""
        screen = self.ui.app.screen
        return screen if isinstance(screen, kind) else None

    def tap(self, name: str) -> None:
        self.ui.tap(name)

    def keys(self, text: str) -> None:
        for ch in text:
            self.tap(f"key-{ch}")

    def door(self, status: str = "OPENED") -> dict[str, Any] | None:
        """The door screen's operation once it reached ``status``."""
        screen = self.on(DoorScreen)
        return screen.view if screen and screen.view["status"] == status else None

    # -- the simulated bank ---------------------------------------------------------

    def wait_open(self, cid: str) -> None:
        sim = self.daemon.sim()
        self.daemon.wait_for(lambda: sim.snapshot()[cid]["door_open"], what=f"{cid} to open")

    def store(self, barcode: str, size: str) -> str:
        """A courier stores a parcel through the API; the door is closed by hand."""
        courier = self.daemon.signed_in(COURIER)
        view = courier.post("/v1/deposits", {"barcode": barcode, "size": size, "phone": PHONE})
        cid = str(view["compartment"])
        self.wait_open(cid)
        self.daemon.sim().set_item(cid, True)
        self.daemon.sim().close_door(cid)
        courier.wait_operation(view["operation"])
        return cid

    # -- the journeys ---------------------------------------------------------------

    def home(self, restart: Callable[[], None]) -> None:
        self.until(lambda: self.on(HomeScreen), "the home screen")
        self.shot("home")
        self.daemon.stop()
        self.until(lambda: not self.ui.app.online, "the out-of-service banner")
        self.shot("home-out-of-service")
        restart()
        self.until(lambda: self.ready(self.ui), "the UI to reconnect", 20)

    def customer(self) -> None:
        code = self.daemon.code_for(PARCEL)
        self.tap("pickup")
        self.until(lambda: self.on(PickupScreen), "the keypad")
        self.shot("customer-keypad")
        self.keys(WRONG_CODE)
        self.shot("customer-code-typed")
        self.wrong_code()
        self.shot("customer-wrong-code")
        self.tap("key-clear")  # the wrong code stays until the person clears it
        self.keys(code)
        self.tap("ok")
        self.until(self.door, "the customer's door to open")
        cid = self.door()["compartment"]  # type: ignore[index]
        self.shot("customer-door-open")
        self.tap("report")
        self.shot("customer-report-problem")
        self.tap("problem-cancel")
        self.daemon.sim().set_item(cid, False)
        # The daemon reminds every remind_after_s; shown as the screen shows it then.
        self.on(DoorScreen).reminded = True
        self.shot("customer-close-reminder")
        self.daemon.sim().close_door(cid)
        self.until(lambda: self.door("CLOSED"), "thank you")
        self.shot("customer-thank-you")
        self.tap("done")
        self.tap("pickup")
        while not self.on(PickupScreen).locked_until:
            self.tap("key-clear")
            self.keys(WRONG_CODE)
            self.wrong_code()
        self.ui.advance(3)
        self.shot("customer-lockout")
        self.tap("back")

    def wrong_code(self) -> None:
        self.tap("ok")
        screen = self.on(PickupScreen)
        self.until(
            lambda: not screen.busy and (screen.message or screen.locked_until),
            "the wrong-code message or the lockout",
        )

    def courier_deposit(self) -> None:
        self.sign_in(COURIER)
        self.until(lambda: self.on(CourierMenuScreen).expired is not None, "the menu")
        self.shot("courier-menu")
        self.tap("deposit")
        self.keys("1Z999AA10123456785")
        self.shot("courier-scan-parcel")
        self.tap("ok")
        self.until(lambda: self.on(SizeScreen) and self.on(SizeScreen).free, "the sizes")
        self.shot("courier-size")
        self.tap("size-S")
        self.until(lambda: self.on(PhoneScreen), "the phone number")
        self.tap("key-extra")
        self.keys(PHONE[1:])
        self.shot("courier-phone")
        self.tap("ok")
        self.until(self.door, "the courier's door to open")
        first = self.door()["compartment"]  # type: ignore[index]
        self.shot("courier-door-open")
        self.tap("bigger")
        self.until(lambda: (self.door() or {}).get("compartment", first) != first, "a bigger door")
        second = self.door()["compartment"]  # type: ignore[index]
        self.shot("courier-doesnt-fit")
        self.daemon.sim().close_door(first)
        self.daemon.sim().close_door(second)  # nothing inside yet: the screen asks
        self.until(lambda: (self.door("CLOSED") or {}).get("confirm") == "asked", "the question")
        self.shot("courier-empty-door")
        self.tap("open-again")
        self.until(lambda: self.door("OPENED"), "the door to open again")
        self.daemon.sim().set_item(second, True)
        self.daemon.sim().close_door(second)
        self.until(lambda: self.door("CLOSED"), "the door to close")
        self.tap("next")
        self.until(lambda: self.on(ReceiptScreen), "the receipt")
        self.shot("courier-receipt")
        self.tap("sign-out")

    def sign_in(self, who: tuple[str, str], shot: bool = True) -> None:
        """The name on the keyboard, then the PIN on the keypad."""
        name, pin = who
        self.tap("courier")
        self.until(lambda: self.on(SignInScreen), "the sign-in keyboard")
        self.keys(name.upper())
        if shot:
            self.shot("courier-sign-in-name")
        self.tap("next")
        self.keys(pin)
        if shot:
            self.shot("courier-sign-in")
        self.tap("ok")
        self.until(lambda: not self.on(SignInScreen), "the sign-in")

    def courier_returns(self) -> None:
        self.sign_in(COURIER, shot=False)
        self.tap("returns")
        for n in (1, 2):
            self.until(lambda n=n: self.returns_door(n), f"return door {n} to open")
            if n == 1:
                self.close_by_hand(self.returns_door(1))
        self.shot("courier-returns")
        self.close_by_hand(self.returns_door(2))
        self.until(lambda: self.on(ReturnsDoneScreen), "all returns collected")
        self.shot("courier-returns-done")
        self.tap("sign-out")

    def returns_door(self, n: int) -> str | None:
        """The n-th door of the returns round while it is open."""
        screen = self.on(ReturnsScreen)
        if not screen or len(screen.collected) != n or is_done(screen.collected[-1]):
            return None
        current = screen.collected[-1]
        return str(current["compartment"]) if current["status"] == "OPENED" else None

    def close_by_hand(self, cid: str | None) -> None:
        assert cid is not None
        self.daemon.sim().set_item(cid, False)
        self.daemon.sim().close_door(cid)

    def technician(self) -> None:
        self.sign_in(TECHNICIAN, shot=False)
        grid = self.on(TechnicianScreen)
        self.until(lambda: len(grid.compartments) == len(IDS), "the grid")
        free = [c for c in IDS if grid.compartments[c]["state"] == "AVAILABLE"]
        opened = next(c for c in free if c.startswith("B"))
        broken = next(c for c in free if c.startswith("A"))
        jammed = next(c for c in reversed(free) if c.startswith("C"))
        self.tap(f"door-{opened}")
        self.tap("open")
        self.until(lambda: grid.compartments[opened]["door"] == "OPEN", f"{opened} open")
        self.tap(f"door-{broken}")
        self.tap("out-of-service")
        self.shot("technician-out-of-service")
        self.tap("reason-1")  # "Lock broken"
        self.until(lambda: grid.compartments[broken]["state"] == "OUT_OF_SERVICE", "out of service")
        self.until(lambda: not grid.busy and grid.note, "the note")
        self.shot("technician-detail")
        self.tap("back")
        self.shot("technician-grid")
        self.extend_hold(grid)
        self.tap("open-all")
        self.until(lambda: isinstance(self.ui.app.dialog, OpenAllDialog), "the confirmation")
        self.shot("technician-open-all")
        self.tap("cancel")
        self.daemon.sim().close_door(opened)
        self.until(lambda: grid.compartments[opened]["door"] == "CLOSED", f"{opened} closed")
        self.self_test(jammed)
        self.open_all()
        self.tap("event-log")
        self.until(lambda: self.on(EventLogScreen).events, "the event log")
        self.shot("technician-event-log")
        self.tap("back")
        self.tap("sign-out")

    def extend_hold(self, grid: TechnicianScreen) -> None:
        """A day more for the recipient of an XL parcel stored at the start."""
        parcels = {c: grid.compartments[c].get("parcel") or {} for c in IDS}
        held = next(c for c, p in parcels.items() if p.get("barcode", "").startswith("BIG"))
        self.tap(f"door-{held}")
        self.tap("extend")
        self.until(lambda: not grid.busy and grid.note, "the hold extended")
        self.until(lambda: grid.compartments[held]["parcel"]["extended_hours"], "the new deadline")
        self.shot("technician-extend-hold")
        self.tap("back")

    def self_test(self, jammed: str) -> None:
        """With the simulated person closing each door; one lock jammed."""
        sim = self.daemon.sim()
        sim.jam(jammed)
        sim.set_person("auto")
        self.tap("selftest")
        self.shot("technician-self-test-setup")
        self.tap("start")
        job = self.on(JobScreen)
        self.until(lambda: job.job and job.job["done"] >= len(IDS) // 3, "the self-test to run")
        self.shot("technician-self-test-progress")
        self.until(lambda: job.job and not job.running, "the self-test to end", 60)
        self.shot("technician-self-test-result")
        self.tap("back")
        sim.set_person("manual")

    def open_all(self) -> None:
        """Confirmed this time; the simulated person closes each door again."""
        sim = self.daemon.sim()
        sim.set_person("auto")
        self.tap("open-all")
        self.until(lambda: isinstance(self.ui.app.dialog, OpenAllDialog), "the confirmation")
        self.tap("confirm")
        job = self.on(JobScreen)
        self.until(lambda: job.job and job.job["done"] >= len(IDS) // 3, "open-all to run")
        self.shot("technician-open-all-progress")
        self.until(lambda: job.job and not job.running, "open-all to end", 60)
        self.shot("technician-open-all-result")
        self.tap("back")
        sim.set_person("manual")

    def more_time(self) -> None:
        # The lockout shown earlier is the whole kiosk's: its keypad takes digits again after it.
        self.ui.app.refresh_status()
        self.until(lambda: self.ui.app.keypad_wait is None, "the keypad's lockout to end", 60)
        self.tap("pickup")
        self.keys("4711")
        self.ui.advance(float(self.ui.app.ui.get("idle_timeout_s", 60)) + 1)
        self.until(lambda: isinstance(self.ui.app.dialog, MoreTimeDialog), "Need more time?")
        self.ui.advance(7)
        self.shot("more-time")
        self.tap("more-time")
        self.tap("back")

    def large_text(self) -> None:
        self.tap("large-text")
        self.shot("home-large-text")
        self.tap("large-text")

    def speech(self) -> None:
        """Home with spoken guidance on (where espeak-ng is installed: else no button)."""
        self.ui.app.home()
        self.until(lambda: self.on(HomeScreen), "the home screen")
        if self.ui.app.guidance.is_available:
            self.tap("speech")
            self.shot("home-speech-on")
            self.ui.app.guidance.reset()

    def keyboard_focus(self) -> None:
        """Home worked from the keyboard: Tab twice puts the focus ring on Courier."""
        self.until(lambda: self.on(HomeScreen), "the home screen")
        for _ in range(2):
            self.ui.press(pygame.K_TAB)
        self.shot("home-keyboard-focus")

    def portrait(self) -> None:
        self.ui.close()
        self.ui = self.connect((480, 800))
        self.shot("portrait-home")
        self.tap("pickup")
        self.keys("2718")
        self.shot("portrait-keypad")
        self.ui.close()

    def door_left_open(self) -> None:
        """Home names the doors someone left open to the next person; then they close."""
        self.ui.app.home()
        sim = self.daemon.sim()
        sim.open_door("C02")
        self.until(lambda: "C02" in self.ui.app.open_doors, "the open doors named on home")
        self.shot("home-door-left-open")
        for cid in sorted(self.ui.app.open_doors):
            sim.close_door(cid)
        self.until(lambda: not self.ui.app.open_doors, "the doors closed")

    def doors_paused(self) -> None:
        """The mass-open guard tripped: the home screen says the kiosk is out of service."""
        self.ui.close()
        config = daemon_config(72.0)
        config["sections"]["security"] = {"mass_open_max": 1, "mass_open_window_s": 3600}
        self.daemon.stop()
        self.daemon.config_path.write_text(render_config(self.daemon.data_dir, **config))
        self.daemon.start()
        self.ui = self.connect(self.size)
        tech = self.daemon.signed_in(TECHNICIAN)
        for cid in ("A01", "A02"):  # the second trips the guard (a technician's still opens)
            tech.post(f"/v1/compartments/{cid}/open")
        self.until(lambda: self.ui.app.out_of_service, "the out-of-service banner")
        self.shot("home-doors-paused")

    def simulator(self) -> None:
        """hw_sim's window, drawn offscreen: a door open, parcels inside, a jammed lock."""
        sim = self.daemon.sim()
        found = self.daemon.client().get("/v1/compartments")["compartments"]
        states = {c["id"]: c["state"] for c in found}
        for cid, state in states.items():  # the self-test's person left items about
            sim.set_item(cid, state == "OCCUPIED")
        door = next(c for c in IDS if c.startswith("B") and states[c] == "AVAILABLE")
        sim.open_door(door)
        pygame.font.init()
        surface = pygame.Surface(SIM_WINDOW_SIZE)
        sim_window.draw(surface, pygame.font.Font(None, 20), sim.snapshot(), "manual")
        self.camera.save(surface, "simulator-window")


def tour(lang: str, size: tuple[int, int], camera: Camera) -> None:
    with running_daemon(**daemon_config(SHORT_HOLD_H)) as daemon:
        walk = Tour(daemon, camera, lang, size)
        walk.store("RET-0001", "S")
        walk.store("RET-0002", "M")

        def restart() -> None:
            normal = daemon_config(72.0)
            daemon.config_path.write_text(render_config(daemon.data_dir, **normal))
            daemon.start()

        walk.home(restart)
        for n in (1, 2):  # every XL door taken: the size shows greyed out
            walk.store(f"BIG-000{n}", "XL")
        walk.store(PARCEL, "M")
        walk.customer()
        walk.courier_deposit()
        walk.courier_returns()
        walk.technician()
        walk.more_time()
        walk.large_text()
        walk.keyboard_focus()
        walk.door_left_open()
        walk.portrait()
        walk.simulator()
        walk.doors_paused()
        walk.speech()


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must look like 800x480, not {text!r}") from None
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", help="comma-separated languages (default: every catalog)")
    parser.add_argument("--size", type=parse_size, default=(800, 480), help="WxH (800x480)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    available = i18n.available_languages()
    langs = args.lang.split(",") if args.lang else available
    missing = [lang for lang in langs if lang not in available]
    if missing:
        print(f"screenshots: no catalog for {', '.join(missing)} (looked for "
              f"{i18n.LOCALE_DIR}/<lang>/LC_MESSAGES/{i18n.DOMAIN}.mo); "
              f"available: {', '.join(available)}", file=sys.stderr)  # fmt: skip
        return 2
    started = time.monotonic()
    for n, lang in enumerate(langs):
        camera = Camera(args.out, lang, n * len(SHOTS), len(langs) * len(SHOTS))
        try:
            tour(lang, args.size, camera)
        except (AssertionError, RuntimeError) as exc:
            print(f"screenshots: {lang}: {exc}", file=sys.stderr)
            return 1
    print(f"{len(langs) * len(SHOTS)} screenshots in {args.out} "
          f"({time.monotonic() - started:.0f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
