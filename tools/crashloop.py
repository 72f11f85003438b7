#!/usr/bin/env python3
"""Kill the kiosk daemon with ``kill -9`` thousands of times and check it every time.

Each kill lands at a random point of deposits and pickups run against the simulator;
the daemon is restarted on the same data dir and the invariants of
``testkit/invariants.py`` are checked (the same code the test suite runs). A fresh
data dir is started every ``--per-dir`` kills, with the seed ``SEED + n`` for the n-th dir;
its simulated latches let the door go at once (even n) or after ``SLOW_LATCH_S`` (odd n),
unless ``--open-delay`` fixes it. ``--seed S --kills K --per-dir K --open-delay D``
replays the plan of a test run.

    .venv/bin/python tools/crashloop.py --kills 2000 --seed 7

Exits 1 if any invariant was violated (the data dirs involved are kept and named).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.crash import DAEMON_CONFIG, CrashRun, KillReport, kerong_daemon, mixed_policy
from testkit.daemon import Daemon

SLOW_LATCH_S = 0.25


@dataclass
class Totals:
    kills: int = 0
    survived: int = 0
    violations: int = 0
    modes: Counter[str] = field(default_factory=Counter)
    deposits_kept: int = 0
    pickups_done: int = 0
    kept_dirs: list[Path] = field(default_factory=list)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=1000, help="how many kill -9s in all")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first data dir")
    parser.add_argument("--per-dir", type=int, default=50, help="kills per data dir")
    parser.add_argument("--every", type=int, default=10, help="print progress every N kills")
    parser.add_argument("--board", choices=("sim", "kerong"), default="sim",
                        help="the daemon's sim driver (default), or its Kerong driver on "
                        "emulated boards on a pty")  # fmt: skip
    parser.add_argument("--mixed", action="store_true",
                        help="every journey: also reopen, doesn't-fit, expiry and returns, "
                        "self-tests (parcels expire after 18 s)")  # fmt: skip
    parser.add_argument(
        "--open-delay",
        type=float,
        default=None,
        help=f"seconds from pulse to door opening (default: 0 and {SLOW_LATCH_S} by turns)",
    )
    args = parser.parse_args(argv)
    if args.kills < 1 or args.per_dir < 1 or args.every < 1:
        parser.error("--kills, --per-dir and --every must be at least 1")
    return args


def run_dir(
    args: argparse.Namespace,
    seed: int,
    open_delay_s: float,
    kills: int,
    totals: Totals,
    started: float,
) -> None:
    """Up to ``kills`` kills on one fresh data dir; stops early at the first violation."""
    root = Path(tempfile.mkdtemp(prefix="lk-crash-", dir="/tmp"))
    sim = None
    if args.board == "kerong":
        daemon, sim = kerong_daemon(root, open_delay_s)
    else:
        config = dict(DAEMON_CONFIG)
        if args.mixed:
            config["sections"] = {**config["sections"], "policy": mixed_policy()}
        daemon = Daemon(root, open_delay_s=open_delay_s, **config)
    every = args.every
    failed = False
    try:
        daemon.start()
        run = CrashRun(daemon, seed, mixed=args.mixed)
        for _ in range(kills):
            try:
                report = run.kill_once()
            except Exception as exc:  # a daemon that fails to restart is a finding too
                report = KillReport(run.kills, "?", 0.0, 0.0, [f"harness: {exc!r}"])
            totals.kills += 1
            totals.modes[report.mode] += 1
            if report.violations:
                failed = True
                totals.violations += len(report.violations)
                for violation in report.violations:
                    print(f"VIOLATION seed {seed} open-delay {open_delay_s} kill "
                          f"{report.number} ({report.mode}, {report.delay_s:.2f} s): "
                          f"{violation}", flush=True)  # fmt: skip
                break
            totals.survived += 1
            if totals.kills % every == 0:
                print(f"{totals.kills} kills, {totals.survived} survived, "
                      f"{totals.violations} violations, {time.monotonic() - started:.0f} s",
                      flush=True)  # fmt: skip
        totals.deposits_kept += len(run.ledger.kept)
        totals.pickups_done += len(run.ledger.picked)
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
        if sim is not None:
            sim.close()
        if failed:
            totals.kept_dirs.append(root)
            print(f"data dir kept for inspection: {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    totals = Totals()
    started = time.monotonic()
    workload = "every journey" if args.mixed else "deposits and pickups"
    print(f"crashloop: {args.kills} kills, seed {args.seed}, {args.per_dir} per data dir, "
          f"{workload}, {args.board} boards", flush=True)  # fmt: skip
    n = 0
    try:
        while totals.kills < args.kills:
            delay = args.open_delay if args.open_delay is not None else SLOW_LATCH_S * (n % 2)
            run_dir(args, args.seed + n, delay, min(args.per_dir, args.kills - totals.kills),
                    totals, started)  # fmt: skip
            n += 1
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    elapsed = time.monotonic() - started
    modes = ", ".join(f"{mode} {count}" for mode, count in sorted(totals.modes.items()))
    print(f"summary: {totals.kills} kills, {totals.survived} survived, "
          f"{totals.violations} violations in {elapsed:.0f} s "
          f"({elapsed / max(totals.kills, 1):.2f} s a kill); {n} data dirs; "
          f"bursts: {modes}; deposits kept {totals.deposits_kept}, "
          f"pickups done {totals.pickups_done}")  # fmt: skip
    for root in totals.kept_dirs:
        print(f"kept: {root}")
    return 1 if totals.violations else 0


if __name__ == "__main__":
    sys.exit(main())
