"""The README's first command: ``locker-kiosk demo`` on a machine without a display, as
a newcomer uses it: the guide's commands pasted into a new terminal, Ctrl-C at the end
or in the middle of the start, and nothing left running."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

GUIDE_END = "Press Ctrl-C to stop the demo"
DEMO_TOML = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
SMALL_WALL = ("A01", "A04", "A06", "C01")  # S, M, L, S: room for the demo's three parcels
NEW_TERMINAL_PATH = "/usr/bin:/bin"  # a newcomer's terminal: no venv on its PATH


class Demo:
    """``locker-kiosk demo`` in a session of its own, as a terminal runs it: Ctrl-C
    (:meth:`ctrl_c`) goes to the whole foreground process group."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.printed: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def read_until(self, marker: str, timeout_s: float) -> str:
        """Everything printed so far, up to the line holding ``marker``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.printed.append(line)
            if marker in line:
                return "".join(self.printed)
        pytest.fail(f"the demo did not print {marker!r}; it printed:\n{''.join(self.printed)}")

    def rest(self) -> str:
        time.sleep(0.2)  # the pump's last lines
        while not self.lines.empty():
            self.printed.append(self.lines.get())
        return "".join(self.printed)

    def ctrl_c(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.kill()


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``, by pid, with its command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_line = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat_line.rsplit(")", 1)[1].split()[1])
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found[child] = cmdline(child)
                frontier.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")).decode()
    except OSError:
        return ""


def still_running(children: dict[int, str]) -> list[str]:
    return [line for pid, line in children.items() if line and cmdline(pid) == line]


def small_wall(tmp_path: Path) -> Path:
    """config/demo.toml with four compartments, so a self-test is short."""
    head, *tables = DEMO_TOML.read_text().split("[[compartments]]")
    ids = [re.findall(r'^id = "(\w+)"', t, re.MULTILINE) for t in tables]
    kept = [t for t, found in zip(tables, ids, strict=True) if set(found) & set(SMALL_WALL)]
    path = tmp_path / "small-demo.toml"
    path.write_text(head + "".join("[[compartments]]" + t for t in kept))
    return path


def pasted(guide: str) -> tuple[str, dict[str, str]]:
    """The guide's lines to paste first, and its commands to try, each by what it does."""
    first = guide.split("paste these lines first:\n", 1)[1].split("then try:\n", 1)
    exports = first[0]
    tries: dict[str, str] = {}
    command = ""
    for line in first[1].splitlines():
        if not line.startswith("    "):
            break
        text = line.strip()
        if line.startswith(" " * 20):  # a long command's description, on the next line
            tries[text] = command
            continue
        parts = re.split(r"\s{2,}", text, maxsplit=1)
        command = parts[0]
        if len(parts) == 2:
            tries[parts[1]] = command
    return exports, tries


def in_new_terminal(exports: str, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` as pasted into a new terminal after the guide's export lines."""
    return subprocess.run(
        ["sh", "-c", f"{exports}\n{command}"],
        env={"PATH": NEW_TERMINAL_PATH, "HOME": os.environ.get("HOME", "/root")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def program_of(exports: str, command: str) -> str | None:
    """Where the shell finds ``command``'s program after the guide's exports."""
    words = [w for w in shlex.split(command) if not re.match(r"^[A-Z_]+=", w)]
    path = in_new_terminal(exports, 'printf %s "$PATH"').stdout
    return shutil.which(words[0], path=path)


def wait_closed(data_dir: Path, doors: tuple[str, ...], timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        state = json.loads((data_dir / "sim-state.json").read_text())
        state = state.get("compartments", state)
        if not any(state[d]["door_open"] for d in doors) or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def logged_at(log: str, text: str) -> str:
    (line,) = [line for line in log.splitlines() if text in line]
    return line[:23]  # "2026-12-06 11:39:34,902": ordered as text


def test_a_newcomer_pastes_the_guide_and_ctrl_c_stops_the_daemon_before_the_boards(
    tmp_path: Path, demos: list[Demo]
) -> None:
    demo = Demo("--keep", "--config", str(small_wall(tmp_path)))
    demos.append(demo)
    guide = demo.read_until(GUIDE_END, timeout_s=120)
    assert "no display: the touchscreen runs offscreen" in guide
    codes = re.findall(r"^\s+(\d{8})\s+door (\w+)", guide, flags=re.MULTILINE)
    assert len(codes) == 3, guide
    exports, tries = pasted(guide)
    (socket_path,) = re.findall(r"export LOCKER_SOCKET=(\S+)", exports)
    data_dir = Path(socket_path).parent
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    children = descendants(demo.proc.pid)
    assert len(children) >= 3, children  # the boards, the daemon, the touchscreen

    # Every command the guide prints finds its program in a new terminal.
    assert len(tries) == 6, tries
    for command in tries.values():
        assert program_of(exports, command) is not None, command
    status = in_new_terminal(exports, tries["the kiosk at a glance"])
    assert status.returncode == 0, status.stderr
    assert "Kiosk DEMO-01" in status.stdout

    # The customer's pickup, as printed: the door opens; the person takes the parcel.
    code, door = codes[0]
    assert tries["a customer picks up a parcel"].endswith(f"pickup {code}")
    pickup = in_new_terminal(exports, tries["a customer picks up a parcel"])
    assert pickup.returncode == 0, pickup.stderr
    assert door in pickup.stdout
    # A self-test opens every door; the person takes nothing out and puts nothing in.
    selftest = in_new_terminal(exports, tries["a technician tests every lock"])
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    state = wait_closed(data_dir, SMALL_WALL)
    assert {d: state[d]["item"] for d in SMALL_WALL} == {
        d: any(d == stored for _, stored in codes[1:]) for d in SMALL_WALL
    }
    fires = (data_dir / "sim-fires.log").read_text()
    assert all(d in fires for d in SMALL_WALL)  # every door was opened by the self-test

    demo.ctrl_c()  # to the whole foreground group, as a terminal sends it
    assert demo.proc.wait(timeout=60) == 0
    assert f"data dir kept: {data_dir}" in demo.rest()
    assert still_running(children) == []
    daemon_log = (data_dir / "daemon.log").read_text()
    sim_log = (data_dir / "sim.log").read_text()
    assert "all_off failed" not in daemon_log
    boards_stopped = logged_at(
        sim_log, "emulated boards stopped; lock outputs on at the stop: none"
    )
    for board in ("left", "right"):
        assert logged_at(daemon_log, f"board {board!r}: every output off") <= boards_stopped
    shutil.rmtree(data_dir)


def test_ctrl_c_while_the_demo_starts_stops_it_at_once_with_no_guide_and_nothing_left(
    demos: list[Demo],
) -> None:
    demo = Demo()
    demos.append(demo)
    start = demo.read_until("a courier deposits three parcels", timeout_s=120)
    (data_dir,) = re.findall(r"data in (\S+)\)", start)
    children = descendants(demo.proc.pid)
    assert any(" run " in line for line in children.values()), children  # the daemon is up
    demo.ctrl_c()
    assert demo.proc.wait(timeout=30) == 0  # generous: the daemon's stop, not a 10 s wait
    printed = demo.rest()
    assert "stopping the demo" in printed
    assert "Pickup codes" not in printed and "deposit failed" not in printed
    assert still_running(children) == []
    assert not Path(data_dir).exists()
