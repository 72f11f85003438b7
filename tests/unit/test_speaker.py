"""The speaker: screens hand it text and go on drawing; the latest thing said wins; an
engine that fails goes quiet with one log line, and never takes the touchscreen down.

An engine made for the test (each utterance one chunk per word, each chunk held until
the test lets it through) stands in for espeak-ng, so what is cut short is certain."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from kiosk.ui.speech import (
    Audio,
    AudioFormat,
    AudioOutput,
    SilentSpeaker,
    Speaker,
    SpeechUnavailable,
    Synthesiser,
    Utterance,
    build_speaker,
)


class HeldEngine(Synthesiser):
    """Makes one chunk per word; each waits for ``release`` (or the utterance's cancel)."""

    def __init__(self) -> None:
        self.release = threading.Semaphore(0)
        self.started: list[str] = []
        self.fail_with: Exception | None = None

    def synthesise(self, utterance: Utterance, cancel: threading.Event) -> Audio | None:
        self.started.append(utterance.text)
        if self.fail_with is not None:
            raise self.fail_with
        return Audio(AudioFormat(), self._words(utterance.text, cancel))

    def _words(self, text: str, cancel: threading.Event) -> Iterator[bytes]:
        for word in text.split():
            while not cancel.is_set() and not self.release.acquire(timeout=0.01):
                pass
            if cancel.is_set():
                return
            yield word.encode()

    def let_through(self, words: int = 10) -> None:
        for _ in range(words):
            self.release.release()


class Heard(AudioOutput):
    """What a listener heard: each utterance's words, and whether it was cut short."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str, bool]] = []

    def play(self, utterance: Utterance, audio: Audio, cancel: threading.Event) -> None:
        words = [chunk.decode() for chunk in audio.chunks]
        self.heard.append((" ".join(words), utterance.lang, cancel.is_set()))


@pytest.fixture
def engine() -> HeldEngine:
    return HeldEngine()


@pytest.fixture
def ear() -> Heard:
    return Heard()


@pytest.fixture
def speaker(engine: HeldEngine, ear: Heard) -> Iterator[Speaker]:
    s = Speaker(engine, ear)
    yield s
    s.close()


def wait_started(engine: HeldEngine, n: int) -> None:
    for _ in range(500):
        if len(engine.started) >= n:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"the engine started {engine.started}, not {n} utterances")


def test_what_is_said_next_cuts_short_what_is_being_said(
    speaker: Speaker, engine: HeldEngine, ear: Heard
) -> None:
    speaker.say("Please type your pickup code", "en")
    wait_started(engine, 1)
    engine.let_through(1)  # "Please" is heard, then the person taps on
    speaker.say("Tür A04, linke Spalte", "de")
    engine.let_through()

    assert speaker.wait_idle(5)
    assert ear.heard[-1] == ("Tür A04, linke Spalte", "de", False)
    assert ear.heard[0][2] is True, "the first utterance was cut short"
    assert "pickup code" not in ear.heard[0][0]


def test_several_said_at_once_leave_only_the_latest_to_hear(
    speaker: Speaker, engine: HeldEngine, ear: Heard
) -> None:
    speaker.say("one", "en")
    wait_started(engine, 1)
    for text in ("two", "three", "four"):
        speaker.say(text, "en")
    engine.let_through()

    assert speaker.wait_idle(5)
    complete = [text for text, _, cut in ear.heard if not cut]
    assert complete == ["four"]


def test_said_without_interrupting_it_waits_its_turn(
    speaker: Speaker, engine: HeldEngine, ear: Heard
) -> None:
    speaker.say("Pick up a parcel", "en")
    speaker.say("Type your code", "en", interrupt=False)
    engine.let_through()

    assert speaker.wait_idle(5)
    assert ear.heard == [("Pick up a parcel", "en", False), ("Type your code", "en", False)]


def test_stop_silences_at_once_and_drops_what_was_waiting(
    speaker: Speaker, engine: HeldEngine, ear: Heard
) -> None:
    speaker.say("a long explanation of the deposit", "en")
    speaker.say("and more of it", "en", interrupt=False)
    wait_started(engine, 1)
    speaker.stop()

    assert speaker.wait_idle(5)
    assert ear.heard == [("", "en", True)]
    assert engine.started == ["a long explanation of the deposit"]


def test_say_never_waits_for_the_engine(speaker: Speaker, engine: HeldEngine) -> None:
    # The engine holds every word: a say() that waited for it would never return.
    returned = threading.Event()

    def tap_on() -> None:
        for n in range(20):
            speaker.say(f"screen {n} title", "en")
        speaker.stop()
        returned.set()

    threading.Thread(target=tap_on, daemon=True).start()
    assert returned.wait(5), "say() waited for the speech engine"


def test_an_engine_that_breaks_goes_quiet_with_one_log_line(
    speaker: Speaker, engine: HeldEngine, ear: Heard, caplog: pytest.LogCaptureFixture
) -> None:
    engine.fail_with = SpeechUnavailable("no audio device")
    with caplog.at_level(logging.WARNING):
        speaker.say("first", "en")
        assert speaker.wait_idle(5)
        speaker.say("second", "en")
        assert speaker.wait_idle(5)

    assert not speaker.is_available
    assert engine.started == ["first"]
    assert [r.getMessage() for r in caplog.records] == ["spoken guidance stops: no audio device"]
    assert ear.heard == []


def test_one_utterance_that_fails_does_not_silence_the_next(
    speaker: Speaker, engine: HeldEngine, ear: Heard, caplog: pytest.LogCaptureFixture
) -> None:
    engine.fail_with = ValueError("a bug in one utterance")
    with caplog.at_level(logging.ERROR):
        speaker.say("first", "en")
        assert speaker.wait_idle(5)
    engine.fail_with = None
    speaker.say("second", "en")
    engine.let_through()

    assert speaker.wait_idle(5)
    assert ear.heard == [("second", "en", False)]
    assert speaker.is_available
    assert "first" not in caplog.text, "what was said is not logged (it may be a code)"


def test_nothing_is_said_for_empty_text_or_after_close(
    speaker: Speaker, engine: HeldEngine
) -> None:
    speaker.say("   ", "en")
    speaker.close()
    speaker.say("too late", "en")
    speaker.close()  # again: nothing happens

    assert engine.started == []
    assert not speaker.is_available


# -- which speaker the settings make ------------------------------------------------------


def test_speech_set_to_none_is_silent_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        speaker = build_speaker({"speech": "none", "speech_rate": 160})

    assert isinstance(speaker, SilentSpeaker)
    assert not speaker.is_available
    assert [r.getMessage() for r in caplog.records] == [
        'spoken guidance is off (ui.speech = "none")'
    ]


def test_without_espeak_ng_installed_the_kiosk_is_silent_and_says_why_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with caplog.at_level(logging.INFO):
        speaker = build_speaker({"speech": "espeak-ng", "speech_rate": 160})
        speaker.say("Pick up a parcel", "en")

    assert isinstance(speaker, SilentSpeaker)
    assert [r.getMessage() for r in caplog.records] == [
        "spoken guidance is unavailable: espeak-ng is not installed "
        "(on Debian: apt-get install espeak-ng)"
    ]
