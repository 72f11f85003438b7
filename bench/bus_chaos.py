"""Bus chaos, long: thousands of deposits and pickups on a noisy bus with silent boards.

The run of ``tests/faults/test_bus_chaos.py`` (:mod:`testkit.chaos`), made long:
two emulated Kerong boards (or, with ``--bus modbus``, two Modbus relay (D) boards) on
one bus at 19200 baud, paced at the wire time; 5 % of the replies with a bad checksum
(CRC), 2 % lost, 5 % after line noise, 2 % too late; a board silent for 10 s every
1,000 operations (the two boards in turn), at a random point of the operation that is
on. The daemon (its own process) polls at 10 Hz; a courier and a
customer take turns, one operation at a time.

Printed: wrong doors opened (a fire in the simulator's fire log with no intent behind
it in the journal; goal 0), parcels lost (any violation of the store's invariants,
among them a deposit reported stored that is not, a pickup reported done whose parcel
is not picked up; goal 0), the operations that ended in a clear error (the API's
designed refusals: 409 no compartment free, 503 door unavailable because its board is
offline, 502 door did not open) and those that did not end clearly (goal 0), when each
silence was reported offline and back, and the time the run took. The Kerong boards'
unlock time is set to 100 ms (``energise_ms``) to keep the lock queue short; the doors
close 0.25 s after they open.

    python bench/bus_chaos.py                 # 10,000 operations (about an hour)
    python bench/bus_chaos.py --quick         # 300 operations, one 10 s silence
    python bench/bus_chaos.py --ops 2000 --silence-s 3
    python bench/bus_chaos.py --quick --bus modbus
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.chaos import ChaosPlan, ChaosReport, ChaosRun

OPS_PER_SILENCE = 1000
BOARDS = {"kerong": "Kerong CU16", "modbus": "Modbus relay (D)"}
# As tests/faults/test_bus_chaos.py has them: a Modbus poll is 8 + 6 bytes (7.3 ms at
# 19200 baud) and the silence before it; 20 ms for a reply leaves a poll's 50 ms room
# for a second attempt. Two retries, as config/modbus.toml has them.
BUS_TIMINGS = {
    "kerong": {},
    "modbus": {"timeout_s": 0.02, "late_by_s": 0.04, "retries": 2},
}


def progress(done: int, total: int) -> None:
    if done % 10 == 0 or done == total:
        print(f"\r  operations: {done:,}/{total:,}", end="", file=sys.stderr, flush=True)


def ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds * 1000:.0f}"


def report(r: ChaosReport, machine: common.MachineInfo) -> None:
    plan = r.plan
    print()
    machine.print()
    common.print_table(
        ["setting", ""],
        [
            ("operations", f"{plan.ops:,} (deposits and pickups, one at a time)"),
            ("bus", f"2 {BOARDS[plan.bus]} emulators on one pty at 19200 baud, paced"),
            ("faults", f"checksum {plan.corrupt:.0%}, lost {plan.drop:.0%}, noise "
                       f"{plan.garbage:.0%}, late {plan.late:.0%} (by {ms(plan.late_by_s)} ms)"),
            ("silences", f"{plan.silences} x {plan.silence_s:g} s, the boards in turn"),
            ("daemon", f"poll_hz {plan.poll_hz:g}, offline_after_misses 2, "
                       f"timeout_s {plan.timeout_s}, retries {plan.retries}"),
        ],
    )  # fmt: skip
    wire = r.wire
    common.print_table(
        ["on the wire", ""],
        [
            ("requests heard", f"{wire.get('requests_seen', 0):,}"),
            ("replies sent", f"{wire.get('replies_sent', 0):,}"),
            ("replies lost", f"{wire.get('replies_dropped', 0):,}"),
            ("replies late", f"{wire.get('replies_late', 0):,}"),
        ],
    )
    common.print_table(
        ["outcome", "operations"],
        [(name, f"{n:,}") for name, n in sorted(r.outcomes.items())],
    )
    period = plan.period
    silences = [
        (n + 1, s.board, ms(s.offline_after_s), ms(s.online_after_s))
        for n, s in enumerate(r.silences)
    ]
    common.print_table(["silence", "board", "offline after (ms)", "back after (ms)"], silences)
    offline = [s.offline_after_s for s in r.silences if s.offline_after_s is not None]
    online = [s.online_after_s for s in r.silences if s.online_after_s is not None]
    common.print_table(
        ["goal", "target", "measured", ""],
        [
            ("wrong doors opened", "0", len(r.wrong_doors), common.verdict(not r.wrong_doors)),
            ("parcels lost (invariant violations)", "0", len(r.lost), common.verdict(not r.lost)),
            ("operations ended in a clear error", "-", f"{r.clear_errors:,}", ""),
            ("operations without a clear end", "0", len(r.unclear), common.verdict(not r.unclear)),
            ("offline reported (worst)", f"<= {ms(3 * period)} ms",
             ms(max(offline)) if offline else "never",
             common.verdict(len(offline) == len(r.silences) and max(offline) <= 3 * period)),
            ("back online reported (worst)", f"<= {ms(2 * period)} ms",
             ms(max(online)) if online else "never",
             common.verdict(len(online) == len(r.silences) and max(online) <= 2 * period)),
            ("boards reported offline by noise alone", "0", len(r.false_offlines),
             common.verdict(not r.false_offlines)),
            ("time", "-", f"{r.seconds:,.0f} s ({r.seconds / plan.ops * 1000:.0f} ms per op)", ""),
        ],
    )  # fmt: skip
    for line in (r.wrong_doors + r.lost + r.unclear + r.false_offlines)[:20]:
        print(f"  ! {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 operations, not 10,000")
    parser.add_argument("--ops", type=int, help="operations (default 10,000)")
    parser.add_argument("--silence-s", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--silences", type=int, help="default: one per 1,000 operations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bus", choices=sorted(BOARDS), default="kerong",
                        help="the boards on the bus (default kerong)")  # fmt: skip
    args = parser.parse_args(argv)
    ops = args.ops or (300 if args.quick else 10_000)
    silences = args.silences if args.silences is not None else max(1, ops // OPS_PER_SILENCE)
    plan = ChaosPlan(
        bus=args.bus,
        ops=ops,
        silences=silences,
        silence_s=args.silence_s,
        close_delay_s=0.25,
        energise_ms=100,
        seed=args.seed,
        **BUS_TIMINGS[args.bus],
    )
    root = Path(tempfile.mkdtemp(prefix="lk-chaos-", dir="/tmp"))
    machine = common.machine_info(root)
    print(f"bus chaos: {ops:,} operations on {root}", file=sys.stderr)
    run = ChaosRun(root, plan, progress=progress)
    began = time.monotonic()
    try:
        result = run.start().run()
    finally:
        run.close()
        print(f"\n  {time.monotonic() - began:,.0f} s", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
    report(result, machine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
