"""Debouncing raw door-sensor samples into a stable door state.

A raw state becomes the stable state once it has been seen in at least ``polls``
consecutive samples *and* has held for at least ``window_s`` since the first sample of
that run. With ``polls=3`` and ``window_s=0.2``, polling every 0.1 s::

    time (s)    0.0  0.1  0.2  0.3  0.4  0.5  0.6  0.7
    raw          C    O    C    C    O    O    O    O
                      ^ bounce: one sample, ignored
                                     ^ run of OPEN starts (t=0.4)
    stable       C    C    C    C    C    C    O    O
                                               ^ 3rd sample, 0.2 s held: OPEN

``force`` sets the stable state at once, e.g. ``UNKNOWN`` when the board goes offline,
and forgets the current run, so the next state must again be seen for the full window.
"""

from __future__ import annotations

from drivers.base import DoorState

__all__ = ["Debouncer"]

# Sample times are floats: 0.6 - 0.4 < 0.2. A nanosecond of slack keeps a run that held
# for exactly the window from waiting one more poll.
_SLACK_S = 1e-9


class Debouncer:
    """One door's debouncer. Times come from the caller (a monotonic clock)."""

    def __init__(self, window_s: float, polls: int, initial: DoorState = DoorState.UNKNOWN) -> None:
        if window_s < 0:
            raise ValueError("window_s must not be negative")
        if polls < 1:
            raise ValueError("polls must be at least 1")
        self._window_s = window_s
        self._polls = polls
        self._stable = initial
        self._run_state: DoorState | None = None
        self._run_count = 0
        self._run_start = 0.0

    @property
    def state(self) -> DoorState:
        """The current stable state."""
        return self._stable

    def feed(self, raw: DoorState, now: float) -> DoorState | None:
        """Take one raw sample taken at ``now``; the new stable state if it changed."""
        if raw != self._run_state:
            self._run_state = raw
            self._run_count = 0
            self._run_start = now
        self._run_count += 1
        if raw == self._stable or not self._run_is_stable(now):
            return None
        self._stable = raw
        return raw

    def force(self, state: DoorState) -> DoorState | None:
        """Set the stable state now and forget the current run; the state if it changed."""
        changed = state != self._stable
        self._stable = state
        self._run_state = None
        self._run_count = 0
        return state if changed else None

    def _run_is_stable(self, now: float) -> bool:
        return self._run_count >= self._polls and now - self._run_start >= self._window_s - _SLACK_S
