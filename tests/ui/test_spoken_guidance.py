"""The touchscreen's voice follows the kiosk's settings: ``ui.speech`` and
``ui.speech_rate`` from the daemon make its speaker; a speaker handed in (WAV files, for
tests of what each screen says) is kept whatever the settings are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest

from kiosk.ui.app import LINK_EVENT, App
from kiosk.ui.speech import EspeakNg, SilentSpeaker, Speaker, WavFiles
from kiosk.ui.speech.espeak import find_espeak
from testkit.daemon import running_daemon
from testkit.ui import UiDriver

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
        finally:
            driver.close()
