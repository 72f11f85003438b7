"""The contract's rig for the Kerong driver: a CU16 emulator on a pseudo-terminal.

The real serial code runs end to end: the driver opens the pty's slave with pyserial,
the emulator (:mod:`hw_sim.kerong_emu`) answers on the master from a fresh bank whose
auto person closes a door 0.3 s after it popped open.
"""

from __future__ import annotations

from pathlib import Path

from drivers.base import BoardSpec, ChannelSpec, Driver, create_driver
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

LOCKS = (1, 2, 3, 4)
ADDRESS = 3  # not 0, so a reply's address is really checked


class KerongRig:
    """Board ``contract`` at address 3 of an emulated bus; locks 1-4 drive C01..C04."""

    board = "contract"

    def __init__(self, tmp_path: Path) -> None:
        self.bank = Bank(person="auto", close_delay_s=0.3)
        channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in LOCKS)
        for channel in channels:
            self.bank.add_compartment(channel.compartment, self.board, channel.lock)
        # Linked in tmp_path: a driver reopening after the rig closed must not find a pty
        # number that another process's emulator got meanwhile.
        link = PtyLink(tmp_path / "ttyKR-contract")
        self.emulator = KerongBusEmulator(self.bank, {ADDRESS: self.board}, link).start()
        options = {"port": self.emulator.device, "address": ADDRESS, "timeout_s": 0.05}
        self.spec = BoardSpec(self.board, "kerong", channels, options=options)

    def make_driver(self) -> Driver:
        return create_driver(self.spec)

    def leave_coil_on(self, lock: int) -> float:
        """Lock ``lock`` energised as the board does for an unlock (the last run's, sent
        just before it died); the board ends it after its energise time, returned: a
        Kerong board has no off command."""
        energise_s = self.emulator.energise_s(ADDRESS)
        self.bank.energise(self.board, lock, energise_s)
        return energise_s

    def kill_board(self) -> None:
        self.bank.kill_board(self.board)

    def revive_board(self) -> None:
        self.bank.revive_board(self.board)

    def teardown(self) -> None:
        self.emulator.close()
