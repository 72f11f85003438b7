"""The touchscreen speaks to a person who turns its voice on: each screen's title and
instructions, each key (never a code's digits out loud), the door and where it is, the
lockout. The voice follows the kiosk's settings: ``ui.speech`` and ``ui.speech_rate``
from the daemon make its speaker, ``ui.speech_on`` speaks to everyone; a speaker handed
in (WAV files, for tests of what each screen says) is kept whatever the settings are.

What is heard is espeak-ng's real sound, written to WAV files and checked not to be
silence, with the text of each utterance beside it (``testkit/ui.py``: ``Heard``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pygame
import pytest

from kiosk.ui.app import LINK_EVENT, App
from kiosk.ui.guidance import Mode
from kiosk.ui.screens.pickup import PickupScreen
from kiosk.ui.speech import EspeakNg, SilentSpeaker, Speaker, WavFiles
from kiosk.ui.speech.espeak import find_espeak
from kiosk.ui.speech.phrases import door_position
from testkit.daemon import Daemon, running_daemon
from testkit.tour import every_screen
from testkit.ui import Said, UiDriver
from tests.ui.test_customer_ui import stored

needs_espeak = pytest.mark.skipif(
    find_espeak() is None, reason="espeak-ng is not installed (sh tools/test-deps.sh installs it)"
)


def kiosk_info(app: App, **ui: Any) -> None:
    """The kiosk's info arriving from the daemon, as the link posts it."""
    data = {"name": "K", "languages": ["en", "de"], "wall": [], "sizes": [], "ui": ui}
    app.handle(pygame.event.Event(LINK_EVENT, msg={"kind": "kiosk", "data": data}))


@pytest.fixture
def app() -> Iterator[App]:
    offline = App("/nonexistent/api.sock", start_link=False)
    yield offline
    offline.speaker.close()


@needs_espeak
def test_the_kiosks_settings_make_the_speaker_once_and_again_only_when_they_change(
    app: App,
) -> None:
    assert isinstance(app.speaker, SilentSpeaker), "no voice before the kiosk is known"

    kiosk_info(app, speech="espeak-ng", speech_rate=160)
    first = app.speaker
    assert isinstance(first, Speaker) and first.is_available
    assert isinstance(first.synthesiser, EspeakNg) and first.synthesiser.rate == 160

    kiosk_info(app, speech="espeak-ng", speech_rate=160)  # the daemon restarted
    assert app.speaker is first

    kiosk_info(app, speech="espeak-ng", speech_rate=200)
    assert app.speaker is not first and not first.is_available, "the old one was closed"

    kiosk_info(app, speech="none", speech_rate=200)
    assert isinstance(app.speaker, SilentSpeaker)


@needs_espeak
def test_a_speaker_handed_in_is_kept_whatever_the_kiosk_says(tmp_path: Path) -> None:
    command = find_espeak()
    assert command is not None
    given = Speaker(EspeakNg(command), WavFiles(tmp_path))
    app = App("/nonexistent/api.sock", start_link=False, speaker=given)
    try:
        kiosk_info(app, speech="none", speech_rate=100)
        assert app.speaker is given
        app.speaker.say("Pick up a parcel", "en")
        assert given.wait_idle(10)
        assert [f.name for f in tmp_path.glob("*.wav")] == ["0001-en.wav"]
    finally:
        given.close()


def test_a_kiosk_set_to_no_speech_gives_its_touchscreen_none() -> None:
    with running_daemon(sections={"ui": {"speech": "none", "speech_rate": 120}}) as daemon:
        driver = UiDriver(str(daemon.socket))
        try:
            driver.wait_until(lambda: driver.app.kiosk is not None, what="the kiosk's info")
            assert driver.app.ui["speech"] == "none"
            assert driver.app.ui["speech_rate"] == 120
            assert isinstance(driver.app.speaker, SilentSpeaker)
            assert "speech" not in [b.name for b in driver.app.buttons], "no button to nothing"
        finally:
            driver.close()


# -- a person who turns the voice on -------------------------------------------------

LOUD = 1000
"""A sample above this (of 32767) is sound, not silence or noise."""
TWO_COLUMNS = [f"{c}{r:02d}" for c in "AB" for r in range(1, 7)]


def speaking_ui(daemon: Daemon, folder: Path, lang: str = "en") -> UiDriver:
    driver = UiDriver(str(daemon.touchscreen_socket), lang=lang, speech=folder)
    driver.wait_until(lambda: driver.app.online and driver.app.kiosk is not None, what="the UI")
    return driver


@pytest.fixture
def ui(daemon: Daemon, tmp_path: Path) -> Iterator[UiDriver]:
    driver = speaking_ui(daemon, tmp_path / "said")
    yield driver
    driver.close()


def sounds(*said: Said) -> None:
    for each in said:
        assert each.loudest() > LOUD, f"{each.text!r} was silent"


def asked_since(ui: UiDriver, start: int) -> list[str]:
    assert ui.speaker is not None
    return [text for text, _lang in ui.speaker.asked[start:]]


def type_on_keypad(ui: UiDriver, digits: str) -> None:
    """Tap each key, hearing each echo out (an echo cuts the one before short)."""
    for digit in digits:
        ui.tap(f"key-{digit}")
        ui.hear_out()


@needs_espeak
def test_a_customer_who_turns_speech_on_hears_each_screen_and_the_doors_place_in_the_wall(
    tmp_path: Path,
) -> None:
    sizes = ["M"] * len(TWO_COLUMNS)
    with running_daemon(ids=TWO_COLUMNS, sizes=sizes) as daemon:
        door, code = stored(daemon)
        ui = speaking_ui(daemon, tmp_path)
        try:
            assert ui.button("speech").label == "Speech"
            ui.tap("speech")
            turned_on = ui.wait_to_hear("Spoken guidance is on.")
            home = ui.wait_to_hear("Pick up a parcel. Type your pickup code or scan it.")
            assert ui.button("speech").label == "Speech: on"

            ui.tap("Pick up a parcel")
            keypad = ui.wait_to_hear("Type your pickup code.")
            ui.hear_out()
            type_on_keypad(ui, code)
            ui.tap("OK")
            opened = ui.wait_to_hear(f"Door {door} is open: take your parcel and close the door.")
            where = door_position(door, ui.app.kiosk["wall"])  # type: ignore[index]
            assert where in opened.text and "column" in where, opened.text
            thanks = ui.wait_to_hear("Thank you!")
            sounds(turned_on, home, keypad, opened, thanks)
            assert all(said.lang == "en" for said in (home, keypad, opened, thanks))
        finally:
            ui.close()
        parcels = daemon.client().get("/v1/parcels")["parcels"]
        assert parcels[0]["state"] == "PICKED_UP" and parcels[0]["compartment"] == door


@needs_espeak
def test_out_loud_the_keypad_says_digit_entered_and_never_a_digit_of_the_code(
    daemon: Daemon, ui: UiDriver
) -> None:
    door, code = stored(daemon)
    ui.tap("speech")
    ui.tap("Pick up a parcel")
    ui.wait_to_hear("Type your pickup code.")
    assert ui.speaker is not None
    start = len(ui.speaker.asked)
    type_on_keypad(ui, code[:3])
    ui.tap("key-back")
    ui.hear_out()
    type_on_keypad(ui, code[2:])
    echoes = asked_since(ui, start)
    assert echoes == ["Digit entered."] * 3 + ["Deleted."] + ["Digit entered."] * 6
    ui.tap("OK")
    ui.wait_to_hear(f"Door {door} is open")
    heard = asked_since(ui, 0)
    assert not any(code in text for text in heard)
    keypad_heard = asked_since(ui, start)[: len(echoes) + 1]  # up to the answer to OK
    assert not any(ch.isdigit() for text in keypad_heard for ch in text), keypad_heard
    sounds(ui.wait_to_hear("Digit entered."))


@needs_espeak
def test_with_headphones_chosen_each_digit_is_said_as_it_is_typed(
    daemon: Daemon, ui: UiDriver
) -> None:
    ui.tap("speech")
    ui.tap("speech")
    ui.wait_to_hear("Headphones: each digit is said as you type it.")
    assert ui.button("speech").label == "Speech: headphones"
    ui.tap("Pick up a parcel")
    ui.wait_to_hear("Type your pickup code.")
    assert ui.speaker is not None
    start = len(ui.speaker.asked)
    type_on_keypad(ui, "407")
    assert asked_since(ui, start) == ["4.", "0.", "7."]
    sounds(ui.wait_to_hear("7."))


@needs_espeak
def test_the_lockout_is_said_when_it_starts_at_its_marks_and_when_it_ends(
    daemon: Daemon, ui: UiDriver
) -> None:
    ui.tap("speech")
    ui.tap("Pick up a parcel")
    for wrong in ["11111111", "22222222", "33333333", "44444444", "55555555", "66666666"]:
        if cast(PickupScreen, ui.app.screen).locked_until is not None:
            break
        ui.type(wrong)
        ui.tap("OK")
        ui.wait_until(lambda: not cast(PickupScreen, ui.app.screen).busy, what="the answer")
    started = ui.wait_to_hear("After several wrong codes, the keypad is paused.")
    assert re.search(r"You can type again in (2\d|30) seconds\.", started.text), started.text
    ui.advance(11)
    mark = ui.wait_to_hear("You can type again in 1")
    assert re.fullmatch(r"You can type again in 1\d seconds\.", mark.text), mark.text
    ui.advance(20)
    sounds(started, mark, ui.wait_to_hear("The keypad is ready again."))
    assert daemon.events("keypad_locked"), "the daemon locked the keypad"


@needs_espeak
def test_german_screens_speak_german_from_the_german_catalog(
    daemon: Daemon, tmp_path: Path
) -> None:
    door, code = stored(daemon)
    ui = speaking_ui(daemon, tmp_path, lang="de")
    try:
        ui.tap("speech")
        on = ui.wait_to_hear("Das Vorlesen ist an.")
        ui.tap("pickup")
        keypad = ui.wait_to_hear("Geben Sie Ihren Abholcode ein.")
        ui.hear_out()
        type_on_keypad(ui, code)
        echo = ui.wait_to_hear("Ziffer eingegeben.")
        ui.tap("ok")
        opened = ui.wait_to_hear(f"Tür {door} ist offen: Bitte entnehmen Sie Ihr Paket")
        assert re.search(rf"Tür {door}, (ganz oben|ganz unten|\w+ von oben)\.", opened.text)
        for said in (on, keypad, echo, opened):
            assert said.lang == "de"
            assert not re.search(r"\b(Door|Type|Digit|entered|from the top)\b", said.text)
        sounds(on, keypad, echo, opened)
    finally:
        ui.close()


@needs_espeak
def test_every_screen_a_person_reaches_speaks_when_it_appears(daemon: Daemon, ui: UiDriver) -> None:
    ui.tap("speech")
    ui.hear_out()
    assert ui.speaker is not None
    compartments = daemon.client().get("/v1/compartments")["compartments"]
    silent = []
    for name in every_screen(ui.app, compartments):
        start = len(ui.speaker.heard.said)
        assert ui.speaker.wait_idle(10)
        said = ui.speaker.heard.said[start:]
        if not said or said[-1].loudest() <= LOUD:
            silent.append(name)
    assert silent == []


@needs_espeak
def test_speech_ends_with_the_persons_visit_when_home_is_left_idle(
    daemon: Daemon, ui: UiDriver
) -> None:
    ui.tap("speech")
    assert ui.app.guidance.mode is Mode.ALOUD
    ui.advance(float(ui.app.ui.get("idle_timeout_s", 60.0)) + 1)
    assert ui.app.guidance.mode is Mode.OFF
    assert ui.button("speech").label == "Speech"


@needs_espeak
def test_a_kiosk_set_to_speak_to_everyone_speaks_from_the_start(tmp_path: Path) -> None:
    with running_daemon(sections={"ui": {"speech_on": True}}) as daemon:
        ui = speaking_ui(daemon, tmp_path)
        try:
            sounds(ui.wait_to_hear("Pick up a parcel."))
            assert ui.button("speech").label == "Speech: on"
            ui.tap("speech")  # headphones, then off for this person
            ui.tap("speech")
            assert ui.app.guidance.mode is Mode.OFF
            ui.advance(float(ui.app.ui.get("idle_timeout_s", 60.0)) + 1)
            assert ui.app.guidance.mode is Mode.ALOUD, "the next person hears it again"
        finally:
            ui.close()
