"""Where spoken guidance goes: the kiosk's loudspeaker through pygame's mixer, or WAV files.

Speech plays through the mixer that already plays the key click (kiosk/ui/sound.py),
on a channel of its own, so the touchscreen process is the only one holding the audio
device: on a Pi with ALSA alone (the touchscreen's unit sets ``SDL_AUDIODRIVER=alsa``)
a second process opening the device would fail while the first holds it. The click
still plays over speech, and stopping speech is a call on the channel, not a signal to
another program. docs/architecture.md says more.
"""

from __future__ import annotations

import io
import os
import threading
import wave
from pathlib import Path

import pygame

from kiosk.ui import sound
from kiosk.ui.speech.base import Audio, AudioFormat, AudioOutput, SpeechUnavailable, Utterance

_WAIT_S = 0.01  # how often a playing utterance looks at its channel and the cancel flag


class MixerOutput(AudioOutput):
    """Plays through pygame's mixer on :data:`kiosk.ui.sound.SPEECH_CHANNEL`.

    The first chunk plays as soon as it is made; while it plays, what the engine makes
    next gathers and is queued behind it as one sound (the channel holds one queued
    sound), and so on until the end. The engine runs several times faster than speech,
    so after the first chunk the queue never runs dry."""

    def play(self, utterance: Utterance, audio: Audio, cancel: threading.Event) -> None:
        if not sound.open_mixer():
            raise SpeechUnavailable("no audio device: pygame's mixer cannot be opened")
        channel = pygame.mixer.Channel(sound.SPEECH_CHANNEL)
        channel.stop()
        waiting = bytearray()
        for chunk in audio.chunks:
            if cancel.is_set():
                break
            waiting += chunk
            if channel.get_queue() is None:
                _enqueue(channel, audio.format, waiting)
                waiting.clear()
        while not cancel.is_set() and (waiting or channel.get_busy()):
            if waiting and channel.get_queue() is None:
                _enqueue(channel, audio.format, waiting)
                waiting.clear()
            cancel.wait(_WAIT_S)
        if cancel.is_set():
            channel.stop()

    def close(self) -> None:
        if pygame.mixer.get_init():
            pygame.mixer.Channel(sound.SPEECH_CHANNEL).stop()


def _enqueue(channel: pygame.mixer.Channel, fmt: AudioFormat, pcm: bytes | bytearray) -> None:
    """Play ``pcm`` now if the channel is quiet, else after what it plays."""
    # Through a WAV header, SDL converts the engine's format to the mixer's (which the
    # device may have changed when the mixer opened).
    clip = pygame.mixer.Sound(file=io.BytesIO(wav_bytes(fmt, bytes(pcm))))
    if channel.get_busy():
        channel.queue(clip)
    else:
        channel.play(clip)


def wav_bytes(fmt: AudioFormat, pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(fmt.channels)
        w.setsampwidth(fmt.sample_bytes)
        w.setframerate(fmt.rate)
        w.writeframes(pcm)
    return out.getvalue()


class WavFiles(AudioOutput):
    """Writes each utterance heard to the end as ``NNNN-LANG.wav`` in ``folder``.

    For tests and tools: what the kiosk would have said, to be measured or listened to.
    A file appears whole (written aside, then renamed) once its utterance is complete;
    an utterance cut short by a newer one leaves no file."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, utterance: Utterance) -> Path:
        return self.folder / f"{utterance.number:04d}-{utterance.lang}.wav"

    def play(self, utterance: Utterance, audio: Audio, cancel: threading.Event) -> None:
        pcm = bytearray()
        for chunk in audio.chunks:
            if cancel.is_set():
                return
            pcm += chunk
        if cancel.is_set():
            return
        final = self.path_for(utterance)
        aside = final.with_suffix(".part")
        aside.write_bytes(wav_bytes(audio.format, bytes(pcm)))
        os.replace(aside, final)
