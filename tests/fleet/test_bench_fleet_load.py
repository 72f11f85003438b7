"""bench/fleet_load.py still runs: a smoke run of ``--quick`` prints every figure.

Only that each figure is there is checked, never its value: benchmarks do not pass or
fail on timing (bench/README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit.broker import mosquitto

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "fleet_load.py"
FIGURES = (
    "broker RSS: idle / all connected",
    "broker RSS: after events / after storms",
    "first connect, all at once",
    "storm: all at once",
    "storm: jitter 0..",
    "retained presence + state reach a subscriber",
    "locker-fleet kiosks --json",
    "steady (",
    "burst (",
    "signed selftest to a simulated kiosk",
    "drained: daemon start to fleet.unacked == 0",
    "events/s",
    "out_of_service + in_service",
    "selftest, TCP_NODELAY at operator and broker",
)


def test_a_quick_run_of_the_fleet_benchmark_prints_every_figure() -> None:
    mosquitto()  # skipped without a broker to run
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    missing = [figure for figure in FIGURES if figure not in done.stdout]
    assert not missing, done.stdout
    assert "100 listed, 100 online" in done.stdout  # every simulated kiosk was there
