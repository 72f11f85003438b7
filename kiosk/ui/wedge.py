"""Telling a keyboard-wedge scanner from a person at the keyboard.

A USB scanner in keyboard mode types a whole barcode a few milliseconds per key and
ends it with Enter; a person types a key every 100 ms or more. Keys are held back for
at most ``HOLD_S``; while they keep coming faster than that, they form a *run*::

    person:   7 ·········· 3 ·········· 9 ··· Enter      each key shown ≤ 35 ms late
    scanner:  1Z99AA10123456784⏎  (≈ 2 ms apart)          one scan, nothing typed

A run of at least ``MIN_SCAN`` characters that ends in Enter is a scan. Anything else
is delivered as typing, in order. Tab, Shift+Tab and the arrow keys (which move the
keyboard focus) end a run as typing, as Backspace and Escape do.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

HOLD_S = 0.035
MIN_SCAN = 4

Out = list[tuple[str, str]]

ARROWS = {pygame.K_LEFT: "left", pygame.K_RIGHT: "right", pygame.K_UP: "up", pygame.K_DOWN: "down"}


class WedgeDetector:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._run: list[str] = []
        self._last = 0.0

    def feed(self, key: int, char: str, shift: bool = False) -> Out:
        """One key down (``shift`` held with it); what to deliver now, in order."""
        now = self.clock()
        out: Out = []
        if self._run and now - self._last > HOLD_S:
            out += self._as_typing()
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            if len(self._run) >= MIN_SCAN:
                out.append(("scan", "".join(self._run)))
                self._run = []
            else:
                out += self._as_typing()
                out.append(("enter", ""))
        elif key == pygame.K_BACKSPACE:
            out += [*self._as_typing(), ("backspace", "")]
        elif key == pygame.K_ESCAPE:
            out += [*self._as_typing(), ("escape", "")]
        elif key == pygame.K_TAB:
            out += [*self._as_typing(), ("back-tab" if shift else "tab", "")]
        elif key in ARROWS:
            out += [*self._as_typing(), (ARROWS[key], "")]
        elif (char and char.isprintable()) or char == "\x1d":
            self._run.append(char)
            self._last = now
        return out

    def next_flush(self) -> float | None:
        return self._last + HOLD_S if self._run else None

    def flush_due(self) -> Out:
        if self._run and self.clock() - self._last >= HOLD_S:
            return self._as_typing()
        return []

    def _as_typing(self) -> Out:
        out = [("text", ch) for ch in self._run]
        self._run = []
        return out
