"""The two seams of spoken guidance: what makes audio from text, and where audio goes.

A :class:`~kiosk.ui.speech.speaker.Speaker` joins one :class:`Synthesiser` to one
:class:`AudioOutput` on a worker thread of its own. Both are called only from that
thread, one utterance at a time, so neither needs a lock of its own.

A synthesiser *must* implement :meth:`Synthesiser.synthesise`; an output *must*
implement :meth:`AudioOutput.play` and *may* override :meth:`AudioOutput.close`.
Both report a failure they cannot recover from with :class:`SpeechUnavailable`: the
speaker then logs it once and stays silent, as a kiosk without speech still serves
everyone who can read the screen.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass


class SpeechUnavailable(Exception):
    """No more speech from this synthesiser or output (no engine, no audio device)."""


@dataclass(frozen=True)
class AudioFormat:
    """Signed little-endian PCM: ``rate`` frames a second, ``channels`` samples a frame."""

    rate: int = 22050
    channels: int = 1
    sample_bytes: int = 2

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.sample_bytes

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / (self.rate * self.frame_bytes)


@dataclass(frozen=True)
class Utterance:
    """One thing to say: ``number`` counts the utterances of a speaker from 1."""

    number: int
    text: str
    lang: str


@dataclass
class Audio:
    """An utterance as sound: ``chunks`` of whole frames, as the engine makes them.

    The chunks come while synthesis runs, so the first can play before the last is
    made. Closing the iterator early (a newer utterance wins) stops the engine."""

    format: AudioFormat
    chunks: Iterator[bytes]


class Synthesiser(ABC):
    """Text to audio in a language's voice."""

    @abstractmethod
    def synthesise(self, utterance: Utterance, cancel: threading.Event) -> Audio | None:
        """Start synthesising ``utterance``; None if there is no voice for its language.

        Must return soon (the engine started, the format known) and must stop making
        chunks within a few tens of milliseconds of ``cancel`` being set."""


class AudioOutput(ABC):
    """Where the sound of an utterance goes: a loudspeaker, files, a test's list."""

    @abstractmethod
    def play(self, utterance: Utterance, audio: Audio, cancel: threading.Event) -> None:
        """Play ``audio`` from its first chunk on; return once it has been heard (or
        handed on whole), or within a few tens of milliseconds of ``cancel`` being
        set, having stopped the sound."""

    def close(self) -> None:  # noqa: B027 (optional hook, nothing to do by default)
        """Release the device. Called once, from the speaker's thread, at its end."""
