r"""gpiozero's mock pins wired to the physical model of :mod:`hw_sim.model`.

:class:`BankPinFactory` is a :class:`gpiozero.pins.mock.MockFactory` whose pins are
:class:`WiredPin`\ s. :meth:`BankPinFactory.connect` says which BCM pins of the (mock)
header go to which board's lock coils and door and item sensors, with the same keys and
defaults as a ``gpio`` board's ``[[boards]]`` table. Then:

* **Lock outputs.** A :class:`WiredPin` reports every change of an output's level to
  the factory. The level that means "energised" (``lock_active_high``) pulls the
  board's coil in: :meth:`Bank.energise` with :data:`COIL_HOLD_S`, so the door pops at
  once and the model shows the coil on; the other level releases it (:meth:`Bank.all_off`
  for the board once none of its outputs is energised, which with one lock at a time
  per power group is that lock's). A coil the host forgets to release stays on in the
  model, as a real one would::

      GPIO 17 (lock 1)  ____/‾‾‾‾‾‾‾‾‾‾‾‾‾‾\______
      bank              energise(b, 1)    all_off(b)

* **Door and item inputs.** On every read of an input's state (what
  ``DigitalInputDevice.value`` does), the pin asks :meth:`Bank.sample` for its board and
  drives itself with ``drive_low()``/``drive_high()``: ``door_closed_level`` for a shut
  door, the other level for an open one; ``item_present_level`` for an item inside. The
  inputs therefore follow the model with no thread of their own and never lag a read.
  Code that relies on gpiozero's ``when_*`` callbacks instead of reading calls
  :meth:`BankPinFactory.refresh` (from a loop or a timer) to push the model's levels.

* **A dead board** (:meth:`Bank.kill_board`, also reachable through the sim's control
  socket) is the pin library failing: every read of the board's inputs and every change
  of its outputs raises :class:`~hw_sim.model.BoardDead` out of the pin, as lgpio raises
  for a GPIO chip that went away. (A *disconnected header* would instead leave the inputs
  at their pull level; that is a wiring fact, documented in ``drivers/gpio/driver.py``.)

Pins that are not connected behave as plain :class:`MockPin`\ s. ``reset()`` forgets the
pins, not the connections.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin  # type: ignore[import-untyped]

from hw_sim.model import Bank, UnknownCompartment

__all__ = ["COIL_HOLD_S", "BankPinFactory", "WiredPin"]

COIL_HOLD_S = 3600.0
"""How long the model keeps a coil on: until the pin releases it, in practice."""


@dataclass(frozen=True)
class _Output:
    board: str
    lock: int
    active_level: bool


@dataclass(frozen=True)
class _Input:
    board: str
    lock: int
    is_door: bool
    level_when_true: bool  # door shut / item present


class WiredPin(MockPin):
    """A mock pin whose level goes to (outputs) or comes from (inputs) the bank."""

    def _get_state(self) -> bool:
        factory = self.factory
        if isinstance(factory, BankPinFactory) and self.function == "input":
            factory.drive_input(self)
        return bool(super()._get_state())

    def _change_state(self, value: bool) -> bool:
        changed = bool(super()._change_state(value))
        factory = self.factory
        if changed and isinstance(factory, BankPinFactory) and self.function == "output":
            factory.output_changed(self, bool(value))
        return changed


class BankPinFactory(MockFactory):
    """A mock pin factory whose connected pins are the coils and sensors of ``bank``."""

    def __init__(self, bank: Bank, revision: str | None = None) -> None:
        super().__init__(revision=revision, pin_class=WiredPin)
        self.bank = bank
        self._wires = threading.Lock()
        self._outputs: dict[int, _Output] = {}
        self._inputs: dict[int, _Input] = {}
        self._energised: set[tuple[str, int]] = set()

    def connect(self, board: str, options: Mapping[str, Any]) -> None:
        """Wire ``board``'s pins as a ``gpio`` board's options give them.

        Keys: ``lock_pins``, ``door_pins``, ``item_pins`` (lists indexed by lock - 1),
        ``lock_active_high`` (default true), ``door_closed_level`` (0),
        ``item_present_level`` (0). A pin already connected raises ``ValueError``.
        """
        active = bool(options.get("lock_active_high", True))
        closed = bool(options.get("door_closed_level", 0))
        present = bool(options.get("item_present_level", 0))
        wires: list[tuple[int, _Output | _Input]] = []
        for index, pin in enumerate(options.get("lock_pins", ())):
            wires.append((pin, _Output(board, index + 1, active)))
        for index, pin in enumerate(options.get("door_pins", ())):
            wires.append((pin, _Input(board, index + 1, True, closed)))
        for index, pin in enumerate(options.get("item_pins", ())):
            wires.append((pin, _Input(board, index + 1, False, present)))
        with self._wires:
            pins = [pin for pin, _ in wires]
            twice = {
                p for p in pins if pins.count(p) > 1 or p in self._outputs or p in self._inputs
            }
            if twice:
                raise ValueError(f"board {board!r}: pins already connected: {sorted(twice)}")
            for pin, wire in wires:
                if isinstance(wire, _Output):
                    self._outputs[pin] = wire
                else:
                    self._inputs[pin] = wire
        self.bank.add_board(board)

    def refresh(self) -> None:
        """Drive every connected input pin from the bank now (fires ``when_*`` callbacks)."""
        for pin in list(self.pins.values()):
            if isinstance(pin, WiredPin) and pin.function == "input":
                self.drive_input(pin)

    # -- called by the pins ---------------------------------------------------------

    def drive_input(self, pin: MockPin) -> None:
        """Set ``pin`` to the level its sensor has in the bank (if it is connected)."""
        wire = self._inputs.get(_bcm(pin))
        if wire is None:
            return
        sampled = self.bank.sample(wire.board)  # raises BoardDead for a dead board
        if wire.lock not in sampled:
            return  # nothing behind this sensor: the pin stays at its pull
        door_open, item = sampled[wire.lock]
        is_true = not door_open if wire.is_door else item
        if is_true == wire.level_when_true:
            pin.drive_high()
        else:
            pin.drive_low()

    def output_changed(self, pin: MockPin, level: bool) -> None:
        """An output pin changed level: pull the coil in or release it."""
        wire = self._outputs.get(_bcm(pin))
        if wire is None:
            return
        energised = level == wire.active_level
        with self._wires:
            if energised:
                self._energised.add((wire.board, wire.lock))
            else:
                self._energised.discard((wire.board, wire.lock))
            board_still_on = any(board == wire.board for board, _ in self._energised)
        if energised:
            # An output with no compartment behind it has nothing to pull in.
            with contextlib.suppress(UnknownCompartment):
                self.bank.energise(wire.board, wire.lock, COIL_HOLD_S)
        elif not board_still_on:
            self.bank.all_off(wire.board)


def _bcm(pin: MockPin) -> int:
    """The BCM number of a pin (its ``info.name`` is ``"GPIO17"``)."""
    return int(str(pin.info.name).removeprefix("GPIO"))
