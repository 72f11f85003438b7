"""The operator's help line is on every screen a person meets, in the language on screen."""

from __future__ import annotations

from kiosk.ui import i18n
from kiosk.ui.screens.courier import CourierMenuScreen
from kiosk.ui.screens.door import DoorScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.pickup import PickupScreen
from kiosk.ui.screens.technician import TechnicianScreen
from testkit.daemon import COURIER, TECHNICIAN
from testkit.ui import UiDriver
from tests.ui.test_customer_ui import stored
from tests.ui.test_languages import bilingual_daemon

HELP = {"en": "Help: Call 030 999", "de": "Hilfe: Tel. 030 999"}


def on(ui: UiDriver, kind: type) -> None:
    ui.wait_until(lambda: isinstance(ui.app.screen, kind), what=f"the {kind.__name__}")


def sees_the_help_line(ui: UiDriver, lang: str) -> None:
    """The help line of ``lang`` (and not the other's), with nothing cut off."""
    texts = ui.texts()
    assert HELP[lang] in texts, f"{type(ui.app.screen).__name__}: {texts}"
    assert not [t for t in texts if any(h in t for h in HELP.values() if h != HELP[lang])]
    assert ui.app.overflows == []


def signs_in(ui: UiDriver, who: tuple[str, str]) -> None:
    """By touch alone, whatever the language: the name, Next, the PIN, OK."""
    ui.tap("courier")
    for letter in who[0].upper():
        ui.tap(f"key-{letter}")
    ui.tap("next")
    for digit in who[1]:
        ui.tap(f"key-{digit}")
    ui.tap("ok")


def test_the_help_line_is_on_every_screen_in_the_language_on_screen() -> None:
    contact = '{ en = "Call 030 999", de = "Tel. 030 999" }'
    with bilingual_daemon(operator_contact=contact) as daemon:
        parcels = {lang: stored(daemon, barcode=f"HELP-{lang}", size="S") for lang in HELP}
        ui = UiDriver(str(daemon.touchscreen_socket))
        try:
            ui.wait_until(lambda: ui.app.online and ui.app.status is not None, what="the UI")
            for lang, (_door, code) in parcels.items():
                ui.tap(f"lang-{lang}")
                on(ui, HomeScreen)
                sees_the_help_line(ui, lang)

                ui.tap("pickup")  # the keypad
                on(ui, PickupScreen)
                sees_the_help_line(ui, lang)
                for digit in code:
                    ui.tap(f"key-{digit}")
                ui.tap("ok")
                on(ui, DoorScreen)  # the door
                sees_the_help_line(ui, lang)
                ui.wait_until(lambda: ui.app.screen.done_at is not None, what="the door shut")
                ui.tap("done")

                ui.tap(f"lang-{lang}")
                signs_in(ui, COURIER)
                on(ui, CourierMenuScreen)  # the courier
                sees_the_help_line(ui, lang)
                ui.tap("sign-out")

                ui.tap(f"lang-{lang}")
                signs_in(ui, TECHNICIAN)
                on(ui, TechnicianScreen)  # the technician
                sees_the_help_line(ui, lang)
                ui.tap("sign-out")
                on(ui, HomeScreen)
            rows = daemon.client().get("/v1/parcels")["parcels"]
            assert {p["state"] for p in rows} == {"PICKED_UP"}
            assert sorted(p["compartment"] for p in rows) == sorted(d for d, _ in parcels.values())
        finally:
            i18n.set_language("en")
            ui.close()
