"""Scale: the code check and allocation at 64 and 1,536 compartments, 1e3 and 1e6 parcels.

What is timed, per operation, with ``time.perf_counter_ns``:

* **code check**: ``Store.parcel_by_code_tag(code_tag(key, code))``, the HMAC and the
  indexed lookup a pickup makes, on a real :class:`kiosk.store.Store` (its pragmas, its
  schema) whose file holds the history. Codes of parcels in the kiosk ("live") and codes
  that match no live parcel ("wrong"), in random order.
* **allocation**: ``Allocator.choose`` + ``set_eligible(chosen, False)`` (a deposit) +
  ``set_eligible(other, True)`` (a pickup elsewhere), in a steady state with 90 % of the
  compartments occupied. The allocator is in memory; the history does not enter it.
* **intent commit** (beyond the issue's two, because it is on the same pickup path):
  ``Store.begin_op`` for a pickup, one transaction with its fsync, then ended untimed.

History rows are parcels ``PICKED_UP`` (90 %) or ``RETURNED`` with code tags, and the two
door operations each of them left (deposit and removal); the event log is left empty
(the only event query on these paths reads its last row by key). They are inserted with
``executemany`` in one transaction and the file is cached in ``$TMPDIR/locker-kiosk-bench``
between runs (``--rebuild`` to make it again); each measurement works on a copy
(``scale_kiosk.py``).

Beside ours, the seed's ``LockerSystem`` (``shared/seeds``), copied in ``seed_locker.py``
as a minimal reference: a linear scan by exact size for a locker, a linear scan of the
lockers for a plain-text code. It keeps no history, so only the number of lockers
changes its cost.

Goal: growth <= 1.5x from 64 to 1,536 compartments and from 1e3 to 1e6 parcels.

    python bench/scale.py            # 1,000 and 1,000,000 parcels of history
    python bench/scale.py --quick    # 1,000 and 100,000, fewer operations
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import common
from scale_kiosk import (
    CACHE,
    COMPARTMENTS,
    KEY,
    Kiosk,
    cid_of,
    history_db,
    open_kiosk,
    random_code,
    size_rank_of,
)
from seed_locker import Locker, LockerSize, LockerSystem, Package

from kiosk.access.codes import code_tag
from kiosk.allocation import Allocator
from kiosk.domain import Purpose

OCCUPIED = 0.9
GOAL_GROWTH = 1.5

Cell = tuple[int, int]
"""(compartments, parcels of history)"""


@dataclass(frozen=True)
class Timing:
    """Per-operation times in seconds."""

    times: list[float]

    @property
    def mean(self) -> float:
        return sum(self.times) / len(self.times)

    @property
    def p50(self) -> float:
        return common.percentile(sorted(self.times), 50)

    @property
    def p99(self) -> float:
        return common.percentile(sorted(self.times), 99)


def timed(operations: Iterator[Callable[[], object]]) -> Timing:
    """Run each operation and time it alone."""
    gc.collect()
    clock = time.perf_counter_ns
    out = []
    for op in operations:
        start = clock()
        op()
        out.append((clock() - start) / 1e9)
    return Timing(out)


# -- ours -------------------------------------------------------------------------------


def pick_codes(kiosk: Kiosk, n: int) -> tuple[list[str], list[str]]:
    """``n`` codes of parcels in the kiosk and ``n`` codes of none, in random order."""
    rng = random.Random(n)
    live = [rng.choice(kiosk.live_codes) for _ in range(n)]
    taken = set(kiosk.live_codes)
    wrong: list[str] = []
    while len(wrong) < n:
        code = random_code(rng)
        if code not in taken:
            wrong.append(code)
    found = kiosk.store.parcel_by_code_tag(code_tag(KEY, live[0]))
    if found is None or found.state != "STORED":
        raise RuntimeError("a live code did not find its parcel")
    return live, wrong


def code_check(kiosk: Kiosk, codes: list[str]) -> Timing:
    store = kiosk.store

    def check(code: str) -> Callable[[], object]:
        return lambda: store.parcel_by_code_tag(code_tag(KEY, code))

    for code in codes[: len(codes) // 10]:  # warm the caches as a running kiosk has them
        check(code)()
    return timed(check(code) for code in codes)


def intent_commit(kiosk: Kiosk, n: int, budget_s: float) -> Timing:
    """``Store.begin_op`` for a pickup (ended again, untimed), until ``n`` or the budget.

    A few untimed rounds first: the first commits on a fresh copy also grow the WAL file.
    """
    store = kiosk.store
    out: list[float] = []
    warm_until = time.monotonic() + min(2.0, budget_s / 10)
    deadline = time.monotonic() + budget_s
    for k in range(n + 20):
        cid = kiosk.compartments[k % len(kiosk.compartments)]
        start = time.perf_counter_ns()
        op = store.begin_op(cid, Purpose.PICKUP, "customer")
        elapsed = (time.perf_counter_ns() - start) / 1e9
        store.abandon_op(op.id, "benchmark")
        if k >= 20 or time.monotonic() > warm_until:
            out.append(elapsed)
        if len(out) >= n or (time.monotonic() > deadline and len(out) >= 5):
            break
    return Timing(out)


def allocation(compartments: int, n: int) -> Timing:
    rng = random.Random(compartments)
    allocator = Allocator()
    ids = [cid_of(i) for i in range(compartments)]
    for i, cid in enumerate(ids):
        allocator.add(cid, size_rank_of(i), i % 8 == 7)
        allocator.set_eligible(cid, True)
    occupied = rng.sample(ids, int(compartments * OCCUPIED))
    for cid in occupied:
        allocator.set_eligible(cid, False)

    def step(rank: int, accessible: bool, release: float) -> Callable[[], object]:
        def op() -> None:
            chosen = allocator.choose(rank, accessible)
            if chosen is not None:
                allocator.set_eligible(chosen, False)
                occupied.append(chosen)
            j = int(release * len(occupied))
            occupied[j], occupied[-1] = occupied[-1], occupied[j]
            allocator.set_eligible(occupied.pop(), True)

        return op

    steps = (
        step(size_rank_of(rng.randrange(8)), rng.random() < 0.05, rng.random())
        for _ in range(n + 5 * compartments)
    )
    for _ in range(5 * compartments):  # reach the steady state first
        next(steps)()
    return timed(steps)


# -- the seed's LockerSystem (bench/seed_locker.py), measured ---------------------------


SEED_SIZES = tuple(LockerSize)


def seed_system(compartments: int) -> LockerSystem:
    system = LockerSystem()
    for i in range(compartments):
        system.add_locker(Locker(i + 1, SEED_SIZES[size_rank_of(i)]))
    return system


def seed_code_check(compartments: int, n: int, live: bool) -> Timing:
    """``retrieve_package`` with every locker full; the locker is refilled, untimed."""
    rng = random.Random(n)
    system = seed_system(compartments)
    codes = []
    for locker in system.lockers:
        code = random_code(rng)
        locker.assign_package(Package(f"P{locker.locker_id}", locker.size, code))
        codes.append(code)
    by_code = dict(zip(codes, system.lockers, strict=True))
    out: list[float] = []
    clock = time.perf_counter_ns
    gc.collect()
    for _ in range(n):
        code = rng.choice(codes) if live else "x" + random_code(rng)
        start = clock()
        system.retrieve_package(code)
        out.append((clock() - start) / 1e9)
        if live:
            locker = by_code[code]
            locker.assign_package(Package(f"P{locker.locker_id}", locker.size, code))
    return Timing(out)


def seed_allocation(compartments: int, n: int) -> Timing:
    """``store_package`` + releasing another locker, at 90 % occupancy (as ours)."""
    rng = random.Random(compartments)
    system = seed_system(compartments)
    occupied = rng.sample(system.lockers, int(compartments * OCCUPIED))
    for locker in occupied:
        locker.assign_package(Package("P", locker.size, "0"))

    def step(size: LockerSize, release: float) -> Callable[[], object]:
        def op() -> None:
            package = Package("P", size, "0")
            locker = system.find_available_locker(size)
            if locker is not None and system.store_package(package):
                occupied.append(locker)
            j = int(release * len(occupied))
            occupied[j], occupied[-1] = occupied[-1], occupied[j]
            occupied.pop().release_package()

        return op

    steps = (
        step(SEED_SIZES[size_rank_of(rng.randrange(8))], rng.random())
        for _ in range(n + 5 * compartments)
    )
    for _ in range(5 * compartments):
        next(steps)()
    return timed(steps)


# -- the run ----------------------------------------------------------------------------


@dataclass
class Plan:
    histories: tuple[int, int]
    code_checks: int
    allocations: int
    passes: int
    commits: int
    commit_budget_s: float


@dataclass
class Results:
    by_cell: dict[str, dict[Cell, Timing]]  # store-backed: code checks, intent commits
    by_size: dict[str, dict[int, Timing]]  # in memory: allocation, the seed
    file_sizes: dict[int, int]


def best_of(passes: int, measure: Callable[[], Timing]) -> Timing:
    """The pass with the lowest mean: noise from the machine only ever adds time."""
    return min((measure() for _ in range(passes)), key=lambda t: t.mean)


def run(plan: Plan, rebuild: bool) -> Results:
    by_cell: dict[str, dict[Cell, Timing]] = {"live": {}, "wrong": {}, "commit": {}}
    by_size: dict[str, dict[int, Timing]] = {
        "alloc": {}, "seed_alloc": {}, "seed_live": {}, "seed_wrong": {}
    }  # fmt: skip
    sizes: dict[int, int] = {}
    n, passes = plan.code_checks, plan.passes
    work = Path(tempfile.mkdtemp(prefix="lk-scale-"))
    try:
        for history in plan.histories:
            source = history_db(history, rebuild)
            sizes[history] = source.stat().st_size
            for compartments in COMPARTMENTS:
                cell = (compartments, history)
                print(f"  {compartments:,} compartments, {history:,} parcels", file=sys.stderr)
                kiosk = open_kiosk(source, compartments, work)
                try:
                    live, wrong = pick_codes(kiosk, n)
                    by_cell["live"][cell] = best_of(passes, partial(code_check, kiosk, live))
                    by_cell["wrong"][cell] = best_of(passes, partial(code_check, kiosk, wrong))
                    by_cell["commit"][cell] = intent_commit(
                        kiosk, plan.commits, plan.commit_budget_s
                    )
                finally:
                    kiosk.store.close()
        for c in COMPARTMENTS:
            print(f"  allocation and the seed, {c:,} compartments", file=sys.stderr)
            m = plan.allocations
            by_size["alloc"][c] = best_of(passes, partial(allocation, c, m))
            by_size["seed_alloc"][c] = best_of(passes, partial(seed_allocation, c, m))
            by_size["seed_live"][c] = best_of(passes, partial(seed_code_check, c, n, True))
            by_size["seed_wrong"][c] = best_of(passes, partial(seed_code_check, c, n, False))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Results(by_cell, by_size, sizes)


def us(t: Timing) -> tuple[str, str]:
    return common.fmt_us(t.mean, 1), common.fmt_us(t.p99, 1)


def report(results: Results, plan: Plan, machine: common.MachineInfo) -> None:
    cell, size = results.by_cell, results.by_size
    small, big = COMPARTMENTS
    few, many = plan.histories
    cells = [(c, h) for c in COMPARTMENTS for h in plan.histories]
    print()
    machine.print()
    files = " and ".join(f"{results.file_sizes[h] / 1e6:,.0f} MB" for h in plan.histories)
    common.print_table(
        ["setting", ""],
        [
            ("history", " and ".join(f"{h:,} parcels" for h in plan.histories)),
            ("store file", files),
            ("code checks", f"{plan.code_checks:,} live and {plan.code_checks:,} wrong codes"),
            ("allocations", f"{plan.allocations:,}, {OCCUPIED:.0%} of the compartments occupied"),
            ("passes", f"{plan.passes}; the pass with the lowest mean is shown"),
            ("intent commits", f"up to {plan.commits} per cell ({plan.commit_budget_s:.0f} s cap)"),
        ],
    )
    common.print_table(
        ["compartments", "history", "ours live", "p99", "ours wrong", "p99",
         "seed live", "p99", "seed wrong", "p99"],
        [[f"{c:,}", f"{h:,}", *us(cell["live"][c, h]), *us(cell["wrong"][c, h]),
          *us(size["seed_live"][c]), *us(size["seed_wrong"][c])] for c, h in cells],
        "Code check, mean and p99 µs per operation (the seed keeps no history: only its "
        "lockers count)",
    )  # fmt: skip
    common.print_table(
        ["compartments", "ours", "p99", "seed", "p99"],
        [[f"{c:,}", *us(size["alloc"][c]), *us(size["seed_alloc"][c])] for c in COMPARTMENTS],
        "Allocation (choose, reserve, free another), mean and p99 µs per operation "
        "(in memory: the history does not enter it)",
    )
    common.print_table(
        ["compartments", "history", "mean", "p50", "p99", "operations"],
        [[f"{c:,}", f"{h:,}", *_commit_cells(cell["commit"][c, h])] for c, h in cells],
        "Intent commit (Store.begin_op for a pickup: one transaction with its fsync), µs",
    )
    common.print_table(
        ["growth (of the mean)", "", "ours", f"goal <= {GOAL_GROWTH}x", "seed"],
        _growth_rows(results, small, big, few, many),
        "Growth",
    )


def _growth_rows(results: Results, small: int, big: int, few: int, many: int) -> list[list[str]]:
    cell, size = results.by_cell, results.by_size
    rows = []

    def row(name: str, what: str, ours: float, seed: str) -> None:
        rows.append([name, what, f"{ours:.2f}x", common.verdict(ours <= GOAL_GROWTH), seed])

    def stat(t: Timing, key: str) -> float:
        # A commit waits for the disk: its p50 is steadier than its mean.
        return t.p50 if key == "commit" else t.mean

    for name, key in (("code check, live", "live"), ("code check, wrong", "wrong"),
                      ("intent commit (p50)", "commit")):  # fmt: skip
        seed = {"live": "seed_live", "wrong": "seed_wrong"}.get(key)
        for h in (few, many):
            growth = stat(cell[key][big, h], key) / stat(cell[key][small, h], key)
            seed_growth = f"{size[seed][big].mean / size[seed][small].mean:.2f}x" if seed else "-"
            row(name, f"{big:,} vs {small:,} compartments, {h:,} parcels", growth, seed_growth)
        for c in (small, big):
            growth = stat(cell[key][c, many], key) / stat(cell[key][c, few], key)
            row(name, f"{many:,} vs {few:,} parcels, {c:,} compartments", growth,
                "1.00x (none kept)" if seed else "-")  # fmt: skip
    growth = size["alloc"][big].mean / size["alloc"][small].mean
    seed_alloc = size["seed_alloc"][big].mean / size["seed_alloc"][small].mean
    row("allocation", f"{big:,} vs {small:,} compartments", growth, f"{seed_alloc:.2f}x")
    return rows


def _commit_cells(t: Timing) -> list[str]:
    ordered = sorted(t.times)
    return [
        common.fmt_us(t.mean),
        common.fmt_us(common.percentile(ordered, 50)),
        common.fmt_us(common.percentile(ordered, 99)),
        f"{len(ordered):,}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="100,000 parcels instead of 1,000,000; fewer ops"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached history")
    args = parser.parse_args(argv)
    if args.quick:
        plan = Plan((1_000, 100_000), 5_000, 5_000, 3, 100, 10.0)
    else:
        plan = Plan((1_000, 1_000_000), 20_000, 20_000, 5, 300, 30.0)
    print("scale:", file=sys.stderr)
    CACHE.mkdir(exist_ok=True)
    machine = common.machine_info(CACHE)
    results = run(plan, args.rebuild)
    report(results, plan, machine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
