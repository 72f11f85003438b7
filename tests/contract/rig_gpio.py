"""The contract's rig for the GPIO driver: gpiozero's mock pins wired to a simulated bank.

The driver runs unchanged on :class:`hw_sim.gpio_wiring.BankPinFactory`, installed as
gpiozero's process-wide ``Device.pin_factory`` for the rig's lifetime (the driver's
``pin_factory = "mock"`` takes the factory already in place). Lock outputs pull the
bank's coils in; door and item inputs read the bank's sensors.

A "dead board" for GPIO: the pin library failing (a GPIO chip or expander gone, an I/O
error). The rig kills the board in the bank, so every pin of the board raises when read
or switched and the driver turns that into :class:`~drivers.errors.DriverError`. An
unplugged header or HAT is a different fault: the inputs float to their pull level, which
with the default wiring reads OPEN, never CLOSED (see ``drivers/gpio/driver.py``).

gpiozero is imported when a rig is made, so the contract suite still collects on a
machine without the ``gpio`` extra; the rig's tests are then skipped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelSpec, Driver, create_driver
from hw_sim.model import Bank

LOCKS = (1, 2, 3, 4)  # as the contract's LOCKS (not imported: that module imports us)
OPTIONS: dict[str, Any] = {
    "lock_pins": [17, 27, 22, 23],
    "door_pins": [5, 6, 13, 19],
    "item_pins": [12, 16, 20, 21],
    "pin_factory": "mock",
}


class GpioRig:
    """Four locks on BCM pins, a bank with an auto person closing doors after 0.3 s."""

    board = "contract"

    def __init__(self, tmp_path: Path) -> None:
        gpiozero = pytest.importorskip("gpiozero")
        from hw_sim.gpio_wiring import BankPinFactory

        self.bank = Bank(person="auto", close_delay_s=0.3)
        for lock in LOCKS:
            self.bank.add_compartment(f"C{lock:02d}", self.board, lock)
        self.factory = BankPinFactory(self.bank)
        self.factory.connect(self.board, OPTIONS)
        self._device = gpiozero.Device
        self._previous = self._device.pin_factory
        self._device.pin_factory = self.factory
        channels = tuple(ChannelSpec(lock, f"C{lock:02d}") for lock in LOCKS)
        self.spec = BoardSpec(self.board, "gpio", channels, options=dict(OPTIONS))

    def make_driver(self) -> Driver:
        return create_driver(self.spec)

    def leave_coil_on(self, lock: int) -> float:
        """The lock's output pin driven to its energised level before the driver claims
        it (a previous process died with it high); only the driver's reset ends it."""
        pin = self.factory.pin(OPTIONS["lock_pins"][lock - 1])
        pin.function = "output"
        pin.state = True
        return math.inf

    def kill_board(self) -> None:
        self.bank.kill_board(self.board)

    def revive_board(self) -> None:
        self.bank.revive_board(self.board)

    def teardown(self) -> None:
        self.factory.reset()
        self._device.pin_factory = self._previous
