"""A write-ahead log torn after every one of its commits: what the kiosk says at its
next start, with its mark, its item sensors, both, or neither.

Part A. One real daemon (``python -m kiosk run``, the sim driver, 12 compartments, the
simulated person using every door) takes deposits and pickups, then is killed
(``kill -9``) with its mark up to date; the write-ahead log then holds every commit
since the daemon's start. For each commit (``--every N``: every Nth), a copy of the data
dir is torn right after it (``testkit/wal.py``) and a daemon started on the copy,
four ways:

=================  =============================================================
mark + sensors     as shipped
sensors only       ``kiosk.mark`` lost as well
mark only          the board without item sensors (``item_sensors = false``)
neither            both: what a torn log did before the store knew itself
=================  =============================================================

Once no door operation is under way, each compartment whose parcel in the store (its
barcode, or none) is not the one the run left there (read from the run's own database
before any tearing; the simulated bank's item sensor agrees with it) is **wrong**; a
wrong one that neither needs a check nor is out of service passed **silently**. A
compartment held that is not wrong is **held needlessly** (a lost door operation that
the restart then finished by itself, say). Also counted: locks fired by the restarts (from the
simulator's fire log). Goals: 0 silent with the mark, with the sensors and with both; 0
fired.

Part B. The mark's cost, on a store whose every compartment holds a parcel (the
largest mark), 64 and 1,536 compartments, 500 marks each: ``mark_of(store)``, which runs
on the daemon's loop at most once per 50 ms, and ``write_mark``, the file's replacement,
which runs on the mark's own thread. Goal: ``mark_of`` p99 <= 1 ms at 64.

    python bench/torn_wal.py             # every commit, ~10 min
    python bench/torn_wal.py --quick     # every 4th commit of a shorter run, ~3 min
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.domain import Purpose
from kiosk.store import Store
from kiosk.store.mark import mark_of, write_mark
from kiosk.store.store import CompartmentSpec
from testkit.daemon import Daemon
from testkit.wal import tear_wal, wal_commits

NO_CHECKPOINT = {"policy": {"expiry_check_s": 3600}}
WAYS = {  # name: (keep the mark, item sensors)
    "mark + sensors": (True, True),
    "sensors only": (False, True),
    "mark only": (True, False),
    "neither": (False, False),
}
GOAL_MARK_P99_S = 0.001
COPIED = ("kiosk.db", "kiosk.db-wal", "kiosk.key", "kiosk.mark", "sim-state.json",
          "sim-fires.log", "inbox.jsonl")  # fmt: skip


@dataclass
class Tally:
    cuts: int = 0
    cuts_wrong: int = 0  # cut points that left at least one compartment wrong
    wrong: int = 0
    silent: int = 0
    cuts_silent: int = 0
    needless: int = 0
    fired: int = 0
    alarms: dict[str, int] = field(default_factory=dict)


# -- part A ------------------------------------------------------------------------------


def workload(root: Path, deposits: int, pickups: int) -> Daemon:
    """The daemon's run: ``deposits`` parcels stored, ``pickups`` of them picked up,
    interleaved; killed with its mark up to date. Returns the dead daemon."""
    root.mkdir(parents=True)
    daemon = Daemon(root, sections=NO_CHECKPOINT, close_delay_s=0.2)
    daemon.start()
    time.sleep(1.0)  # the start's housekeeping has emptied the log into the database
    courier = daemon.signed_in()
    barcodes = []
    for n in range(deposits):
        barcode = f"TORN-{n:03d}"
        view = courier.post("/v1/deposits", {"barcode": barcode, "size": "S",
                                             "phone": "+4915112345678"})  # fmt: skip
        courier.wait_operation(view["operation"], until_done=True)
        barcodes.append(barcode)
        if n % 2 == 1 and len(barcodes) > 1 and pickups:
            code = daemon.code_for(barcodes.pop(0))
            picked = daemon.client().post("/v1/pickup", {"code": code})
            daemon.client().wait_operation(picked["operation"], until_done=True)
            pickups -= 1
    last = daemon.events()[-1]["seq"]
    mark = daemon.data_dir / "kiosk.mark"
    daemon.wait_for(lambda: json.loads(mark.read_text())["seq"] >= last, what="the mark")
    daemon.kill9()
    return daemon


def left_by_the_run(source: Path) -> dict[str, str]:
    """Which parcel the run left in each compartment, from its own database."""
    conn = sqlite3.connect(f"file:{source / 'kiosk.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT compartment_id, barcode FROM parcels"
                            " WHERE state IN ('STORED', 'EXPIRED')").fetchall()  # fmt: skip
    finally:
        conn.close()
    return dict(rows)


def restart_torn(
    source: Path, work: Path, keep: int, way: tuple[bool, bool], truth: dict[str, str]
) -> dict[str, int]:
    """Start a daemon on a copy of ``source`` torn after commit ``keep``; its findings."""
    keep_mark, sensors = way
    shutil.rmtree(work, ignore_errors=True)
    (work / "data").mkdir(parents=True, mode=0o700)
    for name in COPIED:
        if (source / name).exists() and (keep_mark or name != "kiosk.mark"):
            shutil.copy2(source / name, work / "data" / name)
    tear_wal(work / "data" / "kiosk.db-wal", keep)
    daemon = Daemon(work, sections=NO_CHECKPOINT, close_delay_s=0.2,
                    board={"item_sensors": sensors})  # fmt: skip
    daemon._users_added = True  # they are in the copied database
    fires = _fires(work / "data")
    daemon.start()
    try:
        client = daemon.client()
        daemon.wait_for(lambda: not client.get("/v1/status")["operations"], what="settled")
        comps = client.get("/v1/compartments")["compartments"]
        events = client.get("/v1/events", limit=10000)["events"]
    finally:
        daemon.stop()
    items = json.loads((work / "data" / "sim-state.json").read_text())["compartments"]
    found = {"wrong": 0, "silent": 0, "needless": 0, "fired": _fires(work / "data") - fires}
    for c in comps:
        assert bool(items[c["id"]]["item"]) == (c["id"] in truth), (c["id"], truth)
        wrong = (c["parcel"] or {}).get("barcode") != truth.get(c["id"])
        held = c["check"] is not None or c["state"] == "OUT_OF_SERVICE"
        found["wrong"] += wrong
        found["silent"] += wrong and not held
        found["needless"] += held and not wrong
    for kind in ("store_behind", "deposit_needs_check"):
        found[kind] = sum(1 for e in events if e["kind"] == kind)
    return found


def _fires(data: Path) -> int:
    log = data / "sim-fires.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def part_a(deposits: int, pickups: int, every: int) -> dict[str, Tally]:
    root = Path(tempfile.mkdtemp(prefix="lk-torn-", dir="/tmp"))
    try:
        source = workload(root / "run", deposits, pickups).data_dir
        commits = len(wal_commits(source / "kiosk.db-wal"))
        truth = left_by_the_run(source)
        print(f"the run left {commits} commits in the write-ahead log; tearing after every "
              f"{'' if every == 1 else f'{every}th '}one, four ways\n")  # fmt: skip
        tallies = {name: Tally() for name in WAYS}
        for keep in range(0, commits, every):
            for name, way in WAYS.items():
                found = restart_torn(source, root / "w", keep, way, truth)
                _add(tallies[name], found)
        return tallies
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _add(t: Tally, found: dict[str, int]) -> None:
    t.cuts += 1
    t.cuts_wrong += found["wrong"] > 0
    t.wrong += found["wrong"]
    t.silent += found["silent"]
    t.cuts_silent += found["silent"] > 0
    t.needless += found["needless"]
    t.fired += found["fired"]
    for kind in ("store_behind", "deposit_needs_check"):
        t.alarms[kind] = t.alarms.get(kind, 0) + (found[kind] > 0)


# -- part B ------------------------------------------------------------------------------


def part_b(sizes: tuple[int, ...], writes: int) -> list[tuple[int, list[float], list[float]]]:
    """Per size: the sorted times of ``mark_of`` (on the loop) and of the file's
    replacement (on the writer thread)."""
    out = []
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix="lk-mark-", dir="/tmp"))
        try:
            store = _full_store(work, size)
            taken, written = [], []
            for _ in range(writes):
                begin = time.perf_counter()
                mark = mark_of(store)
                middle = time.perf_counter()
                assert mark is not None
                write_mark(work / "kiosk.mark", mark)
                taken.append(middle - begin)
                written.append(time.perf_counter() - middle)
            out.append((size, sorted(taken), sorted(written)))
            store.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


def _full_store(work: Path, size: int) -> Store:
    store = Store(work / "kiosk.db")
    store.record_identity("BENCH-01", "0" * 32, new=True)
    ids = [f"C{i:04d}" for i in range(size)]
    store.sync_compartments([CompartmentSpec(cid, "S", "b", i + 1, False)
                             for i, cid in enumerate(ids)])  # fmt: skip
    with store.transaction():
        for n, cid in enumerate(ids):
            op = store.begin_op(cid, Purpose.DEPOSIT, "bench",
                                details={"barcode": f"B{n:06d}", "size": "S"})  # fmt: skip
            store.op_opened(op.id)
            store.finish_deposit(op.id, f"tag{n}", 9e9, lambda pid: [])
    return store


# -- report ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run, every 4th commit")
    parser.add_argument("--every", type=int, default=0, metavar="N", help="every Nth commit")
    args = parser.parse_args()
    deposits, pickups = (6, 3) if args.quick else (10, 5)
    every = args.every or (4 if args.quick else 1)
    machine = common.machine_info(Path(tempfile.gettempdir()))
    machine.print()
    started = time.monotonic()
    tallies = part_a(deposits, pickups, every)
    rows = []
    for name, t in tallies.items():
        goal = 0 if name != "neither" else None
        met = "" if goal is None else common.verdict(t.silent == 0 and t.fired == 0)
        rows.append([name, t.cuts, t.cuts_wrong, t.wrong, t.silent, t.cuts_silent, t.needless,
                     t.alarms.get("store_behind", 0), t.fired, met])  # fmt: skip
    common.print_table(
        ["way", "cuts", "cuts wrong", "wrong", "silent", "cuts silent", "held needlessly",
         "store_behind", "fired", "0 silent, 0 fired"],
        rows,
        f"A. torn after each commit ({deposits} deposits, {pickups} pickups; "
        f"{time.monotonic() - started:.0f} s)",
    )  # fmt: skip
    marks = part_b((64, 1536), 100 if args.quick else 500)
    p = common.percentile
    common.print_table(
        ["compartments, all occupied", "taken p50 µs", "taken p99 µs", "written p50 µs",
         "written p99 µs", "taken p99 <= 1 ms"],
        [[n, common.fmt_us(p(a, 50)), common.fmt_us(p(a, 99)), common.fmt_us(p(b, 50)),
          common.fmt_us(p(b, 99)), common.verdict(p(a, 99) <= GOAL_MARK_P99_S) if n == 64
          else ""] for n, a, b in marks],
        "B. one mark: taken from the store (mark_of, on the loop) and written (write_mark, "
        "on the writer thread)",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
