"""Kill the daemon with ``kill -9`` in the middle of deposits and pickups, restart it on
the same data dir and check the invariants (:mod:`tests.support.invariants`).

One :class:`CrashRun` owns one data dir. Each :meth:`CrashRun.kill_once`:

1. plans a burst from the run's seeded random generator: a courier depositing parcels
   one after another, a customer picking parcels up one after another, both at once, or
   a single request written straight to the socket;
2. starts it on background threads, waits a random 0-1.5 s (0-50 ms after the bytes
   left, for the raw request) and kills the daemon;
3. restarts it, waits until every door is closed and no operation is live, and checks
   the invariants against what the API had answered before the kill.

Every random choice comes from the seed. What a burst finds to pick up depends on where
earlier kills landed, which varies with the machine, so a replay of a seed follows its
plan as far as the timing lets it.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.client import ApiClient, ApiError, ClientError
from tests.support.daemon import COURIER, Daemon
from tests.support.invariants import (
    Ledger,
    check_all,
    read_fire_log,
    read_store,
)

SIZES = ("S", "M", "L", "XL")
SIZE_WEIGHTS = (4, 3, 2, 1)
MODES = ("deposits", "pickups", "both", "raw")
MODE_WEIGHTS = (3, 3, 3, 2)
MAX_DELAY_S = 1.5
MAX_RAW_DELAY_S = 0.05
SETTLE_TIMEOUT_S = 15.0
# The daemon's config for crash runs: the test defaults, with time for a door to open
# on a busy machine (a door that does not open is a fault test of its own).
DAEMON_CONFIG: dict[str, Any] = {"sections": {"doors": {"open_timeout_s": 3.0}}}
# Alarms a crash must never cause: a door open with no intent behind it.
FALSE_ALARMS = ("forced_open", "door_found_open")


@dataclass
class KillReport:
    number: int
    mode: str
    delay_s: float
    seconds: float
    violations: list[str]


@dataclass
class _Burst:
    """One planned burst of requests and what the API answered to it."""

    deposits: list[tuple[str, str]] = field(default_factory=list)
    pickups: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


class CrashRun:
    """Repeated ``kill -9`` of one daemon on one data dir, with an invariant check each."""

    def __init__(self, daemon: Daemon, seed: int) -> None:
        self.daemon = daemon
        self.seed = seed
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.kills = 0
        self._barcodes = 0
        self._last_seq = 0
        self._log_offset = 0
        self._lock = threading.Lock()

    # -- one kill -------------------------------------------------------------------

    def kill_once(self) -> KillReport:
        started = time.monotonic()
        self.kills += 1
        view = read_store(self.daemon.data_dir / "kiosk.db")
        codes = self._codes()
        stored = [p["barcode"] for p in view.parcels if p["state"] == "STORED"]
        candidates = [b for b in stored if b in codes]
        free = sum(1 for c in view.compartments.values() if c["state"] == "AVAILABLE")
        mode = self._choose_mode(free, len(candidates))
        burst = self._plan(mode, candidates)
        token = self._sign_in() if burst.deposits else None
        if mode == "raw":
            delay = self._raw_request(burst, token, codes)
        else:
            delay = self._run_burst(burst, token, codes)
        fires_before = read_fire_log(self.daemon.data_dir / "sim-fires.log")
        self.daemon.start()
        violations = self._settle() + burst.unexpected
        violations += self._check(fires_before)
        return KillReport(self.kills, mode, delay, time.monotonic() - started, violations)

    def _choose_mode(self, free: int, candidates: int) -> str:
        mode = self.rng.choices(MODES, MODE_WEIGHTS)[0]
        if mode in ("pickups", "both") and candidates == 0:
            return "deposits"
        if mode == "deposits" and free <= 1 and candidates:
            return "pickups"
        return mode

    def _plan(self, mode: str, candidates: list[str]) -> _Burst:
        burst = _Burst()
        pickups = self.rng.sample(candidates, len(candidates))
        if mode in ("deposits", "both"):
            burst.deposits = [self._new_deposit() for _ in range(4)]
        if mode in ("pickups", "both"):
            burst.pickups = pickups[:4]
        if mode == "raw":
            if pickups and self.rng.random() < 0.5:
                burst.pickups = pickups[:1]
            else:
                burst.deposits = [self._new_deposit()]
        return burst

    def _new_deposit(self) -> tuple[str, str]:
        self._barcodes += 1
        size = self.rng.choices(SIZES, SIZE_WEIGHTS)[0]
        return f"CRASH-{self.seed}-{self._barcodes:05d}", size

    # -- bursts ---------------------------------------------------------------------

    def _run_burst(self, burst: _Burst, token: str | None, codes: dict[str, str]) -> float:
        delay = self.rng.uniform(0, MAX_DELAY_S)
        workers = []
        if burst.deposits:
            workers.append(self._thread(lambda: self._deposit_all(burst, token)))
        if burst.pickups:
            workers.append(self._thread(lambda: self._pickup_all(burst, codes)))
        time.sleep(delay)
        self.daemon.kill9()
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                burst.unexpected.append("a client thread hung after the kill")
        return delay

    @staticmethod
    def _thread(target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread

    def _client(self, token: str | None = None) -> ApiClient:
        return ApiClient(str(self.daemon.socket), token=token, timeout=10)

    def _deposit_all(self, burst: _Burst, token: str | None) -> None:
        with self._client(token) as client:
            for barcode, size in burst.deposits:
                with self._lock:
                    self.ledger.requested.add(barcode)
                body = {"barcode": barcode, "size": size, "phone": "+4915112345678"}
                final = self._follow(client, "/v1/deposits", body, burst)
                if final is None:
                    return
                if final["status"] == "CLOSED" and final["message"].startswith("Stored in"):
                    with self._lock:
                        self.ledger.kept.add(barcode)

    def _pickup_all(self, burst: _Burst, codes: dict[str, str]) -> None:
        with self._client() as client:
            for barcode in burst.pickups:
                final = self._follow(client, "/v1/pickup", {"code": codes[barcode]}, burst)
                if final is None:
                    return
                if final["status"] == "CLOSED":
                    with self._lock:
                        self.ledger.picked.add(barcode)

    def _follow(
        self, client: ApiClient, path: str, body: dict[str, Any], burst: _Burst
    ) -> dict[str, Any] | None:
        """Start one operation and wait for its end; ``None`` once the daemon is gone
        or the kiosk is full."""
        try:
            view = client.post(path, body)
            return client.wait_operation(view["operation"], poll=5)
        except ApiError as exc:
            if exc.kind != "NoCompartmentFree":
                with self._lock:
                    burst.unexpected.append(f"{path} answered {exc.status}: {exc.message}")
            return None
        except ClientError:
            return None  # killed under the request

    def _raw_request(self, burst: _Burst, token: str | None, codes: dict[str, str]) -> float:
        """Write one request to the socket and kill the daemon right after it left."""
        if burst.deposits:
            barcode, size = burst.deposits[0]
            self.ledger.requested.add(barcode)
            path = "/v1/deposits"
            body = {"barcode": barcode, "size": size, "phone": "+4915112345678"}
        else:
            path, body = "/v1/pickup", {"code": codes[burst.pickups[0]]}
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n"
            + (f"Authorization: Bearer {token}\r\n" if token else "")
            + "\r\n"
        )
        delay = self.rng.uniform(0, MAX_RAW_DELAY_S)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(self.daemon.socket))
            sock.sendall(head.encode() + payload)
            time.sleep(delay)
            self.daemon.kill9()
        return delay

    # -- after the restart ----------------------------------------------------------

    def _settle(self) -> list[str]:
        """Wait until every door is closed and no operation is live (nothing is sent)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        last = ""
        with self._client() as client:
            while time.monotonic() < deadline:
                busy = [op["compartment"] for op in client.get("/v1/status")["operations"]]
                comps = client.get("/v1/compartments")["compartments"]
                not_closed = sorted(c["id"] for c in comps if c["door"] != "CLOSED")
                sim = self.daemon.sim().snapshot()
                open_in_sim = sorted(cid for cid, c in sim.items() if c["door_open"])
                if not (busy or not_closed or open_in_sim):
                    return []
                last = f"live {busy}, doors not CLOSED {not_closed}, open in sim {open_in_sim}"
                time.sleep(0.05)
        return [f"did not settle in {SETTLE_TIMEOUT_S:.0f} s: {last}"]

    def _check(self, fires_before: list[str]) -> list[str]:
        data = self.daemon.data_dir
        with self._client() as client:
            verify = client.get("/v1/events/verify")
            events = client.get("/v1/events", after=self._last_seq, limit=10000)["events"]
        violations = check_all(
            read_store(data / "kiosk.db"),
            self.ledger,
            fires_before,
            read_fire_log(data / "sim-fires.log"),
            self.daemon.sim().snapshot(),
            verify,
        )
        if events:
            self._last_seq = events[-1]["seq"]
        violations += [
            f"false alarm {e['kind']} on {e['compartment']} (seq {e['seq']})"
            for e in events
            if e["kind"] in FALSE_ALARMS
        ]
        log = self.daemon.log()
        if "Traceback" in log[self._log_offset :]:
            violations.append("the daemon logged a traceback")
        self._log_offset = len(log)
        return violations

    # -- helpers --------------------------------------------------------------------

    def _sign_in(self) -> str:
        name, pin = COURIER
        with self._client() as client:
            return str(client.sign_in(pin, user=name)["token"])

    def _codes(self) -> dict[str, str]:
        """Pickup codes the recipients were sent so far, by barcode."""
        path = self.daemon.data_dir / "inbox.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        codes = {}
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a line the dispatcher is writing right now
            if message["kind"] == "parcel_stored":
                codes[message["payload"]["barcode"]] = str(message["payload"]["code"])
        return codes
