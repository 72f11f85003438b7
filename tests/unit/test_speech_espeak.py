"""Spoken guidance with the real engine, espeak-ng, heard through WAV files and the mixer:
every utterance is sound (not silence), in the voice of its language, at the set rate.

These need Debian's espeak-ng (tools/test-deps.sh installs it, as CI does); without it
they are skipped, saying so."""

from __future__ import annotations

import array
import math
import os
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame

from kiosk.ui import i18n, sound
from kiosk.ui.speech import EspeakNg, MixerOutput, Speaker, WavFiles
from kiosk.ui.speech.espeak import find_espeak, parse_voice_list
from kiosk.ui.speech.phrases import KeyEcho, door_position, key_echo, lockout_started

ESPEAK = find_espeak()
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (sh tools/test-deps.sh installs it)"
)
WALL = [{"id": f"A{r:02d}", "column": 1, "row": r} for r in range(1, 7)] + [
    {"id": f"B{r:02d}", "column": 2, "row": r} for r in range(1, 6)
]


def rms(path: Path) -> tuple[float, float]:
    """The file's length in seconds and its loudness (RMS of 16-bit samples, 0..32767)."""
    with wave.open(str(path)) as w:
        assert (w.getsampwidth(), w.getnchannels()) == (2, 1)
        frames = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate()
    samples = array.array("h", frames)
    loudness = math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0
    return seconds, loudness


def espeak_alone(text: str, voice: str, rate: int) -> bytes:
    """The samples espeak-ng makes for ``text`` when run by hand."""
    assert ESPEAK is not None
    out = subprocess.run(
        [ESPEAK, "--stdout", "-v", voice, "-s", str(rate)], input=text.encode(),
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert out[36:40] == b"data"  # a 44-byte header, whose length it never knew (a stream)
    return out[44:]


def samples_of(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


@pytest.fixture
def heard(tmp_path: Path) -> Iterator[tuple[Speaker, Path]]:
    assert ESPEAK is not None
    folder = tmp_path / "said"
    speaker = Speaker(EspeakNg(ESPEAK, rate=160), WavFiles(folder))
    yield speaker, folder
    speaker.close()
    i18n.set_language("en")


@needs_espeak
def test_each_thing_said_is_a_wav_file_of_sound_not_silence(heard: tuple[Speaker, Path]) -> None:
    speaker, folder = heard
    said = []
    for lang in ("en", "de"):
        i18n.set_language(lang)
        said += [
            (door_position("A04", WALL), lang),
            (key_echo("7", KeyEcho.NEUTRAL), lang),
            (lockout_started(30), lang),
        ]
    for text, lang in said:
        speaker.say(text, lang, interrupt=False)
    assert speaker.wait_idle(30)

    files = sorted(folder.glob("*.wav"))
    assert [f.name for f in files] == [
        "0001-en.wav", "0002-en.wav", "0003-en.wav", "0004-de.wav", "0005-de.wav", "0006-de.wav",
    ]  # fmt: skip
    for f in files:
        seconds, loudness = rms(f)
        assert seconds > 0.4, f"{f.name} is {seconds:.2f} s long"
        assert loudness > 500, f"{f.name} is near silence (RMS {loudness:.0f})"


@needs_espeak
def test_german_text_is_spoken_by_the_german_voice(heard: tuple[Speaker, Path]) -> None:
    speaker, folder = heard
    text = "Tür A04, linke Spalte, vierte von oben."
    speaker.say(text, "de")
    assert speaker.wait_idle(30)

    ours = samples_of(folder / "0001-de.wav")
    assert ours == espeak_alone(text, "de", 160)
    assert ours != espeak_alone(text, "en", 160)


@needs_espeak
def test_a_faster_rate_says_the_same_in_less_time(tmp_path: Path) -> None:
    assert ESPEAK is not None
    lengths = {}
    for rate in (100, 300):
        speaker = Speaker(EspeakNg(ESPEAK, rate=rate), WavFiles(tmp_path / str(rate)))
        speaker.say("Door A04, left column, fourth from the top.", "en")
        assert speaker.wait_idle(30)
        speaker.close()
        lengths[rate] = rms(tmp_path / str(rate) / "0001-en.wav")[0]

    assert lengths[300] < lengths[100] * 0.6


@needs_espeak
def test_a_language_without_a_voice_is_not_spoken_in_another(
    heard: tuple[Speaker, Path],
) -> None:
    speaker, folder = heard
    speaker.say("Bonjour", "qq")
    speaker.say("Hello", "en", interrupt=False)
    assert speaker.wait_idle(30)

    assert sorted(f.name for f in folder.glob("*.wav")) == ["0002-en.wav"]
    assert speaker.is_available


@needs_espeak
def test_each_language_of_the_touchscreen_has_a_voice() -> None:
    assert ESPEAK is not None
    engine = EspeakNg(ESPEAK)
    for lang in i18n.available_languages():
        assert engine.voice_for(lang), f"espeak-ng has no voice for {lang}"


def test_the_voice_list_is_read_with_each_voices_other_languages() -> None:
    listing = (
        "Pty Language       Age/Gender VoiceName          File                 Other Languages\n"
        " 5  de              --/M      German             gmw/de\n"
        " 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)\n"
        " 5  pt-br           --/M      Portuguese_(Brazil) roa/pt-BR\n"
    )
    assert parse_voice_list(listing) == {"de", "en-gb", "en", "pt-br"}


# -- through the loudspeaker -------------------------------------------------------------


def channel() -> pygame.mixer.Channel:
    return pygame.mixer.Channel(sound.SPEECH_CHANNEL)


@needs_espeak
def test_speech_plays_on_its_own_channel_and_stops_when_told() -> None:
    assert ESPEAK is not None
    speaker = Speaker(EspeakNg(ESPEAK), MixerOutput())
    try:
        speaker.say(lockout_started(1800) + " " + door_position("B05", WALL), "en")

        def speaking() -> bool:
            return bool(pygame.mixer.get_init()) and channel().get_busy()

        for _ in range(500):
            if speaking():
                break
            pygame.time.wait(10)
        assert speaking(), "nothing played on the speech channel"
        assert pygame.mixer.find_channel() not in (None, channel()), "a click would not cut it"

        speaker.stop()
        assert speaker.wait_idle(5)
        assert not channel().get_busy()
    finally:
        speaker.close()
