"""``locker-kiosk sim``: emulated lock control boards for a config, on pseudo-terminals.

For every Kerong bus and Modbus relay board of the config, an emulator written from the
protocol facts (:mod:`hw_sim.kerong_emu`, :mod:`hw_sim.modbus_emu`) answers on a
pseudo-terminal linked at the board's ``port`` (a relative port lives in the data dir).
Behind them one physical model of the bank (:mod:`hw_sim.model`) with its simulated
person, its state file and its control socket (``sim.sock``), so the daemon's real
serial drivers run unchanged, and tests, the simulator window and people can open,
close, jam or kill things by hand.

This is a tool beside the product, not part of the daemon: it imports ``hw_sim``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import BoardSpec
from hw_sim.control import start_control_server
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.modbus_emu import ModbusRelayEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink
from kiosk.config import Config

EMULATED = ("kerong", "modbus")


class Simulator:
    """The emulated boards of one config, and the bank behind them."""

    def __init__(
        self, config: Config, person: str = "auto", close_delay_s: float = 2.0, pace: bool = False
    ) -> None:
        data_dir = config.kiosk.data_dir
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        self.config = config
        self.specs = [s for s in config.board_specs() if s.driver in EMULATED]
        self.bank = Bank(
            person=person,
            close_delay_s=close_delay_s,
            state_file=data_dir / "sim-state.json",
            fire_log=data_dir / "sim-fires.log",
        )
        for spec in self.specs:
            self.bank.add_board(spec.name)
            for channel in spec.channels:
                self.bank.add_compartment(channel.compartment, spec.name, channel.lock)
        self.pace = pace
        self.emulators: list[Any] = []
        self.lines: list[str] = []
        self.control = start_control_server(self.bank, data_dir / "sim.sock")

    def start(self) -> Simulator:
        buses: dict[str, list[BoardSpec]] = {}
        for spec in self.specs:
            if spec.driver == "kerong":
                buses.setdefault(spec.resolve_port(str(spec.options["port"])), []).append(spec)
            else:
                self._start_modbus(spec)
        for port, specs in buses.items():
            self._start_kerong_bus(port, specs)
        return self

    def _start_kerong_bus(self, port: str, specs: list[BoardSpec]) -> None:
        boards = {int(s.options["address"]): s.name for s in specs}
        first = specs[0].options
        emulator = KerongBusEmulator(
            self.bank,
            boards,
            PtyLink(_link(port)),
            baud=int(first["baud"]),
            pace=self.pace,
            lock_closed_bit=int(first["lock_closed_bit"]),
        ).start()
        self.emulators.append(emulator)
        names = ", ".join(f"{s.name!r} (address {s.options['address']})" for s in specs)
        self.lines.append(f"kerong bus {port}: boards {names} on {emulator.device}")

    def _start_modbus(self, spec: BoardSpec) -> None:
        o = spec.options
        port = spec.resolve_port(str(o["port"]))
        emulator = ModbusRelayEmulator(
            self.bank,
            spec.name,
            address=int(o["address"]),
            has_inputs=o["inputs"] == "self" or bool(o["input_address"]),
            input_address=int(o["input_address"]) or None,
            input_closed_level=int(o["input_closed_level"]),
            baud=int(o["baud"]),
            pacing=self.pace,
            link_path=_link(port),
        ).start()
        self.emulators.append(emulator)
        self.lines.append(f"modbus board {spec.name!r} (address {o['address']}) on {port}")

    def close(self) -> None:
        for emulator in self.emulators:
            emulator.close()
        self.emulators.clear()
        self.control.stop()


def _link(port: str) -> Path:
    path = Path(port)
    if path.exists() and not path.is_symlink():
        raise SystemExit(f"locker-kiosk sim: {port} is a real device; not replacing it")
    path.unlink(missing_ok=True)
    return path


def run_simulator(
    config: Config,
    person: str,
    close_delay_s: float,
    pace: bool,
    ready: Callable[[Simulator], None] | None = None,
) -> int:
    sim = Simulator(config, person, close_delay_s, pace)
    if not sim.specs:
        print(
            "locker-kiosk sim: this config has no kerong or modbus boards to emulate "
            "(sim boards run inside the daemon)"
        )
        sim.close()
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sim.start()
    for line in sim.lines:
        print(line, flush=True)
    print(f"control socket: {config.kiosk.data_dir / 'sim.sock'} (Ctrl-C stops)", flush=True)
    if ready is not None:
        ready(sim)
    try:
        stop.wait()
    finally:
        sim.close()
    return 0
