"""Touchscreen: the UI's idle CPU and memory, frame times, key press to frame, code to unlock.

A real daemon runs on the simulator (``testkit/daemon.py``: 12 compartments, the
simulated person closes each door 0.3 s after it opened). SDL uses its dummy video
driver, so nothing needs a display; a real display adds the cost of showing a frame
(``pygame.display.flip``), which the dummy driver does not have.

* **idle CPU and RSS**: ``python -m kiosk ui --socket ...`` as a subprocess, as on a
  kiosk, left on the home screen: ``utime + stime`` from ``/proc/PID/stat`` over 20 s
  (``--quick``: 10 s) after 5 s to connect and settle, as a percentage of one core;
  ``VmRSS`` and ``VmHWM`` from ``/proc/PID/status`` at the end.
* **frame time**: in this process, the time of ``App.draw()`` (build the screen, draw
  it, flip) at 800×480, 100 times (``--quick``: 20) on each state of each screen that
  ``testkit/tour.py`` walks through (home, keypad, door, grid, event log...).
* **key press to changed frame**: on the pickup keypad, a digit's ``KEYDOWN`` is posted
  and the app's own loop (``App.step``) runs until a drawn frame shows the digit. This
  includes the keyboard-wedge detector holding a key back for 35 ms to tell a person
  from a scanner. 100 presses (``--quick``: 30).
* **code confirmed to unlock**: a parcel is stored through the API; its code is typed on
  the keypad; the tap on OK is posted at wall time t0; the unlock reaching the driver is
  the simulator's fire log line for that door (``sim-fires.log``: wall time to the
  millisecond). 50 pickups (``--quick``: 20), one at a time.

Goals (issue 3): idle CPU <= 2 % of one core, frame p99 <= 16 ms, key to frame p99 <=
50 ms, code to unlock p99 <= 100 ms, RSS <= 80 MB. Figures are printed beside them;
nothing passes or fails.

    python bench/ui_perf.py [--quick]
"""

# ruff: noqa: E402 - SDL's driver is chosen before pygame is imported

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import common
import pygame

from kiosk.ui.screens.door import DoorScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.pickup import PickupScreen
from testkit.daemon import Daemon, running_daemon
from testkit.tour import every_screen
from testkit.ui import UiDriver

SIZE = (800, 480)
SETTLE_S = 5.0
GOAL_CPU_PERCENT = 2.0
GOAL_FRAME_MS = 16.0
GOAL_KEY_MS = 50.0
GOAL_UNLOCK_MS = 100.0
GOAL_RSS_MB = 80.0
PHONE = "+4915112345678"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Runs:
    cpu_window_s: float
    draws_per_screen: int
    key_presses: int
    pickups: int


FULL = Runs(cpu_window_s=20.0, draws_per_screen=100, key_presses=100, pickups=50)
QUICK = Runs(cpu_window_s=10.0, draws_per_screen=20, key_presses=30, pickups=20)


# -- the UI as a process of its own ------------------------------------------------------


@dataclass(frozen=True)
class Idle:
    cpu_percent: float
    rss_mb: float
    hwm_mb: float
    threads: int


def proc_status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def kb_as_mb(value: str) -> float:
    """``"51234 kB"`` as megabytes (10**6 bytes)."""
    return int(value.split()[0]) * 1024 / 1e6


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` (all its threads), in clock ticks."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


# Pickups here follow each other far faster than a door's window to be opened again after
# a pickup (doors.reopen_after_pickup_s) lets its compartment go: with the window, the
# second batch of parcels would find every compartment held. The window is not measured.
DAEMON: dict[str, Any] = {
    "close_delay_s": 0.3,
    "sections": {"doors": {"reopen_after_pickup_s": 0}},
}
"""The daemon both touchscreen benchmarks run (``testkit.daemon.running_daemon``)."""


def measure_idle(daemon: Daemon, window_s: float) -> Idle:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    command = [sys.executable, "-m", "kiosk", "ui", "--socket", str(daemon.touchscreen_socket)]
    log = daemon.root / "ui.log"
    with log.open("wb") as err:
        ui = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        time.sleep(SETTLE_S)
        if ui.poll() is not None:
            raise RuntimeError(f"the UI exited {ui.returncode}: {log.read_text()}")
        ticks, wall = cpu_ticks(ui.pid), time.monotonic()
        time.sleep(window_s)
        ticks, wall = cpu_ticks(ui.pid) - ticks, time.monotonic() - wall
        status = proc_status(ui.pid)
    finally:
        ui.terminate()
        ui.wait(10)
    return Idle(
        cpu_percent=100 * ticks / CLOCK_TICKS / wall,
        rss_mb=kb_as_mb(status["VmRSS"]),
        hwm_mb=kb_as_mb(status["VmHWM"]),
        threads=int(status["Threads"]),
    )


# -- the UI in this process -------------------------------------------------------------


def connect(daemon: Daemon) -> UiDriver:
    ui = UiDriver(str(daemon.touchscreen_socket), SIZE)
    ui.wait_until(
        lambda: ui.app.online and ui.app.kiosk is not None and ui.app.status is not None,
        15,
        "the UI to connect",
    )
    return ui


def frame_times(ui: UiDriver, daemon: Daemon, draws: int) -> dict[str, list[float]]:
    """Seconds per ``App.draw()`` on each screen state, by state."""
    compartments = daemon.client().get("/v1/compartments")["compartments"]
    out: dict[str, list[float]] = {}
    for name in every_screen(ui.app, compartments):
        times = []
        for _ in range(draws):
            started = time.perf_counter()
            ui.app.draw()
            times.append(time.perf_counter() - started)
        out[name] = times
    ui.pump(0.2)  # the answers to the calls the screens made on the way
    return out


def key_to_frame(ui: UiDriver, presses: int) -> list[float]:
    """Seconds from a digit's KEYDOWN to the end of the first frame that shows it."""
    app = ui.app
    screen = PickupScreen(app)
    app.goto(screen)
    ui.pump(0.1)
    out = []
    for i in range(presses):
        screen.clear()
        app.draw()
        before = list(app.texts)
        digit = str(i % 10)
        started = time.perf_counter()
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=ord(digit), unicode=digit, mod=0))
        while app.texts == before:
            app.step(max_wait_s=0.5)
            if time.perf_counter() - started > 5:
                raise RuntimeError("a key press was not drawn within 5 s")
        out.append(time.perf_counter() - started)
        time.sleep(0.06)  # a person's pace: no two presses make a scanner burst
    app.home()
    return out


def store(daemon: Daemon, n: int, first: int) -> list[str]:
    """``n`` parcels stored through the API (the simulated person closes each door)."""
    courier = daemon.signed_in()
    barcodes = [f"BENCH-{first + i:05d}" for i in range(n)]
    for barcode in barcodes:
        view = courier.post("/v1/deposits", {"barcode": barcode, "size": "S", "phone": PHONE})
        courier.wait_operation(view["operation"])
    return [daemon.code_for(barcode) for barcode in barcodes]


def fire_time(log: Path, cid: str, after: float) -> float | None:
    """Wall time of the first fire of ``cid``'s lock at or after ``after``."""
    if not log.exists():
        return None
    for line in log.read_text().splitlines():
        ts, _board, _lock, compartment = line.split()
        # the log has milliseconds: a fire up to 0.5 ms before t0 rounds to before it
        if compartment == cid and float(ts) >= after - 0.0005:
            return float(ts)
    return None


def pickup(ui: UiDriver, daemon: Daemon, code: str) -> float:
    """Type ``code``, tap OK; seconds from the tap to the unlock in the fire log."""
    ui.tap("pickup")
    for digit in code:
        ui.tap(f"key-{digit}")
    ok = ui.button("ok")
    t0 = time.time()
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=ok.rect.center, button=1))
    ui.wait_until(lambda: isinstance(ui.app.screen, DoorScreen), 10, "the door screen")
    screen = ui.app.screen
    assert isinstance(screen, DoorScreen)
    cid = screen.view["compartment"]
    log = daemon.data_dir / "sim-fires.log"
    fired = daemon.wait_for(lambda: fire_time(log, cid, t0), 10, f"{cid} to fire")
    ui.wait_until(lambda: screen.view["status"] == "CLOSED", 10, f"{cid} to close")
    ui.tap("done")
    ui.wait_until(lambda: isinstance(ui.app.screen, HomeScreen), 5, "the home screen")
    return float(fired) - t0


def code_to_unlock(ui: UiDriver, daemon: Daemon, pickups: int) -> list[float]:
    out: list[float] = []
    free = len(daemon.client().get("/v1/compartments")["compartments"])
    while len(out) < pickups:
        batch = min(free, pickups - len(out))
        for code in store(daemon, batch, len(out)):
            out.append(pickup(ui, daemon, code))
    return out


# -- report -----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def spread(values: list[float]) -> tuple[str, str, str]:
    ordered = sorted(values)
    return (
        ms(common.percentile(ordered, 50)),
        ms(common.percentile(ordered, 99)),
        ms(ordered[-1]),
    )


def report(
    machine: common.MachineInfo,
    runs: Runs,
    idle: Idle,
    frames: dict[str, list[float]],
    keys: list[float],
    unlocks: list[float],
) -> None:
    print()
    machine.print()
    every_frame = [t for times in frames.values() for t in times]
    common.print_table(
        ["setting", ""],
        [
            ("UI", f"{sys.executable} -m kiosk ui (SDL video driver: dummy)"),
            ("display", f"{SIZE[0]}x{SIZE[1]}, pygame {pygame.version.ver}, "
                        f"SDL {'.'.join(map(str, pygame.get_sdl_version()))}"),
            ("daemon", "testkit/daemon.py: 12 sim compartments, door closed after 0.3 s, "
                       "no reopen window"),
            ("samples", f"CPU over {runs.cpu_window_s:.0f} s; {len(every_frame)} frames on "
                        f"{len(frames)} screen states; {len(keys)} key presses; "
                        f"{len(unlocks)} pickups"),
        ],
    )  # fmt: skip
    common.print_table(
        ["", "p50", "p99", "max"],
        [
            ("frame time (App.draw)", *spread(every_frame)),
            ("key press to changed frame", *spread(keys)),
            ("code confirmed to unlock", *spread(unlocks)),
        ],
    )
    slowest = sorted(frames.items(), key=lambda kv: -common.percentile(sorted(kv[1]), 99))[:5]
    common.print_table(
        ["slowest screens by frame p99", "p50", "p99", "max"],
        [(name, *spread(times)) for name, times in slowest],
    )
    frame_p99 = common.percentile(sorted(every_frame), 99)
    key_p99 = common.percentile(sorted(keys), 99)
    unlock_p99 = common.percentile(sorted(unlocks), 99)
    common.print_table(
        ["goal", "target", "measured", ""],
        [
            ("idle CPU (home screen)", f"<= {GOAL_CPU_PERCENT:.0f} %",
             f"{idle.cpu_percent:.2f} %", common.verdict(idle.cpu_percent <= GOAL_CPU_PERCENT)),
            ("frame time p99", f"<= {GOAL_FRAME_MS:.0f} ms", ms(frame_p99),
             common.verdict(frame_p99 * 1000 <= GOAL_FRAME_MS)),
            ("key press to changed frame p99", f"<= {GOAL_KEY_MS:.0f} ms", ms(key_p99),
             common.verdict(key_p99 * 1000 <= GOAL_KEY_MS)),
            ("code confirmed to unlock p99", f"<= {GOAL_UNLOCK_MS:.0f} ms", ms(unlock_p99),
             common.verdict(unlock_p99 * 1000 <= GOAL_UNLOCK_MS)),
            ("UI RSS (VmRSS, idle)", f"<= {GOAL_RSS_MB:.0f} MB",
             f"{idle.rss_mb:.1f} MB (peak {idle.hwm_mb:.1f}, {idle.threads} threads)",
             common.verdict(idle.rss_mb <= GOAL_RSS_MB)),
        ],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (about 1 minute)")
    args = parser.parse_args(argv)
    runs = QUICK if args.quick else FULL
    machine = common.machine_info()
    with running_daemon(**DAEMON) as daemon:
        print(f"ui_perf: idle UI process, {SETTLE_S + runs.cpu_window_s:.0f} s", file=sys.stderr)
        idle = measure_idle(daemon, runs.cpu_window_s)
        ui = connect(daemon)
        try:
            print("ui_perf: frame times on every screen", file=sys.stderr)
            frames = frame_times(ui, daemon, runs.draws_per_screen)
            print(f"ui_perf: {runs.key_presses} key presses", file=sys.stderr)
            keys = key_to_frame(ui, runs.key_presses)
            print(f"ui_perf: {runs.pickups} pickups", file=sys.stderr)
            unlocks = code_to_unlock(ui, daemon, runs.pickups)
        finally:
            ui.close()
    report(machine, runs, idle, frames, keys, unlocks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
