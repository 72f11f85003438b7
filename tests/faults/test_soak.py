"""A short soak: 400 deposits and pickups through the API, four workers at once.

``bench/soak.py`` runs the same for 100,000 operations and prints the figures that
``docs/reliability.md`` records. Here: every operation ends as it should, the daemon's
open file descriptors stay flat, and its memory grows by less than the goal for the
long run (5 MB) over this short one.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from testkit.daemon import Daemon
from testkit.soak import SoakRun, soak_config

OPS = 400


def test_hundreds_of_operations_leak_neither_memory_nor_file_descriptors() -> None:
    root = Path(tempfile.mkdtemp(prefix="lk-soak-", dir="/tmp"))
    daemon = Daemon(root)
    daemon.config_path.write_text(soak_config(daemon.data_dir))
    try:
        daemon.start()
        report = SoakRun(daemon).run(OPS, sample_every=100, warmup=100)
        assert set(report.outcomes) == {"deposit stored", "pickup done"}, report.outcomes
        low, high = report.fd_range
        assert high - low <= 2, [s.fds for s in report.samples]
        assert report.rss_growth_mb < 5, [s.rss_kb for s in report.samples]
        assert report.parcels >= OPS // 2
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
        shutil.rmtree(root, ignore_errors=True)
