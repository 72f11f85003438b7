"""The contract's rig for the Modbus relay driver: a relay (D) board emulator on a pty.

The real serial code runs end to end: pymodbus's serial client (and the driver's own
flash frames) on the pty's slave, the emulator (:mod:`hw_sim.modbus_emu`) on its
master, in front of a fresh bank whose auto person closes a door 0.3 s after it opened.
"""

from __future__ import annotations

import math
from pathlib import Path

from drivers.base import BoardSpec, ChannelSpec, Driver, create_driver
from hw_sim.modbus_emu import ModbusRelayEmulator, frame_with_crc
from hw_sim.model import Bank

LOCKS = (1, 2, 3, 4)
ADDRESS = 5  # not the factory default 1, so a reply's address is really checked


class ModbusRig:
    """Board ``contract`` at Modbus address 5; relays 1-4 drive C01..C04."""

    board = "contract"

    def __init__(self, tmp_path: Path) -> None:
        self.bank = Bank(person="auto", close_delay_s=0.3)
        channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in LOCKS)
        for channel in channels:
            self.bank.add_compartment(channel.compartment, self.board, channel.lock)
        self.emulator = ModbusRelayEmulator(self.bank, self.board, address=ADDRESS).start()
        options = {
            "port": self.emulator.device,
            "address": ADDRESS,
            "timeout_s": 0.05,
            "retries": 1,
        }
        self.spec = BoardSpec(self.board, "modbus", channels, options=options)

    def make_driver(self) -> Driver:
        return create_driver(self.spec)

    def leave_coil_on(self, lock: int) -> float:
        """Relay ``lock`` switched on and held (FC05 ``FF00``, as the last run may have
        left it); only an off command ends it."""
        on = frame_with_crc(bytes([ADDRESS, 0x05, 0x00, lock - 1, 0xFF, 0x00]))
        assert self.emulator.handle(on) == on  # the board echoes a write
        return math.inf

    def kill_board(self) -> None:
        self.bank.kill_board(self.board)

    def revive_board(self) -> None:
        self.bank.revive_board(self.board)

    def teardown(self) -> None:
        self.emulator.close()
