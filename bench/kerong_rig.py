"""A real daemon on emulated Kerong boards, for the benchmarks of the hardware buses.

The boards (``top`` at address 0, ``bottom`` at address 1, on the bus ``bus0`` in the
data dir) are emulated in the benchmark's process by :class:`kiosk.commands.sim.Simulator`,
paced at the wire time of the configured baud, so a benchmark can act on the simulated
bank and read the emulator's own timestamps; the daemon runs as production runs it,
``python -m kiosk run`` in a process of its own (:class:`testkit.daemon.Daemon`).
Both sides take their times from ``time.monotonic()``, one clock for every process.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.model import Bank
from kiosk.commands.sim import Simulator
from kiosk.config import load_config
from kiosk.protocol.client import ApiClient
from testkit.daemon import Daemon

BOARDS = {"top": (0, "A"), "bottom": (1, "B")}  # name -> (address, compartment letter)


def kerong_config(
    data_dir: Path,
    *,
    baud: int,
    locks: int,
    sections: Mapping[str, Mapping[str, Any]],
    board_options: Mapping[str, Any] | None = None,
) -> str:
    """Two CU16 boards on one bus, ``locks`` compartments each (all size S)."""
    # The file back end (simulated recipients) is allowed on a demo kiosk only.
    lines = ["demo = true"] if sections.get("notify", {}).get("backend") == "file" else []
    lines += [
        "[kiosk]",
        'id = "BENCH-KR"',
        f"data_dir = {json.dumps(str(data_dir))}",
        f"socket = {json.dumps(str(data_dir / 'api.sock'))}",
    ]
    # A benchmark opens doors back to back: far past the mass-open guard's default.
    sections = dict(sections)
    sections["security"] = {"mass_open_max": 100_000, **sections.get("security", {})}
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    for name, (address, _) in BOARDS.items():
        lines += ["[[boards]]", f'name = "{name}"', 'driver = "kerong"', 'port = "bus0"',
                  f"address = {address}", f"baud = {baud}"]  # fmt: skip
        lines += [f"{key} = {json.dumps(value)}" for key, value in (board_options or {}).items()]
    for name, (_, letter) in BOARDS.items():
        for lock in range(1, locks + 1):
            lines += ["[[compartments]]", f'id = "{letter}{lock:02d}"', 'size = "S"',
                      f'board = "{name}"', f"lock = {lock}"]  # fmt: skip
    return "\n".join(lines) + "\n"


class KerongKiosk:
    """The emulated bus (started first) and the daemon on it; a context manager."""

    def __init__(
        self,
        root: Path,
        config_text: str,
        *,
        person: str = "manual",
        close_delay_s: float = 0.3,
        users: Sequence[tuple[tuple[str, str], str]] = (),
    ) -> None:
        self.daemon = Daemon(root, users=users)
        self.daemon.config_path.write_text(config_text)
        self.config = load_config(self.daemon.config_path)
        self.sim = Simulator(self.config, person=person, close_delay_s=close_delay_s, pace=True)

    @property
    def bank(self) -> Bank:
        return self.sim.bank

    @property
    def bus(self) -> KerongBusEmulator:
        emulator = self.sim.emulators[0]
        assert isinstance(emulator, KerongBusEmulator)
        return emulator

    def client(self) -> ApiClient:
        return self.daemon.client()

    def __enter__(self) -> KerongKiosk:
        self.sim.start()
        try:
            self.daemon.start()
            self.wait_idle()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()

    def close(self) -> None:
        proc = self.daemon.proc
        if proc is not None and proc.poll() is None:
            self.daemon.stop()
        self.sim.close()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every board is online, every door closed and nothing is live or queued."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                status = client.get("/v1/status")
                doors = client.get("/v1/compartments")["compartments"]
                if (
                    all(b["online"] for b in status["boards"])
                    and not status["operations"]
                    and not status["outbox_depth"]
                    and all(c["door"] == "CLOSED" for c in doors)
                ):
                    return
                time.sleep(0.02)
        raise RuntimeError(f"the kiosk did not settle in {timeout:.0f} s:\n{self.daemon.log()}")
