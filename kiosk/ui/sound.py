"""A short click on each key press and a low tone on errors, if wanted and possible.

Sound is optional: without an audio device (or with ``key_sound = false``) every call
is silently nothing. The mixer opened here also plays spoken guidance
(:mod:`kiosk.ui.speech`), on a channel no click takes.
"""

from __future__ import annotations

import array
import math
import threading

import pygame

RATE = 22050  # espeak-ng's rate too: its speech needs no resampling
SPEECH_CHANNEL = 0
"""The mixer channel kept for speech, so a key click never cuts a word short."""
_opening = threading.Lock()


def open_mixer() -> bool:
    """Open the audio device once for the process; False if there is none.

    Called by the click on the loop's thread and by speech on its own, whichever comes
    first: the lock keeps the two from opening it twice."""
    with _opening:
        try:
            if pygame.mixer.get_init():
                return True
            pygame.mixer.init(RATE, -16, 1)
        except (pygame.error, NotImplementedError):
            # no audio device, or a pygame built without its mixer (whose every
            # function, get_init too, raises NotImplementedError)
            return False
        pygame.mixer.set_reserved(SPEECH_CHANNEL + 1)
        return True


def _tone(freq: float, seconds: float, volume: float = 0.3) -> bytes:
    n = int(RATE * seconds)
    samples = array.array(
        "h",
        (
            int(volume * 32767 * math.sin(2 * math.pi * freq * i / RATE) * (1 - i / n))
            for i in range(n)
        ),
    )
    return samples.tobytes()


class Sound:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._sounds: dict[str, pygame.mixer.Sound] | None = None

    def _ready(self) -> bool:
        if not self.enabled:
            return False
        if self._sounds is None:
            try:
                if not open_mixer():
                    raise pygame.error("no audio device")
                self._sounds = {
                    "click": pygame.mixer.Sound(buffer=_tone(1800, 0.03)),
                    "error": pygame.mixer.Sound(buffer=_tone(220, 0.25)),
                }
            except (pygame.error, NotImplementedError):
                # no audio device, or a pygame built without its mixer: stay silent
                self.enabled = False
                return False
        return True

    def click(self) -> None:
        if self._ready():
            assert self._sounds is not None
            self._sounds["click"].play()

    def error(self) -> None:
        if self._ready():
            assert self._sounds is not None
            self._sounds["error"].play()
