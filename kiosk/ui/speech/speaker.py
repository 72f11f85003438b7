"""The speaker: what screens call to say something, off the pygame loop.

``say()`` and ``stop()`` only hand over and return: synthesis and playing happen on the
speaker's own thread, so a frame never waits for speech. The latest utterance wins:
``say(text, lang)`` stops what is being said and drops what was waiting, as a person
who taps on has moved on and wants to hear about where they are now. ``interrupt=False``
lets the current utterance finish and queues after it instead (a screen's title, then
its instructions).

::

    say("A")   say("B")                 say("C", interrupt=False)
    |==A==x    |=======B=======|        |====C====|
           ^ cut short                  ^ after B
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Protocol

from kiosk.ui.speech.base import AudioOutput, SpeechUnavailable, Synthesiser, Utterance

log = logging.getLogger(__name__)

MAX_WAITING = 8
"""Utterances queued with ``interrupt=False`` beyond this drop the oldest waiting."""
MAX_TEXT = 2000
"""Characters of one utterance; a longer text is cut (no screen says that much)."""


class Speech(Protocol):
    """What a screen may rely on: :class:`Speaker` and :class:`SilentSpeaker` both are."""

    @property
    def is_available(self) -> bool: ...

    def say(self, text: str, lang: str, *, interrupt: bool = True) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class SilentSpeaker:
    """No speech (none configured, no engine, no audio): every call is nothing."""

    is_available = False

    def say(self, text: str, lang: str, *, interrupt: bool = True) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class Speaker:
    """Says text through ``synthesiser`` to ``output`` on a thread of its own.

    The thread starts with the first ``say()``; ``close()`` ends it (and may be called
    more than once). After :class:`SpeechUnavailable` from either side the speaker logs
    it once and stays silent for good: ``is_available`` turns False."""

    def __init__(self, synthesiser: Synthesiser, output: AudioOutput) -> None:
        self.synthesiser = synthesiser
        self.output = output
        self._lock = threading.Condition()
        self._waiting: collections.deque[Utterance] = collections.deque(maxlen=MAX_WAITING)
        self._current: tuple[Utterance, threading.Event] | None = None
        self._said = 0
        self._closed = False
        self._available = True
        self._thread: threading.Thread | None = None

    @property
    def is_available(self) -> bool:
        return self._available and not self._closed

    def say(self, text: str, lang: str, *, interrupt: bool = True) -> None:
        """Say ``text`` in ``lang`` (``"de"``) soon; never waits."""
        text = text.strip()[:MAX_TEXT]
        if not text or not self.is_available:
            return
        with self._lock:
            if interrupt:
                self._cut_short()
            self._said += 1
            self._waiting.append(Utterance(self._said, text, lang))
            self._start()
            self._lock.notify_all()

    def stop(self) -> None:
        """Silence now: what is being said stops, what was waiting is dropped."""
        with self._lock:
            self._cut_short()
            self._lock.notify_all()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cut_short()
            self._lock.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is being said or waiting (for tests and benchmarks)."""
        with self._lock:
            return self._lock.wait_for(
                lambda: self._current is None and not self._waiting, timeout=timeout
            )

    # -- the speaker's thread ---------------------------------------------------------

    def _cut_short(self) -> None:
        """(with the lock held)"""
        self._waiting.clear()
        if self._current is not None:
            self._current[1].set()

    def _start(self) -> None:
        """(with the lock held)"""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            while (turn := self._next()) is not None:
                self._speak(*turn)
        finally:
            self.output.close()

    def _next(self) -> tuple[Utterance, threading.Event] | None:
        """The next utterance and its cancel flag, once there is one; None when the
        speaker is closed."""
        with self._lock:
            self._current = None
            self._lock.notify_all()  # for wait_idle
            self._lock.wait_for(lambda: self._waiting or self._closed)
            if self._closed:
                return None
            self._current = (self._waiting.popleft(), threading.Event())
            return self._current

    def _speak(self, utterance: Utterance, cancel: threading.Event) -> None:
        try:
            audio = self.synthesiser.synthesise(utterance, cancel)
            if audio is None:
                return
            try:
                self.output.play(utterance, audio, cancel)
            finally:
                close = getattr(audio.chunks, "close", None)
                if close is not None:
                    close()  # ends the engine if the output stopped early
        except SpeechUnavailable as exc:
            log.warning("spoken guidance stops: %s", exc)
            self._available = False
            self.stop()
        except Exception:
            # One utterance that fails must not end speech for the next person.
            log.exception("could not say utterance %d", utterance.number)
