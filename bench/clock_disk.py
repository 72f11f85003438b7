"""The clock and the disk: what a wall-clock step and a full disk do to a real kiosk.

Both parts run the real daemon (``python -m kiosk run``) on the sim driver, one door per
parcel, with the housekeeping round (expiry, the clock's and the disk's checks) every
0.5 s instead of the product's 60 s, so that "within one round" is measured in seconds.

**Clock** (the wall clock stepped inside the daemon, :mod:`testkit.wallclock`; the
monotonic clocks run on): ``--parcels`` parcels held 1 h are stored, then the wall clock
steps 4 days forward. Measured: the step to the ``clock_jump`` alarm, parcels expired
and recipients told during 10 rounds of the jump, the clock back to ``clock_returned``,
and every parcel then picked up with its code. Then the wall clock steps a day back
while a notification waits for its retry (1 s) against a gateway that refuses it: the
step to the retry that is accepted.

**Disk** (the data dir on a tmpfs of 16 MB that the script mounts: needs root, else the
part is skipped): ``--parcels`` parcels are stored and 4 of them left mid-pickup with the
door open, the daemon stopped, the disk filled to the last block. Measured: the start on
the full disk to ready (beside a start with room), ``GET /v1/status`` while full, every
code typed refused and locks fired (the sim's fire log), then the doors closed, the disk
freed, and the time until every pickup left is finished and every event kept in memory
is in the log (with the chain intact). Last, the low-space alarm: the free space taken
below the mark, to the ``disk_space_low`` alarm.

    python bench/clock_disk.py             # 40 parcels
    python bench/clock_disk.py --quick     # 12 parcels
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest

from testkit.daemon import Daemon, stepped_daemon
from testkit.tmpfs import fill, kiosk_on_a_small_disk

ROUND_S = 0.5
DAYS_4 = 4 * 86400
LEFT_OPEN = 4
Row = tuple[str, str, str, str]


def wait(what: Callable[[], Any], timeout: float = 60.0) -> float:
    """Seconds until ``what()`` is true (monotonic); raises after ``timeout``."""
    start = time.monotonic()
    while not what():
        if time.monotonic() - start > timeout:
            raise TimeoutError("gave up waiting")
        time.sleep(0.02)
    return time.monotonic() - start


def deposit_all(daemon: Daemon, n: int) -> dict[str, tuple[str, str]]:
    """``n`` parcels stored: barcode -> (compartment, code)."""
    courier = daemon.signed_in()
    stored = {}
    for i in range(n):
        barcode = f"BENCH-{i:03d}"
        view = courier.post("/v1/deposits", {"barcode": barcode, "size": "S",
                                             "phone": "+4915112345678"})  # fmt: skip
        courier.wait_operation(view["operation"], until_done=True)
        stored[barcode] = (view["compartment"], daemon.code_for(barcode))
    return stored


def states(daemon: Daemon) -> dict[str, str]:
    return {p["barcode"]: p["state"] for p in daemon.client().get("/v1/parcels")["parcels"]}


def events(daemon: Daemon, kind: str) -> list[dict[str, Any]]:
    return daemon.events(kind)


def config(n: int, sections: dict[str, Any]) -> dict[str, Any]:
    return {"sizes": ["S"] * n, "close_delay_s": 0.15,
            "sections": {"policy": {"expiry_check_s": ROUND_S, "reminder_hours": []},
                         **sections}}  # fmt: skip


# -- the clock ------------------------------------------------------------------------


def clock_part(n: int) -> list[Row]:
    held = {"policy": {"expiry_check_s": ROUND_S, "hold_hours": 1, "reminder_hours": []}}
    with stepped_daemon(**config(n, held)) as (daemon, wall):
        stored = deposit_all(daemon, n)
        wall.set(DAYS_4)
        to_alarm = wait(lambda: events(daemon, "clock_jump"))
        time.sleep(10 * ROUND_S)
        expired = sum(s == "EXPIRED" for s in states(daemon).values())
        told = sum(m["kind"] == "parcel_expired" for m in daemon.inbox())
        wall.set(0)
        to_return = wait(lambda: events(daemon, "clock_returned"))
        opened = 0
        for _, code in stored.values():
            view = daemon.client().post("/v1/pickup", {"code": code})
            opened += view["status"] in ("OPENED", "UNLOCK_SENT")
        wait(lambda: all(s == "PICKED_UP" for s in states(daemon).values()))
    retry = step_back_retry()
    return [
        ("4 d forward: step to clock_jump alarm", f"{to_alarm:.2f} s",
         f"<= {2 * ROUND_S:.1f} s (2 rounds)", common.verdict(to_alarm <= 2 * ROUND_S)),
        (f"parcels expired during the jump (of {n})", str(expired), "0",
         common.verdict(expired == 0)),
        ("recipients told of an expiry", str(told), "0", common.verdict(told == 0)),
        ("clock back: to clock_returned", f"{to_return:.2f} s", f"<= {2 * ROUND_S:.1f} s",
         common.verdict(to_return <= 2 * ROUND_S)),
        ("parcels picked up after it came back", f"{opened} of {n}", f"{n} of {n}",
         common.verdict(opened == n)),
        ("1 d back: step to the retry accepted", f"{retry:.2f} s", "<= 3 s (the 2 s back-off)",
         common.verdict(retry <= 3)),
    ]  # fmt: skip


class Gateway(http.server.BaseHTTPRequestHandler):
    taking = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200 if self.taking.is_set() else 503)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def step_back_retry() -> float:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    notify = {"notify": {"backend": "webhook", "retry_initial_s": 1, "retry_max_s": 2},
              "notify.webhook": {"url": url, "secret": "bench-secret"}}  # fmt: skip
    try:
        with stepped_daemon(**config(1, notify)) as (daemon, wall):
            courier = daemon.signed_in()
            view = courier.post("/v1/deposits", {"barcode": "RETRY", "size": "S",
                                                 "phone": "+4915112345678"})  # fmt: skip
            courier.wait_operation(view["operation"], until_done=True)
            wait(lambda: events(daemon, "notification_retry"))
            wall.set(-86400)
            Gateway.taking.set()
            return wait(lambda: events(daemon, "notification_sent"))
    finally:
        server.shutdown()
        server.server_close()


# -- the disk -------------------------------------------------------------------------


def disk_part(n: int) -> list[Row]:
    with kiosk_on_a_small_disk(**config(n, {"storage": {"low_space_mb": 1}})) as daemon:
        daemon.start()
        stored = deposit_all(daemon, n)
        assert daemon.stop() == 0
        ready_with_room = timed_start(daemon)
        status_with_room = status_times(daemon)
        left = list(stored.items())[:LEFT_OPEN]
        for _, (cid, code) in left:
            daemon.sim().leave_open(cid)
            daemon.client().post("/v1/pickup", {"code": code})
        assert daemon.stop() == 0
        fill(daemon.data_dir)
        fires = fire_lines(daemon)
        ready_full = timed_start(daemon)
        status = status_times(daemon)
        refused = sum(refuses(daemon, code) for _, (_, code) in list(stored.items())[LEFT_OPEN:])
        for _, (cid, _) in left:
            daemon.sim().leave_open(cid, False)
            daemon.sim().close_door(cid)
        kept = daemon.client().get("/v1/status")["storage"]["unwritten_events"]
        (daemon.data_dir / "filler").unlink()
        barcodes = [b for b, _ in left]
        caught_up = wait(lambda: all(states(daemon)[b] == "PICKED_UP" for b in barcodes))
        chain = daemon.client().get("/v1/events/verify")["ok"]
        fired = len(fire_lines(daemon)) - len(fires)
    low = low_space_alarm()
    rest = n - LEFT_OPEN
    p99, p99_room = common.percentile(status, 99), common.percentile(status_with_room, 99)
    return [
        ("restart to ready, disk with room", f"{ready_with_room:.2f} s", "-", ""),
        ("restart to ready, disk full", f"{ready_full:.2f} s", "<= 30 s (TimeoutStartSec)",
         common.verdict(ready_full <= 30)),
        ("GET /v1/status with room, p50 / p99",
         f"{common.percentile(status_with_room, 50) * 1000:.1f} / {p99_room * 1000:.1f} ms",
         "-", ""),
        ("GET /v1/status while full, p50 / p99",
         f"{common.percentile(status, 50) * 1000:.1f} / {p99 * 1000:.1f} ms", "p99 <= 100 ms",
         common.verdict(p99 <= 0.1)),
        ("right codes refused while full", f"{refused} of {rest}", f"{rest} of {rest}",
         common.verdict(refused == rest)),
        ("locks fired while full, or after", str(fired), "0", common.verdict(fired == 0)),
        ("events kept in memory while full", str(kept), "-", ""),
        (f"room again: {LEFT_OPEN} pickups finished", f"{caught_up:.2f} s",
         "<= 6 s (5 s retry + a round)", common.verdict(caught_up <= 6)),
        ("event chain after catching up", "intact" if chain else "BROKEN", "intact",
         common.verdict(chain)),
        ("below the mark to disk_space_low", f"{low:.2f} s", f"<= {2 * ROUND_S:.1f} s",
         common.verdict(low <= 2 * ROUND_S)),
    ]  # fmt: skip


def timed_start(daemon: Daemon) -> float:
    start = time.monotonic()
    daemon.start()
    return time.monotonic() - start


def status_times(daemon: Daemon, n: int = 200) -> list[float]:
    """``GET /v1/status`` over one connection, as the touchscreen asks it."""
    with daemon.client() as client:
        client.get("/v1/status")
        times = []
        for _ in range(n):
            start = time.perf_counter()
            client.get("/v1/status")
            times.append(time.perf_counter() - start)
    return sorted(times)


def refuses(daemon: Daemon, code: str) -> bool:
    try:
        daemon.client().post("/v1/pickup", {"code": code})
    except Exception as exc:  # the API's refusal
        return getattr(exc, "status", None) == 503
    return False


def fire_lines(daemon: Daemon) -> list[str]:
    return (daemon.files_dir / "sim-fires.log").read_text().splitlines()


def low_space_alarm() -> float:
    low = {"storage": {"low_space_mb": 12}}
    with kiosk_on_a_small_disk(size_mb=32, **config(1, low)) as daemon:
        daemon.start()
        start = time.monotonic()
        fill(daemon.data_dir, leave_bytes=6 * 1024 * 1024)
        wait(lambda: events(daemon, "disk_space_low"))
        return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 parcels instead of 40")
    parser.add_argument("--parcels", type=int, default=None, help="parcels stored (<= 64)")
    args = parser.parse_args()
    n = args.parcels or (12 if args.quick else 40)
    info = common.machine_info(Path("/tmp"))
    headers = ["figure", "measured", "goal", ""]
    common.print_table(headers, clock_part(n), "The clock")
    try:
        common.print_table(headers, disk_part(n), "The disk")
    except pytest.skip.Exception as exc:
        print(f"The disk: skipped: {exc}\n")
    info.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
