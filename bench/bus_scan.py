"""Bus scan: a status read of every Kerong board on one RS-485 bus, beside the wire floor.

1, 4 and 10 emulated CU16 boards (:class:`hw_sim.kerong_emu.KerongBusEmulator`) share one
pseudo-terminal, paced at the wire time of 9600 or 19200 baud (each request arrives
after its 5 bytes' wire time, each reply leaves after its 9 bytes'). One
:class:`drivers.kerong.KerongDriver` per board opens the port, as the daemon's do, and a
*scan* is one :meth:`~drivers.kerong.KerongDriver.read` of each board in turn, timed with
``time.perf_counter()`` from before the first request to after the last reply decoded.

The floor is what the wire itself takes: the request's and the reply's bytes, 10 bits a
byte (8N1), for every board: 14 x 10 / baud per board (7.3 ms at 19200, 14.6 ms at
9600). Goal: scan p50 <= 1.25 x the floor. What the scan adds is the host's: the
driver's flush, write and read calls, the pty, the emulator's threads waking up.

    python bench/bus_scan.py            # 200 scans per case
    python bench/bus_scan.py --quick    # 30 scans per case
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import common

from drivers.base import BoardSpec, ChannelSpec
from drivers.kerong import KerongDriver
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink, wire_time

BOARD_COUNTS = (1, 4, 10)
BAUDS = (9600, 19200)
REQUEST_BYTES, REPLY_BYTES = 5, 9
LOCKS = range(1, 17)
WARM_UP = 5
GOAL_RATIO = 1.25


@dataclass
class Case:
    boards: int
    baud: int
    scans: list[float]
    errors: int

    @property
    def floor(self) -> float:
        return self.boards * wire_time(REQUEST_BYTES + REPLY_BYTES, self.baud)

    @property
    def p50(self) -> float:
        return common.percentile(sorted(self.scans), 50)


def measure(root: Path, boards: int, baud: int, scans: int) -> Case:
    """``scans`` full scans of ``boards`` boards on one paced bus at ``baud``."""
    bank = Bank(person="manual")
    names = {address: f"board{address}" for address in range(boards)}
    for name in names.values():
        for lock in LOCKS:
            bank.add_compartment(f"{name}-{lock}", name, lock)
    link = PtyLink(root / f"ttyKR-{boards}-{baud}")
    emulator = KerongBusEmulator(bank, names, link, baud=baud, pace=True).start()
    drivers = [_driver(name, address, baud, emulator.device) for address, name in names.items()]
    times: list[float] = []
    try:
        for driver in drivers:
            driver.open()
        for n in range(WARM_UP + scans):
            began = time.perf_counter()
            for driver in drivers:
                driver.read()
            if n >= WARM_UP:
                times.append(time.perf_counter() - began)
        errors = sum(sum(d.stats()["errors"].values()) for d in drivers)
    finally:
        for driver in drivers:
            driver.close()
        emulator.close()
    return Case(boards, baud, times, errors)


def _driver(name: str, address: int, baud: int, port: str) -> KerongDriver:
    channels = tuple(ChannelSpec(lock, f"{name}-{lock}") for lock in LOCKS)
    options = {"port": port, "address": address, "baud": baud}
    return KerongDriver(BoardSpec(name, "kerong", channels, options=options))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(cases: list[Case], machine: common.MachineInfo, scans: int) -> None:
    print()
    machine.print()
    common.print_table(
        ["setting", ""],
        [
            ("bus", "one pty; KerongBusEmulator paced at the baud (PtyLink.pace / write)"),
            ("drivers", "one KerongDriver per board on the port; timeout_s 0.1, retries 3"),
            ("scan", "KerongDriver.read() of every board in turn, perf_counter around it"),
            ("scans", f"{scans} per case, after {WARM_UP} to warm up"),
        ],
    )
    rows = []
    for c in cases:
        ordered = sorted(c.scans)
        rows.append((
            f"{c.boards} board{'s' if c.boards > 1 else ''} at {c.baud}",
            ms(c.floor),
            ms(c.p50),
            ms(common.percentile(ordered, 90)),
            ms(common.percentile(ordered, 99)),
            ms(ordered[-1]),
            f"{c.p50 / c.floor:.3f}x",
            c.errors,
            common.verdict(c.p50 / c.floor <= GOAL_RATIO),
        ))  # fmt: skip
    common.print_table(
        ["ms", "floor", "p50", "p90", "p99", "max", "p50/floor", "errors", f"<= {GOAL_RATIO}x"],
        rows,
        "Full status scan beside the wire floor (14 bytes x 10 bits / baud per board)",
    )
    per_exchange = [(c.p50 - c.floor) / c.boards * 1000 for c in cases]
    print(
        f"  host time added per exchange (p50 - floor, per board): "
        f"{min(per_exchange):.2f} to {max(per_exchange):.2f} ms\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 scans per case, not 200")
    parser.add_argument("--scans", type=int, help="scans per case (default 200)")
    args = parser.parse_args(argv)
    scans = args.scans or (30 if args.quick else 200)
    root = Path(tempfile.mkdtemp(prefix="lk-scan-", dir="/tmp"))
    machine = common.machine_info()
    cases = []
    try:
        for baud in BAUDS:
            for boards in BOARD_COUNTS:
                print(f"  {boards} boards at {baud} baud ...", file=sys.stderr)
                cases.append(measure(root, boards, baud, scans))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(cases, machine, scans)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
