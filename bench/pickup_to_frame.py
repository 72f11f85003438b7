"""Pickup to unlock frame: from the pickup request to the unlock frame's last byte at the board.

Two emulated Kerong CU16 boards on one bus (:mod:`kerong_rig`), paced at the wire time
of the baud, in this process; the daemon in its own (``python -m kiosk run``, polling at
10 Hz). A courier fills every compartment through the API; then each parcel is picked
up, one at a time, each after the previous door closed and the lock queue went idle (the
board's 500 ms energise time and the gap after the previous fire):

* **start**: ``time.monotonic()`` just before the bytes of ``POST /v1/pickup`` are
  written to the daemon's Unix socket. The request is made in advance and sent on a
  kept-alive connection with a plain socket (:class:`RawPickup`), so the figure holds
  the daemon and the bus, not an HTTP client library's own time (``httpx``, which the
  touchscreen uses, spends about 1 ms more before its first byte; printed beside);
* **end**: the emulator's own stamp of the unlock request (0x31) for that door, taken
  when its last byte has arrived (after the frame's wire time: the emulator paces what
  it receives), by :attr:`hw_sim.kerong_emu.KerongBusEmulator.on_request`.

Between the two: HTTP, the code check, the intent committed to SQLite (an fsync), the
door task, the safety layer's lock queue and thread, a poll that may hold the bus, the
driver's write, and the frame on the wire.

The floor, measured in the same run: one 64-byte ``os.write`` + ``os.fsync`` of a file in
the data dir (half of the samples before the pickups, half after; p50) plus the unlock
frame's wire time at the baud (5 bytes, 10 bits each: 2.6 ms at 19200, 5.2 ms at 9600).
Goal: p50 <= 1.5 x the floor.

    python bench/pickup_to_frame.py            # 100 pickups per baud (~4 min)
    python bench/pickup_to_frame.py --quick    # 24 pickups per baud (~1 min)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
from kerong_rig import BOARDS, KerongKiosk, kerong_config

from hw_sim.kerong_emu import KerongRequest
from hw_sim.pty_link import wire_time
from kiosk.protocol.client import ApiClient
from testkit.daemon import COURIER

BAUDS = (19200, 9600)
LOCKS = 8
POLL_HZ = 10.0
UNLOCK_BYTES = 5
# A Kerong board times its own pulse, taken to be its default 500 ms energise time
# (KerongDriver.pulse_length); the next fire of the power group waits for it and gap_ms.
LOCK_BUSY_S = 0.5 + 0.02 + 0.03
GOAL_RATIO = 1.5
SECTIONS = {
    # reopen_after_pickup_s = 0: each compartment free again as soon as its parcel is picked
    # up, for the next fill of the bank; a window to reopen the door would hold them all.
    "doors": {
        "poll_hz": POLL_HZ,
        "debounce_ms": 0,
        "debounce_polls": 1,
        "open_timeout_s": 3.0,
        "reopen_after_pickup_s": 0,
    },
    "locks": {"pulse_ms": 100, "gap_ms": 20},
    "notify": {"backend": "file"},
    "notify.file": {"path": "inbox.jsonl"},
}


@dataclass
class Run:
    baud: int
    latencies: list[float]  # plain-socket client: the daemon and the bus
    with_httpx: list[float]  # the same, with httpx (the touchscreen's client) in front
    floor_fsync: list[float]

    @property
    def floor(self) -> float:
        return common.percentile(sorted(self.floor_fsync), 50) + wire_time(UNLOCK_BYTES, self.baud)


class UnlockStamps:
    """The emulator's arrival time of every unlock frame, by (board address, lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: dict[tuple[int, int], float] = {}

    def __call__(self, request: KerongRequest, at: float) -> None:
        if request.cmd == 0x31:
            with self._lock:
                self._at.setdefault((request.board, request.lock), at)

    def take(self, board: int, lock: int, timeout: float = 5.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                at = self._at.pop((board, lock), None)
            if at is not None:
                return at
            time.sleep(0.001)
        raise RuntimeError(f"no unlock frame for lock {lock} of board {board}")

    def clear(self) -> None:
        with self._lock:
            self._at.clear()


class RawPickup:
    """``POST /v1/pickup`` with a plain socket: the connection is made and the request
    built before the clock starts, so only the daemon's side is timed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def prepare(self, code: str) -> bytes:
        """A fresh connection (the daemon drops idle ones) and the request's bytes."""
        self.close()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(str(self._path))
        self._buffer = b""
        time.sleep(0.02)  # accepted by the daemon, as a kept-alive connection would be
        body = json.dumps({"code": code}).encode()
        head = (
            "POST /v1/pickup HTTP/1.1\r\nHost: kiosk\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def send(self, request: bytes) -> float:
        """Write ``request``; the monotonic time just before its first byte went."""
        assert self._sock is not None
        began = time.monotonic()
        self._sock.sendall(request)
        return began

    def answer(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self._buffer:
            self._buffer += self._recv()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(v) for k, _, v in (ln.partition(":") for ln in lines[1:])
                      if k.strip().lower() == "content-length")  # fmt: skip
        while len(rest) < length:
            rest += self._recv()
        self._buffer = rest[length:]
        if " 200 " not in lines[0] + " ":
            raise RuntimeError(f"pickup refused: {lines[0]} {rest[:length]!r}")
        answer: dict[str, Any] = json.loads(rest[:length])
        return answer

    def _recv(self) -> bytes:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise RuntimeError("the daemon closed the connection")
        return chunk


def fsync_floor(directory: Path, samples: int) -> list[float]:
    """Seconds per 64-byte ``os.write`` + ``os.fsync`` of a file in ``directory``."""
    fd = os.open(directory / "fsync-probe.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    out = []
    try:
        for _ in range(samples):
            began = time.perf_counter()
            os.write(fd, b"x" * 64)
            os.fsync(fd)
            out.append(time.perf_counter() - began)
    finally:
        os.close(fd)
    return out


def fill(kiosk: KerongKiosk, courier: ApiClient, serial: int) -> int:
    """A courier deposits a parcel in every compartment; returns the next serial."""
    for _ in range(len(BOARDS) * LOCKS):
        serial += 1
        body = {"barcode": f"FRAME{serial:07d}", "size": "S", "phone": "+4915112345678"}
        view = courier.post("/v1/deposits", body)
        courier.wait_operation(view["operation"], poll=10)
    kiosk.wait_idle()
    time.sleep(LOCK_BUSY_S)  # the last deposit's coil
    return serial


def codes(kiosk: KerongKiosk, seen: set[str]) -> dict[str, str]:
    """Pickup codes sent since ``seen``: {barcode: code}."""
    out = {}
    for line in (kiosk.daemon.data_dir / "inbox.jsonl").read_text().splitlines():
        message = json.loads(line)
        barcode = message["payload"].get("barcode")
        if message["kind"] == "parcel_stored" and barcode not in seen:
            out[barcode] = str(message["payload"]["code"])
    return out


def measure(root: Path, baud: int, pickups: int) -> Run:
    config = kerong_config(root / "data", baud=baud, locks=LOCKS, sections=SECTIONS)
    stamps = UnlockStamps()
    where = {f"{letter}{lock:02d}": (address, lock) for address, letter in BOARDS.values()
             for lock in range(1, LOCKS + 1)}  # fmt: skip
    latencies: list[float] = []
    with_httpx: list[float] = []
    rng = random.Random(5)
    seen: set[str] = set()
    serial = 0
    users = [(COURIER, "courier")]
    with KerongKiosk(root, config, person="auto", close_delay_s=0.15, users=users) as kiosk:
        floor = fsync_floor(kiosk.daemon.data_dir, 500)
        kiosk.bus.on_request = stamps
        raw = RawPickup(kiosk.daemon.socket)
        with kiosk.daemon.signed_in() as courier, kiosk.client() as customer:
            while len(latencies) < pickups:
                serial = fill(kiosk, courier, serial)
                waiting = list(codes(kiosk, seen).items())
                rng.shuffle(waiting)
                for barcode, code in waiting[: 2 * (pickups - len(latencies))]:
                    seen.add(barcode)
                    stamps.clear()
                    # Every other pickup through httpx, for the figure beside.
                    if len(with_httpx) < len(latencies):
                        began = time.monotonic()
                        view = customer.post("/v1/pickup", {"code": code})
                        into = with_httpx
                    else:
                        request = raw.prepare(code)
                        began = raw.send(request)
                        view = raw.answer()
                        into = latencies
                    fired = stamps.take(*where[view["compartment"]])
                    into.append(fired - began)
                    customer.wait_operation(view["operation"], poll=10)
                    kiosk.wait_idle()
                    # The power group's lock queue is busy while the coil is on: that
                    # wait is not what is measured here.
                    time.sleep(max(0.0, fired + LOCK_BUSY_S - time.monotonic()))
                    print(f"\r  {baud} baud: {len(latencies)}/{pickups} pickups", end="",
                          file=sys.stderr, flush=True)  # fmt: skip
                    if len(latencies) >= pickups:
                        break
        raw.close()
        floor += fsync_floor(kiosk.daemon.data_dir, 500)
    print(file=sys.stderr)
    return Run(baud, latencies, with_httpx, floor)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(runs: list[Run], machine: common.MachineInfo) -> None:
    print()
    machine.print()
    common.print_table(
        ["setting", ""],
        [
            ("bus", "2 Kerong CU16 emulators on one pty, paced at the baud"),
            ("daemon", f"python -m kiosk run; poll_hz = {POLL_HZ:g}; pulse_ms 100, gap_ms 20"),
            ("start", "time.monotonic() before POST /v1/pickup's first byte (plain socket)"),
            ("end", "the emulator's arrival stamp of the 0x31 frame's last byte"),
            ("floor", "p50 of 64-byte write + fsync in the data dir, + 5 bytes' wire time"),
        ],
    )
    rows = []
    for run in runs:
        fsync = sorted(run.floor_fsync)
        for label, latencies, judged in (
            (f"{run.baud} baud", run.latencies, True),
            ("  with httpx in front", run.with_httpx, False),
        ):
            ordered = sorted(latencies)
            p50 = common.percentile(ordered, 50)
            rows.append((
                label,
                len(ordered),
                ms(p50),
                ms(common.percentile(ordered, 90)),
                ms(common.percentile(ordered, 99)),
                ms(ordered[-1]),
                f"{ms(common.percentile(fsync, 50))} + {ms(wire_time(UNLOCK_BYTES, run.baud))}",
                f"{p50 / run.floor:.2f}x",
                common.verdict(p50 / run.floor <= GOAL_RATIO) if judged else "",
            ))  # fmt: skip
    common.print_table(
        ["pickup -> unlock frame at board (ms)", "pickups", "p50", "p90", "p99", "max",
         "floor: fsync + wire", "p50/floor", f"<= {GOAL_RATIO}x"],
        rows,
        "Pickup request to the last byte of the unlock frame, beside the floor",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="24 pickups per baud, not 100")
    parser.add_argument("--pickups", type=int, help="pickups per baud (default 100)")
    parser.add_argument(
        "--dir", default="/tmp", help="where the throwaway data dir goes (default /tmp)"
    )
    args = parser.parse_args(argv)
    pickups = args.pickups or (24 if args.quick else 100)
    machine = common.machine_info(Path(args.dir))
    runs = []
    for baud in BAUDS:
        root = Path(tempfile.mkdtemp(prefix="lk-frame-", dir=args.dir))
        try:
            runs.append(measure(root, baud, pickups))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    report(runs, machine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
