"""``locker-kiosk sim``: emulated lock control boards for a config, on pseudo-terminals.

For every Kerong bus and Modbus bus of the config (the boards that share a ``port``),
one emulator written from the protocol facts (:mod:`hw_sim.kerong_emu`,
:mod:`hw_sim.modbus_emu`) answers on a pseudo-terminal linked at that ``port`` (a
relative port lives in the data dir). Behind them one physical model of the bank
(:mod:`hw_sim.model`) with its simulated person, its state file and its control socket
(``sim.sock``), so the daemon's real serial drivers run unchanged, and tests, the
simulator window and people can open, close, jam or kill things by hand.

``sim`` boards of the config run inside the daemon, on a bank of their own: give them a
``state_file`` and ``control_socket`` of their own, or they take over this one's
(``sim-state.json``, ``sim.sock``); their fires may share ``sim-fires.log``.

With ``all_channels`` (``--all-channels``), every channel of each emulated board has a
door behind it, those the config leaves out included (named ``<board>-<lock>`` in the
bank): a bank being commissioned, for ``lockerctl discover`` to find.

This is a tool beside the product, not part of the daemon: it imports ``hw_sim``.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import BoardSpec
from hw_sim.control import start_control_server
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.modbus_emu import ModbusBusEmulator, ModbusRelayEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink
from kiosk.config import Config
from kiosk.daemon.data_dir import prepare_data_dir

EMULATED = ("kerong", "modbus")
CHANNELS = {"kerong": 16, "modbus": 8}
"""Channels of an emulated board: a Kerong CU16, a Modbus relay board with 8 relays."""


class Simulator:
    """The emulated boards of one config, and the bank behind them."""

    def __init__(
        self,
        config: Config,
        person: str = "auto",
        close_delay_s: float = 2.0,
        pace: bool = False,
        all_channels: bool = False,
    ) -> None:
        data_dir = config.kiosk.data_dir
        prepare_data_dir(data_dir)
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
            if all_channels:
                _wire_every_channel(self.bank, spec)
        self.pace = pace
        self.emulators: list[Any] = []
        self.lines: list[str] = []
        self.control = start_control_server(self.bank, data_dir / "sim.sock")

    def start(self) -> Simulator:
        buses: dict[tuple[str, str], list[BoardSpec]] = {}
        for spec in self.specs:
            port = spec.resolve_port(str(spec.options["port"]))
            buses.setdefault((spec.driver, port), []).append(spec)
        for (driver, port), specs in buses.items():
            if driver == "modbus":
                self._start_modbus_bus(port, specs)
        for (driver, port), specs in buses.items():
            if driver == "kerong":
                self._start_kerong_bus(port, specs)
        return self

    def _start_kerong_bus(self, port: str, specs: list[BoardSpec]) -> None:
        """One emulator for the boards on ``port``, each with its own lock-bit polarity,
        pacing at the bus's one baud (the config refuses a second one)."""
        boards = {int(s.options["address"]): s.name for s in specs}
        emulator = KerongBusEmulator(
            self.bank,
            boards,
            PtyLink(_link(port)),
            baud=int(specs[0].options["baud"]),
            pace=self.pace,
            lock_closed_bit={
                int(s.options["address"]): int(s.options["lock_closed_bit"]) for s in specs
            },
        ).start()
        self.emulators.append(emulator)
        names = ", ".join(f"{s.name!r} (address {s.options['address']})" for s in specs)
        self.lines.append(f"kerong bus {port}: boards {names} on {emulator.device}")

    def _start_modbus_bus(self, port: str, specs: list[BoardSpec]) -> None:
        """One board on a port gets an emulator of its own; several share a bus emulator
        (the drivers refuse boards that differ in baud, so the first one's applies)."""
        baud = int(specs[0].options["baud"])
        if len(specs) == 1:
            board = self._modbus_board(specs[0], pacing=self.pace, link_path=_link(port))
            self.emulators.append(board.start())
            o = specs[0].options
            self.lines.append(f"modbus board {specs[0].name!r} (address {o['address']}) on {port}")
            return
        boards = [self._modbus_board(spec) for spec in specs]
        emulator = ModbusBusEmulator(boards, baud=baud, pacing=self.pace, link_path=_link(port))
        self.emulators.append(emulator.start())
        names = ", ".join(f"{s.name!r} (address {s.options['address']})" for s in specs)
        self.lines.append(f"modbus bus {port}: boards {names}")

    def _modbus_board(self, spec: BoardSpec, **wire: Any) -> ModbusRelayEmulator:
        o = spec.options
        return ModbusRelayEmulator(
            self.bank,
            spec.name,
            address=int(o["address"]),
            has_inputs=o["inputs"] == "self" or bool(o["input_address"]),
            input_address=int(o["input_address"]) or None,
            input_closed_level=int(o["input_closed_level"]),
            baud=int(o["baud"]),
            strict_baud=True,  # a board hears only its own speed, as on the wire
            **wire,
        )

    def close(self) -> None:
        for emulator in self.emulators:
            emulator.close()
        self.emulators.clear()
        self.control.stop()


def _wire_every_channel(bank: Bank, spec: BoardSpec) -> None:
    wired = {channel.lock for channel in spec.channels}
    for lock in range(1, CHANNELS[spec.driver] + 1):
        if lock not in wired:
            bank.add_compartment(f"{spec.name}-{lock}", spec.name, lock)


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
    all_channels: bool = False,
) -> int:
    sim = Simulator(config, person, close_delay_s, pace, all_channels)
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
    for board in config.boards:
        if board.driver == "sim" and not (
            board.options.get("state_file") and board.options.get("control_socket")
        ):
            print(
                f"locker-kiosk sim: sim board {board.name!r} would share sim-state.json and "
                "sim.sock with these emulators; give it a state_file and control_socket of "
                "its own",
                file=sys.stderr,
                flush=True,
            )
    print(f"control socket: {config.kiosk.data_dir / 'sim.sock'} (Ctrl-C stops)", flush=True)
    if ready is not None:
        ready(sim)
    try:
        stop.wait()
    finally:
        sim.close()
    return 0
