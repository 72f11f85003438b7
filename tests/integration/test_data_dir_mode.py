"""Every command that makes the data dir makes it 0700, even under a umask of 002: the
daemon (``run``), ``users add`` and ``sim`` (the demo's is ``test_demo.py``'s)."""

from __future__ import annotations

import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.daemon import render_config

EMULATED = """
[kiosk]
id = "MODE-01"
data_dir = "{data}"
[[boards]]
name = "top"
driver = "kerong"
port = "bus0"
[[compartments]]
id = "A01"
size = "M"
board = "top"
lock = 1
"""


@pytest.fixture
def root() -> Iterator[Path]:
    made = Path(tempfile.mkdtemp(prefix="lk-mode-", dir="/tmp"))
    yield made
    shutil.rmtree(made, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def kiosk(*args: str) -> subprocess.Popen[str]:
    """``locker-kiosk ARGS`` under a umask that would let group and others in."""
    return subprocess.Popen([sys.executable, "-m", "kiosk", *args], umask=0o002, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip


def test_the_daemon_makes_its_data_dir_0700(root: Path) -> None:
    data = root / "data"
    config = root / "kiosk.toml"
    config.write_text(render_config(data))
    daemon = kiosk("run", "--config", str(config), "--ready-file", str(root / "ready"))
    try:
        deadline = time.monotonic() + 30
        while not (root / "ready").exists():
            assert daemon.poll() is None, daemon.communicate()[1]
            assert time.monotonic() < deadline, "the daemon did not get ready in 30 s"
            time.sleep(0.05)
        assert mode(data) == 0o700
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=15)


def test_users_add_makes_the_data_dir_0700(root: Path) -> None:
    data = root / "data"
    config = root / "kiosk.toml"
    config.write_text(render_config(data))

    added = kiosk("users", "--config", str(config), "add", "carla", "--role", "courier",
                  "--pin-stdin")  # fmt: skip
    out, err = added.communicate("246813\n", timeout=60)  # a courier's six digits

    assert added.returncode == 0, err
    assert out.strip() == "added courier carla"
    assert mode(data) == 0o700


def test_the_simulator_makes_the_data_dir_0700(root: Path) -> None:
    data = root / "data"
    config = root / "kiosk.toml"
    config.write_text(EMULATED.format(data=data))
    sim = kiosk("sim", "--config", str(config))
    try:
        assert sim.stdout is not None
        assert "kerong bus" in sim.stdout.readline()
        assert mode(data) == 0o700
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.communicate(timeout=15)
