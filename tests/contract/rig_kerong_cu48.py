"""The contract's rig for the Kerong CU48 driver: a CU48 emulator on a pseudo-terminal.

The real serial code runs end to end: the driver opens the pty's slave with pyserial,
the emulator (:mod:`hw_sim.kerong_cu48_emu`) answers on the master from a fresh bank
whose auto person closes a door 0.3 s after it popped open. The board's locks under test
are spread over its 48 (1, 17, 33, 48), so every byte of the lock bits is read.
"""

from __future__ import annotations

from pathlib import Path

from drivers.base import BoardSpec, ChannelSpec, Driver, create_driver
from hw_sim.kerong_cu48_emu import Cu48BusEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

LOCKS = (1, 17, 33, 48)
ADDRESS = 2  # not 0, so the board byte of every request and reply is really checked


class Cu48Rig:
    """Board ``contract`` at id 2 of an emulated CU48 bus; locks 1, 17, 33, 48."""

    board = "contract"
    locks = LOCKS

    def __init__(self, tmp_path: Path) -> None:
        self.bank = Bank(person="auto", close_delay_s=0.3)
        channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in LOCKS)
        for channel in channels:
            self.bank.add_compartment(channel.compartment, self.board, channel.lock)
        link = PtyLink(tmp_path / "ttyCU48-contract")
        self.emulator = Cu48BusEmulator(self.bank, {ADDRESS: self.board}, link).start()
        options = {"port": self.emulator.device, "address": ADDRESS, "timeout_s": 0.05}
        self.spec = BoardSpec(self.board, "kerong-cu48", channels, options=options)

    def make_driver(self) -> Driver:
        return create_driver(self.spec)

    def leave_coil_on(self, lock: int) -> float:
        """Lock ``lock`` energised as the board does for an unlock (the last run's); the
        board ends it after its unlock time, returned: a CU48 has no off command."""
        energise_s = self.emulator.energise_s(ADDRESS)
        self.bank.energise(self.board, lock, energise_s)
        return energise_s

    def kill_board(self) -> None:
        self.bank.kill_board(self.board)

    def revive_board(self) -> None:
        self.bank.revive_board(self.board)

    def teardown(self) -> None:
        self.emulator.close()
