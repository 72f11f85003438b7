"""How soon the kiosk starts speaking: ``Speaker.say()`` to the first audio.

What a screen says when it appears (its title, a door and where it is, the lockout) is
said with the product's own speaker (``kiosk/ui/speech``) and espeak-ng, in English
and German, one utterance at a time. Measured:

- **say() to the first chunk**: ``say()`` on the caller's thread to the first chunk of
  samples reaching the output on the speaker's thread (the engine started, its WAV
  header read, the first clause synthesised): a probe output takes the time and reads
  the rest of the utterance, so the engine's whole run is timed too;
- **say() to the mixer**: the same to the first sound handed to pygame's mixer on the
  speech channel (``MixerOutput``, with SDL's dummy audio driver: the device's own
  buffer, 10-20 ms more on ALSA, is not in the figure), the utterance then stopped;
- **the engine's CPU**: user and system time of each espeak-ng process (from
  ``getrusage`` of the children), which a busy machine does not inflate as it does the
  wall-clock figures: the base for what a slower CPU would take;
- **the floor**: starting a process that does nothing (``/bin/true``), which every
  utterance pays once, as espeak-ng runs as a process per utterance.

The first rounds of each kind warm the page cache (espeak-ng's voice data) and are
left out. Nothing the product does is changed; the probes are an output of the
benchmark's own and a wrapper around ``outputs._enqueue``.

    .venv/bin/python bench/speech_latency.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common

from kiosk.ui import i18n
from kiosk.ui.i18n import _
from kiosk.ui.speech import Audio, AudioOutput, EspeakNg, MixerOutput, Speaker, Utterance
from kiosk.ui.speech import outputs as speech_outputs
from kiosk.ui.speech.espeak import DEFAULT_RATE, find_espeak
from kiosk.ui.speech.phrases import door_position, lockout_started

GOAL_P50_MS = 150.0
"""First speech audio after a screen change, p50 (the touchscreen's performance goals)."""
WARM_UP = 3
WALL = [{"id": f"A{r:02d}", "column": 1, "row": r} for r in range(1, 7)] + [
    {"id": f"{c}{r:02d}", "column": n, "row": r}
    for n, c in ((2, "B"), (3, "C"))
    for r in range(1, 6)
]


def phrases(lang: str) -> list[str]:
    """What screens say when they appear, in ``lang`` (from the UI's catalogs)."""
    i18n.set_language(lang)
    door = _("Door {door} is open: take your parcel and close the door.").format(door="A04")
    said = [
        _("Type your pickup code"),
        f"{door} {door_position('A04', WALL)}",
        lockout_started(30),
        _("Scan the parcel or type its barcode."),
    ]
    i18n.set_language("en")
    return said


class Probe(AudioOutput):
    """Takes the time of the first chunk and of the last, and counts the audio."""

    def __init__(self) -> None:
        self.first = self.last = 0.0
        self.seconds = 0.0

    def play(self, utterance: Utterance, audio: Audio, cancel: threading.Event) -> None:
        self.first = 0.0
        n = 0
        for chunk in audio.chunks:
            if not self.first:
                self.first = time.perf_counter()
            n += len(chunk)
        self.last = time.perf_counter()
        self.seconds = audio.format.seconds(n)


def to_first_chunk(
    speaker: Speaker, probe: Probe, texts: list[tuple[str, str]], rounds: int
) -> dict[str, list[float]]:
    """say() to the first chunk, to the engine's end, the engine's CPU time and the
    real-time factor (audio seconds made per second of synthesis), each sorted."""
    found: dict[str, list[float]] = {"first": [], "whole": [], "cpu": [], "factor": []}
    for n in range(rounds + WARM_UP):
        text, lang = texts[n % len(texts)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        speaker.say(text, lang)
        assert speaker.wait_idle(30), "the engine did not finish"
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if n < WARM_UP:
            continue
        found["first"].append(probe.first - start)
        found["whole"].append(probe.last - start)
        found["cpu"].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        found["factor"].append(probe.seconds / (probe.last - start))
    return {name: sorted(values) for name, values in found.items()}


def to_mixer(command: str, texts: list[tuple[str, str]], rounds: int) -> list[float]:
    """say() to the first sound handed to the mixer's speech channel, sorted."""
    handed = threading.Event()
    stamp = [0.0]
    real_enqueue = speech_outputs._enqueue

    def probe(*args: object) -> None:
        real_enqueue(*args)  # type: ignore[arg-type]
        if not handed.is_set():
            stamp[0] = time.perf_counter()
            handed.set()

    speech_outputs._enqueue = probe  # type: ignore[assignment]
    speaker = Speaker(EspeakNg(command, DEFAULT_RATE), MixerOutput())
    times = []
    try:
        for n in range(rounds + WARM_UP):
            text, lang = texts[n % len(texts)]
            handed.clear()
            start = time.perf_counter()
            speaker.say(text, lang)
            assert handed.wait(30), "nothing reached the mixer"
            speaker.stop()
            assert speaker.wait_idle(30)
            if n >= WARM_UP:
                times.append(stamp[0] - start)
    finally:
        speaker.close()
        speech_outputs._enqueue = real_enqueue
    return sorted(times)


def floor(rounds: int) -> list[float]:
    """Starting and ending a process that does nothing, sorted."""
    times = []
    for _n in range(rounds):
        start = time.perf_counter()
        subprocess.run(["/bin/true"], check=True)
        times.append(time.perf_counter() - start)
    return sorted(times)


def row(name: str, values: list[float], scale: float = 1e3, fmt: str = "{:.1f}") -> list[str]:
    """n, p50, p90, p99 and max of sorted ``values``, times ``scale`` (ms by default)."""
    shown = [common.percentile(values, p) for p in (50, 90, 99)] + [values[-1]]
    return [name, str(len(values)), *(fmt.format(v * scale) for v in shown)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds = 40 if args.quick else 200
    command = find_espeak()
    if command is None:
        raise SystemExit("espeak-ng is not installed (sh tools/test-deps.sh installs it)")
    version = subprocess.run([command, "--version"], capture_output=True, text=True).stdout
    texts = [(text, lang) for lang in ("en", "de") for text in phrases(lang)]

    machine = common.machine_info()
    probe = Probe()
    speaker = Speaker(EspeakNg(command, DEFAULT_RATE), probe)
    try:
        found = to_first_chunk(speaker, probe, texts, rounds)
    finally:
        speaker.close()
    mixer = to_mixer(command, texts, rounds // 2)
    spawn = floor(rounds)

    machine.print()
    print(f"  {version.split(' Data at')[0].strip()}, {DEFAULT_RATE} words a minute,"
          f" {len(texts)} phrases in turn (English and German)\n")  # fmt: skip
    common.print_table(
        ["from say()", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        [
            row("to the first chunk of samples", found["first"]),
            row("to the engine's end (whole utterance)", found["whole"]),
            row("to the first sound on the mixer", mixer),
            row("floor: start /bin/true", spawn),
        ],
    )
    common.print_table(
        ["engine", "n", "p50", "p90", "p99", "max"],
        [
            row("CPU time of one utterance (ms)", found["cpu"]),
            row("real-time factor (x faster than speech)", found["factor"], 1.0, "{:.0f}"),
        ],
    )
    p50_ms = common.percentile(found["first"], 50) * 1e3
    mixer_ms = common.percentile(mixer, 50) * 1e3
    common.print_table(
        ["figure", "value", "goal", ""],
        [
            ("say() to the first chunk, p50", f"{p50_ms:.1f} ms", f"<= {GOAL_P50_MS:.0f} ms",
             common.verdict(p50_ms <= GOAL_P50_MS)),
            ("say() to the mixer, p50", f"{mixer_ms:.1f} ms", f"<= {GOAL_P50_MS:.0f} ms",
             common.verdict(mixer_ms <= GOAL_P50_MS)),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
