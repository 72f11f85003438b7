"""The contract's rigs for Modbus relay boards of 16 and 32 channels, whose doors are read
from a separate input board at an offset.

The real serial code runs end to end: pymodbus's serial client (and the driver's own
flash frames) on a pty's slave, a bus emulator (:mod:`hw_sim.modbus_emu`) on its master
with two devices behind it: the relay board, and an input board of 32 inputs whose
inputs from ``FIRST_INPUT`` on read the relay board's doors. The bank's auto person
closes a door 0.3 s after it opened.
"""

from __future__ import annotations

import math
from pathlib import Path

from drivers.base import BoardSpec, ChannelSpec, Driver, create_driver
from hw_sim.modbus_emu import (
    ModbusBusEmulator,
    ModbusInputEmulator,
    ModbusRelayEmulator,
    frame_with_crc,
)
from hw_sim.model import Bank

ADDRESS = 6  # not the factory default 1, so a reply's address is really checked
INPUT_ADDRESS = 9
INPUTS = 32


class ModbusWideRig:
    """Board ``contract`` at Modbus address 6 with ``channels`` relays; the locks under
    test are spread over them; its doors are inputs ``first_input``.. of the input
    board at address 9."""

    board = "contract"
    channels = 16
    first_input = 17
    locks: tuple[int, ...] = (1, 9, 16)

    def __init__(self, tmp_path: Path) -> None:
        self.bank = Bank(person="auto", close_delay_s=0.3)
        channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in self.locks)
        for channel in channels:
            self.bank.add_compartment(channel.compartment, self.board, channel.lock)
        self.relays = ModbusRelayEmulator(
            self.bank, self.board, address=ADDRESS, channels=self.channels, has_inputs=False
        )
        inputs = ModbusInputEmulator(self.bank, INPUT_ADDRESS, INPUTS)
        for lock in range(1, self.channels + 1):
            inputs.wire(self.first_input + lock - 1, self.board, lock)
        link = tmp_path / f"ttyMB{self.channels}-contract"
        self.emulator = ModbusBusEmulator([self.relays, inputs], link_path=link).start()
        options = {
            "port": self.emulator.device,
            "address": ADDRESS,
            "channels": self.channels,
            "input_address": INPUT_ADDRESS,
            "input_first": self.first_input,
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
        assert self.relays.handle(on) == on  # the board echoes a write
        return math.inf

    def kill_board(self) -> None:
        """The relay board stops answering; the input board, a device of its own, goes on."""
        self.bank.kill_board(self.board)

    def revive_board(self) -> None:
        self.bank.revive_board(self.board)

    def teardown(self) -> None:
        self.emulator.close()


class Modbus32Rig(ModbusWideRig):
    """A 32-channel relay board whose doors are the input board's inputs 1-32."""

    channels = 32
    first_input = 1
    locks = (1, 17, 32)
