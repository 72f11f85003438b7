"""An hourly cap that the wall clock cannot stretch or lift.

What it counts (remote door opens, resend requests) is timed on the monotonic clock,
which no NTP step, no battery-less boot at 1970 and no ``date -s`` moves. Each stamp is
also kept in the store, with the boot it was taken in and the wall-clock time, so a
restart of the daemon gives an attacker no fresh allowance:

- restarted within the same boot, a stamp's age is read on the monotonic clock, which
  runs on across processes (Linux's ``CLOCK_MONOTONIC`` counts from boot), exactly;
- after a reboot only the wall clock is left: a stamp is as old as the wall clock says,
  and never less than nothing, so a clock that went back counts it for a full hour. A
  clock stepped forward across a reboot can shorten what is left of that hour: the one
  case the cap cannot see, and it needs a reboot as well as a wrong clock.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.clock import read_boot_id

if TYPE_CHECKING:
    from kiosk.store import Store

HOUR_S = 3600.0


class HourlyCap:
    """At most a given number of things in any rolling hour, kept under ``key`` in meta."""

    def __init__(
        self,
        store: Store,
        key: str,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        boot: str | None = None,
    ) -> None:
        self.store, self.key = store, key
        self.monotonic, self.wall = monotonic, wall
        self.boot = read_boot_id() if boot is None else boot
        self._stamps: deque[float] = deque(sorted(self._load()))

    def count(self) -> int:
        """How many were taken in the last hour, on the monotonic clock."""
        since = self.monotonic() - HOUR_S
        while self._stamps and self._stamps[0] <= since:
            self._stamps.popleft()
        return len(self._stamps)

    def take(self) -> None:
        """Count one now, and keep it in the store: call it inside the transaction of
        what it counts. Should that transaction fail, the count errs on the safe side."""
        self.count()
        self._stamps.append(self.monotonic())
        self.store.set_meta(self.key, json.dumps(self._saved()))

    def seconds_until_free(self) -> float:
        """How long until the oldest stamp leaves the hour (0 when there is none)."""
        if not self.count():
            return 0.0
        return max(0.0, self._stamps[0] + HOUR_S - self.monotonic())

    def _saved(self) -> list[list[float | str]]:
        mono, wall = self.monotonic(), self.wall()
        return [[self.boot, stamp, wall - (mono - stamp)] for stamp in self._stamps]

    def _load(self) -> list[float]:
        """The stamps kept by an earlier run that are still within the hour, as times on
        this run's monotonic clock."""
        try:
            kept = json.loads(self.store.get_meta(self.key) or "[]")
        except ValueError:
            return []
        mono, wall = self.monotonic(), self.wall()
        stamps = []
        for entry in kept if isinstance(kept, list) else []:
            try:
                boot, at_mono, at_wall = str(entry[0]), float(entry[1]), float(entry[2])
            except (TypeError, ValueError, IndexError):
                continue
            same_boot = bool(self.boot) and boot == self.boot
            age = max(0.0, (mono - at_mono) if same_boot else (wall - at_wall))
            if age < HOUR_S:
                stamps.append(mono - age)
        return stamps
