"""Bus scan: a status read of every board on one RS-485 bus, per board kind, beside the
wire floor.

Each kind of board the product drives over a bus is emulated on one pseudo-terminal
(:mod:`hw_sim`: the CU16 and CU48 emulators, the Modbus relay and input boards behind one
bus emulator), paced at the wire time of 9600 or 19200 baud: each request arrives after
its bytes' wire time, each reply leaves after its own (and, on Modbus, after the 3.5
characters of silence a board waits for the end of a request). One driver per board
opens the port, as the daemon's do, and a *scan* is one ``read()`` of each board in turn,
timed with ``time.perf_counter()`` from before the first request to after the last reply
decoded.

The kinds, and what one board's read puts on the wire:

=====================  ==========================================================
CU16                   status request 5 bytes, reply 9
CU48                   status request 6 bytes, reply 18
Modbus 8 (D)           FC02 of its own 8 inputs: 8 bytes, reply 6
Modbus N, no inputs    FC01 of its N relays: 8 bytes, reply 5 + N/8
Modbus N + inputs      FC01 of its relays, then FC02 of its N inputs on an input
                       board (two relay boards share one input board where it has
                       the inputs: 16 for 8-relay boards, 32 for 16-relay ones)
=====================  ==========================================================

The floor is what the wire itself takes: the bytes of every exchange, 10 bits a byte
(8N1), and on Modbus twice the 3.5-character silence per exchange (before the reply and
before the next request; 11-bit characters, as the driver and emulator keep it). Goal:
scan p50 <= 1.25 x the floor. What the scan adds is the host's: the driver's flush,
write and read calls (pymodbus's for Modbus reads), the pty, the emulator's threads.

    python bench/bus_scan.py            # 200 scans per case
    python bench/bus_scan.py --quick    # 30 scans per case
    python bench/bus_scan.py --kind cu48 --kind modbus-32-inputs
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common

from drivers.base import BoardSpec, ChannelSpec, Driver, create_driver
from hw_sim.kerong_cu48_emu import Cu48BusEmulator
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.modbus_emu import ModbusBusEmulator, ModbusInputEmulator, ModbusRelayEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink, wire_time

BAUDS = (9600, 19200)
WARM_UP = 5
GOAL_RATIO = 1.25


def modbus_silence(baud: int) -> float:
    """3.5 characters of 11 bits (1.75 ms above 19200 baud), as the driver keeps it."""
    return 0.00175 if baud > 19200 else 3.5 * 11 / baud


@dataclass
class Bus:
    """One emulated bus of one kind: what to close, and the drivers to read."""

    closers: list[Any]
    drivers: list[Driver]
    floor: float


@dataclass(frozen=True)
class Kind:
    """A kind of board: its name, how many boards a bus has in the cases, how to build a
    bus of ``n`` of them at a baud."""

    name: str
    counts: tuple[int, ...]
    build: Callable[[Path, int, int], Bus]


def _bank(boards: Sequence[str], locks: int) -> Bank:
    bank = Bank(person="manual")
    for name in boards:
        for lock in range(1, locks + 1):
            bank.add_compartment(f"{name}-{lock}", name, lock)
    return bank


def _driver(name: str, driver: str, locks: int, **options: Any) -> Driver:
    channels = tuple(ChannelSpec(lock, f"{name}-{lock}") for lock in range(1, locks + 1))
    made = create_driver(BoardSpec(name, driver, channels, options=options))
    made.open()
    return made


def _kerong(cu48: bool) -> Callable[[Path, int, int], Bus]:
    locks, request, reply = (48, 6, 18) if cu48 else (16, 5, 9)
    driver = "kerong-cu48" if cu48 else "kerong"

    def build(root: Path, boards: int, baud: int) -> Bus:
        names = {address: f"board{address}" for address in range(boards)}
        bank = _bank(list(names.values()), locks)
        link = PtyLink(root / f"tty-{driver}-{boards}-{baud}")
        emulator_kind = Cu48BusEmulator if cu48 else KerongBusEmulator
        emulator = emulator_kind(bank, names, link, baud=baud, pace=True).start()
        drivers = [_driver(name, driver, locks, port=emulator.device, address=address,
                           baud=baud) for address, name in names.items()]  # fmt: skip
        return Bus([emulator], drivers, boards * wire_time(request + reply, baud))

    return build


def _modbus_exchange(reply: int, baud: int) -> float:
    return wire_time(8 + reply, baud) + 2 * modbus_silence(baud)


def _modbus(channels: int, doors: str) -> Callable[[Path, int, int], Bus]:
    """Relay boards of ``channels``; ``doors``: "own" (a (D) board), "none", "inputs"."""

    def build(root: Path, boards: int, baud: int) -> Bus:
        names = [f"relays{n + 1}" for n in range(boards)]
        bank = _bank(names, channels)
        devices: list[Any] = []
        options: list[dict[str, Any]] = []
        per_input_board = min(2, 32 // channels)  # relay boards reading one input board
        inputs: dict[int, ModbusInputEmulator] = {}
        for n, name in enumerate(names):
            address = n + 1
            devices.append(ModbusRelayEmulator(bank, name, address=address, channels=channels,
                                               has_inputs=doors == "own", baud=baud))  # fmt: skip
            settings: dict[str, Any] = {"address": address, "channels": channels, "baud": baud,
                                        "timeout_s": 0.2}  # fmt: skip
            if doors == "none":
                settings["inputs"] = "none"
            elif doors == "inputs":
                input_address = 100 + n // per_input_board
                first = 1 + (n % per_input_board) * channels
                if input_address not in inputs:
                    inputs[input_address] = ModbusInputEmulator(bank, input_address, baud=baud)
                board = inputs[input_address]
                for lock in range(1, channels + 1):
                    board.wire(first + lock - 1, name, lock)
                settings |= {"input_address": input_address, "input_first": first}
            options.append(settings)
        devices += inputs.values()
        link = root / f"tty-modbus-{channels}-{doors}-{boards}-{baud}"
        bus = ModbusBusEmulator(devices, baud=baud, pacing=True, link_path=link).start()
        drivers = [_driver(name, "modbus", channels, port=bus.device, **settings)
                   for name, settings in zip(names, options, strict=True)]  # fmt: skip
        relays = _modbus_exchange(5 + math.ceil(channels / 8), baud)
        per_board = {"own": relays, "none": relays, "inputs": 2 * relays}[doors]
        return Bus([bus], drivers, boards * per_board)

    return build


KINDS = {
    "cu16": Kind("CU16", (1, 4, 10), _kerong(cu48=False)),
    "cu48": Kind("CU48", (1, 4), _kerong(cu48=True)),
    "modbus-8-d": Kind("Modbus 8 (D), own inputs", (1, 4), _modbus(8, "own")),
    "modbus-8": Kind("Modbus 8, no inputs", (1, 4), _modbus(8, "none")),
    "modbus-16": Kind("Modbus 16, no inputs", (1, 4), _modbus(16, "none")),
    "modbus-32": Kind("Modbus 32, no inputs", (1, 4), _modbus(32, "none")),
    "modbus-8-inputs": Kind("Modbus 8 + input board", (1, 4), _modbus(8, "inputs")),
    "modbus-16-inputs": Kind("Modbus 16 + input board", (1, 4), _modbus(16, "inputs")),
    "modbus-32-inputs": Kind("Modbus 32 + input board", (1, 4), _modbus(32, "inputs")),
}


@dataclass
class Case:
    kind: str
    boards: int
    baud: int
    floor: float
    scans: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def p50(self) -> float:
        return common.percentile(sorted(self.scans), 50)


def measure(root: Path, kind: Kind, boards: int, baud: int, scans: int) -> Case:
    """``scans`` full scans of ``boards`` boards of ``kind`` on one paced bus at ``baud``."""
    bus = kind.build(root, boards, baud)
    case = Case(kind.name, boards, baud, bus.floor)
    try:
        for n in range(WARM_UP + scans):
            began = time.perf_counter()
            for driver in bus.drivers:
                driver.read()
            if n >= WARM_UP:
                case.scans.append(time.perf_counter() - began)
        case.errors = sum(sum(d.stats()["errors"].values()) for d in bus.drivers)
    finally:
        for driver in bus.drivers:
            driver.close()
        for closer in bus.closers:
            closer.close()
    return case


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(cases: list[Case], machine: common.MachineInfo, scans: int) -> None:
    print()
    machine.print()
    common.print_table(
        ["setting", ""],
        [
            ("bus", "one pty per case; the kind's emulator(s) paced at the baud"),
            ("drivers", "one per board on the port; Kerong timeout_s 0.1, Modbus 0.2"),
            ("scan", "read() of every board in turn, perf_counter around it"),
            ("scans", f"{scans} per case, after {WARM_UP} to warm up"),
        ],
    )
    rows = []
    for c in cases:
        ordered = sorted(c.scans)
        rows.append((
            f"{c.kind}, {c.boards} at {c.baud}",
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
        "Full status scan beside the wire floor (the exchanges' bytes at 10 bits, and on "
        "Modbus 2 x 3.5 characters of silence each)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 scans per case, not 200")
    parser.add_argument("--scans", type=int, help="scans per case (default 200)")
    parser.add_argument("--kind", action="append", choices=sorted(KINDS),
                        help="only this kind (again for more; default: every kind)")  # fmt: skip
    args = parser.parse_args(argv)
    scans = args.scans or (30 if args.quick else 200)
    kinds = [KINDS[name] for name in (args.kind or KINDS)]
    root = Path(tempfile.mkdtemp(prefix="lk-scan-", dir="/tmp"))
    machine = common.machine_info()
    cases = []
    try:
        for kind in kinds:
            for baud in BAUDS:
                for boards in kind.counts:
                    print(f"  {kind.name}: {boards} at {baud} baud ...", file=sys.stderr)
                    cases.append(measure(root, kind, boards, baud, scans))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(cases, machine, scans)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
