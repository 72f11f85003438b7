"""Kill the daemon with ``kill -9`` in the middle of deposits and pickups, restart it on
the same data dir and check the invariants (:mod:`testkit.invariants`).

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
from pathlib import Path
from typing import Any

from hw_sim.model import DOOR_LOG
from kiosk.commands.sim import Simulator
from kiosk.config import load_config
from kiosk.protocol.client import ApiClient, ApiError, ClientError
from kiosk.reasons import OosReason
from testkit.chaos import ChaosPlan, chaos_config
from testkit.daemon import COURIER, TECHNICIAN, Daemon
from testkit.invariants import (
    Ledger,
    StoreView,
    check_all,
    check_closed_deposits,
    deposits_closed_in_sim,
    read_door_log,
    read_fire_log,
    read_store,
)

SIZES = ("S", "M", "L", "XL")
SIZE_WEIGHTS = (4, 3, 2, 1)
MODES = ("deposits", "pickups", "both", "raw")
MODE_WEIGHTS = (3, 3, 3, 2)
# The mixed workload (``CrashRun(mixed=True)``) adds the courier's and technician's other
# journeys: a reopen, a parcel that does not fit, collecting expired parcels, a self-test.
MIXED_MODES = (*MODES, "reopen", "bigger", "returns", "selftest")
MIXED_WEIGHTS = (*MODE_WEIGHTS, 2, 2, 2, 1)
# Refusals that are part of the design, not findings: the kiosk is full, a parcel's
# time ran out before its pickup, nothing has expired yet.
DESIGNED = {"NoCompartmentFree", "expired", "No expired parcels to collect."}
CHECK_REASON = "something inside after an interrupted deposit: check it"
MAX_DELAY_S = 1.5
MAX_RAW_DELAY_S = 0.05
SETTLE_TIMEOUT_S = 15.0
# The daemon's config for crash runs: the test defaults, with time for a door to open
# on a busy machine (a door that does not open is a fault test of its own).
DAEMON_CONFIG: dict[str, Any] = {"sections": {"doors": {"open_timeout_s": 3.0}}}
# Alarms a crash must never cause: a door open with no intent behind it.
FALSE_ALARMS = ("forced_open", "door_found_open")


# The mixed workload's parcels expire after this long (18 s), so that a run sees
# pickups, expiries and returns side by side.
MIXED_HOLD_HOURS = 0.005


def mixed_policy() -> dict[str, Any]:
    return {"hold_hours": MIXED_HOLD_HOURS, "reminder_hours": [], "expiry_check_s": 0.5}


def kerong_daemon(root: Path, open_delay_s: float = 0.0) -> tuple[Daemon, Simulator]:
    """A daemon on two Kerong boards emulated on a pty, for the mixed workload.

    The emulated boards run in this process, like boards that stay powered while the
    daemon is killed; their bank, fire log and control socket are where the sim
    driver's would be, so :class:`CrashRun` checks both alike.
    """
    daemon = Daemon(root)
    plan = ChaosPlan()  # the chaos run's bus and timings, without its faults
    policy = "".join(f"{k} = {json.dumps(v)}\n" for k, v in mixed_policy().items())
    daemon.config_path.write_text(chaos_config(daemon.data_dir, plan) + "[policy]\n" + policy)
    sim = Simulator(load_config(daemon.config_path), person="auto",
                    close_delay_s=plan.close_delay_s, pace=True)  # fmt: skip
    sim.bank.open_delay_s = open_delay_s
    return daemon, sim.start()


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

    def __init__(self, daemon: Daemon, seed: int, mixed: bool = False) -> None:
        self.daemon = daemon
        self.seed = seed
        self.mixed = mixed
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
        token = self._sign_in() if burst.deposits or mode in ("returns", "selftest") else None
        if mode == "selftest":
            token = self._sign_in(TECHNICIAN)
        if mode == "raw":
            delay = self._raw_request(burst, token, codes)
        else:
            delay = self._run_burst(burst, token, codes, mode)
        fires_before = read_fire_log(self.daemon.data_dir / "sim-fires.log")
        at_kill = read_store(self.daemon.data_dir / "kiosk.db")
        self.daemon.start()
        violations = self._settle() + burst.unexpected
        violations += self._hold_to_sim_doors(at_kill)
        violations += self._check(fires_before)
        if not violations:
            self._technician_checks()
        return KillReport(self.kills, mode, delay, time.monotonic() - started, violations)

    def _choose_mode(self, free: int, candidates: int) -> str:
        modes, weights = (MIXED_MODES, MIXED_WEIGHTS) if self.mixed else (MODES, MODE_WEIGHTS)
        mode = self.rng.choices(modes, weights)[0]
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
        if mode in ("reopen", "bigger"):
            barcode, _ = self._new_deposit()
            burst.deposits = [(barcode, "S" if mode == "bigger" else "M")]
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

    def _run_burst(
        self, burst: _Burst, token: str | None, codes: dict[str, str], mode: str = ""
    ) -> float:
        delay = self.rng.uniform(0, MAX_DELAY_S)
        workers = []
        journeys = {"reopen": self._reopen, "bigger": self._bigger,
                    "returns": self._returns, "selftest": self._selftest}  # fmt: skip
        if mode in journeys:
            journey = journeys[mode]
            workers.append(self._thread(lambda: journey(burst, token)))
        elif burst.deposits:
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
            self._refused(path, exc, burst)
            return None
        except ClientError:
            return None  # killed under the request

    def _refused(self, path: str, exc: ApiError, burst: _Burst) -> None:
        designed = {exc.kind, exc.details.get("reason"), exc.message} & DESIGNED
        if not designed:
            with self._lock:
                burst.unexpected.append(f"{path} answered {exc.status}: {exc.message}")

    # -- the mixed workload's journeys ------------------------------------------------

    def _kept_if_stored(self, barcode: str, final: dict[str, Any] | None) -> None:
        if final and final["status"] == "CLOSED" and final["message"].startswith("Stored in"):
            with self._lock:
                self.ledger.kept.add(barcode)

    def _reopen(self, burst: _Burst, token: str | None) -> None:
        """A courier deposits, and asks for the open door to be fired again."""
        barcode, size = burst.deposits[0]
        with self._lock:
            self.ledger.requested.add(barcode)
        body = {"barcode": barcode, "size": size, "phone": "+4915112345678"}
        with self._client(token) as client:
            try:
                view = client.post("/v1/deposits", body)
                client.post(f"/v1/operations/{view['operation']}/reopen")
                final = client.wait_operation(view["operation"], poll=5)
            except ApiError as exc:
                self._refused("reopen", exc, burst)
                return
            except ClientError:
                return
        self._kept_if_stored(barcode, final)

    def _bigger(self, burst: _Burst, token: str | None) -> None:
        """A courier's parcel does not fit: a bigger door, the first one freed."""
        barcode, size = burst.deposits[0]
        with self._lock:
            self.ledger.requested.add(barcode)
        body = {"barcode": barcode, "size": size, "phone": "+4915112345678"}
        with self._client(token) as client:
            try:
                first = client.post("/v1/deposits", body)
                view = client.post(f"/v1/operations/{first['operation']}/bigger")
                final = client.wait_operation(view["operation"], poll=5)
            except ApiError as exc:
                self._refused("bigger", exc, burst)
                return
            except ClientError:
                return
        self._kept_if_stored(barcode, final)

    def _returns(self, burst: _Burst, token: str | None) -> None:
        """A courier collects expired parcels, one door after another."""
        with self._client(token) as client:
            for _ in range(4):
                try:
                    view = client.post("/v1/returns/next")
                    client.wait_operation(view["operation"], poll=5)
                except ApiError as exc:
                    self._refused("returns", exc, burst)
                    return
                except ClientError:
                    return

    def _selftest(self, burst: _Burst, token: str | None) -> None:
        """A technician tests every lock, one door after another."""
        with self._client(token) as client:
            try:
                job = client.post("/v1/selftest", {"take_out_of_service": False})
                for _ in client.watch_job(job["id"], poll=5):
                    pass
            except ApiError as exc:
                self._refused("selftest", exc, burst)
            except ClientError:
                return

    def _technician_checks(self) -> None:
        """Compartments out of service for a check after an interrupted deposit: a
        technician empties them and puts them back, as one would at a real kiosk. So too
        for a compartment whose item sensor disagreed with the store at start (a pickup
        abandoned at the restart while the person took the parcel): emptied if no parcel
        is recorded there, and its check cleared once the sensor says so."""
        with self._client(self._sign_in(TECHNICIAN)) as tech:
            for comp in tech.get("/v1/compartments")["compartments"]:
                if comp["state"] == "OUT_OF_SERVICE" and comp.get("reason") == CHECK_REASON:
                    self.daemon.sim().call("set_item", compartment=comp["id"], value=False)
                    tech.post(f"/v1/compartments/{comp['id']}/in-service")
            for comp in tech.get("/v1/compartments")["compartments"]:
                if not comp.get("check"):
                    continue
                if comp.get("parcel") is None and comp.get("item"):
                    self.daemon.sim().call("set_item", compartment=comp["id"], value=False)
                    self.daemon.wait_for(lambda cid=comp["id"]: not next(
                        c for c in tech.get("/v1/compartments")["compartments"] if c["id"] == cid
                    )["item"], what=f"{comp['id']} emptied")  # fmt: skip
                tech.post(f"/v1/compartments/{comp['id']}/clear-check")

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

    def _hold_to_sim_doors(self, at_kill: StoreView) -> list[str]:
        """The API's answers miss a deposit whose door closed just before the kill: the
        simulator's door history (its own, beside the fire log) does not."""
        data = self.daemon.data_dir
        kept, to_check = deposits_closed_in_sim(at_kill, read_door_log(data / DOOR_LOG))
        with self._lock:
            self.ledger.kept |= kept
        held = str(OosReason.CHECK_AFTER_INTERRUPTED_DEPOSIT)
        return check_closed_deposits(read_store(data / "kiosk.db"), to_check, held)

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

    def _sign_in(self, who: tuple[str, str] = COURIER) -> str:
        name, pin = who
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
