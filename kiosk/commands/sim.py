"""``locker-kiosk sim``: emulated lock control boards for a config, on pseudo-terminals.

For every Kerong bus (CU16 or CU48) and Modbus bus of the config (the boards that share
a ``port``), one emulator written from the protocol facts (:mod:`hw_sim.kerong_emu`,
:mod:`hw_sim.kerong_cu48_emu`, :mod:`hw_sim.modbus_emu`) answers on a pseudo-terminal
linked at that ``port`` (a relative port lives in the data dir). Behind them one
physical model of the bank (:mod:`hw_sim.model`) with its simulated person, its state
file and its control socket (``sim.sock``), so the daemon's real serial drivers run
unchanged, and tests, the simulator window and people can open, close, jam or kill
things by hand.

``sim`` boards of the config run inside the daemon, on a bank of their own: give them a
``state_file`` and ``control_socket`` of their own, or they take over this one's
(``sim-state.json``, ``sim.sock``); their fires may share ``sim-fires.log``.

Whether the emulated Kerong boards answer an unlock is ``unlock_reply``
(``--unlock-reply``, or ``[sim] unlock_reply`` of the config), and can be changed while
it runs through the control socket (``{"op": "unlock_reply", "value": false}``).

With ``all_channels`` (``--all-channels``), every channel of each emulated board has a
door behind it, those the config leaves out included (named ``<board>-<lock>`` in the
bank): a bank being commissioned, for ``lockerctl discover`` to find.

With ``errands`` (``locker-kiosk sim`` always), the simulated person puts an item in
only for a deposit and takes it out only for a pickup or a return: at each door a pulse
opens they ask the daemon (its API socket, ``kiosk.socket``) which operation opened it
(:class:`ErrandDesk`), and a self-test, open-all or technician's open leaves the
compartment as it was. Without it (tests that build a :class:`Simulator`), they take an
item out of, or put one into, every door a pulse opens.

This is a tool beside the product, not part of the daemon: it imports ``hw_sim``.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import BoardSpec
from hw_sim.control import start_control_server
from hw_sim.kerong_cu48_emu import Cu48BusEmulator
from hw_sim.kerong_emu import KerongBoards, KerongBusEmulator
from hw_sim.modbus_emu import ModbusBusEmulator, ModbusInputEmulator, ModbusRelayEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink
from kiosk.config import Config
from kiosk.daemon.data_dir import prepare_data_dir
from kiosk.protocol.client import ApiClient, ClientError

log = logging.getLogger(__name__)

EMULATED = ("kerong", "kerong-cu48", "modbus")
CHANNELS = {"kerong": 16, "kerong-cu48": 48, "modbus": 8}
"""Channels of an emulated board: a Kerong CU16, a CU48, a Modbus relay board (8 unless
its ``channels`` says otherwise)."""


ERRAND_OF_PURPOSE = {"deposit": "put", "pickup": "take", "return": "take"}
"""What the person does for each purpose of the daemon's door operations (kiosk.domain's
``Purpose``); any other (self-test, a technician's open or open-all) leaves the item."""


class ErrandDesk:
    """Answers the simulated person's question (what is this door for?) from the daemon.

    The daemon commits a door operation, with its purpose, before the lock fires, and
    keeps it live until the door closes, so while the person waits at a door it popped
    the daemon can say which operation opened it. One thread asks, so the emulators
    never wait on the daemon. No daemon, or no operation on that door: ``"none"``.
    """

    def __init__(self, bank: Bank, socket: Path) -> None:
        self.bank = bank
        self.socket = socket
        self._questions: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="errand-desk", daemon=True)
        self._thread.start()

    def ask(self, cid: str, visit: int) -> None:
        """The person's question; answered by :meth:`Bank.tell_errand` on the desk's thread."""
        self._questions.put((cid, visit))

    def errand_for(self, cid: str) -> str:
        """``"put"``, ``"take"`` or ``"none"``: what the operation now opening ``cid`` is for."""
        client = ApiClient(str(self.socket), timeout=5)
        try:
            rows = client.get("/v1/compartments")["compartments"]
            op = next((row["operation"] for row in rows if row["id"] == cid), None)
            if op is None:
                return "none"
            purpose = client.get(f"/v1/operations/{op}")["purpose"]
        except (ClientError, KeyError, TypeError) as exc:
            log.warning("the daemon did not say what door %s is for (%s): its item stays", cid, exc)
            return "none"
        finally:
            client.close()
        return ERRAND_OF_PURPOSE.get(str(purpose), "none")

    def close(self) -> None:
        self._questions.put(None)
        self._thread.join(10)

    def _serve(self) -> None:
        while (question := self._questions.get()) is not None:
            cid, visit = question
            self.bank.tell_errand(cid, visit, self.errand_for(cid))


class Simulator:
    """The emulated boards of one config, and the bank behind them."""

    def __init__(
        self,
        config: Config,
        person: str = "auto",
        close_delay_s: float = 2.0,
        pace: bool = False,
        all_channels: bool = False,
        unlock_reply: bool | None = None,
        errands: bool = False,
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
        self.unlock_reply = config.sim.unlock_reply if unlock_reply is None else unlock_reply
        self.emulators: list[Any] = []
        self.lines: list[str] = []
        ops = {"unlock_reply": lambda bank, request: self.set_unlock_reply(bool(request["value"]))}
        self.control = start_control_server(self.bank, data_dir / "sim.sock", ops)
        self.errands = ErrandDesk(self.bank, config.kiosk.socket) if errands else None
        if self.errands is not None:
            self.bank.ask_errands(self.errands.ask)

    def set_unlock_reply(self, value: bool) -> None:
        """Whether every emulated Kerong board answers an unlock, from now on."""
        self.unlock_reply = value
        for emulator in self.emulators:
            if isinstance(emulator, KerongBoards):
                emulator.reply_to_unlock = value

    def start(self) -> Simulator:
        buses: dict[tuple[str, str], list[BoardSpec]] = {}
        for spec in self.specs:
            port = spec.resolve_port(str(spec.options["port"]))
            buses.setdefault((spec.driver, port), []).append(spec)
        for (driver, port), specs in buses.items():
            if driver == "modbus":
                self._start_modbus_bus(port, specs)
        for (driver, port), specs in buses.items():
            if driver.startswith("kerong"):
                self._start_kerong_bus(driver, port, specs)
        return self

    def _start_kerong_bus(self, driver: str, port: str, specs: list[BoardSpec]) -> None:
        """One emulator for the boards on ``port``, each with its own lock-bit polarity,
        pacing at the bus's one baud (the config refuses a second one); a CU48 bus in the
        first board's frame layout."""
        boards = {int(s.options["address"]): s.name for s in specs}
        closed_bits = {int(s.options["address"]): int(s.options["lock_closed_bit"]) for s in specs}
        wire: dict[str, Any] = {
            "baud": int(specs[0].options["baud"]),
            "pace": self.pace,
            "lock_closed_bit": closed_bits,
            "reply_to_unlock": self.unlock_reply,
        }
        link = PtyLink(_link(port))
        emulator: KerongBoards[Any]
        if driver == "kerong-cu48":
            layout = str(specs[0].options["frame_layout"])
            emulator = Cu48BusEmulator(self.bank, boards, link, layout=layout, **wire)
        else:
            emulator = KerongBusEmulator(self.bank, boards, link, **wire)
        self.emulators.append(emulator.start())
        names = ", ".join(f"{s.name!r} (address {s.options['address']})" for s in specs)
        self.lines.append(f"{driver} bus {port}: boards {names} on {emulator.device}")

    def _start_modbus_bus(self, port: str, specs: list[BoardSpec]) -> None:
        """The relay boards on ``port`` and the input boards their doors are read from:
        a relay board alone gets an emulator of its own, several devices share a bus
        emulator (the drivers refuse boards that differ in baud, so the first one's
        applies)."""
        baud = int(specs[0].options["baud"])
        relays = [self._modbus_board(spec) for spec in specs]
        inputs = _input_boards(self.bank, specs)
        names = ", ".join(f"{s.name!r} (address {s.options['address']})" for s in specs)
        names += "".join(f", input board (address {a})" for a in sorted(inputs))
        if len(relays) == 1 and not inputs:
            board = self._modbus_board(specs[0], pacing=self.pace, link_path=_link(port))
            self.emulators.append(board.start())
            self.lines.append(f"modbus board {names} on {port}")
            return
        boards = [*relays, *inputs.values()]
        emulator = ModbusBusEmulator(boards, baud=baud, pacing=self.pace, link_path=_link(port))
        self.emulators.append(emulator.start())
        self.lines.append(f"modbus bus {port}: boards {names}")

    def _modbus_board(self, spec: BoardSpec, **wire: Any) -> ModbusRelayEmulator:
        o = spec.options
        own = o["inputs"] == "self" and int(o["input_address"]) in (0, int(o["address"]))
        return ModbusRelayEmulator(
            self.bank,
            spec.name,
            address=int(o["address"]),
            channels=int(o["channels"]),
            has_inputs=own,
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
        if self.errands is not None:
            self.errands.close()


def _input_boards(bank: Bank, specs: list[BoardSpec]) -> dict[int, ModbusInputEmulator]:
    """The input boards the relay boards of ``specs`` read their doors from, by address:
    input ``input_first + n - 1`` of its board reads the door of relay ``n``."""
    boards: dict[int, ModbusInputEmulator] = {}
    for spec in specs:
        o = spec.options
        address = int(o["input_address"])
        if o["inputs"] != "self" or address in (0, int(o["address"])):
            continue
        board = boards.setdefault(address, ModbusInputEmulator(bank, address))
        for lock in range(1, int(o["channels"]) + 1):
            board.wire(int(o["input_first"]) + lock - 1, spec.name, lock,
                       int(o["input_closed_level"]))  # fmt: skip
    return boards


def _channels(spec: BoardSpec) -> int:
    """The lock channels of an emulated board."""
    return int(spec.options["channels"]) if spec.driver == "modbus" else CHANNELS[spec.driver]


def _wire_every_channel(bank: Bank, spec: BoardSpec) -> None:
    wired = {channel.lock for channel in spec.channels}
    for lock in range(1, _channels(spec) + 1):
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
    unlock_reply: bool | None = None,
) -> int:
    sim = Simulator(config, person, close_delay_s, pace, all_channels, unlock_reply, errands=True)
    if not sim.specs:
        print(
            "locker-kiosk sim: this config has no kerong, kerong-cu48 or modbus boards to "
            "emulate "
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
        on = {b: sorted(sim.bank.energised(b)) for b in sim.bank.boards()}
        on_now = ", ".join(f"{b} {locks}" for b, locks in on.items() if locks) or "none"
        log.info("emulated boards stopped; lock outputs on at the stop: %s", on_now)
    return 0
