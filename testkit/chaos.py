"""Deposits and pickups through a real daemon while the RS-485 bus misbehaves.

Two emulated boards share one bus (``top`` with A01..A08, ``bottom`` with B01..B08),
paced at the wire time of 19200 baud, run in this process by
:class:`kiosk.commands.sim.Simulator`; the daemon runs as a subprocess
(:class:`testkit.daemon.Daemon`) with its real driver. The boards are Kerong CU16s
(addresses 0 and 1) or Modbus relay (D) boards (addresses 1 and 2), as
:attr:`ChaosPlan.bus` says. The emulator damages replies at random (checksum or CRC,
dropped, garbage before, late), and a board falls silent for a while in the middle of
the run, at a random point of whatever operation is on.

A courier deposits and a customer picks up, one operation at a time; each operation must
end in a clear outcome or in one of the API's designed refusals (409 no compartment,
503 door unavailable, 502 door did not open), never a 500 or a hang. At the end the
store is checked with :mod:`testkit.invariants`, the simulator's fire log against
the journal (a fire with no intent behind it is a wrong door), and the daemon's
``board_offline`` / ``board_still_offline`` / ``board_online`` events against when the
board was silenced and revived: an offline event or an alarm outside a silence is a
false one.

Used by ``tests/faults/test_bus_chaos.py`` (each bus: 25 operations, 10 s of silence)
and ``bench/bus_chaos.py`` (10,000 operations).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.modbus_emu import Faults, ModbusBusEmulator
from kiosk.commands.sim import Simulator
from kiosk.config import load_config
from kiosk.protocol.client import ApiClient, ApiError, ClientError
from testkit.daemon import Daemon
from testkit.inbox import Inbox
from testkit.invariants import (
    Ledger,
    check_event_chain,
    check_ledger,
    check_outputs_off,
    check_parcels_in_place,
    check_settled,
    read_fire_log,
    read_store,
)

# bus -> board name -> (address, compartment letter)
BUS_BOARDS = {
    "kerong": {"top": (0, "A"), "bottom": (1, "B")},
    "modbus": {"top": (1, "A"), "bottom": (2, "B")},
}
LOCKS = range(1, 9)
SIZES = ("S", "M")
DESIGNED_REFUSALS = {409: "NoCompartmentFree", 502: "DoorDidNotOpen", 503: "DoorUnavailable"}
_HEALTH_KINDS = ("board_offline", "board_still_offline", "board_online")
SETTLE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ChaosPlan:
    """What goes wrong, and how much work is done meanwhile."""

    bus: str = "kerong"  # or "modbus"
    ops: int = 40
    silences: int = 1
    silence_s: float = 3.0
    corrupt: float = 0.05  # reply checksum damaged
    drop: float = 0.02  # reply not sent
    garbage: float = 0.05  # 1-8 random bytes before a reply
    late: float = 0.02  # reply held back ``late_by_s``, past the driver's time-out
    late_by_s: float = 0.03
    poll_hz: float = 10.0
    offline_after_misses: int = 3  # the product's defaults ([doors])
    offline_after_s: float = 1.0
    offline_alarm_after_s: float = 10.0
    timeout_s: float = 0.015  # a status reply takes 7.3 ms on the wire at 19200 baud
    retries: int = 3
    close_delay_s: float = 0.4
    energise_ms: int = 0  # 0: the board's own (taken as 500 ms; the lock queue waits it)
    seed: int = 1

    @property
    def period(self) -> float:
        return 1 / self.poll_hz

    @property
    def offline_bounds(self) -> tuple[float, float]:
        """When a silent board may be reported offline, after the silence began: not
        before ``offline_after_s`` less two periods (its last answered poll may have
        begun up to a period before the silence, a reply lost just before it another),
        nor later than ``offline_after_s`` and three periods (the poll that fails past
        it, its budget, and a period's slack for a busy machine)."""
        return self.offline_after_s - 2 * self.period, self.offline_after_s + 3 * self.period

    @property
    def boards(self) -> dict[str, tuple[int, str]]:
        """Board name -> (address, compartment letter) on :attr:`bus`."""
        return BUS_BOARDS[self.bus]


@dataclass
class Silence:
    board: str
    silenced_at: float = 0.0  # wall time, like the daemon's event timestamps
    revived_at: float = 0.0
    offline_after_s: float | None = None
    alarm_after_s: float | None = None
    online_after_s: float | None = None


@dataclass
class ChaosReport:
    plan: ChaosPlan
    outcomes: Counter[str] = field(default_factory=Counter)
    unclear: list[str] = field(default_factory=list)
    wrong_doors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    silences: list[Silence] = field(default_factory=list)
    false_offlines: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    wire: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def clear_errors(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome.startswith("refused"))

    def late_verdicts(self) -> list[str]:
        """Silences reported offline outside :attr:`ChaosPlan.offline_bounds`, without
        their alarm within the grace time of that (when they lasted longer), or back
        later than 2 periods."""
        plan, out = self.plan, []
        period, (early, late) = plan.period, plan.offline_bounds
        for s in self.silences:
            if s.offline_after_s is None or not early <= s.offline_after_s <= late:
                out.append(f"{s.board} silent at {s.silenced_at:.3f}: offline after "
                           f"{_ms(s.offline_after_s)} (bounds {_ms(early)} to "
                           f"{_ms(late)})")  # fmt: skip
            alarm_by = late + plan.offline_alarm_after_s + period
            due = plan.silence_s > alarm_by
            if due and (s.alarm_after_s is None or s.alarm_after_s > alarm_by):
                out.append(f"{s.board} silent at {s.silenced_at:.3f}: alarm after "
                           f"{_ms(s.alarm_after_s)} (bound {_ms(alarm_by)})")  # fmt: skip
            if s.online_after_s is None or s.online_after_s > 2 * period:
                bound = _ms(2 * period)
                out.append(f"{s.board} answering at {s.revived_at:.3f}: online after "
                           f"{_ms(s.online_after_s)} (bound {bound})")  # fmt: skip
        return out


def _ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds * 1000:.0f} ms"


def chaos_config(data_dir: Path, plan: ChaosPlan) -> str:
    """The daemon's config: two boards of ``plan.bus`` on the bus ``bus0`` in the data dir."""
    lines = [
        "demo = true",  # for the file back end: simulated recipients
        "[kiosk]",
        'id = "CHAOS-01"',
        f"data_dir = {json.dumps(str(data_dir))}",
        f"socket = {json.dumps(str(data_dir / 'api.sock'))}",
        'operator_contact = "+49 30 999"',
        "[doors]",
        "open_timeout_s = 2.0",
        "remind_after_s = 5.0",
        "left_open_after_s = 30.0",
        "debounce_ms = 30",
        "debounce_polls = 2",
        f"poll_hz = {plan.poll_hz}",
        f"offline_after_misses = {plan.offline_after_misses}",
        f"offline_after_s = {plan.offline_after_s}",
        f"offline_alarm_after_s = {plan.offline_alarm_after_s}",
        # Each compartment free again as soon as its parcel is picked up: with a window to
        # reopen the door, a long run's compartments would all be held and most operations
        # would be refused for want of one, not run on the noisy bus.
        "reopen_after_pickup_s = 0",
        "[locks]",
        "pulse_ms = 100",
        "gap_ms = 20",
        "[security]",
        "mass_open_max = 100000",  # a door every few hundred ms, for hours
        "[clock]",
        'trust = "always"',  # parcels expire for the returns bursts, with or without timesyncd
        "[notify]",
        'backend = "file"',
        "[notify.file]",
        'path = "inbox.jsonl"',
    ]
    for name, (address, _) in plan.boards.items():
        lines += ["[[boards]]", f'name = "{name}"', f'driver = "{plan.bus}"', 'port = "bus0"',
                  f"address = {address}", "baud = 19200", f"timeout_s = {plan.timeout_s}",
                  f"retries = {plan.retries}"]  # fmt: skip
        lines += [f"energise_ms = {plan.energise_ms}"] if plan.bus == "kerong" else []
    for name, (_, letter) in plan.boards.items():
        for lock in LOCKS:
            size = SIZES[lock % 2]
            lines += ["[[compartments]]", f'id = "{letter}{lock:02d}"', f'size = "{size}"',
                      f'board = "{name}"', f"lock = {lock}"]  # fmt: skip
    return "\n".join(lines) + "\n"


class Wire(Protocol):
    """What the run does to the emulated bus, whichever its kind."""

    def spoil(self, plan: ChaosPlan) -> None:
        """Damage replies at the plan's rates from now on."""

    def set_silent(self, address: int, silent: bool) -> None:
        """The board at ``address`` hears nothing (``True``) or answers again."""

    def stats(self) -> dict[str, Any]:
        """``requests_seen``, ``replies_sent``, ``replies_dropped``, ``replies_late``."""


@dataclass
class KerongWire:
    emulator: KerongBusEmulator

    def spoil(self, plan: ChaosPlan) -> None:
        bus = self.emulator
        bus.corrupt_checksum, bus.drop_reply = plan.corrupt, plan.drop
        bus.garbage_before_reply, bus.late_reply = plan.garbage, plan.late
        bus.late_by_s = plan.late_by_s

    def set_silent(self, address: int, silent: bool) -> None:
        self.emulator.set_silent(address, silent)

    def stats(self) -> dict[str, Any]:
        return self.emulator.stats()


@dataclass
class ModbusWire:
    emulator: ModbusBusEmulator

    def spoil(self, plan: ChaosPlan) -> None:
        self.emulator.faults = Faults(
            corrupt_crc_p=plan.corrupt,
            drop_p=plan.drop,
            garbage_p=plan.garbage,
            late_p=plan.late,
            late_s=plan.late_by_s,
        )

    def set_silent(self, address: int, silent: bool) -> None:
        for board in self.emulator.boards:
            if any(unit.address == address for unit in board.units):
                board.faults.silent = silent

    def stats(self) -> dict[str, Any]:
        bus, boards = self.emulator.counters, self.emulator.boards
        return {
            "requests_seen": sum(b.counters.requests + b.counters.silent for b in boards),
            "replies_sent": bus.replies,
            "replies_dropped": bus.dropped,
            "replies_late": bus.late,
            "replies_corrupted": bus.corrupted,
        }


class ChaosRun:
    """One daemon, its emulated bus and the run of operations against them."""

    def __init__(
        self,
        root: Path,
        plan: ChaosPlan,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.plan = plan
        self.progress = progress
        self.rng = random.Random(plan.seed)
        self.daemon = Daemon(root)
        self.daemon.config_path.write_text(chaos_config(self.daemon.data_dir, plan))
        self.sim = Simulator(
            load_config(self.daemon.config_path),
            person="auto",
            close_delay_s=plan.close_delay_s,
            pace=True,
        )
        self.report = ChaosReport(plan)
        self.ledger = Ledger()
        self.codes: dict[str, str] = {}  # barcode -> pickup code, of parcels to pick up
        self._inbox = Inbox(self.daemon.data_dir / "inbox.jsonl")
        self._serial = 0
        self._silencer: threading.Thread | None = None

    @property
    def bus(self) -> Wire:
        """The emulated bus, whichever its kind."""
        emulator = self.sim.emulators[0]
        if isinstance(emulator, KerongBusEmulator):
            return KerongWire(emulator)
        assert isinstance(emulator, ModbusBusEmulator)
        return ModbusWire(emulator)

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> ChaosRun:
        self.sim.start()
        self.daemon.start()
        self._wait_settled()
        self.bus.spoil(self.plan)
        return self

    def close(self) -> None:
        if self._silencer is not None:
            self._silencer.join()
        proc = self.daemon.proc
        if proc is not None and proc.poll() is None:
            self.daemon.stop()
        self.sim.close()

    # -- the run --------------------------------------------------------------------

    def run(self) -> ChaosReport:
        began = time.monotonic()
        run_began = time.time()
        starts = {(k + 1) * self.plan.ops // (self.plan.silences + 1)
                  for k in range(self.plan.silences)}  # fmt: skip
        with self.daemon.signed_in() as courier, self.daemon.client() as customer:
            for number in range(self.plan.ops):
                if number in starts:
                    self._silence_soon()
                self._refresh_codes()
                self._one_operation(courier, customer)
                if self.progress is not None:
                    self.progress(number + 1, self.plan.ops)
        if self._silencer is not None:
            self._silencer.join()
        self._wait_settled()
        self._check(run_began)
        self.report.seconds = time.monotonic() - began
        return self.report

    def _one_operation(self, courier: ApiClient, customer: ApiClient) -> None:
        waiting = sorted(self.codes)
        if waiting and (len(waiting) >= 10 or self.rng.random() < 0.5):
            self._pickup(customer, self.rng.choice(waiting))
        else:
            self._deposit(courier)

    def _deposit(self, courier: ApiClient) -> None:
        self._serial += 1
        barcode = f"CHAOS-{self.plan.seed}-{self._serial:06d}"
        self.ledger.requested.add(barcode)
        body = {"barcode": barcode, "size": self.rng.choice(SIZES), "phone": "+4915112345678"}
        final = self._follow(courier, "/v1/deposits", body, "deposit")
        if final is None:
            return
        if final["status"] == "CLOSED" and final["message"].startswith("Stored in"):
            self.ledger.kept.add(barcode)
            self.report.outcomes["deposit stored"] += 1
        else:
            self.report.unclear.append(f"deposit {barcode} ended {final['status']}: {final}")

    def _pickup(self, customer: ApiClient, barcode: str) -> None:
        final = self._follow(customer, "/v1/pickup", {"code": self.codes[barcode]}, "pickup")
        if final is None:
            return
        del self.codes[barcode]
        if final["status"] == "CLOSED":
            self.ledger.picked.add(barcode)
            self.report.outcomes["pickup done"] += 1
        else:
            self.report.unclear.append(f"pickup of {barcode} ended {final['status']}: {final}")

    def _follow(
        self, client: ApiClient, path: str, body: dict[str, Any], what: str
    ) -> dict[str, Any] | None:
        """Start one operation and wait for its end; ``None`` after a refusal."""
        try:
            view = client.post(path, body)
            return client.wait_operation(view["operation"], poll=10)
        except ApiError as exc:
            self._refused(exc, what, body)
        except ClientError as exc:
            self.report.unclear.append(f"{what} {body}: no answer: {exc}")
        return None

    def _refused(self, exc: ApiError, what: str, body: dict[str, Any]) -> None:
        if DESIGNED_REFUSALS.get(exc.status) != exc.kind or not exc.message:
            self.report.unclear.append(f"{what} answered {exc.status} {exc.kind}: {exc.message}")
            return
        self.report.outcomes[f"refused: {what}, {exc.kind}"] += 1
        if exc.kind == "DoorDidNotOpen":  # its door is out of service now: leave it be
            self.codes = {b: c for b, c in self.codes.items() if c != body.get("code")}

    # -- the silent board -----------------------------------------------------------

    def _silence_soon(self) -> None:
        """Silence a board after a random part of a second, on a thread of its own, so
        the silence starts anywhere in an operation, and revive it ``silence_s`` later."""
        if self._silencer is not None:
            self._silencer.join()
        board = ("bottom", "top")[len(self.report.silences) % 2]
        silence = Silence(board)
        self.report.silences.append(silence)
        delay = self.rng.uniform(0, 0.5)
        self._silencer = threading.Thread(
            target=self._silence, args=(silence, delay), name="chaos-silence", daemon=True
        )
        self._silencer.start()

    def _silence(self, silence: Silence, delay: float) -> None:
        address = self.plan.boards[silence.board][0]
        time.sleep(delay)
        silence.silenced_at = time.time()
        self.bus.set_silent(address, True)
        time.sleep(self.plan.silence_s)
        silence.revived_at = time.time()
        self.bus.set_silent(address, False)

    # -- checks ---------------------------------------------------------------------

    def _check(self, run_began: float) -> None:
        data = self.daemon.data_dir
        view = read_store(data / "kiosk.db")
        self.report.lost += check_settled(view) + check_parcels_in_place(view)
        self.report.lost += check_ledger(view, self.ledger)
        intended = Counter[str]()
        for op in view.ops:
            intended[op["compartment_id"]] += int(op["fires"])
        fired = Counter(line.split()[3] for line in read_fire_log(data / "sim-fires.log"))
        self.report.wrong_doors += [
            f"{cid} fired {n} times, {intended[cid]} fires journalled"
            for cid, n in sorted(fired.items()) if n > intended[cid]
        ]  # fmt: skip
        with self.daemon.client() as client:
            self.report.lost += check_event_chain(client.get("/v1/events/verify"))
            self.report.lost += check_outputs_off(self.sim.bank.snapshot())
            health = self._health_events(client, run_began)
        self._time_silences(health)
        self.report.wire = self.bus.stats()
        if "Traceback" in self.daemon.log():
            self.report.unclear.append("the daemon logged a traceback")

    def _health_events(self, client: ApiClient, since: float) -> list[dict[str, Any]]:
        events, after = [], 0
        while True:
            page = client.get("/v1/events", after=after, limit=10000)["events"]
            if not page:
                return events
            after = page[-1]["seq"]
            events += [e for e in page if e["ts"] >= since
                       and e["kind"] in _HEALTH_KINDS]  # fmt: skip

    def _time_silences(self, health: list[dict[str, Any]]) -> None:
        matched: set[int] = set()
        for s in self.report.silences:
            offline = _first(health, "board_offline", s.board, s.silenced_at, s.revived_at)
            alarm = _first(health, "board_still_offline", s.board, s.silenced_at, s.revived_at)
            online = _first(health, "board_online", s.board, s.revived_at, float("inf"))
            for event in (offline, alarm, online):
                if event is not None:
                    matched.add(event["seq"])
            s.offline_after_s = offline["ts"] - s.silenced_at if offline else None
            s.alarm_after_s = alarm["ts"] - s.silenced_at if alarm else None
            s.online_after_s = online["ts"] - s.revived_at if online else None
        unmatched = [e for e in health if e["seq"] not in matched]
        self.report.false_offlines += [
            f"{e['detail'].get('board')} at {e['ts']:.3f}: {e['detail'].get('error')}"
            for e in unmatched if e["kind"] == "board_offline"
        ]  # fmt: skip
        self.report.false_alarms += [
            f"{e['detail'].get('board')} at {e['ts']:.3f}: {e['detail'].get('error')}"
            for e in unmatched if e["kind"] == "board_still_offline"
        ]  # fmt: skip

    # -- helpers --------------------------------------------------------------------

    def _refresh_codes(self) -> None:
        """Pickup codes the recipients were sent since the last look."""
        self.codes.update(self._inbox.new_codes())

    def _wait_settled(self) -> None:
        """Every board online, every door closed, no operation live, nothing to send."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        last: Any = None
        with self.daemon.client() as client:
            while time.monotonic() < deadline:
                status = client.get("/v1/status")
                doors = client.get("/v1/compartments")["compartments"]
                last = {
                    "offline": [b["name"] for b in status["boards"] if not b["online"]],
                    "live": [op["compartment"] for op in status["operations"]],
                    "not closed": [c["id"] for c in doors if c["door"] != "CLOSED"],
                    "outbox": status["outbox_depth"],
                }
                if not any(last.values()):
                    self._refresh_codes()
                    return
                time.sleep(0.05)
        raise AssertionError(f"the kiosk did not settle in {SETTLE_TIMEOUT_S:.0f} s: {last}")


def _first(
    events: list[dict[str, Any]], kind: str, board: str, after: float, before: float
) -> dict[str, Any] | None:
    return next(
        (e for e in events
         if e["kind"] == kind and e["detail"].get("board") == board and after <= e["ts"] < before),
        None,
    )  # fmt: skip
