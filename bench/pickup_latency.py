"""Pickup latency: from "API request accepted" to "unlock reaching the driver".

The real daemon (:func:`kiosk.daemon.serve`: store, boards, use cases, outbox, expiry,
uvicorn on its Unix socket) runs in this process on the simulator. Probes are added
here, in the benchmark only; each takes a ``time.perf_counter()`` stamp and changes
nothing the product does:

* an ASGI middleware around the app stamps when a ``POST /v1/pickup`` reaches the
  application ("request accepted");
* ``SimDriver.pulse`` is wrapped to stamp when the unlock reaches the driver (the first
  pulse of the pickup, if the door was not seen open and the lock fired again);
* ``Kiosk.pickup``, ``Store.begin_op`` and ``LockSafety.unlock``, wrapped on the daemon's
  instances, split the latency into the segments printed under "Where the time goes".

Parcels are seeded through the store (a deposit's intent and its close, as a courier's
deposit would leave them, without firing a lock); each pickup is sent by an
``httpx.AsyncClient`` over the daemon's Unix socket, one at a time, each after the
previous door closed and the lock queue is idle, so queueing behind another pulse is
not measured.

The floor is one small ``os.write`` + ``os.fsync`` of a file in the data dir, measured in
the same run (half before the pickups, half after). Goal: p50 <= 1.5 x the floor's p50.

    python bench/pickup_latency.py            # 1,000 pickups
    python bench/pickup_latency.py --quick    # 300 pickups
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import httpx

from drivers.base import DoorState
from drivers.sim import SimDriver
from kiosk import daemon
from kiosk.access import codes
from kiosk.config import Config, load_config
from kiosk.core import Kiosk
from kiosk.domain import CompartmentState, Purpose

COMPARTMENTS = 64
PULSE_MS = 50  # the config's minimum
GAP_MS = 0
POLL_HZ = 100
CLOSE_DELAY_S = 0.05  # open long enough for a poll to see it, even on a busy machine
SETTLE_S = 0.003
GOAL_RATIO = 1.5

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


STAMPS = ("arrival", "service", "commit_start", "commit_end", "queued", "pulse")
"""The moments stamped on the way of one pickup, in the order they happen."""

SEGMENTS = (
    ("accepted -> Kiosk.pickup called (HTTP, routing, validation)", "arrival", "service"),
    ("Kiosk.pickup -> intent commit starts (throttle, HMAC, lookups)", "service", "commit_start"),
    ("intent commit (Store.begin_op: SQL, fsync, event listeners)", "commit_start", "commit_end"),
    ("committed -> unlock queued (door task, safety layer)", "commit_end", "queued"),
    ("queued -> unlock at driver (lock thread wakes, board lock)", "queued", "pulse"),
)


@dataclass
class Probe:
    """Timestamps (``time.perf_counter``) left by the instruments for the current pickup."""

    stamps: dict[str, float] = field(default_factory=dict)
    pulses: dict[int, float] = field(default_factory=dict)
    fires: int = 0
    kiosk: Kiosk | None = None

    def stamp(self, name: str) -> None:
        self.stamps[name] = time.perf_counter()

    def reset(self) -> None:
        self.stamps = {}
        self.fires = 0


@dataclass(frozen=True)
class Sample:
    stamps: dict[str, float]

    @property
    def latency(self) -> float:
        return self.stamps["pulse"] - self.stamps["arrival"]

    def between(self, start: str, end: str) -> float:
        return self.stamps[end] - self.stamps[start]


class ArrivalStamp:
    """ASGI middleware: note when a pickup request reaches the application."""

    def __init__(self, app: Asgi, probe: Probe) -> None:
        self.app = app
        self.probe = probe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/pickup":
            self.probe.stamp("arrival")
        await self.app(scope, receive, send)


def instrument(probe: Probe) -> Callable[[], None]:
    """Install the probes; returns a function that removes them."""
    original_create_app = daemon.create_app
    original_pulse = SimDriver.pulse

    def create_app(kiosk: Kiosk, *use_cases: Any) -> Any:
        probe.kiosk = kiosk
        # Instance attributes: the daemon's objects call these through ``self.x.y``.
        kiosk.pickup = _stamped(kiosk.pickup, probe, "service")
        store, safety = kiosk.store, kiosk.hw.safety
        store.begin_op = _stamped(store.begin_op, probe, "commit_start", "commit_end")
        safety.unlock = _stamped(safety.unlock, probe, "queued")
        return ArrivalStamp(original_create_app(kiosk, *use_cases), probe)

    def pulse(self: SimDriver, lock: int, seconds: float) -> None:
        # The first pulse of a pickup counts; a retry (door not seen open) only adds up.
        now = time.perf_counter()
        probe.pulses.setdefault(lock, now)
        probe.fires += 1
        original_pulse(self, lock, seconds)

    daemon.create_app = create_app
    SimDriver.pulse = pulse

    def remove() -> None:
        daemon.create_app = original_create_app
        SimDriver.pulse = original_pulse

    return remove


def _stamped(function: Any, probe: Probe, before: str, after: str = "") -> Any:
    """``function`` stamping ``before`` when called (and ``after`` when it returns)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        probe.stamp(before)
        try:
            return function(*args, **kwargs)
        finally:
            if after:
                probe.stamp(after)

    return wrapper


# -- the floor --------------------------------------------------------------------------


def fsync_floor(directory: Path, samples: int) -> list[float]:
    """Seconds per 64-byte ``os.write`` + ``os.fsync`` of a file in ``directory``."""
    path = directory / "fsync-probe.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    out = []
    try:
        block = b"x" * 64
        for _ in range(samples):
            start = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            out.append(time.perf_counter() - start)
    finally:
        os.close(fd)
    return out


# -- seeding and driving ----------------------------------------------------------------


def seed_parcels(kiosk: Kiosk, serial: int) -> dict[str, str]:
    """Store a parcel in every free compartment; returns ``{compartment: pickup code}``.

    Each parcel goes through the store as a courier's deposit would (intent, then the
    close that stores it, its code's tag and its notification), without firing a lock.
    """
    store = kiosk.store
    digits = kiosk.config.policy.pickup_code_digits
    out = {}
    for row in store.compartments():
        if row.state is not CompartmentState.AVAILABLE:
            continue
        if kiosk.hw.door(row.id) is not DoorState.CLOSED or kiosk.doors.live_for(row.id):
            continue
        serial += 1
        details = {
            "barcode": f"BENCH{serial:08d}",
            "size": row.size,
            "phone": "+49 30 1234567",
            "email": None,
            "announced_parcel": None,
            "accessible": False,
        }
        op = store.begin_op(row.id, Purpose.DEPOSIT, "bench", None, details)
        issued = codes.new_code(kiosk.key, digits, store.is_code_tag_live)
        expires_at = time.time() + kiosk.config.policy.hold_hours * 3600
        notices = functools.partial(
            kiosk.notices.stored, op=op, code_nonce=issued.nonce, expires_at=expires_at
        )
        store.finish_deposit(op.id, issued.tag, expires_at, notices)
        out[row.id] = issued.code
    kiosk.refresh_all()
    return out


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def quiesce(kiosk: Kiosk, lock_free_at: float) -> None:
    """Wait until no door operation is live and the lock queue is idle."""
    await wait_until(lambda: not kiosk.doors.live, 10, "the previous door to close")
    await wait_until(lambda: kiosk.store.outbox_depth() == 0, 30, "the outbox to drain")
    delay = lock_free_at - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    await asyncio.sleep(SETTLE_S)


async def drive(config: Config, probe: Probe, pickups: int, floor_n: int) -> Results:
    data_dir = config.kiosk.data_dir
    ready = data_dir.parent / "ready"
    server = asyncio.create_task(daemon.serve(config, ready), name="daemon")
    await wait_until(lambda: ready.exists() or server.done(), 30, "the daemon to be ready")
    if server.done():
        server.result()
        raise RuntimeError("the daemon stopped before it was ready")
    kiosk = probe.kiosk
    assert kiosk is not None
    lock_of = {c.id: c.lock for c in config.compartments}
    await wait_until(
        lambda: all(kiosk.hw.door(cid) is DoorState.CLOSED for cid in lock_of), 10, "doors"
    )

    floor = fsync_floor(data_dir, floor_n // 2)
    samples: list[Sample] = []
    refires = 0
    rng = random.Random(2)
    lock_free_at = 0.0
    transport = httpx.AsyncHTTPTransport(uds=str(config.kiosk.socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk", timeout=30) as api:
        while len(samples) < pickups:
            await quiesce(kiosk, lock_free_at)
            waiting = list(seed_parcels(kiosk, len(samples)).items())
            rng.shuffle(waiting)
            for cid, code in waiting[: pickups - len(samples)]:
                await quiesce(kiosk, lock_free_at)
                probe.reset()
                reply = await api.post("/v1/pickup", json={"code": code})
                if reply.status_code != 200 or reply.json().get("compartment") != cid:
                    raise RuntimeError(f"pickup from {cid} failed: {reply.text}")
                samples.append(take_sample(probe, lock_of[cid]))
                refires += probe.fires - 1
                lock_free_at = samples[-1].stamps["pulse"] + (PULSE_MS + GAP_MS) / 1000
            progress(len(samples), pickups)
        await quiesce(kiosk, lock_free_at)
    floor += fsync_floor(data_dir, floor_n - floor_n // 2)
    print(file=sys.stderr)
    os.kill(os.getpid(), signal.SIGTERM)  # the daemon's own way to stop
    await server
    return Results(samples, floor, refires)


def take_sample(probe: Probe, lock: int) -> Sample:
    pulse = probe.pulses.pop(lock, None)
    if pulse is not None:
        probe.stamps["pulse"] = pulse
    missing = [name for name in STAMPS if name not in probe.stamps]
    if missing:
        raise RuntimeError(f"probes did not fire: {missing}; has the pickup path changed?")
    return Sample(dict(probe.stamps))


def progress(done: int, total: int) -> None:
    print(f"\r  pickups: {done:,}/{total:,}", end="", file=sys.stderr, flush=True)


# -- report -----------------------------------------------------------------------------


@dataclass
class Results:
    samples: list[Sample]
    floor: list[float]
    refires: int


def stats_row(name: str, values: list[float]) -> list[object]:
    ordered = sorted(values)
    return [
        name,
        f"{len(ordered):,}",
        common.fmt_us(common.percentile(ordered, 50)),
        common.fmt_us(common.percentile(ordered, 90)),
        common.fmt_us(common.percentile(ordered, 99)),
        common.fmt_us(ordered[-1]),
    ]


def report(results: Results, machine: common.MachineInfo, args: argparse.Namespace) -> None:
    samples = results.samples
    latency = [s.latency for s in samples]
    print()
    machine.print()
    common.print_table(
        ["setting", ""],
        [
            ("daemon", "kiosk.daemon.serve in this process; uvicorn on its Unix socket"),
            ("client", "httpx.AsyncClient over the socket, one pickup at a time"),
            ("bank", f"{COMPARTMENTS} compartments, sim driver, close_delay_s={CLOSE_DELAY_S}"),
            ("locks", f"pulse_ms={PULSE_MS}, gap_ms={GAP_MS}; doors.poll_hz={POLL_HZ}"),
            ("pickups", f"{len(samples):,} (seeded {COMPARTMENTS} at a time through the store)"),
        ],
    )
    headers = ["µs", "samples", "p50", "p90", "p99", "max"]
    common.print_table(
        headers,
        [
            stats_row("pickup: request accepted -> unlock at driver", latency),
            stats_row("floor: 64-byte write + fsync in the data dir", results.floor),
        ],
        "Pickup latency beside the floor",
    )
    common.print_table(
        headers,
        [stats_row(name, [s.between(a, b) for s in samples]) for name, a, b in SEGMENTS],
        "Where the time goes",
    )
    if results.refires:
        print(
            f"  {results.refires} pickup(s) fired twice: the simulated person closed the door "
            "before a poll saw it open; the first pulse is the one measured.\n"
        )
    tenth = max(1, len(latency) // 10)
    early, late = statistics.median(latency[:tenth]), statistics.median(latency[-tenth:])
    print(
        f"  p50 of the first {tenth} pickups {common.fmt_us(early)} µs, of the last {tenth} "
        f"{common.fmt_us(late)} µs (the history grows during the run)\n"
    )
    p50 = common.percentile(sorted(latency), 50)
    floor_p50 = common.percentile(sorted(results.floor), 50)
    ratio = p50 / floor_p50
    common.print_table(
        ["goal", "target", "measured", ""],
        [
            (
                "pickup p50 / floor p50",
                f"<= {GOAL_RATIO}x",
                f"{ratio:.2f}x ({common.fmt_us(p50)} / {common.fmt_us(floor_p50)} µs)",
                common.verdict(ratio <= GOAL_RATIO),
            )
        ],
    )


def write_config(root: Path) -> Config:
    data_dir = root / "data"
    path = root / "kiosk.toml"
    sections: dict[str, dict[str, Any]] = {
        "doors": {
            "poll_hz": POLL_HZ,
            "debounce_ms": 0,
            "debounce_polls": 1,
            "open_timeout_s": 2.0,
        },
        "locks": {"pulse_ms": PULSE_MS, "gap_ms": GAP_MS},
    }
    board = {"person": "auto", "close_delay_s": CLOSE_DELAY_S}
    path.write_text(common.render_config(data_dir, COMPARTMENTS, sections, board))
    return load_config(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 pickups instead of 1,000")
    parser.add_argument("--pickups", type=int, help="number of pickups (default 1,000)")
    parser.add_argument(
        "--dir", default="/tmp", help="where the throwaway data dir goes (default /tmp)"
    )
    args = parser.parse_args(argv)
    pickups = args.pickups or (300 if args.quick else 1000)
    root = Path(tempfile.mkdtemp(prefix="lk-bench-", dir=args.dir))
    logging.basicConfig(
        filename=root / "daemon.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    probe = Probe()
    remove = instrument(probe)
    try:
        config = write_config(root)
        machine = common.machine_info(root)
        print(f"pickup latency: {pickups:,} pickups on {root}", file=sys.stderr)
        results = asyncio.run(drive(config, probe, pickups, floor_n=max(pickups, 1000)))
    finally:
        remove()
        shutil.rmtree(root, ignore_errors=True)
    report(results, machine, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
