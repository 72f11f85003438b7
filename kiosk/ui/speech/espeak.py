"""espeak-ng, Debian's offline speech engine, as a :class:`Synthesiser`.

Each utterance runs ``espeak-ng --stdout`` once: the text goes in on standard input, so
no text is read as an option and nothing said (a digit of a code, echoed into
headphones) shows in ``ps``; a WAV stream comes out as synthesis runs, clause by
clause. A process per utterance costs a few milliseconds to start and keeps a hung or
crashed engine out of the touchscreen's process; cancelling kills it.

The voice is chosen by the screen's language (:data:`VOICES`, else the language's own
code where espeak-ng has a voice for it); text in a language without a voice is not
spoken at all, as German words read by an English voice help nobody.
"""

from __future__ import annotations

import logging
import os
import re
import select
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator

from kiosk.ui.speech.base import Audio, AudioFormat, SpeechUnavailable, Synthesiser, Utterance

log = logging.getLogger(__name__)

COMMAND = "espeak-ng"
VOICES = {"en": "en", "de": "de"}
"""The touchscreen's languages and the espeak-ng voice that speaks each."""
DEFAULT_RATE = 160
"""Words a minute. espeak-ng's own default is 175; a little slower suits people who do
not hear synthetic speech every day, at a kiosk in a noisy place."""
MIN_RATE, MAX_RATE = 80, 450  # what espeak-ng accepts for -s
_POLL_S = 0.02  # how often a wait for the engine looks at the cancel flag
_OTHER_LANGUAGE = re.compile(r"\((\S+) \d+\)")


def find_espeak() -> str | None:
    """The path of espeak-ng, if it is installed."""
    return shutil.which(COMMAND)


class EspeakNg(Synthesiser):
    """espeak-ng at ``rate`` words a minute; ``command`` is its path."""

    def __init__(self, command: str, rate: int = DEFAULT_RATE) -> None:
        self.command = command
        self.rate = max(MIN_RATE, min(MAX_RATE, rate))
        self._languages: frozenset[str] | None = None
        self._said_no_voice: set[str] = set()

    def voice_for(self, lang: str) -> str | None:
        """The voice that speaks ``lang`` (``"de"``, ``"pt-BR"``), or None."""
        known = self._known_languages()
        lowered = lang.lower()
        for voice in (VOICES.get(lang), lowered, lowered.split("-")[0]):
            if voice and voice in known:
                return voice
        return None

    def command_line(self, voice: str) -> list[str]:
        return [self.command, "--stdout", "-v", voice, "-s", str(self.rate)]

    def synthesise(self, utterance: Utterance, cancel: threading.Event) -> Audio | None:
        voice = self.voice_for(utterance.lang)
        if voice is None:
            if utterance.lang not in self._said_no_voice:
                self._said_no_voice.add(utterance.lang)
                log.warning("espeak-ng has no voice for %r: that language is not spoken",
                            utterance.lang)  # fmt: skip
            return None
        try:
            proc = subprocess.Popen(
                self.command_line(voice),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise SpeechUnavailable(f"cannot run {self.command}: {exc.strerror}") from exc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(utterance.text.encode("utf-8"))
            proc.stdin.close()
            reader = _Reader(proc.stdout.fileno(), cancel)
            fmt = _read_header(reader)
        except BaseException:
            _end(proc)
            raise
        if fmt is None:  # cancelled, or the engine made nothing
            _end(proc)
            return None
        return Audio(fmt, _chunks(proc, reader, fmt))

    def _known_languages(self) -> frozenset[str]:
        """Every language code espeak-ng has a voice for (asked once)."""
        if self._languages is None:
            try:
                listing = subprocess.run(
                    [self.command, "--voices"], capture_output=True, text=True, timeout=10
                ).stdout
            except (OSError, subprocess.SubprocessError) as exc:
                raise SpeechUnavailable(f"cannot list the voices of {self.command}") from exc
            self._languages = parse_voice_list(listing)
        return self._languages


def parse_voice_list(listing: str) -> frozenset[str]:
    """The language codes in ``espeak-ng --voices``: each voice's own and its others
    (``(en 2)``: the British voice also answers to ``en``)."""
    found: set[str] = set()
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            found.add(fields[1].lower())
        found.update(code.lower() for code in _OTHER_LANGUAGE.findall(line))
    return frozenset(found)


class _Reader:
    """Reads the engine's output, giving up when ``cancel`` is set."""

    def __init__(self, fd: int, cancel: threading.Event) -> None:
        self.fd = fd
        self.cancel = cancel

    def read(self, size: int = 65536) -> bytes:
        """The next bytes (b"" at the end, or once cancelled)."""
        while not self.cancel.is_set():
            ready, _, _ = select.select([self.fd], [], [], _POLL_S)
            if ready:
                return os.read(self.fd, size)
        return b""

    def read_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            more = self.read(size - len(data))
            if not more:
                break
            data += more
        return data


def _read_header(reader: _Reader) -> AudioFormat | None:
    """The format in the WAV header, leaving the reader at the first sample.

    espeak-ng streams, so its header gives no real length; the chunks before ``data``
    are read and skipped whatever they are."""
    riff = reader.read_exactly(12)
    if len(riff) < 12:
        return None
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise SpeechUnavailable("espeak-ng did not write a WAV stream")
    fmt: AudioFormat | None = None
    while True:
        head = reader.read_exactly(8)
        if len(head) < 8:
            return None
        kind, size = head[:4], struct.unpack("<I", head[4:])[0]
        if kind == b"data":
            return fmt
        body = reader.read_exactly(size)
        if kind == b"fmt " and len(body) >= 16:
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag != 1 or bits != 16:
                raise SpeechUnavailable(f"espeak-ng wrote PCM of {bits} bits, format {tag}")
            fmt = AudioFormat(rate, channels, 2)


def _chunks(proc: subprocess.Popen[bytes], reader: _Reader, fmt: AudioFormat) -> Iterator[bytes]:
    """Whole frames as they come; the engine is ended when this ends, however it ends."""
    carry = b""
    try:
        while True:
            data = reader.read()
            if not data:
                return
            data = carry + data
            cut = len(data) - len(data) % fmt.frame_bytes
            carry = data[cut:]
            if cut:
                yield data[:cut]
    finally:
        _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
