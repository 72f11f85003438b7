"""The office's ingest under load: events per second into PostgreSQL and into SQLite.

For each database (``--db``) and each number of ``serve`` processes (``--serve``), on a
fresh database and a fresh Mosquitto (Debian's, loopback, the shipped ACL, no ``-v``):
``--kiosks`` simulated kiosks (``bench/fleet_sim.py``, the load generator of
``fleet_load.py``: one thread, real MQTT 5 clients with the kiosks' accounts) send
events in the contract's shape (``parcel_stored``, each a new parcel, so every event
also derives a parcel row and a compartment), and ``locker-office serve`` processes
started as an operator would (``python -m office serve``, each with its own client id
on the shared subscription) store them.

Three phases per run:

- **light**: ``--light-rate`` events/s (500) for ``--light-duration`` s, a load the office
  keeps up with: the p99 there is the latency of one event, not of a queue.
- **steady**: ``--rate`` events/s in all (a Poisson process per kiosk) for
  ``--duration`` s. A probe in this process polls the events table every 20 ms (``id >
  last``) and stamps when each row became visible; latency is that stamp minus the
  ``ts`` the simulated kiosk put in the event at publish time (one machine, one clock),
  so it includes the broker, the office's batch and commit, and up to 20 ms of polling.
- **burst**: every kiosk sends ``--burst`` events at once; the drain rate is the burst
  over the time from the first to the last row becoming visible: the capacity.

After each phase every event is accounted for: *lost* is events the simulated kiosks
published (and the broker accepted) that never became a row; *doubled* is rows beyond
one per (kiosk, seq) (the unique key makes it 0 unless something bypassed it); the
highest seq of each kiosk is also checked against what it sent. Printed beside the
goal: >= 5,000 events/s sustained into PostgreSQL with 0 lost and 0 doubled.

The broker gets ``max_inflight_messages 1000`` and ``max_queued_messages 0`` (no
limit): with the shipped 20 in flight, each ``serve`` process could commit at most 20
messages a batch (docs/office.md, "Sizing the broker for the office").

    python bench/office_ingest.py               # ~4 min
    python bench/office_ingest.py --quick       # ~1 min
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import sqlalchemy as sa
from fleet_sim import SimFleet

from office.store import migrate
from office.store.engine import make_engine
from testkit.broker import running_broker
from testkit.office import OFFICE_PASSWORD, OFFICE_USER, OfficeProcess, write_config
from testkit.postgres import Postgres, running_postgres

GOAL_PER_S = 5000.0
POLL_S = 0.02
BROKER_CONF = "max_connections -1\nmax_inflight_messages 1000\nmax_queued_messages 0\n"

Figures = dict[str, Any]


class Visibility:
    """Polls the events table and stamps when each row first became visible."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.latencies: list[float] = []
        self.first: float | None = None
        self.last: float | None = None
        self._last_id = 0
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Visibility:
        self._thread.start()
        return self

    def reset(self) -> None:
        self.latencies, self.first, self.last = [], None, None

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(10)
        self.engine.dispose()

    def _run(self) -> None:
        query = sa.text("SELECT id, ts FROM events WHERE id > :i ORDER BY id LIMIT 100000")
        while not self._halt.wait(POLL_S):
            with self.engine.connect() as conn:
                rows = conn.execute(query, {"i": self._last_id}).all()
            if not rows:
                continue
            now = time.time()
            self._last_id = rows[-1][0]
            self.latencies += [now - ts for _id, ts in rows]
            self.first = self.first or now
            self.last = now


def count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one())


def accounting(engine: sa.Engine, fleet: SimFleet) -> Figures:
    """Lost, doubled, and kiosks whose highest seq is not what they sent."""
    with engine.connect() as conn:
        rows = int(conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one())
        distinct = int(
            conn.execute(
                sa.text("SELECT count(*) FROM (SELECT DISTINCT kiosk, seq FROM events) AS d")
            ).scalar_one()
        )
        top = dict(conn.execute(sa.text("SELECT kiosk, max(seq) FROM events GROUP BY kiosk")).all())
    wrong = sum(1 for k in fleet.kiosks if k.seq and top.get(k.id) != k.seq)
    return {
        "rows": rows,
        "lost": fleet.events_sent - distinct,
        "doubled": rows - distinct,
        "kiosks_short": wrong,
    }


def bytes_per_event(engine: sa.Engine) -> float:
    """PostgreSQL: the events table with its indexes, per row (NaN on SQLite)."""
    if engine.dialect.name != "postgresql":
        return float("nan")
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_total_relation_size('events')")).scalar_one()
        rows = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    return float(size) / max(int(rows), 1)


def wait_until_stored(engine: sa.Engine, expected: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while count(engine) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return time.monotonic()


def phase(probe: Visibility, figures: Figures, offered: int) -> Figures:
    lat = sorted(probe.latencies)
    span = (probe.last - probe.first) if probe.first and probe.last else float("nan")
    return {
        **figures,
        "offered": offered,
        "visible": len(lat),
        "per_s": len(lat) / span if span and span == span else float("nan"),
        "p50_ms": common.percentile(lat, 50) * 1e3,
        "p99_ms": common.percentile(lat, 99) * 1e3,
        "max_ms": (lat[-1] * 1e3) if lat else float("nan"),
    }


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_s(pid: int) -> tuple[float, float]:
    """(on a CPU, waiting for one) in seconds, over every thread of ``pid`` so far."""
    ran = waited = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        ran += int(fields[0]) / 1e9
        waited += int(fields[1]) / 1e9
    return ran, waited


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(args: argparse.Namespace, url: str, serve: int, folder: Path) -> Figures:
    users = {f"SIM-{i:05d}": secrets.token_hex(6) for i in range(1, args.kiosks + 1)}
    with running_broker(
        folder / "broker",
        {OFFICE_USER: OFFICE_PASSWORD, **users},
        persistence=False,
        extra_conf=BROKER_CONF,
        verbose=False,
    ) as broker:
        config = write_config(
            folder,
            broker,
            url,
            None,
            batch_max=args.batch,
            sweep_s=2.0,
            gap_grace_s=10.0,
            resend_retry_s=60.0,
        )  # the defaults
        offices = [OfficeProcess(config, f"office-{i}").start() for i in range(1, serve + 1)]
        engine = make_engine(url)
        probe = Visibility(url).start()
        fleet = SimFleet(broker.host, broker.port, users)
        out: Figures = {}
        try:
            fleet.connect()
            time.sleep(1.0)
            out["light"] = light_phase(args, fleet, engine, probe)
            probe.reset()
            cpu0 = [cpu_s(o.proc.pid) for o in offices]  # type: ignore[union-attr]
            queue0 = [runqueue_s(o.proc.pid) for o in offices]  # type: ignore[union-attr]
            broker_cpu0 = cpu_s(broker.proc.pid)
            started = time.monotonic()
            fleet.start_events(args.rate / args.kiosks)
            time.sleep(args.duration)
            fleet.stop_events()
            time.sleep(0.5)  # the driver thread takes the stop, and sends what was due
            sent = fleet.events_sent
            wait_until_stored(engine, sent, 120)
            time.sleep(3 * POLL_S)
            wall = time.monotonic() - started
            out["steady"] = phase(probe, accounting(engine, fleet), sent)
            out["steady"]["offered_per_s"] = args.rate
            out["office_cpu"] = sum(cpu_s(o.proc.pid) for o in offices) - sum(cpu0)  # type: ignore[union-attr]
            out["office_cpu_share"] = out["office_cpu"] / wall
            out["office_cpu_us_per_event"] = out["office_cpu"] / max(sent, 1) * 1e6
            queue1 = [runqueue_s(o.proc.pid) for o in offices]  # type: ignore[union-attr]
            ran = sum(b[0] - a[0] for a, b in zip(queue0, queue1, strict=True))
            waited = sum(b[1] - a[1] for a, b in zip(queue0, queue1, strict=True))
            out["office_waited_for_cpu"] = waited / max(ran, 1e-9)
            out["broker_cpu_share"] = (cpu_s(broker.proc.pid) - broker_cpu0) / wall
            probe.reset()
            before = fleet.events_sent
            fleet.burst(args.burst)
            expected = before + args.kiosks * args.burst
            wait_until_stored(engine, expected, 300)
            time.sleep(3 * POLL_S)
            out["burst"] = phase(probe, accounting(engine, fleet), fleet.events_sent - before)
            out["rss_mb"] = [rss_mb(o.proc.pid) for o in offices]  # type: ignore[union-attr]
            out["bytes_per_event"] = bytes_per_event(engine)
            out["health"] = [o.health() for o in offices]
        finally:
            fleet.close()
            probe.stop()
            for office in offices:
                office.stop()
            engine.dispose()
    return out


def light_phase(
    args: argparse.Namespace, fleet: SimFleet, engine: sa.Engine, probe: Visibility
) -> Figures:
    """A load the office keeps up with (``--light-rate``): the latency of one event."""
    before = fleet.events_sent
    fleet.start_events(args.light_rate / args.kiosks)
    time.sleep(args.light_duration)
    fleet.stop_events()
    time.sleep(0.5)
    wait_until_stored(engine, fleet.events_sent, 60)
    time.sleep(3 * POLL_S)
    return phase(probe, accounting(engine, fleet), fleet.events_sent - before)


def fresh_database(kind: str, folder: Path, pg: Postgres | None, n: int) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'office-{n}.db'}"
    else:
        assert pg is not None
        url = pg.create_database(f"bench_{n}")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=500, help="simulated kiosks (500)")
    parser.add_argument(
        "--rate",
        type=float,
        default=6000.0,
        help="events/s offered in all in the steady phase (6000)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="steady seconds (20)")
    parser.add_argument(
        "--light-rate",
        type=float,
        default=500.0,
        help="events/s of the first, light phase, for latency (500)",
    )
    parser.add_argument(
        "--light-duration", type=float, default=10.0, help="seconds of the light phase (10)"
    )
    parser.add_argument("--burst", type=int, default=60, help="events per kiosk at once (60)")
    parser.add_argument("--batch", type=int, default=1000, help="ingest.batch_max (1000)")
    parser.add_argument("--db", default="postgresql,sqlite", help="postgresql,sqlite")
    parser.add_argument("--serve", default="1,2", help="serve processes per run (1,2)")
    parser.add_argument("--quick", action="store_true", help="100 kiosks, 5 s, bursts of 20")
    parser.add_argument("--json", action="store_true", help="one JSON object, no tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.kiosks, args.duration, args.burst, args.rate = 100, 5.0, 20, 2000.0
        args.light_duration = 3.0
    folder = Path(tempfile.mkdtemp(prefix="lk-office-", dir="/tmp"))
    machine = common.machine_info(folder)
    results: list[tuple[str, int, Figures]] = []
    try:
        with running_postgres() as pg:
            for n, (kind, serve) in enumerate(
                [(k, int(s)) for k in args.db.split(",") for s in args.serve.split(",")]
            ):
                url = fresh_database(kind, folder, pg, n)
                results.append((kind, serve, one_run(args, url, serve, folder / f"run-{n}")))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(
            json.dumps(
                {
                    "machine": dict(machine.rows()),
                    "args": vars(args),
                    "runs": [{"db": k, "serve": s, **f} for k, s, f in results],
                }
            )
        )
        return 0
    print_results(args, machine, results)
    return 0


def f0(value: float) -> str:
    return "-" if value != value else f"{value:,.0f}"


def print_results(
    args: argparse.Namespace, machine: common.MachineInfo, results: list[tuple[str, int, Figures]]
) -> None:
    print(
        f"office_ingest: {args.kiosks} simulated kiosks: light {args.light_rate:,.0f} events/s "
        f"for {args.light_duration:g} s, steady {args.rate:,.0f} events/s offered for "
        f"{args.duration:g} s, then a burst of {args.burst} per kiosk\n"
    )
    machine.print()
    rows = []
    for kind, serve, f in results:
        for name in ("light", "steady", "burst"):
            p = f[name]
            rows.append(
                (
                    f"{kind}, {serve} serve, {name}",
                    f"{p['offered']:,}",
                    f"{p['rows']:,}",
                    p["lost"],
                    p["doubled"],
                    p["kiosks_short"],
                    f0(p["per_s"]),
                    f"{p['p50_ms']:.0f}",
                    f"{p['p99_ms']:.0f}",
                    f"{p['max_ms']:.0f}",
                )
            )
    common.print_table(
        [
            "run",
            "sent",
            "rows",
            "lost",
            "doubled",
            "short",
            "stored/s",
            "p50 ms",
            "p99 ms",
            "max ms",
        ],
        rows,
        "events: publish (kiosk's ts) to the row visible in the database",
    )
    common.print_table(
        [
            "run",
            "office CPU",
            "µs CPU/event",
            "waited/ran",
            "broker CPU",
            "serve RSS MB",
            "events bytes/row",
        ],
        [
            (
                f"{k}, {s} serve",
                f"{100 * f['office_cpu_share']:.0f} %",
                f"{f['office_cpu_us_per_event']:.0f}",
                f"{f['office_waited_for_cpu']:.2f}",
                f"{100 * f['broker_cpu_share']:.0f} %",
                ", ".join(f"{r:.0f}" for r in f["rss_mb"]),
                f0(f["bytes_per_event"]),
            )
            for k, s, f in results
        ],
        "during the steady phase (CPU: % of one core, all serve processes together; "
        "waited/ran: time the office's threads were ready but waited for a CPU, per second "
        "they ran, from /proc/PID/task/*/schedstat)",
    )
    for kind, serve, f in results:
        if kind != "postgresql":
            continue
        rate = max(f["steady"]["per_s"], f["burst"]["per_s"])  # the office's pace when behind
        clean = all(
            f[p]["lost"] == 0 and f[p]["doubled"] == 0 for p in ("light", "steady", "burst")
        )
        print(
            f"goal: >= {GOAL_PER_S:,.0f} events/s into PostgreSQL, 0 lost, 0 doubled "
            f"({serve} serve): {f0(rate)}/s, {'clean' if clean else 'NOT clean'}: "
            f"{common.verdict(rate >= GOAL_PER_S and clean)}"
        )


if __name__ == "__main__":
    sys.exit(main())
