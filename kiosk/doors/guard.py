"""The mass-open guard: a kiosk that suddenly opens many doors stops opening them.

In December 2020 one parcel-locker network had 2,732 lockers opened remotely within
minutes. Whatever the way in (a stolen API token, a compromised network, a bug), the
kiosk itself counts its door openings and, past ``mass_open_max`` within
``mass_open_window_s``, stops: further opens are refused with :class:`OpensPaused` and a
``mass_open_guard_tripped`` alarm goes to the event log (and from there to the operator).

What counts: every door operation begun (pickups, deposits, returns, a technician's
single door, remote opens). What does not: a technician's open-all and self-test, which
open every door by design and need a technician's PIN at the kiosk.

Once tripped the guard stays tripped, across restarts (its state is in the store's
``meta`` table), until a technician resets it: an attack that restarts the daemon must
not re-arm the doors. Technicians' own opens are still admitted while it is tripped, so
that they can work on the kiosk; they are the ones who reset it.

::

    opens   | | |  ||| ||||||||||||| x x x x      (x: refused)     | | |
            |<------ mass_open_window_s ------>|                  ^
                                     trip ^                  technician resets
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import LockerError
from kiosk.protocol.events import EventKind, Severity
from kiosk.protocol.views import GuardView
from kiosk.store import Store

META_KEY = "guard.mass_open"


class OpensPaused(LockerError):
    """The mass-open guard is tripped: no door is opened until a technician resets it."""

    def __init__(self, help_line: str) -> None:
        message = "The kiosk has paused opening doors for safety."
        if help_line:
            message += f" For help: {help_line}"
        super().__init__(message)
        self.reason = "opens_paused"


class MassOpenGuard:
    """Counts door opens in a sliding window and trips past the configured number."""

    def __init__(
        self,
        store: Store,
        max_opens: int,
        window_s: float,
        help_line: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.max_opens = max_opens
        self.window_s = window_s
        self.help_line = help_line
        self._clock = clock
        self._opens: collections.deque[float] = collections.deque()
        # A restart must not empty the window (an attacker able to crash the daemon would
        # otherwise get max_opens more): the journal's recent opens are counted again.
        now, wall = clock(), store.clock()
        for created_at in store.counted_opens_since(wall - window_s):
            self._opens.append(now - max(0.0, wall - created_at))
        raw = store.get_meta(META_KEY)
        self._tripped: dict[str, Any] | None = json.loads(raw) if raw else None

    @property
    def is_tripped(self) -> bool:
        return self._tripped is not None

    def admit(self, compartment: str, purpose: str, actor: str | None, technician: bool) -> None:
        """Raise :class:`OpensPaused` if this door may not be opened now.

        Call before the intent is committed, so that a refused open leaves no row in the
        journal, only its event. The open that would go past ``max_opens`` trips the
        guard and is itself refused.
        """
        self._prune(self._clock())
        if self._tripped is None and len(self._opens) >= self.max_opens:
            self._trip(compartment, purpose, actor)
        if self._tripped is not None and not technician:
            self.store.log_event(
                EventKind.OPEN_REFUSED_BY_GUARD,
                Severity.WARNING,
                actor,
                compartment,
                purpose=purpose,
            )
            raise OpensPaused(self.help_line)

    def opened(self) -> None:
        """Count one door operation begun (its intent committed)."""
        self._opens.append(self._clock())

    def _prune(self, now: float) -> None:
        while self._opens and self._opens[0] <= now - self.window_s:
            self._opens.popleft()

    def reset(self, technician: str) -> None:
        """A technician has looked: doors may open again; the count starts afresh."""
        if self._tripped is None:
            return
        self._tripped = None
        self._opens.clear()
        self.store.set_meta(META_KEY, "")
        self.store.log_event(EventKind.MASS_OPEN_GUARD_RESET, Severity.WARNING, technician, None)

    def view(self) -> GuardView:
        self._prune(self._clock())
        recent = len(self._opens)
        return {
            "tripped": self.is_tripped,
            "tripped_at": (self._tripped or {}).get("at"),
            "opens_in_window": recent,
            "max_opens": self.max_opens,
            "window_s": self.window_s,
        }

    def _trip(self, compartment: str, purpose: str, actor: str | None) -> None:
        self._tripped = {"at": self.store.clock(), "opens": len(self._opens)}
        self.store.set_meta(META_KEY, json.dumps(self._tripped))
        self.store.log_event(
            EventKind.MASS_OPEN_GUARD_TRIPPED, Severity.ALARM, actor, compartment,
            opens=len(self._opens), window_s=self.window_s, last_purpose=purpose,
        )  # fmt: skip
