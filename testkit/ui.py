"""Drive the real touchscreen UI offscreen (SDL's dummy video driver), as a person would:
taps on buttons found by their label, keys typed at a human pace, scanner bursts; and
hear what it says (:class:`Heard`: espeak-ng into WAV files, with each utterance's text)."""

from __future__ import annotations

import array
import os
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from kiosk.ui.app import App
from kiosk.ui.speech import Audio, EspeakNg, Speaker, Utterance, WavFiles
from kiosk.ui.speech.espeak import find_espeak
from kiosk.ui.widgets import Button


@dataclass(frozen=True)
class Said:
    """One utterance the touchscreen finished saying, and its sound."""

    text: str
    lang: str
    wav: Path

    def loudest(self) -> int:
        """The largest sample (16-bit) in the WAV file: 0 is silence."""
        with wave.open(str(self.wav), "rb") as w:
            assert w.getsampwidth() == 2, "16-bit samples"
            samples = array.array("h", w.readframes(w.getnframes()))
        return max((abs(s) for s in samples), default=0)


class Heard(WavFiles):
    """espeak-ng's sound of each utterance, as WAV files in ``folder`` (the product's
    :class:`WavFiles`), and the text of each: what the touchscreen said, whole."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.said: list[Said] = []
        self._lock = threading.Lock()

    def play(self, utterance: Utterance, audio: Audio, cancel: threading.Event) -> None:
        super().play(utterance, audio, cancel)
        path = self.path_for(utterance)
        if path.exists():
            with self._lock:
                self.said.append(Said(utterance.text, utterance.lang, path))

    def texts(self) -> list[str]:
        with self._lock:
            return [s.text for s in self.said]


class Asked(Speaker):
    """The product's speaker, keeping every text it was asked to say (also those a
    newer utterance cut short, which leave no WAV file)."""

    def __init__(self, heard: Heard) -> None:
        command = find_espeak()
        assert command is not None, "espeak-ng is not installed"
        super().__init__(EspeakNg(command), heard)
        self.heard = heard
        self.asked: list[tuple[str, str]] = []

    def say(self, text: str, lang: str, *, interrupt: bool = True) -> None:
        self.asked.append((text, lang))
        super().say(text, lang, interrupt=interrupt)


class UiDriver:
    def __init__(
        self,
        socket: str,
        size: tuple[int, int] = (800, 480),
        lang: str = "en",
        speech: Path | None = None,
    ) -> None:
        """``speech``: a folder for the WAV file of each utterance (:attr:`speaker`)."""
        self.offset = 0.0
        self.speaker = Asked(Heard(speech)) if speech is not None else None
        self.app = App(socket, size, lang=lang, clock=self.clock, speaker=self.speaker)

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        """Let time pass for the UI (idle time-outs) without waiting for it."""
        self.offset += seconds
        self.pump(0.05)

    def close(self) -> None:
        self.app.link.stop()
        if self.speaker is not None:
            self.speaker.close()
        pygame.display.quit()

    # -- running the loop -----------------------------------------------------------

    def pump(self, seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while True:
            self.app.step(max_wait_s=0.01)
            if time.monotonic() >= end:
                return

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.02)
            if predicate():
                return
        raise AssertionError(f"timed out waiting for {what}; the screen shows: {self.texts()}")

    def wait_for_text(self, text: str, timeout: float = 10.0) -> None:
        self.wait_until(lambda: self.shows(text), timeout, f"{text!r} on screen")

    # -- what a person hears ----------------------------------------------------------

    def wait_to_hear(self, text: str, timeout: float = 10.0) -> Said:
        """The first utterance said whole that holds ``text`` (the UI runs meanwhile)."""
        assert self.speaker is not None, "a UiDriver made with speech=FOLDER"
        heard = self.speaker.heard

        def found() -> Said | None:
            with heard._lock:
                return next((s for s in heard.said if text in s.text), None)

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.02)
            self.app.draw()  # a countdown redraws each second of real time, not of advance()
            said = found()
            if said is not None:
                return said
        raise AssertionError(f"never heard {text!r}; heard: {heard.texts()}")

    def hear_out(self, timeout: float = 10.0) -> None:
        """Run the UI until the speaker has said everything asked of it."""
        assert self.speaker is not None, "a UiDriver made with speech=FOLDER"
        end = time.monotonic() + timeout
        while not self.speaker.wait_idle(0.01):
            self.pump(0.02)
            assert time.monotonic() < end, "the speaker never fell silent"

    # -- what a person sees ---------------------------------------------------------

    def texts(self) -> list[str]:
        self.app.draw()
        return list(self.app.texts)

    def shows(self, text: str) -> bool:
        return any(text in t for t in self.texts())

    def button(self, label: str) -> Button:
        self.app.draw()
        for b in self.app.buttons:
            if label in (b.name, b.label):
                return b
        raise AssertionError(f"no button {label!r}; buttons: {[b.label for b in self.app.buttons]}")

    def screenshot(self, path: Path) -> None:
        self.app.draw()
        pygame.image.save(self.app.surface, str(path))

    # -- what a person does ---------------------------------------------------------

    def tap(self, label: str) -> None:
        b = self.button(label)
        assert b.enabled, f"button {label!r} is greyed out"
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=b.rect.center, button=1))
        self.pump(0.02)

    def key(self, key: int, char: str = "", mod: int = 0) -> None:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char, mod=mod))

    def press(self, key: int, char: str = "", mod: int = 0) -> None:
        """One key pressed by a person (a navigation key, Enter, Space), then a pause."""
        self.key(key, char, mod)
        self.pump(0.01)
        self.offset += 0.15
        self.pump(0.02)

    def type(self, text: str) -> None:
        """Type like a person: 150 ms between keys."""
        for ch in text:
            self.key(ord(ch) if ch.isascii() else 0, ch)
            self.pump(0.01)
            self.offset += 0.15
            self.pump(0.01)

    def scan(self, text: str) -> None:
        """A keyboard-wedge scanner: the whole barcode and Enter in one burst."""
        for ch in text:
            self.key(ord(ch) if ch.isascii() else 0, ch)
        self.key(pygame.K_RETURN, "\r")
        self.pump(0.05)
