"""Soak: 100,000 deposits and pickups through the API, and what they cost the daemon.

The run of ``tests/faults/test_soak.py`` (:mod:`testkit.soak`), made long: the
daemon as its own process on the sim driver (four boards of eight compartments, each
board a power group of its own), four workers each depositing a parcel, reading its
pickup code from the simulated recipient's inbox and picking it up. Every
``--sample-every`` operations the daemon's ``VmRSS`` and open file descriptors are read
from ``/proc``; the first sample is taken after a warm-up of 500 operations.

Printed: operations and their outcomes, memory at the first and last sample and the
growth between them (goal <= 5 MB), the range of open file descriptors (goal: flat),
the database's bytes per parcel, and the rate.

    python bench/soak.py                  # 100,000 operations (about two hours here)
    python bench/soak.py --ops 10000      # a tenth of it
    python bench/soak.py --quick          # 2,000 operations
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.daemon import Daemon
from testkit.soak import SoakReport, SoakRun, soak_config

WARMUP = 500


def progress(report: SoakReport) -> None:
    last = report.samples[-1]
    print(f"\r  {last.ops:,} operations, {last.seconds:,.0f} s, RSS {last.rss_kb / 1024:.1f} MB, "
          f"{last.fds} fds", end="", file=sys.stderr, flush=True)  # fmt: skip


def report(r: SoakReport, machine: common.MachineInfo) -> None:
    print()
    machine.print()
    first, last = r.samples[0], r.samples[-1]
    common.print_table(
        ["outcome", "operations"], [(name, f"{n:,}") for name, n in sorted(r.outcomes.items())]
    )
    low, high = r.fd_range
    rows = [(f"{s.ops:,}", f"{s.seconds:,.0f}", f"{s.rss_kb / 1024:.1f}", s.fds)
            for s in [*r.samples[:: max(1, len(r.samples) // 10)], last]]  # fmt: skip
    common.print_table(["after operations", "s", "RSS (MB)", "open fds"], rows)
    common.print_table(
        ["goal", "target", "measured", ""],
        [
            ("operations", "-", f"{r.ops:,} in {r.seconds:,.0f} s "
             f"({r.ops / max(r.seconds, 1e-9):.1f} per s)", ""),
            ("memory growth, first to last sample", "<= 5 MB",
             f"{r.rss_growth_mb:+.1f} MB ({first.rss_kb / 1024:.1f} -> {last.rss_kb / 1024:.1f})",
             common.verdict(r.rss_growth_mb <= 5)),
            ("open file descriptors", "flat", f"{low}-{high}", common.verdict(high - low <= 2)),
            ("database bytes per parcel", "-",
             f"{r.bytes_per_parcel:,.0f} ({r.db_bytes:,} bytes, {r.parcels:,} parcels)", ""),
        ],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 operations")
    parser.add_argument("--ops", type=int, help="operations after the warm-up (default 100,000)")
    parser.add_argument("--sample-every", type=int, default=1000, help="default 1,000")
    args = parser.parse_args(argv)
    ops = args.ops or (2000 if args.quick else 100_000)
    root = Path(tempfile.mkdtemp(prefix="lk-soak-", dir="/tmp"))
    machine = common.machine_info(root)
    daemon = Daemon(root)
    daemon.config_path.write_text(soak_config(daemon.data_dir))
    print(f"soak: {ops:,} operations on {root}", file=sys.stderr)
    try:
        daemon.start()
        result = SoakRun(daemon).run(ops, args.sample_every, WARMUP, progress)
        daemon.stop()
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
        shutil.rmtree(root, ignore_errors=True)
    report(result, machine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
