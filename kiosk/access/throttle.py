"""The keypad throttle: lockouts after wrong codes or PINs, and a brute-force alarm.

Timeline with the defaults (``x`` a wrong input, ``ok`` a right one, ``#`` locked)::

    input      x x x x x             x x x x x             x x x x x
    in a row   1 2 3 4 5             6 7 8 9 10            11 ... 15
    keypad     accepted  [## 30 s ##] accepted  [## 60 s ##] accepted  [## 120 s ##] ...

    lockout k of a run lasts min(30 s * 2**(k-1), 1800 s): 30, 60, 120, ... 960, 1800, 1800

    input      x x x ok  x x x x x
    keypad     accepted            [## 30 s ##]     a success clears the run and the doubling

A success clears the run, so whoever knows one right input (a courier's own PIN) could
reset the doubling at will. ``failures_per_hour`` closes that door: with it set, the
failures of any hour never exceed it, successes or not::

    failures_per_hour = 10, a courier signing in as themselves between guesses
    input      x x x x ok x x x x ok x x          x ...
    keypad     accepted                 [## until the first x is an hour old ##] accepted

The alarm counts every failure of the last hour, including inputs refused during a
lockout (:meth:`Throttle.record_refusal`); it also fires when the hourly limit is
reached::

    failures in the last hour   19 20 21 22 23 ... 20 21
    alarm                              ^ fires         ^ fires again only after the
                                                         count fell back to 20

The clock is injected and must be monotonic (``time.monotonic``): a wall clock set
forward or back neither ends a lockout nor stretches one. :meth:`Throttle.to_state`
records the boot it was taken in; restored in the same boot the times go on, restored
after a reboot (the monotonic clock started again) every time keeps the age it had when
the state was saved: the kiosk's downtime does not count, and no lockout is longer than
its cap.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.errors import InvalidInput

__all__ = ["HOUR_S", "FailureOutcome", "Throttle", "ThrottleLimits", "wait_shown"]

HOUR_S = 3600.0
_STATE_VERSION = 2


def wait_shown(seconds: float) -> float:
    """A lockout's ``seconds`` left as the kiosk shows them (its status, a refusal's
    ``retry_after``): in tenths, rounded up, so that they read 0.0 only once the keypad
    accepts input again. A wait rounded to the nearest tenth said 0.0 up to 50 ms early,
    and whoever typed then was refused again."""
    if seconds <= 0:
        return 0.0
    # round() first: 20.000000000001 s of float noise is 20.0, not 20.1
    return max(0.1, math.ceil(round(seconds * 10, 6)) / 10)


@dataclass(frozen=True)
class ThrottleLimits:
    """A throttle's settings; ``failures_per_hour = 0`` sets no hourly limit."""

    free_attempts: int = 5
    initial_lockout_s: float = 30.0
    max_lockout_s: float = 1800.0
    alarm_per_hour: int = 20
    failures_per_hour: int = 0

    def __post_init__(self) -> None:
        if self.free_attempts < 1:
            raise ValueError("free_attempts must be at least 1")
        if not 0 < self.initial_lockout_s <= self.max_lockout_s:
            raise ValueError("need 0 < initial_lockout_s <= max_lockout_s")
        if self.alarm_per_hour < 1:
            raise ValueError("alarm_per_hour must be at least 1")
        if self.failures_per_hour < 0:
            raise ValueError("failures_per_hour must be 0 (no limit) or more")

    @property
    def longest_lockout_s(self) -> float:
        """The longest any lockout can last: the doubling's cap, or an hour with a limit."""
        return max(self.max_lockout_s, HOUR_S if self.failures_per_hour else 0.0)


@dataclass(frozen=True)
class FailureOutcome:
    """What one recorded failure did.

    ``locked_for`` is the length of the lockout this failure started (0.0 if none),
    ``failures_in_row`` the failures since the last success, and ``alarm`` is ``True``
    when this failure took the count of the last hour past the alarm threshold.
    ``at`` (when it was counted), ``locked_before`` and ``locked_after`` (the end of the
    lockout before and after it), all on the throttle's clock, let
    :meth:`Throttle.withdraw` take the failure back.
    """

    locked_for: float
    failures_in_row: int
    alarm: bool
    at: float = 0.0
    locked_before: float = 0.0
    locked_after: float = 0.0


class Throttle:
    """Lockouts for one keypad; see the module docstring."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        limits: ThrottleLimits | None = None,
        boot: str = "",
    ) -> None:
        self._clock = clock
        self.limits = limits or ThrottleLimits()
        self._boot = boot
        self._failures_in_row = 0
        self._since_lockout = 0  # failures in row since the last lockout ended
        self._lockouts = 0  # lockouts in this run: the doubling level
        self._locked_until = 0.0
        # Inputs (failures and refusals) of the last hour, for the alarm, and failures
        # alone, for the hourly limit; the newest threshold+1 are enough to tell.
        self._recent: deque[float] = deque(maxlen=self.limits.alarm_per_hour + 1)
        self._failed: deque[float] = deque(maxlen=max(1, self.limits.failures_per_hour))
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
        towards the hourly alarm, as :meth:`record_refusal`: it neither extends the
        lockout nor moves the run on.
        """
        now = self._clock()
        before = self._locked_until
        if now < before:
            alarm = self.record_refusal()
            return FailureOutcome(0.0, self._failures_in_row, alarm, now, before, before)
        alarm = self._count_for_alarm(now, failure=True)
        self._failures_in_row += 1
        self._since_lockout += 1
        locked_for = 0.0
        if self._since_lockout >= self.limits.free_attempts:
            locked_for = self._start_lockout(now)
        locked_for = max(locked_for, self._hourly_limit(now))
        after = self._locked_until
        return FailureOutcome(locked_for, self._failures_in_row, alarm, now, before, after)

    def record_refusal(self) -> bool:
        """Count an input refused unread during a lockout (towards the alarm only);
        whether it raised the alarm."""
        return self._count_for_alarm(self._clock(), failure=False)

    def record_success(self) -> None:
        """Clear the run of failures and the doubling level (not the hourly counts)."""
        self._failures_in_row = 0
        self._since_lockout = 0
        self._lockouts = 0

    def withdraw(self, outcome: FailureOutcome) -> None:
        """Take back a failure counted before its input was checked: it was right.

        Its place in the hourly counts is freed, and a lockout it started (and nothing
        since made longer) is lifted. The run is cleared as by :meth:`record_success`.
        """
        for times in (self._recent, self._failed):
            if outcome.at in times:
                times.remove(outcome.at)
        if outcome.alarm:
            self._alarm_armed = True
        if outcome.locked_for and self._locked_until == outcome.locked_after:
            self._locked_until = outcome.locked_before
        self.record_success()

    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot for the store; see :meth:`from_state`."""
        return {
            "version": _STATE_VERSION,
            "boot": self._boot,
            "saved_at": self._clock(),
            "failures_in_row": self._failures_in_row,
            "since_lockout": self._since_lockout,
            "lockouts": self._lockouts,
            "locked_until": self._locked_until,
            "recent": list(self._recent),
            "failed": list(self._failed),
            "alarm_armed": self._alarm_armed,
        }

    @property
    def in_run(self) -> bool:
        """Whether a run of failures is going on (a success would clear something)."""
        return bool(self._failures_in_row or self._since_lockout or self._lockouts)

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        clock: Callable[[], float] = time.monotonic,
        limits: ThrottleLimits | None = None,
        boot: str = "",
    ) -> Throttle:
        """A throttle restored from :meth:`to_state`, with the given clock and limits.

        Saved in this boot (``boot`` matches), the times are taken as they are; saved in
        another boot, each keeps the age it had when saved. A lockout never ends further
        ahead than the longest lockout the limits allow. A state of the first format
        (wall-clock times) is read as saved in another boot. Raises
        :class:`InvalidInput` for a state it cannot read.
        """
        throttle = cls(clock, limits, boot)
        try:
            throttle._restore(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"unreadable throttle state: {exc}") from None
        return throttle

    def _restore(self, state: Mapping[str, Any]) -> None:
        now = self._clock()
        shift = self._shift(state, now)
        self._failures_in_row = _non_negative_int(state["failures_in_row"])
        self._since_lockout = _non_negative_int(state["since_lockout"])
        self._lockouts = _non_negative_int(state["lockouts"])
        locked_until = _number(state["locked_until"]) + shift
        self._locked_until = min(locked_until, now + self.limits.longest_lockout_s)
        self._recent.extend(_times(state["recent"], shift, now))
        self._failed.extend(_times(state.get("failed", state["recent"]), shift, now))
        self._alarm_armed = bool(state["alarm_armed"])

    def _shift(self, state: Mapping[str, Any], now: float) -> float:
        """What to add to the saved times to put them on this throttle's clock."""
        version = state["version"]
        if version == 1:  # wall-clock times, saved before the clock was monotonic
            return now - time.time()
        if version != _STATE_VERSION:
            raise ValueError(f"version {version!r}")
        saved_at = _number(state["saved_at"])
        if state["boot"] == self._boot and self._boot and saved_at <= now:
            return 0.0
        return now - saved_at

    def _count_for_alarm(self, now: float, failure: bool) -> bool:
        if not self._over_alarm_threshold(now):
            self._alarm_armed = True
        self._recent.append(now)
        if failure:
            self._failed.append(now)
        if self._alarm_armed and self._over_alarm_threshold(now):
            self._alarm_armed = False
            return True
        return False

    def _over_alarm_threshold(self, now: float) -> bool:
        cap = self.limits.failures_per_hour
        return _in_last_hour(self._recent, now) > self.limits.alarm_per_hour or (
            cap > 0 and _in_last_hour(self._failed, now) >= cap
        )

    def _start_lockout(self, now: float) -> float:
        self._lockouts += 1
        self._since_lockout = 0
        doubled = self.limits.initial_lockout_s * 2.0 ** min(self._lockouts - 1, 64)
        locked_for = min(doubled, self.limits.max_lockout_s)
        self._locked_until = max(self._locked_until, now + locked_for)
        return locked_for

    def _hourly_limit(self, now: float) -> float:
        """Lock until the oldest failure of the hour is an hour old, once the hour holds
        ``failures_per_hour``; the length of that lockout (0.0: none)."""
        cap = self.limits.failures_per_hour
        if not cap or _in_last_hour(self._failed, now) < cap:
            return 0.0
        until = self._failed[-cap] + HOUR_S
        if until <= self._locked_until:
            return 0.0
        self._locked_until = until
        return until - now


def _in_last_hour(times: Iterable[float], now: float) -> int:
    return sum(1 for t in times if t > now - HOUR_S)


def _times(values: Iterable[Any], shift: float, now: float) -> list[float]:
    return [min(_number(t) + shift, now) for t in values]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _non_negative_int(value: Any) -> int:
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count, got {value!r}")
    return value
