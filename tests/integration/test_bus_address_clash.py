"""Two ``[[boards]]`` at one address on one bus, on emulated Kerong boards.

The bank is wired as two CU16 boards on one RS-485 bus, ``top`` at address 0 and
``bottom`` at address 1 (``locker-kiosk sim``). The operator's config puts ``bottom`` at
address 0 as well: a daemon that started would fire ``top``'s lock 1 for ``bottom``'s
C01, store the parcel in A01's door and hand C01 out again. The start is refused
instead, with one line naming the file, the board and the clash, and nothing fires.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hw_sim.control import SimControl

CONFIG = """
[kiosk]
id = "CLASH-01"
data_dir = "{data}"
socket = "{data}/api.sock"
[doors]
poll_hz = 20
[[boards]]
name = "top"
driver = "kerong"
port = "bus0"
address = 0
[[boards]]
name = "bottom"
driver = "kerong"
port = "bus0"
address = {bottom}
[[compartments]]
id = "A01"
size = "M"
board = "top"
lock = 1
[[compartments]]
id = "C01"
size = "M"
board = "bottom"
lock = 1
"""


def kiosk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture
def bank() -> Iterator[tuple[Path, SimControl]]:
    """The emulated bus as wired (``bottom`` at address 1), and its data dir."""
    root = Path(tempfile.mkdtemp(prefix="lk-clash-", dir="/tmp"))
    data = root / "data"
    wired = root / "wired.toml"
    wired.write_text(CONFIG.format(data=data, bottom=1))
    sim = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "--config", str(wired)],
                           stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        assert "'bottom' (address 1)" in line, line
        yield root, SimControl(str(data / "sim.sock"))
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(15)
        shutil.rmtree(root, ignore_errors=True)


def test_two_boards_at_one_address_on_emulated_kerong_boards_refuse_to_start_and_fire_nothing(
    bank: tuple[Path, SimControl],
) -> None:
    root, sim = bank
    typo = root / "kiosk.toml"
    typo.write_text(CONFIG.format(data=root / "data", bottom=0))
    refusal = (
        f"locker-kiosk: {typo}: boards[1]: address 0 on port {root / 'data' / 'bus0'} is "
        "already used by board 'top' (address): two boards at one address answer as one, "
        "and a lock fired for one would open the other's door\n"
    )

    started = kiosk("run", "--config", str(typo), "--ready-file", str(root / "ready"))
    assert (started.returncode, started.stderr) == (2, refusal)
    assert not (root / "ready").exists()
    assert not (root / "data" / "kiosk.db").exists()

    emulated = kiosk("sim", "--config", str(typo))
    assert (emulated.returncode, emulated.stderr) == (2, refusal)

    fire_log = root / "data" / "sim-fires.log"
    assert sim.fire_counts() == {"A01": 0, "C01": 0}
    assert not fire_log.exists() or fire_log.read_text() == ""
    doors = sim.snapshot()
    assert [(doors[c]["door_open"], doors[c]["latched"]) for c in ("A01", "C01")] == [
        (False, True),
        (False, True),
    ]


def test_the_same_bank_with_each_board_at_its_own_address_starts(
    bank: tuple[Path, SimControl],
) -> None:
    root, sim = bank
    config = root / "kiosk.toml"
    config.write_text(CONFIG.format(data=root / "data", bottom=1))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(config), "--ready-file",
         str(root / "ready")], stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (root / "ready").exists():
            assert daemon.poll() is None, daemon.communicate()[1]
            assert time.monotonic() < deadline, "the daemon did not get ready in 30 s"
            time.sleep(0.05)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    assert sim.fire_counts() == {"A01": 0, "C01": 0}
