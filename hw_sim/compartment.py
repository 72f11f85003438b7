"""One compartment of a simulated bank: its lock, latch, door, item and door sensor.

Plain state with no lock and no clock of its own: :class:`hw_sim.model.Bank` holds the
lock, schedules the person's actions and passes the time in. ``SAVED_FIELDS`` are what
the bank's state file keeps of a compartment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SAVED_FIELDS", "Compartment"]

SAVED_FIELDS = ("door_open", "latched", "item", "jammed", "leave_open")


@dataclass
class Compartment:
    cid: str
    board: str
    lock: int
    door_open: bool = False
    latched: bool = True
    item: bool = False
    jammed: bool = False
    leave_open: bool = False
    energised_until: float = 0.0
    fires: int = 0
    forced: int = 0
    attended: bool = False  # the auto person is at this door and will close it
    visit: int = 0  # bumped when the door shuts, so stale person actions are dropped
    errand: str | None = None  # what the person came to do at this visit, once told
    errand_asked_at: float = 0.0
    flap_start: float = 0.0
    flap_until: float = 0.0
    flap_hz: float = 20.0

    def sensor_open(self, now: float) -> bool:
        """What the door sensor reads: the door, unless the sensor is flapping."""
        if now < self.flap_until:
            # The nudge keeps a read at exactly k/hz (with float error) on phase k.
            phase = int((now - self.flap_start) * self.flap_hz + 1e-9)
            # Start inverted so a flap is visible on the very next read.
            return self.door_open != (phase % 2 == 0)
        return self.door_open

    def saved_state(self) -> dict[str, bool]:
        return {name: bool(getattr(self, name)) for name in SAVED_FIELDS}

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take the saved fields from a state file; a value that is not a bool is left out."""
        for name in SAVED_FIELDS:
            if isinstance(saved.get(name), bool):
                setattr(self, name, saved[name])

    def describe(self, now: float, board_dead: bool) -> dict[str, Any]:
        """The physical truth at ``now``, as :meth:`hw_sim.model.Bank.snapshot` gives it."""
        return {
            "board": self.board,
            "lock": self.lock,
            **self.saved_state(),  # door_open, latched, item, jammed, leave_open
            "sensor_open": self.sensor_open(now),
            "energised": now < self.energised_until,
            "fires": self.fires,
            "forced": self.forced,
            "board_dead": board_dead,
        }
