"""Drive the real touchscreen UI offscreen (SDL's dummy video driver), as a person would:
taps on buttons found by their label, keys typed at a human pace, scanner bursts."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from kiosk.ui.app import App
from kiosk.ui.widgets import Button


class UiDriver:
    def __init__(self, socket: str, size: tuple[int, int] = (800, 480), lang: str = "en") -> None:
        self.offset = 0.0
        self.app = App(socket, size, lang=lang, clock=self.clock)

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        """Let time pass for the UI (idle time-outs) without waiting for it."""
        self.offset += seconds
        self.pump(0.05)

    def close(self) -> None:
        self.app.link.stop()
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
