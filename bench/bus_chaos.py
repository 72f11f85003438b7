"""Bus chaos, long: thousands of deposits and pickups on a noisy bus with silent boards.

The run of ``tests/faults/test_bus_chaos.py`` (:mod:`testkit.chaos`), made long:
two emulated Kerong boards (or, with ``--bus modbus``, two Modbus relay (D) boards) on
one bus at 19200 baud, paced at the wire time; 5 % of the replies with a bad checksum
(CRC), 2 % lost, 5 % after line noise, 2 % too late; a board silent for 10 s every
1,000 operations (the two boards in turn), at a random point of the operation that is
on. The daemon (its own process) polls at 10 Hz with the product's offline rule (a board
is offline after 3 missed polls and 1 s without a valid reply; its alarm comes once it
stayed offline 10 s); a courier and a customer take turns, one operation at a time.
``--load N`` starts N more processes that each burn a core for the whole run, as a busy
machine would (the Pi's other work, or, on a shared one, everyone else's).

Printed: wrong doors opened (a fire in the simulator's fire log with no intent behind
it in the journal; goal 0), parcels lost (any violation of the store's invariants,
among them a deposit reported stored that is not, a pickup reported done whose parcel
is not picked up; goal 0), the operations that ended in a clear error (the API's
designed refusals: 409 no compartment free, 503 door unavailable because its board is
offline, 502 door did not open) and those that did not end clearly (goal 0), when each
silence was reported offline, alarmed and back, the offline events and alarms outside
any silence (false ones; goal 0 alarms), and the time the run took. The Kerong boards'
unlock time is set to 100 ms (``energise_ms``) to keep the lock queue short; the doors
close 0.25 s after they open.

    python bench/bus_chaos.py                 # 10,000 operations (about an hour)
    python bench/bus_chaos.py --quick         # 300 operations, one 10 s silence
    python bench/bus_chaos.py --ops 2000 --silence-s 3
    python bench/bus_chaos.py --quick --bus modbus
    python bench/bus_chaos.py --quick --load 1   # a second process burning a core
    python bench/bus_chaos.py --quick --load 1 --offline-after-s 0 --offline-after-misses 2
                                                 # the rule before: 2 misses, no time
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def burning(cores: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``cores`` processes, each spinning on a core, until the block ends."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def report(r: ChaosReport, machine: common.MachineInfo, load: int, loaded: str) -> None:
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
            ("daemon", f"poll_hz {plan.poll_hz:g}, offline_after_misses "
                       f"{plan.offline_after_misses}, offline_after_s {plan.offline_after_s:g}, "
                       f"offline_alarm_after_s {plan.offline_alarm_after_s:g}, "
                       f"timeout_s {plan.timeout_s}, retries {plan.retries}"),
            ("load", f"{load} process{'es' if load != 1 else ''} burning a core each"
                     if load else "none besides the run"),
            ("load average at the end of the run", loaded),
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
        (n + 1, s.board, ms(s.offline_after_s), ms(s.alarm_after_s), ms(s.online_after_s))
        for n, s in enumerate(r.silences)
    ]
    common.print_table(
        ["silence", "board", "offline after (ms)", "alarm after (ms)", "back after (ms)"],
        silences,
    )
    offline = [s.offline_after_s for s in r.silences if s.offline_after_s is not None]
    alarms = [s.alarm_after_s for s in r.silences if s.alarm_after_s is not None]
    online = [s.online_after_s for s in r.silences if s.online_after_s is not None]
    early, late = plan.offline_bounds
    alarm_by = late + plan.offline_alarm_after_s + period
    alarm_due = plan.silence_s > alarm_by
    common.print_table(
        ["goal", "target", "measured", ""],
        [
            ("wrong doors opened", "0", len(r.wrong_doors), common.verdict(not r.wrong_doors)),
            ("parcels lost (invariant violations)", "0", len(r.lost), common.verdict(not r.lost)),
            ("operations ended in a clear error", "-", f"{r.clear_errors:,}", ""),
            ("operations without a clear end", "0", len(r.unclear), common.verdict(not r.unclear)),
            ("offline reported (earliest, latest)", f"{ms(early)} to {ms(late)} ms",
             f"{ms(min(offline))}, {ms(max(offline))}" if offline else "never",
             common.verdict(len(offline) == len(r.silences)
                            and early <= min(offline) and max(offline) <= late)),
            ("offline alarm (worst)", f"<= {ms(alarm_by)} ms" if alarm_due else "- (short)",
             ms(max(alarms)) if alarms else "never",
             common.verdict(len(alarms) == len(r.silences) and max(alarms) <= alarm_by)
             if alarm_due else ""),
            ("back online reported (worst)", f"<= {ms(2 * period)} ms",
             ms(max(online)) if online else "never",
             common.verdict(len(online) == len(r.silences) and max(online) <= 2 * period)),
            ("offline events outside a silence", "-", len(r.false_offlines), ""),
            ("offline alarms outside a silence", "0", len(r.false_alarms),
             common.verdict(not r.false_alarms)),
            ("time", "-", f"{r.seconds:,.0f} s ({r.seconds / plan.ops * 1000:.0f} ms per op)", ""),
        ],
    )  # fmt: skip
    for line in (r.wrong_doors + r.lost + r.unclear + r.false_alarms + r.false_offlines)[:20]:
        print(f"  ! {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 operations, not 10,000")
    parser.add_argument("--ops", type=int, help="operations (default 10,000)")
    parser.add_argument("--silence-s", type=float, default=15.0,
                        help="seconds (default 15: past the alarm's 10 s grace)")  # fmt: skip
    parser.add_argument("--silences", type=int, help="default: one per 1,000 operations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bus", choices=sorted(BOARDS), default="kerong",
                        help="the boards on the bus (default kerong)")  # fmt: skip
    parser.add_argument("--load", type=int, default=0, metavar="N",
                        help="N more processes burning a core each (default 0)")  # fmt: skip
    parser.add_argument("--offline-after-s", type=float, default=1.0,
                        help="[doors] offline_after_s (default 1.0)")  # fmt: skip
    parser.add_argument("--offline-after-misses", type=int, default=3,
                        help="[doors] offline_after_misses (default 3)")  # fmt: skip
    parser.add_argument("--grace-s", type=float, default=10.0,
                        help="[doors] offline_alarm_after_s (default 10)")  # fmt: skip
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
        offline_after_s=args.offline_after_s,
        offline_after_misses=args.offline_after_misses,
        offline_alarm_after_s=args.grace_s,
        **BUS_TIMINGS[args.bus],
    )
    root = Path(tempfile.mkdtemp(prefix="lk-chaos-", dir="/tmp"))
    machine = common.machine_info(root)
    print(f"bus chaos: {ops:,} operations on {root}", file=sys.stderr)
    run = ChaosRun(root, plan, progress=progress)
    began = time.monotonic()
    try:
        with burning(args.load):
            result = run.start().run()
            loaded = common.load_average()
    finally:
        run.close()
        print(f"\n  {time.monotonic() - began:,.0f} s", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
    report(result, machine, args.load, loaded)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
