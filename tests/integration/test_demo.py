"""The README's first command: ``locker-kiosk demo`` on a machine without a display."""

from __future__ import annotations

import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

GUIDE_END = "Press Ctrl-C to stop the demo"


def read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """Everything ``proc`` printed up to the line holding ``marker``."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    pytest.fail(f"the demo did not print {marker!r}; it printed:\n{''.join(seen)}")


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def test_demo_runs_headless_prints_working_codes_and_leaves_nothing_behind() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONUNBUFFERED"] = "1"
    demo = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        guide = read_until(demo, GUIDE_END, timeout_s=90)
        assert "no display: the touchscreen runs offscreen" in guide
        codes = re.findall(r"^\s+(\d{8})\s+door (\w+)", guide, flags=re.MULTILINE)
        assert len(codes) == 3, guide
        (socket_path,) = re.findall(r"export LOCKER_SOCKET=(\S+)", guide)
        data_dir = Path(socket_path).parent
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700

        code, door = codes[0]
        pickup = subprocess.run(
            [sys.executable, "-m", "kiosk.lockerctl", "--socket", socket_path, "pickup", code],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert pickup.returncode == 0, pickup.stderr
        assert door in pickup.stdout

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
        assert not data_dir.exists()
        assert processes_mentioning(str(data_dir)) == []
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
