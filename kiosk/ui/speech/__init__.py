"""Spoken guidance for the touchscreen (EN 301 549 §5.1.3: a closed kiosk speaks).

A screen says something with ``speaker.say(text, lang)``; the words come from
:mod:`kiosk.ui.speech.phrases` and the UI's catalogs. :func:`build_speaker` makes the
speaker the kiosk's ``[ui]`` settings ask for (``ui.speech``, ``ui.speech_rate``, which
the touchscreen reads from the daemon's ``/v1/kiosk``):

- ``"espeak-ng"`` (the default): Debian's espeak-ng where it is installed, played through
  pygame's mixer; where it is not, no speech, and one log line at start says so;
- ``"none"``: no speech.

Tests and tools join :class:`EspeakNg` to :class:`WavFiles` instead, and get a WAV
file for each utterance. Nothing here imports the daemon: the touchscreen is a client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kiosk.ui.speech.base import (
    Audio,
    AudioFormat,
    AudioOutput,
    SpeechUnavailable,
    Synthesiser,
    Utterance,
)
from kiosk.ui.speech.espeak import DEFAULT_RATE, EspeakNg, find_espeak
from kiosk.ui.speech.outputs import MixerOutput, WavFiles
from kiosk.ui.speech.speaker import SilentSpeaker, Speaker, Speech

__all__ = [
    "DEFAULT_RATE",
    "ENGINES",
    "Audio",
    "AudioFormat",
    "AudioOutput",
    "EspeakNg",
    "MixerOutput",
    "SilentSpeaker",
    "Speaker",
    "Speech",
    "SpeechUnavailable",
    "Synthesiser",
    "Utterance",
    "WavFiles",
    "build_speaker",
]

log = logging.getLogger(__name__)

ENGINES = ("espeak-ng", "none")
"""What ``ui.speech`` may name."""


def build_speaker(ui: Mapping[str, Any], output: AudioOutput | None = None) -> Speech:
    """The speaker ``ui`` (the kiosk's ``[ui]`` settings) asks for, playing to ``output``
    (default: the loudspeaker). Logs one line when there is to be no speech."""
    engine = str(ui.get("speech", "espeak-ng"))
    if engine == "none":
        log.info('spoken guidance is off (ui.speech = "none")')
        return SilentSpeaker()
    command = find_espeak()
    if command is None:
        log.info("spoken guidance is unavailable: espeak-ng is not installed "
                 "(on Debian: apt-get install espeak-ng)")  # fmt: skip
        return SilentSpeaker()
    rate = int(ui.get("speech_rate", DEFAULT_RATE))
    return Speaker(EspeakNg(command, rate), output or MixerOutput())
