"""The bench rig itself, rehearsed without a bench.

``pytest -m hardware`` runs in a pseudo-terminal against a Kerong board emulated by
``locker-kiosk sim``; a scripted person reads the rig's instructions on that terminal
and does what a person at a real bench would: the emulator's simulated person shuts the
doors, and "unplug" and "plug back" become a kill and a revive of the emulated board,
each followed by Enter.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from hw_sim.control import SimControl

CONFIG = """
[kiosk]
id = "BENCH"
data_dir = "{data}"
socket = "{data}/api.sock"
[locks]
pulse_ms = 300
[[boards]]
name = "bench"
driver = "kerong"
port = "kerong-bus"
address = 2
[[compartments]]
id = "A01"
size = "S"
board = "bench"
lock = 1
[[compartments]]
id = "A02"
size = "S"
board = "bench"
lock = 7
"""


def run_with_a_person(args: list[str], sim: SimControl, board: str) -> tuple[int, str]:
    """Run ``args`` on a new terminal, answering the bench's prompts; (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: pytest, on the terminal
        os.execv(args[0], args)
    output, answered = "", 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal: done
            break
        if not chunk:
            break
        output += chunk.decode(errors="replace")
        prompts = re.findall(r"\[bench\] ([^\n]*)\n", output)
        for prompt in prompts[answered:]:
            if prompt.startswith("Unplug"):
                sim.call("kill_board", board=board)
                os.write(fd, b"\n")
            elif prompt.startswith("Plug"):
                sim.call("revive_board", board=board)
                os.write(fd, b"\n")
        answered = len(prompts)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def test_the_contract_runs_on_a_bench_with_a_person_answering(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "bench.toml"
    config.write_text(CONFIG.format(data=data))
    sim = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "sim", "--config", str(config), "--close-delay", "0.4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None and "kerong bus" in sim.stdout.readline()
        pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       "-m", "hardware", "--board-config", str(config), "--board", "bench",
                       str(Path(__file__).with_name("test_driver_contract.py"))]  # fmt: skip
        code, output = run_with_a_person(pytest_args, SimControl(str(data / "sim.sock")), "bench")
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(15)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert code == 0, plain
    summary = plain.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), plain
    assert not re.search(r"failed|error|skipped", summary), plain
    assert plain.count("[bench] Unplug board 'bench'") == 3
    assert "[bench] Lock 1 popped its door: shut it." in plain
