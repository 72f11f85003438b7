"""Spoken guidance wired to the screens: what the touchscreen says, and when.

One mechanism for every screen, run by the app after each frame it draws
(:meth:`Guidance.after_frame`):

- **entering a screen** (or a dialog): everything the screen says is said, cutting
  short whatever was being said: the texts it drew (its title, instructions and
  notes) and what :meth:`~kiosk.ui.screen.Screen.spoken` adds for a voice alone (a
  door's place in the wall, the lockout's countdown);
- **on the same screen**, a text that was not on the previous frame is said after
  what is being said (an error, "Thank you!", a door that turned out jammed). A
  number that changes within a text (a countdown) does not make it new: it is said
  once, and a screen that wants a countdown said at marks says it through ``spoken``;
- **a key** of the on-screen keypad or keyboard is echoed at once, as the person
  chose (:class:`~kiosk.ui.speech.phrases.KeyEcho`): each digit (headphones) or only
  "Digit entered" (out loud, so people standing by never hear a code).

What a screen draws with ``spoken=False`` (the field a code, PIN, name or number is
typed into) is never said: the key echo speaks for it.

Guidance is off until the person turns it on (the home screen's **Speech** button),
or on from the start where ``[ui] speech_on`` says so; it goes back to that when the
kiosk returns home by itself (a time-out, a sign-out, home left idle). Without a
voice (``[ui] speech = "none"``, no espeak-ng) it is never on, and home shows no button.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import StrEnum

from kiosk.ui import i18n
from kiosk.ui.i18n import _
from kiosk.ui.speech import Speech
from kiosk.ui.speech.phrases import CLEAR, DELETE, KeyEcho, key_echo

KEY_PREFIX = "key-"
"""The name of a keypad's and a keyboard's keys: ``key-7``, ``key-back``, ``key-a``."""
_NUMBER = re.compile(r"\d+")


class Mode(StrEnum):
    """What the home screen's Speech button cycles through."""

    OFF = "off"
    ALOUD = "aloud"
    """Speech on; keys echoed as "Digit entered"."""
    HEADPHONES = "headphones"
    """Speech on; each digit said, for a person who listens privately."""


NEXT_MODE = {Mode.OFF: Mode.ALOUD, Mode.ALOUD: Mode.HEADPHONES, Mode.HEADPHONES: Mode.OFF}


class Guidance:
    """Says what the screens show, through the speaker ``speaker()`` returns (the app
    may replace its speaker when the kiosk's settings arrive)."""

    def __init__(self, speaker: Callable[[], Speech]) -> None:
        self._speaker = speaker
        self.mode = Mode.OFF
        self.default = Mode.OFF
        self._entered = True
        self._cut = True  # the next whole saying cuts short what is being said
        self._last: set[str] = set()
        self._last_extra: set[str] = set()

    # -- on and off -------------------------------------------------------------------

    @property
    def is_available(self) -> bool:
        """There is a voice to turn on."""
        return self._speaker().is_available

    @property
    def is_on(self) -> bool:
        return self.mode is not Mode.OFF and self.is_available

    def set_default(self, on: bool) -> None:
        """The kiosk's ``[ui] speech_on``: what each person starts with."""
        was_default = self.mode is self.default
        self.default = Mode.ALOUD if on else Mode.OFF
        if was_default:
            self.mode = self.default

    def reset(self) -> None:
        """Back to the kiosk's default, for the next person."""
        if self.mode is not self.default:
            self.mode = self.default
            if not self.is_on:
                self._speaker().stop()

    def next_mode(self) -> None:
        """The Speech button: off, on (out loud), on (headphones), off; says the new
        state at once."""
        self.mode = NEXT_MODE[self.mode]
        if self.mode is Mode.OFF:
            self._speaker().stop()
            return
        self._entered, self._cut = True, False  # then the screen itself, after this
        if self.mode is Mode.ALOUD:
            said = _("Spoken guidance is on. Keys are said as 'digit entered'. "
                     "If you wear headphones, tap Speech again to hear each digit.")  # fmt: skip
        else:
            said = _("Headphones: each digit is said as you type it. "
                     "Tap Speech again to turn the voice off.")  # fmt: skip
        self._say(said, interrupt=True)

    @property
    def echo(self) -> KeyEcho:
        return KeyEcho.DIGITS if self.mode is Mode.HEADPHONES else KeyEcho.NEUTRAL

    # -- what is said -----------------------------------------------------------------

    def entered(self) -> None:
        """A screen or dialog was entered: the next frame says it whole."""
        self._entered = self._cut = True

    def after_frame(self, drawn: Sequence[str], extra: Sequence[str]) -> None:
        """A frame was drawn: ``drawn``, the texts the screen (and dialog) drew to be
        heard, ``extra``, what it adds for a voice (:meth:`Screen.spoken`)."""
        shown = {_NUMBER.sub("#", text) for text in drawn}
        if not self.is_on:
            self._entered, self._last, self._last_extra = False, shown, set(extra)
            return
        if self._entered:
            said = [*drawn, *extra]
        else:
            said = [t for t in drawn if _NUMBER.sub("#", t) not in self._last]
            said += [t for t in extra if t not in self._last_extra]
        if said:
            self._say(" ".join(sentence(t) for t in said), interrupt=self._entered and self._cut)
        self._entered, self._last, self._last_extra = False, shown, set(extra)

    def key(self, name: str, label: str) -> None:
        """A button named ``name`` was tapped: echo it if it is a key."""
        if not self.is_on or not name.startswith(KEY_PREFIX):
            return
        key = name[len(KEY_PREFIX) :]
        if key == "back":
            key = DELETE
        elif key == "clear":
            key = CLEAR
        elif key == "extra":
            key = label
        self._say(key_echo(key, self.echo), interrupt=True)

    def typed(self, kind: str, text: str) -> None:
        """A key typed on a keyboard (not a scanner's burst): echoed like a tap."""
        if kind == "text" and len(text) == 1 and not text.isspace():
            self.key(KEY_PREFIX + text, text)
        elif kind == "backspace":
            self.key(KEY_PREFIX + "back", "")

    def _say(self, text: str, interrupt: bool) -> None:
        self._speaker().say(text, i18n.language(), interrupt=interrupt)


def sentence(text: str) -> str:
    """``text`` ending as a sentence, so the voice pauses after it ("Courier" then
    "Deliver or collect" are two phrases, not one)."""
    text = " ".join(text.split())
    return text if text[-1:] in ".!?:…" else f"{text}."
