"""The web console at scale: 10,000 kiosks and 10 million events in PostgreSQL.

A fresh PostgreSQL (Debian's, its own cluster in a temporary directory) is migrated and
filled set-based, one ``INSERT ... SELECT`` from ``generate_series`` per table (never
row by row): ``--kiosks`` kiosks (24 compartments each, their state, health and a
site), ``--events-per-kiosk`` events each (10 million in all by default: parcel
events, doors, sign-ins, alarms, over 90 days), 100 parcels per kiosk, 10 alarms per
kiosk (a fifth not acknowledged), a day of hourly occupancy samples, and commands. The
events' indexes are built after the rows are in (as a bulk load does); the generator's
time per table is printed.

Then a real ``locker-office serve`` (with a real Mosquitto) serves the console, and
Debian's Chromium, driven by Playwright, signs in and opens each page ``--runs`` times
with varied parameters: the network overview (sorted and filtered, pages through), the
alarm inbox, a parcel search by a barcode that exists, and a kiosk's page. Each page's
time is the browser's navigation timing (``loadEventEnd - startTime`` of the
navigation entry: request, server, transfer, parse and render). Printed: p50, p95 and
max per page beside the goal (p95 <= 200 ms), and the memory of the ``serve`` process
(its resident set now and at its peak, from /proc) at that size.

    python bench/office_console.py                   # 10,000 kiosks, 10 M events
    python bench/office_console.py --quick           # 1,000 kiosks, 1 M events
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import sqlalchemy as sa

from office.store import accounts, migrate
from office.store.engine import make_engine
from office.vocab import Role
from testkit.broker import running_broker
from testkit.console import browser, sign_in
from testkit.office import BROKER_USERS, running_office, write_config, write_keys
from testkit.postgres import running_postgres

GOAL_MS = 200.0
PASSWORD = "bench-password-1234"
SETTINGS = ("shared_buffers=512MB", "work_mem=16MB", "maintenance_work_mem=512MB",
            "max_wal_size=4GB", "synchronous_commit=off", "checkpoint_timeout=30min")  # fmt: skip
"""The server for a bulk load of a few GB; the pages' figures do not depend on the last
three (they make the load faster), and 512 MB of shared buffers is a small production
server's."""

EVENT_KINDS = ("signed_in", "unlock", "door_opened", "door_closed", "parcel_stored",
               "notification_sent", "pickup_reminder", "unlock", "door_opened",
               "door_closed", "parcel_picked_up", "board_online")  # fmt: skip
EVENT_INDEXES = ("ix_events_kiosk_parcel_ref", "ix_events_ts", "ix_events_kind_ts",
                 "ix_events_actor_ts")  # fmt: skip


def generate(engine: sa.Engine, kiosks: int, per_kiosk: int) -> list[tuple[str, str, str]]:
    """Fill the database; ``(table, rows, seconds)`` per step."""
    now = time.time()
    steps: list[tuple[str, str, str]] = []
    with engine.begin() as conn:
        for name, sql in _statements(kiosks, per_kiosk, now):
            started = time.monotonic()
            done = conn.exec_driver_sql(sql.replace("%", "%%"))  # no parameters: % is modulo
            rows = f"{done.rowcount:,}" if done.rowcount and done.rowcount > 0 else ""
            steps.append((name, rows, f"{time.monotonic() - started:.1f}"))
            print(f"  {name}: {rows} rows in {steps[-1][2]} s", flush=True)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        started = time.monotonic()
        conn.exec_driver_sql("VACUUM ANALYZE")
        steps.append(("VACUUM ANALYZE", "", f"{time.monotonic() - started:.1f}"))
    return steps


def _statements(kiosks: int, per_kiosk: int, now: float) -> list[tuple[str, str]]:
    day = 86400
    kinds = "ARRAY[" + ",".join(f"'{k}'" for k in EVENT_KINDS) + "]"
    kiosk_id = "'K' || lpad(k::text, 5, '0')"
    wall = (
        "(SELECT jsonb_agg(jsonb_build_object('id', 'A' || lpad(c::text, 2, '0'), 'size', "
        "(ARRAY['S','S','M','M','L','XL'])[1 + c % 6], 'state', CASE WHEN (k + c) % 3 = 0 "
        "THEN 'OCCUPIED' ELSE 'AVAILABLE' END, 'door', 'CLOSED', 'accessible', c = 1, "
        "'held', false, 'board_online', true)) FROM generate_series(1, 24) c)"
    )
    return [
        (
            "drop the events' secondary indexes",
            "; ".join(f"DROP INDEX {ix}" for ix in EVENT_INDEXES),
        ),
        (
            "kiosks",
            f"""INSERT INTO kiosks (id, site, first_seen_at, last_seen_at, status,
            status_since, presence_at, version, scanned_seq, max_seq)
            SELECT {kiosk_id}, 'site-' || lpad((k % 50)::text, 2, '0'), {now} - 90 * {day},
              {now} - (k % 600), CASE WHEN k % 20 = 0 THEN 'offline' ELSE 'online' END,
              {now} - (k % 5000), {now} - (k % 600), '0.1.' || (k % 4), {per_kiosk}, {per_kiosk}
            FROM generate_series(1, {kiosks}) k""",
        ),
        (
            "kiosk_state",
            f"""INSERT INTO kiosk_state (kiosk, ts, received_at, free, total,
            out_of_service, held, doors_open, doors_unknown, boards, guard, alarms_24h,
            boards_down, compartments)
            SELECT {kiosk_id}, {now}, {now}, '{{"S": 3, "M": 2, "L": 2, "XL": 1}}',
              '{{"S": 8, "M": 8, "L": 4, "XL": 4}}', '[]', '[]', '[]', '[]',
              CASE WHEN k % 97 = 0 THEN '{{"top": false}}'::jsonb ELSE '{{"top": true}}' END,
              CASE WHEN k % 211 = 0 THEN 'tripped' ELSE 'ok' END, k % 3,
              CASE WHEN k % 97 = 0 THEN 1 ELSE 0 END, {wall}
            FROM generate_series(1, {kiosks}) k""",
        ),
        (
            "kiosk_health",
            f"""INSERT INTO kiosk_health (kiosk, ts, received_at, clock_offset_s,
            uptime_s, outbox_depth, notify_depth, acked_seq, acked_seq_at, boards)
            SELECT {kiosk_id}, {now}, {now}, 0.2, 86400, 0, 0, {per_kiosk}, {now},
              '{{"top": {{"online": true, "errors": 0, "last_seen": {now}}}}}'
            FROM generate_series(1, {kiosks}) k""",
        ),
        (
            "events",
            f"""INSERT INTO events (kiosk, seq, ts, received_at, kind, severity, actor,
            compartment, parcel_ref, detail)
            SELECT {kiosk_id}, s, {now} - 90 * {day} + s * (90.0 * {day} / {per_kiosk}),
              {now} - 90 * {day} + s * (90.0 * {day} / {per_kiosk}) + 0.2,
              ({kinds})[1 + s % {len(EVENT_KINDS)}], 'info',
              CASE WHEN s % 3 = 0 THEN 'courier-' || (k % 40) END,
              'A' || lpad((1 + s % 24)::text, 2, '0'),
              CASE WHEN s % {len(EVENT_KINDS)} IN (4, 10) THEN s / 10 END,
              CASE WHEN s % {len(EVENT_KINDS)} = 4
                THEN jsonb_build_object('parcel', s / 10, 'barcode', 'JJD' || k || 'X' || (s / 10))
                ELSE '{{}}'::jsonb END
            FROM generate_series(1, {kiosks}) k, generate_series(1, {per_kiosk}) s""",
        ),
        (
            "events' indexes",
            "; ".join(
                [
                    "CREATE INDEX ix_events_kiosk_parcel_ref ON events (kiosk, parcel_ref)",
                    "CREATE INDEX ix_events_ts ON events (ts)",
                    "CREATE INDEX ix_events_kind_ts ON events (kind, ts)",
                    "CREATE INDEX ix_events_actor_ts ON events (actor, ts)",
                ]
            ),
        ),
        (
            "parcels",
            f"""INSERT INTO parcels (kiosk, local_id, barcode, size, state, state_seq,
            compartment, courier, stored_at, expires_at, updated_at)
            SELECT {kiosk_id}, p, 'JJD' || k || 'X' || p, 'M',
              CASE WHEN p > 95 THEN 'STORED' WHEN p > 93 THEN 'EXPIRED' ELSE 'PICKED_UP' END,
              p * 10, 'A' || lpad((1 + p % 24)::text, 2, '0'), 'courier-' || (k % 40),
              {now} - (100 - p) * 3600 * 20, {now} - (100 - p) * 3600 * 20 + 72 * 3600,
              {now}
            FROM generate_series(1, {kiosks}) k, generate_series(1, 100) p""",
        ),
        (
            "alarms",
            f"""INSERT INTO alarms (kiosk, kind, source_seq, compartment, raised_at,
            detail, resolved_at, acked_at, ack_note)
            SELECT {kiosk_id}, (ARRAY['forced_open','door_left_open','board_offline',
              'door_did_not_open','problem_report'])[1 + a % 5], a * 97,
              'A' || lpad((1 + a % 24)::text, 2, '0'), {now} - a * 7200 - k,
              '{{"event": "door_left_open"}}', {now} - a * 7000,
              CASE WHEN a > 2 THEN {now} - a * 6000 END, CASE WHEN a > 2 THEN 'checked' END
            FROM generate_series(1, {kiosks}) k, generate_series(1, 10) a""",
        ),
        (
            "occupancy_samples",
            f"""INSERT INTO occupancy_samples (kiosk, at, size, free, total)
            SELECT {kiosk_id}, {now} - h * 3600, sz, (k + h) % 8, 8
            FROM generate_series(1, {kiosks}) k, generate_series(0, 23) h,
                 unnest(ARRAY['S','M','L','XL']) sz""",
        ),
        (
            "commands",
            f"""INSERT INTO commands (id, kiosk, command, args, asked_by, why, sent_at,
            expires_at, published_at, answered_at, ok, message)
            SELECT 'cmd-' || k || '-' || c, {kiosk_id}, 'open', '{{"compartment": "A01"}}',
              'dora', 'bench', {now} - c * 3600, {now} - c * 3600 + 120, {now} - c * 3600,
              {now} - c * 3600 + 2, true, 'Door A01 opened.'
            FROM generate_series(1, {kiosks}) k, generate_series(1, 3) c""",
        ),
    ]


def measure(base: str, kiosks: int, runs: int) -> dict[str, list[float]]:
    """Each page ``runs`` times in Chromium: its navigation time in ms."""
    rng = random.Random(7)
    sorts = ["id", "-last_seen", "alarms", "status", "version", "site"]
    pages_of_kiosks = max(1, kiosks // 50)

    def kiosk() -> int:
        return rng.randint(1, kiosks)

    urls = {
        "network overview": lambda: (f"/?sort={rng.choice(sorts)}"
                                     f"&page={rng.randint(1, pages_of_kiosks)}"),
        "alarm inbox": lambda: rng.choice(
            ["/alarms", "/alarms?view=all", f"/alarms?kiosk=K{kiosk():05d}",
             f"/alarms?page={rng.randint(1, 40)}", "/alarms?kind=forced_open"]),
        "parcel search": lambda: f"/parcels?barcode=JJD{kiosk()}X{rng.randint(1, 100)}",
        "kiosk page": lambda: f"/kiosks/K{kiosk():05d}",
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in urls}
    with browser() as page:
        sign_in(page, base, "bench")
        for name, url in urls.items():
            page.goto(f"{base}{url()}")  # the first visit compiles the page's template
            for _ in range(runs):
                page.goto(f"{base}{url()}")
                times[name].append(_navigation_ms(page))
                times[f"{name} (server)"] = times.get(f"{name} (server)", [])
                times[f"{name} (server)"].append(_server_ms(page))
    return times


NAVIGATION = (
    "() => { const n = performance.getEntriesByType('navigation')[0];"
    " return [n.startTime, n.requestStart, n.responseStart, n.loadEventEnd]; }"
)


def _navigation_ms(page: Any) -> float:
    entry = page.evaluate(NAVIGATION)
    return float(entry[3] - entry[0])


def _server_ms(page: Any) -> float:
    """From the request sent to the first byte of the answer: the office's share."""
    entry = page.evaluate(NAVIGATION)
    return float(entry[2] - entry[1])


def cpu_s(pid: int) -> tuple[float, float]:
    """``(ran, waited)``: seconds the process's threads ran, and were ready but waited
    for a CPU (``/proc/PID/task/*/schedstat``): how much of a page's time is the load of
    the machine."""
    ran = waited = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        ran, waited = ran + int(fields[0]) / 1e9, waited + int(fields[1]) / 1e9
    return ran, waited


def memory_mb(pid: int) -> tuple[float, float]:
    """``(VmRSS, VmHWM)`` of a process in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=10_000)
    parser.add_argument("--events-per-kiosk", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="1,000 kiosks, 20 runs a page")
    args = parser.parse_args()
    if args.quick:
        args.kiosks, args.runs = 1000, 20
    machine = common.machine_info()
    total = args.kiosks * args.events_per_kiosk
    print(f"{args.kiosks:,} kiosks, {total:,} events; {args.runs} runs a page", flush=True)
    with tempfile.TemporaryDirectory(prefix="lk-console-") as tmp, running_postgres(SETTINGS) as pg:
        folder = Path(tmp)
        url = pg.create_database("office")
        engine = make_engine(url)
        migrate.upgrade(engine)
        print("generating (set-based):", flush=True)
        started = time.monotonic()
        steps = generate(engine, args.kiosks, args.events_per_kiosk)
        generated_s = time.monotonic() - started
        with engine.begin() as conn:
            accounts.add(conn, "bench", PASSWORD, Role.ADMIN, [], "bench")
        size = _database_size(engine)
        engine.dispose()
        with running_broker(folder / "broker", BROKER_USERS) as broker:
            _key, key_file, _ring = write_keys(folder)
            config = write_config(folder, broker, url, key_file)
            with running_office(config) as office:
                assert office.proc is not None
                rss_idle = memory_mb(office.proc.pid)
                from testkit import console

                console.PASSWORDS["bench"] = ("admin", PASSWORD)
                before = cpu_s(office.proc.pid)
                times = measure(f"http://127.0.0.1:{office.port}", args.kiosks, args.runs)
                after = cpu_s(office.proc.pid)
                rss, peak = memory_mb(office.proc.pid)
                ran, waited = after[0] - before[0], after[1] - before[1]
    _report(machine, steps, generated_s, size, times, rss_idle, rss, peak, args)
    print(f"serve during the pages: {ran:.1f} s of CPU, {waited:.1f} s ready but waiting "
          f"for a CPU (waited/ran {waited / ran:.2f})")  # fmt: skip
    return 0


def _database_size(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return str(found.scalar())


def _report(
    machine: common.MachineInfo,
    steps: list[tuple[str, str, str]],
    generated_s: float,
    size: str,
    times: dict[str, list[float]],
    rss_idle: tuple[float, float],
    rss: float,
    peak: float,
    args: argparse.Namespace,
) -> None:
    print()
    machine.print()
    print()
    common.print_table(["generator step", "rows", "s"], steps, "the data (set-based SQL):")
    print(f"generated in {generated_s:.0f} s; the database is {size}")
    print()
    rows = []
    for name, found in times.items():
        ordered = sorted(found)
        p95 = common.percentile(ordered, 95)
        goal = "" if "(server)" in name else f"<= {GOAL_MS:.0f}: {common.verdict(p95 <= GOAL_MS)}"
        rows.append((name, len(ordered), f"{common.percentile(ordered, 50):.0f}",
                     f"{p95:.0f}", f"{ordered[-1]:.0f}", goal))  # fmt: skip
    common.print_table(
        [
            "page (navigation timing, ms; server: request to first byte)",
            "n",
            "p50",
            "p95",
            "max",
            "goal (p95)",
        ],
        rows,
        f"the console in Chromium, {args.kiosks:,} kiosks, "
        f"{args.kiosks * args.events_per_kiosk:,} events:",
    )
    print()
    print(f"load average (1 min) at the end: {common.load_average()}")
    print(f"serve's memory: {rss_idle[0]:.0f} MB resident at start, {rss:.0f} MB after the "
          f"pages, {peak:.0f} MB at its peak")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
