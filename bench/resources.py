"""Resources: the real daemon's start-to-ready time, idle memory, idle CPU and open files.

The daemon is started as production starts it, ``python -m kiosk run --config FILE``,
on a throwaway data dir with one ``sim`` board of 16 compartments polled at 5 Hz
(``doors.poll_hz = 5``); every other setting is the product's default.

* **start to ready**: from just before the process is spawned to (a) the ready file it
  writes once its socket accepts requests and (b) the first ``GET /v1/status`` over the
  socket that answers 200. The first start (empty data dir: creates the database and
  the key) and then restarts on the same data dir.
* **idle RSS**: ``VmRSS`` from ``/proc/PID/status`` after the daemon settled for 5 s;
  once right after a start, and once more after some work (three times: a technician
  signs in and opens every door, and the read endpoints answer 50 requests each),
  settled again: an idle kiosk in the field has done some work since it started.
* **idle CPU**: ``utime + stime`` ticks from ``/proc/PID/stat`` over 20 s of idling, as a
  percentage of one core.
* **open fds**: the entries of ``/proc/PID/fd``.

Goals: RSS <= 60 MB, CPU <= 2 % of one core, start to ready <= 1.5 s.

    python bench/resources.py            # 1 first start + 5 restarts, then idle
    python bench/resources.py --quick    # 1 first start + 2 restarts, then idle
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import common
import httpx

COMPARTMENTS = 16
POLL_HZ = 5
SETTLE_S = 5.0
CPU_WINDOW_S = 20.0
GOAL_RSS_MB = 60.0
GOAL_CPU_PERCENT = 2.0
GOAL_READY_S = 1.5
TECHNICIAN = ("bench-tech", "13579024")
WORK_ROUNDS = 3  # from the second sign-in on, a PIN check could leave 16 MB resident
READS = ("/v1/status", "/v1/compartments", "/v1/events?limit=100", "/v1/parcels")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Start:
    ready_file_s: float
    status_s: float


class Daemon:
    """One ``locker-kiosk run`` process on ``root``'s data dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.config = root / "kiosk.toml"
        self.ready = root / "ready"
        self.socket = self.data_dir / "api.sock"
        sections = {"doors": {"poll_hz": POLL_HZ}}
        self.config.write_text(common.render_config(self.data_dir, COMPARTMENTS, sections))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Start:
        self.ready.unlink(missing_ok=True)
        command = [sys.executable, "-m", "kiosk", "run", "--config", str(self.config),
                   "--ready-file", str(self.ready)]  # fmt: skip
        log = open(self.root / "daemon.log", "ab")  # noqa: SIM115 - the child owns it
        begin = time.perf_counter()
        self.proc = subprocess.Popen(command, stdout=log, stderr=log)
        log.close()
        deadline = begin + timeout
        ready_at = None
        while ready_at is None:
            self._check_alive(deadline)
            if self.ready.exists():
                ready_at = time.perf_counter()
            else:
                time.sleep(0.002)
        with self.client() as client:
            while True:
                self._check_alive(deadline)
                try:
                    if client.get("/v1/status").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.002)
        return Start(ready_at - begin, time.perf_counter() - begin)

    def add_technician(self) -> None:
        name, pin = TECHNICIAN
        command = [sys.executable, "-m", "kiosk", "users", "--config", str(self.config),
                   "add", name, "--role", "technician", "--pin-stdin"]  # fmt: skip
        done = subprocess.run(command, input=pin + "\n", capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"could not add the technician: {done.stderr}")

    def client(self) -> httpx.Client:
        transport = httpx.HTTPTransport(uds=str(self.socket))
        return httpx.Client(transport=transport, base_url="http://kiosk", timeout=30)

    def _check_alive(self, deadline: float) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            log = (self.root / "daemon.log").read_text(errors="replace")
            raise RuntimeError(f"the daemon exited with {self.proc.returncode}:\n{log}")
        if time.perf_counter() > deadline:
            raise RuntimeError("the daemon did not become ready in time")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


# -- /proc ------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def kb_as_mb(value: str) -> float:
    """``"51234 kB"`` as megabytes (10**6 bytes)."""
    return int(value.split()[0]) * 1024 / 1e6


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` (all its threads), in clock ticks."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def open_fds(pid: int) -> list[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    out = []
    for entry in fd_dir.iterdir():
        try:
            out.append(os.readlink(entry))
        except OSError:
            continue
    return out


def describe_fds(targets: list[str]) -> str:
    kinds: dict[str, int] = {}
    for target in targets:
        kind = target.split(":")[0] if ":" in target and not target.startswith("/") else "file"
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))


@dataclass
class Idle:
    rss_mb: float
    hwm_mb: float
    anon_mb: float
    file_mb: float
    threads: int
    cpu_percent: float
    fds: list[str]


def measure_idle(daemon: Daemon) -> Idle:
    print(f"  settling {SETTLE_S:.0f} s, then {CPU_WINDOW_S:.0f} s of idle CPU", file=sys.stderr)
    time.sleep(SETTLE_S)
    status = proc_status(daemon.pid)
    fds = open_fds(daemon.pid)
    ticks, wall = cpu_ticks(daemon.pid), time.monotonic()
    time.sleep(CPU_WINDOW_S)
    ticks, wall = cpu_ticks(daemon.pid) - ticks, time.monotonic() - wall
    return Idle(
        rss_mb=kb_as_mb(status["VmRSS"]),
        hwm_mb=kb_as_mb(status["VmHWM"]),
        anon_mb=kb_as_mb(status["RssAnon"]),
        file_mb=kb_as_mb(status["RssFile"]),
        threads=int(status["Threads"]),
        cpu_percent=100 * ticks / CLOCK_TICKS / wall,
        fds=fds,
    )


def exercise(daemon: Daemon) -> None:
    """A technician opens every door (one at a time); the read endpoints answer."""
    print("  some work: every door opened, the read endpoints queried", file=sys.stderr)
    name, pin = TECHNICIAN
    with daemon.client() as client:
        reply = client.post("/v1/sessions", json={"user": name, "pin": pin})
        reply.raise_for_status()
        auth = {"Authorization": f"Bearer {reply.json()['token']}"}
        for i in range(1, COMPARTMENTS + 1):
            client.post(f"/v1/compartments/A{i:02d}/open", headers=auth).raise_for_status()
        for _ in range(50):
            for path in READS:
                client.get(path).raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            doors = [c["door"] for c in client.get("/v1/compartments").json()["compartments"]]
            if all(door == "CLOSED" for door in doors):
                return
            time.sleep(0.2)
    raise RuntimeError("the doors did not close again")


def rss_after_settling(daemon: Daemon) -> tuple[float, float]:
    """VmRSS and VmHWM in MB after ``SETTLE_S``."""
    time.sleep(SETTLE_S)
    status = proc_status(daemon.pid)
    return kb_as_mb(status["VmRSS"]), kb_as_mb(status["VmHWM"])


# -- report -----------------------------------------------------------------------------


def report(
    first: Start,
    restarts: list[Start],
    idle: Idle,
    worked: tuple[float, float],
    machine: common.MachineInfo,
) -> None:
    print()
    machine.print()
    common.print_table(
        ["setting", ""],
        [
            ("daemon", f"{sys.executable} -m kiosk run --config FILE"),
            ("bank", f"1 sim board, {COMPARTMENTS} compartments, doors.poll_hz = {POLL_HZ}"),
            ("other settings", "the product's defaults (notify backend: log)"),
        ],
    )
    rows = [("first start (empty data dir)", f"{first.ready_file_s:.3f}", f"{first.status_s:.3f}")]
    for i, start in enumerate(restarts, 1):
        rows.append((f"restart {i}", f"{start.ready_file_s:.3f}", f"{start.status_s:.3f}"))
    common.print_table(["start to ready, s", "ready file", "GET /v1/status"], rows)
    common.print_table(
        ["idle", ""],
        [
            ("VmRSS", f"{idle.rss_mb:.1f} MB (anonymous {idle.anon_mb:.1f}, "
                      f"file-backed {idle.file_mb:.1f})"),
            ("VmHWM (peak RSS)", f"{idle.hwm_mb:.1f} MB"),
            ("VmRSS after some work", f"{worked[0]:.1f} MB (peak {worked[1]:.1f} MB)"),
            ("CPU", f"{idle.cpu_percent:.2f} % of one core over {CPU_WINDOW_S:.0f} s"),
            ("threads", str(idle.threads)),
            ("open fds", f"{len(idle.fds)} ({describe_fds(idle.fds)})"),
        ],
    )  # fmt: skip
    all_status = [first.status_s] + [s.status_s for s in restarts]
    median = statistics.median(s.status_s for s in restarts) if restarts else first.status_s
    common.print_table(
        ["goal", "target", "measured", ""],
        [
            ("idle RSS, after start", f"<= {GOAL_RSS_MB:.0f} MB", f"{idle.rss_mb:.1f} MB",
             common.verdict(idle.rss_mb <= GOAL_RSS_MB)),
            ("idle RSS, after some work", f"<= {GOAL_RSS_MB:.0f} MB", f"{worked[0]:.1f} MB",
             common.verdict(worked[0] <= GOAL_RSS_MB)),
            ("idle CPU (5 Hz polling)", f"<= {GOAL_CPU_PERCENT:.0f} %",
             f"{idle.cpu_percent:.2f} %", common.verdict(idle.cpu_percent <= GOAL_CPU_PERCENT)),
            ("start to ready (restart, median)", f"<= {GOAL_READY_S} s", f"{median:.3f} s",
             common.verdict(median <= GOAL_READY_S)),
            ("start to ready (slowest, any start)", f"<= {GOAL_READY_S} s",
             f"{max(all_status):.3f} s", common.verdict(max(all_status) <= GOAL_READY_S)),
        ],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 restarts instead of 5")
    parser.add_argument("--restarts", type=int, help="number of restarts (default 5)")
    parser.add_argument(
        "--dir", default="/tmp", help="where the throwaway data dir goes (default /tmp)"
    )
    args = parser.parse_args(argv)
    restarts = args.restarts if args.restarts is not None else (2 if args.quick else 5)
    root = Path(tempfile.mkdtemp(prefix="lk-res-", dir=args.dir))
    daemon = Daemon(root)
    try:
        machine = common.machine_info(root)
        print(f"resources: daemon on {root}", file=sys.stderr)
        first = daemon.start()
        daemon.stop()
        daemon.add_technician()
        times = []
        for _ in range(restarts):
            times.append(daemon.start())
            if len(times) < restarts:
                daemon.stop()
        if not times:
            daemon.start()
        idle = measure_idle(daemon)
        for _ in range(WORK_ROUNDS):
            exercise(daemon)
        worked = rss_after_settling(daemon)
        code = daemon.stop()
        if code != 0:
            print(f"  note: the daemon exited with {code} on SIGTERM", file=sys.stderr)
    finally:
        daemon.kill()
        shutil.rmtree(root, ignore_errors=True)
    report(first, times, idle, worked, machine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
