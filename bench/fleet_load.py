"""The fleet link under load: one Mosquitto, many kiosks, the operator's side.

**Part A, scale.** ``--kiosks`` simulated kiosks (:mod:`fleet_sim`) in this process,
all driven by one thread over a ``selectors`` selector with paho's ``loop_read`` /
``loop_write`` / ``loop_misc`` (no thread per client; a pool of 16 threads only makes
the blocking TCP connects). Each connects with its id as client id and username, sets
the last will, publishes its retained presence and state, subscribes to its commands
and answers each with a result. The broker is Debian's Mosquitto on loopback with the
shipped ACL (``testkit/broker.py``), ``max_connections -1``, no ``-v`` logging, and
a password file for every kiosk hashed in one ``mosquitto_passwd -U`` run.

The operator's side runs in processes of its own, as it would on another machine, with
the product's client (:class:`kiosk.fleet.operator.Operator`): one subscriber on
``lk/v1/kiosk/+/events`` stamps each event's arrival (``time.time()``, the clock the
simulated kiosk put in ``ts``: one machine, one clock), and ``locker-fleet kiosks --json``
runs as the operator would type it. Printed: connect times (attempt to CONNACK) of all
kiosks at once, broker RSS (``/proc/PID/status``) idle, after connect and at the end,
``locker-fleet kiosks`` wall time and how many kiosks it listed, the time for every
retained presence and state to reach a subscriber, event throughput and end-to-end
latency at ``--event-rate`` for ``--duration`` s, then in a burst (every kiosk sends
``--burst`` events at once), and the round trip of a command to a simulated kiosk.

The reconnect storm: every connection is cut without a DISCONNECT (the network between
the kiosks and the broker failing; every last will fires), then all kiosks reconnect at
once, and again spread at random over 0..``--jitter`` s ("full jitter"). Printed: how long
until all are back, connect time p50/p95/max, the busiest 100 ms, connection failures,
and the broker's CPU time for the storm.

**Part B, one real kiosk.** A real daemon (``python -m kiosk run``, simulator, its own
Mosquitto) linked with ``testkit/fleet.py``'s set-up. Before it starts,
``--backlog`` events are written into its event log through the product's ``Store``
(the link is its outbox); the drain is timed from the daemon's start until
``/v1/status`` says ``fleet.unacked == 0``, while an operator subscriber counts what
arrives. Then signed command round trips with the product's ``sign`` and
``Operator.publish``: sign, publish (PUBACK), the kiosk verifies, records the command
in SQLite and answers, the result reaches the operator. ``selftest`` (reads every
sensor, opens nothing) and ``out_of_service``/``in_service`` pairs on one compartment.
Part B's code is :mod:`fleet_real_kiosk`.

No goals are set yet; docs/fleet-sizing.md reads the figures.

    python bench/fleet_load.py                # 1,000 kiosks, 60 s of events (~4 min)
    python bench/fleet_load.py --quick        # 100 kiosks, 20 round trips (~25 s)
    python bench/fleet_load.py --kiosks 3000 --event-rate 6 --json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
from fleet_real_kiosk import part_b
from fleet_sim import Attempt, SimFleet

from kiosk.fleet.envelope import new_key
from kiosk.fleet.operator import Operator, topic
from kiosk.fleet.operator_config import OperatorConfig
from testkit.broker import Broker, running_broker

OPERATOR_PASSWORD = "op-bench-" + secrets.token_hex(4)
BIN_S = 0.1
DROPPED = (
    "lost: acknowledged to the kiosk, then dropped by the broker for a subscriber that fell "
    "behind\n  (more than max_queued_messages waiting for it: Mosquitto's default 1,000 in"
    " this run; the shipped config sets 200,000)"
)

Figures = dict[str, Any]


# -- the broker and the operator's side -----------------------------------------------


def raise_fd_limit(kiosks: int) -> int:
    """The soft limit on open files up to what this run needs (the broker inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * kiosks + 256
    if hard != resource.RLIM_INFINITY:
        want = min(hard, max(soft, want))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def broker_rss_mb(broker: Broker) -> float:
    for line in Path(f"/proc/{broker.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def broker_cpu_s(broker: Broker) -> float:
    fields = Path(f"/proc/{broker.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def operator_config(broker: Broker) -> OperatorConfig:
    return OperatorConfig(source=Path("fleet_load"), host=broker.host,
                          port=broker.operator_port, password=OPERATOR_PASSWORD,
                          tls=False)  # fmt: skip


def listen_events(config: OperatorConfig, conn: Connection) -> None:
    """In a process of its own: each event's (arrival, ts) until told to stop."""
    arrivals: list[tuple[float, float]] = []
    seen: set[str] = set()
    duplicates = 0
    with Operator(config) as op:
        op.subscribe([topic("+", "events")])
        conn.send("ready")
        while not conn.poll():
            for _name, body in op.messages(time.monotonic() + 0.2):
                key = str(body.get("key"))
                if key in seen:  # at least once: the operator drops a repeat
                    duplicates += 1
                    continue
                seen.add(key)
                arrivals.append((time.time(), float(body["ts"])))
    conn.send((arrivals, duplicates))


def retained_arrival(config: OperatorConfig, expected: int, conn: Connection) -> None:
    """In a process of its own: seconds from subscribing until ``expected`` retained messages."""
    with Operator(config) as op:
        start = time.perf_counter()
        op.subscribe([topic("+", "presence"), topic("+", "state/compartments")])
        got, last = 0, float("nan")
        for _name, _body in op.messages(time.monotonic() + 60):
            got += 1
            last = time.perf_counter() - start
            if got >= expected:
                break
    conn.send((got, last))


def in_child(target: Any, *args: Any) -> tuple[Any, Connection]:
    ours, theirs = mp.get_context("spawn").Pipe()
    process = mp.get_context("spawn").Process(target=target, args=(*args, theirs), daemon=True)
    process.start()
    return process, ours


def locker_fleet_kiosks(broker: Broker, folder: Path) -> tuple[float, int, int]:
    """``locker-fleet kiosks --json`` as typed: wall time, kiosks listed, of them online."""
    password = folder / "operator.password"
    password.write_text(OPERATOR_PASSWORD + "\n")
    password.chmod(0o600)
    config = folder / "locker-fleet.toml"
    config.write_text(f'broker = "{broker.host}:{broker.operator_port}"\ntls = false\n'
                      f'password_file = "{password}"\n')  # fmt: skip
    start = time.perf_counter()
    command = [sys.executable, "-m", "kiosk.fleet.cli", "kiosks", "--config", str(config), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"locker-fleet kiosks failed: {done.stderr}")
    kiosks = json.loads(done.stdout)["kiosks"]
    return wall, len(kiosks), sum(1 for k in kiosks if k["status"] == "online")


# -- part A -------------------------------------------------------------------------


def connect_figures(attempts: list[Attempt], since: float) -> Figures:
    ok = sorted(a.connack - a.started for a in attempts if a.connack is not None)
    ends = [a.connack for a in attempts if a.connack is not None]
    bins: dict[int, int] = {}
    for t in ends:
        bins[int((t - since) / BIN_S)] = bins.get(int((t - since) / BIN_S), 0) + 1
    failures: dict[str, int] = {}
    for a in attempts:
        if a.failure is not None:
            failures[a.failure] = failures.get(a.failure, 0) + 1
    return {
        "connected": len(ok),
        "all_back_s": (max(ends) - since) if ends else float("nan"),
        "connect_p50_ms": common.percentile(ok, 50) * 1e3,
        "connect_p95_ms": common.percentile(ok, 95) * 1e3,
        "connect_max_ms": (ok[-1] * 1e3) if ok else float("nan"),
        "busiest_100ms": max(bins.values(), default=0),
        "failures": failures,
    }


def latency_figures(arrivals: list[tuple[float, float]]) -> Figures:
    lat = sorted(arrival - ts for arrival, ts in arrivals)
    span = (arrivals[-1][0] - arrivals[0][0]) if len(arrivals) > 1 else float("nan")
    return {
        "received": len(arrivals),
        "per_s": len(arrivals) / span if span else float("nan"),
        "latency_p50_ms": common.percentile(lat, 50) * 1e3,
        "latency_p95_ms": common.percentile(lat, 95) * 1e3,
        "latency_p99_ms": common.percentile(lat, 99) * 1e3,
        "latency_max_ms": (lat[-1] * 1e3) if lat else float("nan"),
    }


def command_round_trips(broker: Broker, kiosks: list[str], count: int, gap_s: float) -> Figures:
    """Signed commands to random simulated kiosks, one at a time, while events flow."""
    key, _public = new_key()
    times: list[float] = []
    missing = 0
    with Operator(operator_config(broker)) as op:
        for _ in range(count):
            start = time.perf_counter()
            try:
                op.send(key, "bench", random.choice(kiosks), "selftest", timeout_s=10)
            except Exception:
                missing += 1
            else:
                times.append(time.perf_counter() - start)
            time.sleep(gap_s)
    times.sort()
    return {
        "sent": count,
        "unanswered": missing,
        "p50_ms": common.percentile(times, 50) * 1e3,
        "p95_ms": common.percentile(times, 95) * 1e3,
        "max_ms": (times[-1] * 1e3) if times else float("nan"),
    }


def storm(fleet: SimFleet, broker: Broker, jitter_s: float) -> Figures:
    fleet.drop_all()
    time.sleep(1.0)  # the broker has sent the wills
    cpu = broker_cpu_s(broker)
    delays = [random.uniform(0, jitter_s) for _ in fleet.kiosks] if jitter_s else None
    since = time.perf_counter()
    figures = connect_figures(fleet.connect(delays), since)
    figures["broker_cpu_s"] = broker_cpu_s(broker) - cpu
    figures["drops_during"] = fleet.unexpected_drops
    return figures


def part_a(args: argparse.Namespace, folder: Path) -> Figures:
    out: Figures = {"kiosks": args.kiosks, "fd_limit": raise_fd_limit(args.kiosks)}
    users = {f"SIM-{i:05d}": secrets.token_hex(8) for i in range(1, args.kiosks + 1)}
    start = time.perf_counter()
    with running_broker(folder / "broker-a", {"operator": OPERATOR_PASSWORD, **users},
                        extra_conf="max_connections -1\n", verbose=False) as broker:  # fmt: skip
        out["broker_start_s"] = time.perf_counter() - start  # mostly the password file
        out["rss_idle_mb"] = broker_rss_mb(broker)
        listener, events_pipe = in_child(listen_events, operator_config(broker))
        events_pipe.recv()  # subscribed
        fleet = SimFleet(broker.host, broker.port, users)
        try:
            since = time.perf_counter()
            out["connect"] = connect_figures(fleet.connect(), since)
            time.sleep(1.0)  # presence, state and subscriptions settle
            out["rss_connected_mb"] = broker_rss_mb(broker)
            lister, retained_pipe = in_child(retained_arrival, operator_config(broker),
                                             2 * args.kiosks)  # fmt: skip
            got, last = retained_pipe.recv()
            lister.join(10)
            out["retained"] = {"messages": got, "all_in_s": last}
            wall, listed, online = locker_fleet_kiosks(broker, folder)
            out["locker_fleet_kiosks"] = {"wall_s": wall, "listed": listed, "online": online}

            steady_cpu = broker_cpu_s(broker)
            fleet.start_events(args.event_rate / 60.0)
            steady_from = time.time()
            commands = max(1, args.round_trips // 10)
            out["sim_commands"] = command_round_trips(broker, list(users), commands,
                                                      args.duration / commands)  # fmt: skip
            fleet.stop_events()
            time.sleep(1.0)
            steady_cpu = broker_cpu_s(broker) - steady_cpu
            steady_wall = time.time() - steady_from
            steady_sent = fleet.events_sent
            burst_from = time.time()
            fleet.burst(args.burst)
            wait_for_quiet(fleet, 60)
            time.sleep(1.0)
            out["events_sent"] = fleet.events_sent
            out["events_unsent"] = fleet.events_unsent
            out["rss_end_mb"] = broker_rss_mb(broker)
            events_pipe.send("stop")
            arrivals, duplicates = events_pipe.recv()
            listener.join(10)
            out["steady"] = latency_figures([a for a in arrivals if a[1] < burst_from])
            out["steady"]["offered_per_s"] = args.kiosks * args.event_rate / 60.0
            out["steady"]["from"] = steady_from
            out["steady"]["sent"] = steady_sent
            out["steady"]["broker_cpu_share"] = steady_cpu / max(steady_wall, 1e-9)
            out["burst"] = latency_figures([a for a in arrivals if a[1] >= burst_from])
            out["burst"]["offered"] = args.kiosks * args.burst
            out["burst"]["sent"] = fleet.events_sent - steady_sent
            out["duplicates"] = duplicates
            out["storm_at_once"] = storm(fleet, broker, 0.0)
            out["storm_jitter"] = storm(fleet, broker, args.jitter)
            out["storm_jitter"]["jitter_s"] = args.jitter
            out["rss_after_storms_mb"] = broker_rss_mb(broker)
        finally:
            fleet.close()
    return out


def wait_for_quiet(fleet: SimFleet, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while fleet.backlog() and time.monotonic() < deadline:
        time.sleep(0.1)


# -- output ---------------------------------------------------------------------------


def f1(value: float) -> str:
    return "-" if value != value else f"{value:,.1f}"


def print_part_a(a: Figures) -> None:
    c, rss = a["connect"], f"{f1(a['rss_idle_mb'])} / {f1(a['rss_connected_mb'])} MB"
    rss_end = f"{f1(a['rss_end_mb'])} / {f1(a['rss_after_storms_mb'])} MB"
    per_kiosk = (a["rss_connected_mb"] - a["rss_idle_mb"]) * 1024 / a["kiosks"]
    common.print_table(["part A: the broker", ""], [
        ("simulated kiosks (one driver thread)", f"{a['kiosks']:,}"),
        ("open-files limit of this run", f"{a['fd_limit']:,}"),
        ("broker start, with the password file", f"{a['broker_start_s']:.2f} s"),
        ("broker RSS: idle / all connected", rss),
        ("broker RSS: after events / after storms", rss_end),
        ("broker RSS per connected kiosk", f"{per_kiosk:.1f} KB"),
    ])  # fmt: skip
    jitter = f"storm: jitter 0..{a['storm_jitter']['jitter_s']:g} s"
    storms = [("first connect, all at once", c), ("storm: all at once", a["storm_at_once"]),
              (jitter, a["storm_jitter"])]  # fmt: skip
    common.print_table(
        ["connecting", "connected", "all in (s)", "p50 ms", "p95 ms", "max ms", "max/100 ms",
         "broker CPU s", "failures"],
        [(name, f"{s['connected']:,}", f"{s['all_back_s']:.2f}", f1(s["connect_p50_ms"]),
          f1(s["connect_p95_ms"]), f1(s["connect_max_ms"]), s["busiest_100ms"],
          f"{s['broker_cpu_s']:.2f}" if "broker_cpu_s" in s else "-",
          sum(s["failures"].values()) or "0") for name, s in storms],
        "connect time: attempt (TCP connect) to CONNACK",
    )  # fmt: skip
    for name, s in storms:
        for why, n in s["failures"].items():
            print(f"  {name}: {n} x {why}")
    r, lf = a["retained"], a["locker_fleet_kiosks"]
    retained = f"{r['messages']:,} in {r['all_in_s']:.2f} s"
    common.print_table(["operator side", ""], [
        ("retained presence + state reach a subscriber", retained),
        ("locker-fleet kiosks --json (wall, default settle 1.5 s)",
         f"{lf['wall_s']:.2f} s, {lf['listed']:,} listed, {lf['online']:,} online"),
    ])  # fmt: skip
    rows = []
    for name, s in (
        (f"steady ({a['steady']['offered_per_s']:.1f}/s offered)", a["steady"]),
        (f"burst ({a['burst']['offered']:,} at once)", a["burst"]),
    ):
        latency = [f1(s[f"latency_{p}_ms"]) for p in ("p50", "p95", "p99", "max")]
        lost = f"{s['sent'] - s['received']:,}"
        rows.append((name, f"{s['sent']:,}", f"{s['received']:,}", lost, f1(s["per_s"]), *latency))
    common.print_table(["events at the operator", "sent", "received", "lost", "per s", "p50 ms",
                        "p95 ms", "p99 ms", "max ms"], rows,
                       f"events: {a['events_sent']:,} sent, {a['events_unsent']} not sent "
                       f"(kiosk offline), {a['duplicates']} repeats dropped")  # fmt: skip
    if any(a[k]["sent"] > a[k]["received"] for k in ("steady", "burst")):
        print(f"  {DROPPED}\n")
    print(f"  broker CPU while the steady events flowed: "
          f"{100 * a['steady']['broker_cpu_share']:.0f} % of one core\n")  # fmt: skip
    sc = a["sim_commands"]
    print(
        f"  signed selftest to a simulated kiosk while events flow: {sc['sent']} sent, "
        f"{sc['unanswered']} unanswered, p50 {f1(sc['p50_ms'])} ms, p95 {f1(sc['p95_ms'])} ms, "
        f"max {f1(sc['max_ms'])} ms (locker-fleet's Operator.send)\n"
    )


def print_part_b(b: Figures) -> None:
    common.print_table(["part B: one real kiosk's backlog", ""], [
        ("events written with the link off", f"{b['backlog']:,} ({b['backlog_write_s']:.1f} s)"),
        ("drained: daemon start to fleet.unacked == 0", f"{b['drain_from_start_s']:.2f} s"),
        ("   of which after the daemon said ready", f"{b['drain_from_ready_s']:.2f} s"),
        ("rate", f"{b['drain_per_s']:,.0f} events/s"),
        ("distinct events at the operator, in seq order",
         f"{b['operator_received']:,}, {'yes' if b['operator_in_order'] else 'NO'}"),
    ])  # fmt: skip
    if b["operator_received"] < b["backlog"]:
        print(f"  {DROPPED}\n")
    common.print_table(
        ["signed command round trip", "n", "refused", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [(label, s["round_trips"], s["refused"], f1(s["p50_ms"]), f1(s["p95_ms"]),
          f1(s["p99_ms"]), f1(s["max_ms"])) for label, s in b["round_trips"].items()],
        "sign, publish (PUBACK), kiosk verifies, records and answers, result at the operator",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=1000, help="simulated kiosks (1000)")
    parser.add_argument("--event-rate", type=float, default=1.0,
                        help="events per kiosk per minute (1)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of events (60)")
    parser.add_argument("--burst", type=int, default=10, help="events per kiosk at once (10)")
    parser.add_argument("--jitter", type=float, default=10.0,
                        help="reconnect spread of the jittered storm, s (10)")  # fmt: skip
    parser.add_argument("--round-trips", type=int, default=200, help="per command kind (200)")
    parser.add_argument("--backlog", type=int, default=2000, help="events to drain (2000)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 100 kiosks, 4 s of events, 20 round trips")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object, no tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.kiosks, args.duration, args.round_trips = 100, 4.0, 20
        args.backlog, args.jitter, args.burst = 300, 1.0, 5
    machine = common.machine_info()
    folder = Path(tempfile.mkdtemp(prefix="lk-fleet-", dir="/tmp"))
    try:
        a = part_a(args, folder)
        b = part_b(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mosquitto_version = _mosquitto_version()
    if args.json:
        print(json.dumps({"machine": dict(machine.rows()), "mosquitto": mosquitto_version,
                          "args": vars(args), "part_a": a, "part_b": b}))  # fmt: skip
        return 0
    print(f"fleet_load: {mosquitto_version}, paho-mqtt {_paho_version()}\n")
    machine.print()
    print_part_a(a)
    print_part_b(b)
    return 0


def _mosquitto_version() -> str:
    done = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True)
    lines = (done.stdout + done.stderr).splitlines()
    return lines[0] if lines else "mosquitto (version unknown)"


def _paho_version() -> str:
    import paho.mqtt

    return str(paho.mqtt.__version__)


if __name__ == "__main__":
    sys.exit(main())
