"""The keypad throttle: lockouts after wrong codes or PINs, and a brute-force alarm.

Timeline with the defaults (``x`` a wrong input, ``ok`` a right one, ``#`` locked)::

    input      x x x x x             x x x x x             x x x x x
    in a row   1 2 3 4 5             6 7 8 9 10            11 ... 15
    keypad     accepted  [## 30 s ##] accepted  [## 60 s ##] accepted  [## 120 s ##] ...

    lockout k of a run lasts min(30 s * 2**(k-1), 1800 s): 30, 60, 120, ... 960, 1800, 1800

    input      x x x ok  x x x x x
    keypad     accepted            [## 30 s ##]     a success clears the run and the doubling

The alarm counts every failure of the last hour, including those the caller records during
a lockout::

    failures in the last hour   19 20 21 22 23 ... 20 21
    alarm                              ^ fires         ^ fires again only after the
                                                         count fell back to 20

The clock is injected. In memory any clock works; for :meth:`Throttle.to_state` to mean
anything after a restart, pass ``time.time`` (the state holds wall-clock times).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.errors import InvalidInput

__all__ = ["FailureOutcome", "Throttle"]

ALARM_WINDOW_S = 3600.0
_STATE_VERSION = 1


@dataclass(frozen=True)
class FailureOutcome:
    """What one recorded failure did.

    ``locked_for`` is the length of the lockout this failure started (0.0 if none),
    ``failures_in_row`` the failures since the last success, and ``alarm`` is ``True``
    when this failure took the count of the last hour past the alarm threshold.
    """

    locked_for: float
    failures_in_row: int
    alarm: bool


class Throttle:
    """Lockouts for one keypad (or one user's PIN); see the module docstring."""

    def __init__(
        self,
        clock: Callable[[], float],
        free_attempts: int = 5,
        initial_lockout_s: float = 30.0,
        max_lockout_s: float = 1800.0,
        alarm_per_hour: int = 20,
    ) -> None:
        _check_params(free_attempts, initial_lockout_s, max_lockout_s, alarm_per_hour)
        self._clock = clock
        self._free_attempts = free_attempts
        self._initial_lockout_s = initial_lockout_s
        self._max_lockout_s = max_lockout_s
        self._alarm_per_hour = alarm_per_hour
        self._failures_in_row = 0
        self._since_lockout = 0  # failures in row since the last lockout ended
        self._lockouts = 0  # lockouts in this run: the doubling level
        self._locked_until = 0.0
        # The last threshold+1 failure times are enough to tell whether more than
        # the threshold fell within the last hour.
        self._recent: deque[float] = deque(maxlen=alarm_per_hour + 1)
        self._alarm_armed = True

    @property
    def failures_in_row(self) -> int:
        return self._failures_in_row

    def retry_after(self) -> float:
        """Seconds left in the current lockout; 0.0 when input is accepted."""
        return max(0.0, self._locked_until - self._clock())

    def record_failure(self) -> FailureOutcome:
        """Count one wrong input; may start a lockout and may raise the alarm.

        During a lockout (which the caller should have refused) the failure counts only
        towards the hourly alarm: it neither extends the lockout nor moves the run on.
        """
        now = self._clock()
        alarm = self._count_for_alarm(now)
        if now < self._locked_until:
            return FailureOutcome(0.0, self._failures_in_row, alarm)
        self._failures_in_row += 1
        self._since_lockout += 1
        locked_for = 0.0
        if self._since_lockout >= self._free_attempts:
            locked_for = self._start_lockout(now)
        return FailureOutcome(locked_for, self._failures_in_row, alarm)

    def record_success(self) -> None:
        """Clear the run of failures and the doubling level (not the hourly count)."""
        self._failures_in_row = 0
        self._since_lockout = 0
        self._lockouts = 0

    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot for the store; see :meth:`from_state`."""
        return {
            "version": _STATE_VERSION,
            "failures_in_row": self._failures_in_row,
            "since_lockout": self._since_lockout,
            "lockouts": self._lockouts,
            "locked_until": self._locked_until,
            "recent": list(self._recent),
            "alarm_armed": self._alarm_armed,
        }

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], clock: Callable[[], float], **params: Any
    ) -> Throttle:
        """A throttle restored from :meth:`to_state`, with the given clock and parameters.

        A lockout that ends further ahead than ``max_lockout_s`` (the wall clock was set
        back) is shortened to ``max_lockout_s``. Raises :class:`InvalidInput` for a
        state it cannot read.
        """
        throttle = cls(clock, **params)
        try:
            throttle._restore(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"unreadable throttle state: {exc}") from None
        return throttle

    def _restore(self, state: Mapping[str, Any]) -> None:
        if state["version"] != _STATE_VERSION:
            raise ValueError(f"version {state['version']!r}")
        now = self._clock()
        self._failures_in_row = _non_negative_int(state["failures_in_row"])
        self._since_lockout = _non_negative_int(state["since_lockout"])
        self._lockouts = _non_negative_int(state["lockouts"])
        self._locked_until = min(float(state["locked_until"]), now + self._max_lockout_s)
        self._recent.extend(min(float(t), now) for t in state["recent"])
        self._alarm_armed = bool(state["alarm_armed"])

    def _count_for_alarm(self, now: float) -> bool:
        if self._failures_in_last_hour(now) <= self._alarm_per_hour:
            self._alarm_armed = True
        self._recent.append(now)
        if self._alarm_armed and self._failures_in_last_hour(now) > self._alarm_per_hour:
            self._alarm_armed = False
            return True
        return False

    def _failures_in_last_hour(self, now: float) -> int:
        return sum(1 for t in self._recent if t > now - ALARM_WINDOW_S)

    def _start_lockout(self, now: float) -> float:
        self._lockouts += 1
        self._since_lockout = 0
        doubled = self._initial_lockout_s * 2.0 ** min(self._lockouts - 1, 64)
        locked_for = min(doubled, self._max_lockout_s)
        self._locked_until = now + locked_for
        return locked_for


def _check_params(
    free_attempts: int, initial_lockout_s: float, max_lockout_s: float, alarm_per_hour: int
) -> None:
    if free_attempts < 1:
        raise ValueError("free_attempts must be at least 1")
    if not 0 < initial_lockout_s <= max_lockout_s:
        raise ValueError("need 0 < initial_lockout_s <= max_lockout_s")
    if alarm_per_hour < 1:
        raise ValueError("alarm_per_hour must be at least 1")


def _non_negative_int(value: Any) -> int:
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count, got {value!r}")
    return value
