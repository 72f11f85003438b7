"""A long run of deposits and pickups through the API, watching the daemon's resources.

Used by ``tests/faults/test_soak.py`` (a short run) and ``bench/soak.py`` (100,000
operations). The daemon is a real process on the sim driver: four boards of eight
compartments, each board its own power group, so four workers keep four locks busy.
Each worker deposits a parcel, waits for its door to close, reads the pickup code from
the simulated recipient's inbox and picks the parcel up: two operations a round.

Every ``sample_every`` operations the daemon's resident memory (``VmRSS``) and open file
descriptors are read from ``/proc``. Memory growth is measured from the first sample,
taken after a warm-up, to the last; the database's bytes per parcel at the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.protocol.client import ApiClient, ApiError, ClientError
from testkit.daemon import COURIER, Daemon
from testkit.inbox import Inbox

BOARDS = 4
PER_BOARD = 8
SIZES = ("S", "M")


def soak_config(data_dir: Path) -> str:
    lines = [
        "demo = true",  # for the file back end: simulated recipients
        "[kiosk]",
        'id = "SOAK-01"',
        f"data_dir = {json.dumps(str(data_dir))}",
        f"socket = {json.dumps(str(data_dir / 'api.sock'))}",
        "[doors]",
        "open_timeout_s = 2.0",
        "debounce_ms = 0",
        "debounce_polls = 1",
        "reopen_after_pickup_s = 0",  # each compartment free again at once, as the load needs
        "poll_hz = 100",
        "[locks]",
        "pulse_ms = 50",
        "gap_ms = 0",
        "[policy]",
        "expiry_check_s = 60",
        "[security]",
        "mass_open_max = 100000",
        "[notify]",
        'backend = "file"',
        "[notify.file]",
        'path = "inbox.jsonl"',
    ]
    for b in range(1, BOARDS + 1):
        lines += ["[[boards]]", f'name = "bank{b}"', 'driver = "sim"', f'power_group = "p{b}"',
                  "close_delay_s = 0.1"]  # fmt: skip
        for lock in range(1, PER_BOARD + 1):
            cid, size = f"{chr(64 + b)}{lock:02d}", SIZES[lock % 2]
            lines += ["[[compartments]]", f'id = "{cid}"', f'size = "{size}"',
                      f'board = "bank{b}"', f"lock = {lock}"]  # fmt: skip
    return "\n".join(lines) + "\n"


@dataclass
class Sample:
    ops: int
    seconds: float
    rss_kb: int
    fds: int


@dataclass
class SoakReport:
    ops: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    samples: list[Sample] = field(default_factory=list)
    parcels: int = 0
    db_bytes: int = 0

    @property
    def rss_growth_mb(self) -> float:
        return (self.samples[-1].rss_kb - self.samples[0].rss_kb) / 1024

    @property
    def fd_range(self) -> tuple[int, int]:
        return min(s.fds for s in self.samples), max(s.fds for s in self.samples)

    @property
    def bytes_per_parcel(self) -> float:
        return self.db_bytes / max(self.parcels, 1)


class SoakRun:
    def __init__(self, daemon: Daemon, workers: int = BOARDS) -> None:
        self.daemon = daemon
        self.workers = workers
        self.report = SoakReport()
        self._lock = threading.Lock()
        self._serial = 0
        self._codes: dict[str, str] = {}
        self._inbox = Inbox(daemon.data_dir / "inbox.jsonl")
        self._stop = threading.Event()

    def run(
        self,
        ops: int,
        sample_every: int = 1000,
        warmup: int = 200,
        progress: Callable[[SoakReport], None] | None = None,
    ) -> SoakReport:
        began = time.monotonic()
        target = ops + warmup
        threads = [threading.Thread(target=self._worker, args=(target,), daemon=True)
                   for _ in range(self.workers)]  # fmt: skip
        for thread in threads:
            thread.start()
        next_sample = warmup
        while any(t.is_alive() for t in threads):
            done = self._done()
            if done >= next_sample:
                self._sample(done - warmup, began)
                next_sample += sample_every
                if progress is not None:
                    progress(self.report)
            time.sleep(0.05)
        # No sample after the workers ended: their connections are closed by then.
        self.report.ops = self._done() - warmup
        self.report.seconds = time.monotonic() - began
        self._measure_db()
        return self.report

    def _done(self) -> int:
        with self._lock:
            return sum(self.report.outcomes.values())

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.report.outcomes[outcome] += 1

    def _worker(self, target: int) -> None:
        with self.daemon.signed_in(COURIER) as courier, self.daemon.client() as customer:
            while self._done() < target:
                barcode = self._deposit(courier)
                if barcode is None:
                    continue
                code = self._wait_code(barcode)
                if code is None:
                    self._count("code never arrived")
                    continue
                self._pickup(customer, code)

    def _deposit(self, courier: ApiClient) -> str | None:
        with self._lock:
            self._serial += 1
            barcode = f"SOAK-{self._serial:07d}"
        body = {"barcode": barcode, "size": SIZES[self._serial % 2], "phone": "+4915112345678"}
        final = self._follow(courier, "/v1/deposits", body)
        if final is None:
            return None
        stored = final["status"] == "CLOSED" and final["message"].startswith("Stored in")
        self._count("deposit stored" if stored else f"deposit ended {final['status']}")
        return barcode if stored else None

    def _pickup(self, customer: ApiClient, code: str) -> None:
        final = self._follow(customer, "/v1/pickup", {"code": code})
        if final is not None:
            self._count("pickup done" if final["status"] == "CLOSED" else "pickup unfinished")

    def _follow(self, client: ApiClient, path: str, body: dict[str, str]) -> dict[str, Any] | None:
        try:
            view = client.post(path, body)
            return client.wait_operation(view["operation"], poll=10)
        except ApiError as exc:
            self._count(f"refused {exc.status} {exc.kind}")
        except ClientError as exc:
            self._count(f"client error {type(exc).__name__}")
        return None

    def _wait_code(self, barcode: str, timeout_s: float = 10.0) -> str | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                self._codes.update(self._inbox.new_codes())
                code = self._codes.pop(barcode, None)
            if code is not None:
                return code
            time.sleep(0.005)
        return None

    def _sample(self, ops: int, began: float) -> None:
        pid = self.daemon.proc.pid if self.daemon.proc else 0
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        self.report.samples.append(Sample(max(ops, 0), time.monotonic() - began, rss, fds))

    def _measure_db(self) -> None:
        data = self.daemon.data_dir
        self.report.db_bytes = sum(
            (data / name).stat().st_size
            for name in ("kiosk.db", "kiosk.db-wal")
            if (data / name).exists()
        )
        conn = sqlite3.connect(f"file:{data / 'kiosk.db'}?mode=ro", uri=True, timeout=10)
        try:
            self.report.parcels = conn.execute("SELECT COUNT(*) FROM parcels").fetchone()[0]
        finally:
            conn.close()
