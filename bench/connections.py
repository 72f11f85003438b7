"""Connections: the touchscreen's ``GET /v1/status`` while crowds of idle connections
press on the API socket and on the TCP listener.

A real daemon (``python -m kiosk run``, 12 sim compartments polled at 10 Hz, its TCP
listener on with TLS and a token, every ``[api]`` setting at the product's default:
64 connections on the API socket, 8 on the touchscreen's, 32 over TCP with 4 per
address before the token, 10 s for a request, 5 s for a TLS handshake). A crowd in a
process of its own opens 1,100 connections on the API socket and 1,100 on the TCP
listener (from 275 loopback addresses, 4 each); none sends a byte, none starts TLS.

Three phases, each measuring the touchscreen's ``GET /v1/status`` on its own socket,
one every 50 ms, each on a new connection as the UI's link makes them:

* **quiet**: no crowd, the reference;
* **held**: the crowd opened once and held; the daemon keeps its caps' worth and
  refuses the rest, then closes what it kept as the time-outs pass;
* **kept up**: the crowd opens again every connection the daemon closes (refused or
  timed out), trying every 10 ms, for the whole phase: as many of the 2 x 1,100 as the
  daemon lets be, and a storm of connects and refusals on both listeners.

Beside the latencies: the most descriptors the daemon held, its CPU over the phase,
what each listener refused, and the bytes the phase added to its log.

Goal: the touchscreen's status p99 <= 100 ms with 1,100 idle connections on each
listener.

    python bench/connections.py            # 30 s a phase
    python bench/connections.py --quick    # 8 s a phase
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import selectors
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.protocol.client import ApiClient
from testkit.daemon import Daemon
from testkit.listeners import (
    loopback,
    make_certificate,
    open_fds,
    port_of,
    raise_fd_limit,
    tcp_daemon,
)

CROWD = 1100
ADDRESSES = CROWD // 4
EVERY_S = 0.05
#: the crowd tries again, every so often, each connection the daemon closed
RECONNECT_EVERY_S = 0.01
GOAL_P99_MS = 100.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The product's defaults where the test daemon is made fast.
PRODUCT_DOORS = {"poll_hz": 10, "debounce_ms": 30, "debounce_polls": 3}


# -- the crowd (a process of its own) ---------------------------------------------------


def _connect(kind: str, target: str | int, n: int) -> socket.socket | None:
    """A connection under way, or None when the kernel has no room for it yet (a Unix
    socket's backlog is full): tried again on the next round."""
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((loopback(n % ADDRESSES), 0))
    sock.setblocking(False)
    try:
        sock.connect(str(target) if kind == "unix" else ("127.0.0.1", int(target)))
    except BlockingIOError:
        if kind == "unix":  # EAGAIN: the backlog is full
            sock.close()
            return None
        # EINPROGRESS: the handshake goes on; a refusal shows as readable
    except OSError:
        sock.close()
        return None
    return sock


def crowd(unix_path: str, port: int, keep_up: bool, ready: Event, stop: Event) -> None:
    """Open 1,100 connections on each listener; hold them, or (``keep_up``) open again
    every one the daemon closes, until ``stop``."""
    raise_fd_limit(2 * CROWD + 256)
    targets = {"unix": unix_path, "tcp": port}
    wanted = [(kind, n) for kind in targets for n in range(CROWD)]
    selector = selectors.DefaultSelector()
    missing: list[tuple[str, int]] = []
    for kind, n in wanted:
        sock = _connect(kind, targets[kind], n)
        if sock is None:
            missing.append((kind, n))
        else:
            selector.register(sock, selectors.EVENT_READ, (kind, n))
    deadline = time.monotonic() + 30
    while missing and time.monotonic() < deadline:  # all of them at least tried once
        missing = _reopen(missing, targets, selector)
    ready.set()
    next_round = 0.0
    while not stop.is_set():
        for key, _ in selector.select(timeout=RECONNECT_EVERY_S):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                closed = not sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                closed = True
            if closed:
                selector.unregister(sock)
                sock.close()
                missing.append(key.data)
        if keep_up and time.monotonic() >= next_round:
            missing = _reopen(missing, targets, selector)
            next_round = time.monotonic() + RECONNECT_EVERY_S
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]


def _reopen(missing: list[tuple[str, int]], targets: dict[str, str | int],
            selector: selectors.BaseSelector) -> list[tuple[str, int]]:  # fmt: skip
    still = []
    for kind, n in missing:
        sock = _connect(kind, targets[kind], n)
        if sock is None:
            still.append((kind, n))
        else:
            selector.register(sock, selectors.EVENT_READ, (kind, n))
    return still


# -- the touchscreen's side -------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies_ms: list[float]
    failures: int
    most_fds: int
    cpu_percent: float
    refused: dict[str, int]
    log_bytes: int


def cpu_ticks(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def refused(daemon: Daemon) -> dict[str, int]:
    with daemon.touchscreen() as screen:
        view = screen.get("/v1/status")["connections"]
    return {name: listener["refused"] for name, listener in view.items()}


class FdWatch:
    """The most descriptors ``pid`` held, sampled every 10 ms on a thread of its own."""

    def __init__(self, pid: int) -> None:
        self.pid, self.most = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.most = max(self.most, open_fds(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.most


def measure(name: str, daemon: Daemon, seconds: float, crowd_args: tuple[object, ...] = ()
            ) -> Phase:  # fmt: skip
    """The touchscreen asks for the status every ``EVERY_S`` for ``seconds``, with the
    crowd (``crowd_args``) at it if given; the daemon's figures from before it came."""
    assert daemon.proc is not None
    pid = daemon.proc.pid
    before_refused, log_size = refused(daemon), daemon.log_path.stat().st_size
    ticks, wall, fds = cpu_ticks(pid), time.monotonic(), FdWatch(pid)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    attacker = None
    if crowd_args:
        attacker = multiprocessing.Process(target=crowd, args=(*crowd_args, ready, stop))
        attacker.start()
        if not ready.wait(120):
            raise RuntimeError("the crowd did not get its connections open")
    try:
        latencies, failures = touchscreen_asks(daemon, seconds)
    finally:
        stop.set()
        if attacker is not None:
            attacker.join(30)
    ticks, wall = cpu_ticks(pid) - ticks, time.monotonic() - wall
    after = refused(daemon)
    return Phase(
        name, sorted(latencies), failures, fds.stop(), 100 * ticks / CLOCK_TICKS / wall,
        {k: after[k] - before_refused.get(k, 0) for k in after},
        daemon.log_path.stat().st_size - log_size,
    )  # fmt: skip


def touchscreen_asks(daemon: Daemon, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms) of the status requests that were answered, and how many failed."""
    latencies, failures = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        began = time.perf_counter()
        try:
            with ApiClient(str(daemon.touchscreen_socket), timeout=10) as screen:
                screen.get("/v1/status")
            latencies.append((time.perf_counter() - began) * 1000)
        except Exception:
            failures += 1
        time.sleep(max(0.0, EVERY_S - (time.perf_counter() - began)))
    return latencies, failures


# -- report -----------------------------------------------------------------------------


def report(phases: list[Phase], machine: common.MachineInfo, seconds: float) -> None:
    print()
    machine.print()
    common.print_table(["setting", ""], [
        ("daemon", f"{sys.executable} -m kiosk run; 12 sim compartments at 10 Hz"),
        ("listeners", "API socket (64), touchscreen socket (8), TCP with TLS (32; 4 per "
                      "address before the token); request 10 s, handshake 5 s"),
        ("crowd", f"{CROWD:,} on the API socket + {CROWD:,} on TCP from {ADDRESSES} "
                  "addresses; no byte sent, no TLS"),
        ("touchscreen", f"GET /v1/status every {EVERY_S * 1000:.0f} ms for {seconds:.0f} s, "
                        "a new connection each"),
    ])  # fmt: skip
    rows = []
    for phase in phases:
        lat = phase.latencies_ms
        p99 = common.percentile(lat, 99)
        rows.append((
            phase.name, len(lat), phase.failures, f"{common.percentile(lat, 50):.1f}",
            f"{p99:.1f}", f"{lat[-1]:.1f}" if lat else "-",
            f"<= {GOAL_P99_MS:.0f}", common.verdict(p99 <= GOAL_P99_MS and not phase.failures),
        ))  # fmt: skip
    common.print_table(["phase", "answers", "failed", "p50 ms", "p99 ms", "max ms",
                        "goal p99", ""], rows, "the touchscreen's GET /v1/status")  # fmt: skip
    common.print_table(
        ["phase", "daemon fds, most", "daemon CPU %", "refused: socket", "refused: tcp",
         "log bytes"],
        [(p.name, p.most_fds, f"{p.cpu_percent:.1f}", f"{p.refused.get('socket', 0):,}",
          f"{p.refused.get('tcp', 0):,}", f"{p.log_bytes:,}") for p in phases],
        "the daemon meanwhile",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 s a phase instead of 30")
    args = parser.parse_args(argv)
    seconds = 8.0 if args.quick else 30.0
    raise_fd_limit(1024)
    folder = Path(tempfile.mkdtemp(prefix="lk-bench-"))
    tls = make_certificate(folder)
    machine = common.machine_info(folder)
    with tcp_daemon(tls, folder, api={"rate_per_minute": 120},
                    doors=PRODUCT_DOORS) as (daemon, url, _, _):  # fmt: skip
        port = port_of(url)
        print("quiet ...", file=sys.stderr)
        phases = [measure("quiet", daemon, seconds)]
        print("held ...", file=sys.stderr)
        phases.append(measure("held", daemon, seconds, (str(daemon.socket), port, False)))
        time.sleep(12)  # what the daemon kept times out: the next phase starts afresh
        print("kept up ...", file=sys.stderr)
        phases.append(measure("kept up", daemon, seconds, (str(daemon.socket), port, True)))
        if "Traceback" in daemon.log():
            print("the daemon logged a traceback: see its log", file=sys.stderr)
    report(phases, machine, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
