"""The brute-force bound: what guessing at the screen is worth over 30 days.

One place for the arithmetic that ``docs/security.md`` states, that loading a config
holds the kiosk's settings to (refused above 1 %), and that
``tests/unit/test_security_bound.py`` checks against the real throttle.

The attacker types nonstop, one try a second (faster than a person can), for
:data:`DAYS` days.

**Pickup codes.** Only a code that opens a door ends a run of wrong codes, so the
attacker lives with the keypad's whole timeline (:func:`timeline_guesses`): runs of
``free_attempts`` tries, each followed by a lockout doubling up to its cap. With ``n``
live parcels among ``10**digits`` equally likely codes, each try finds one with
probability ``n / 10**digits``, and the chance that any of ``G`` tries does is::

    1 - (1 - n / 10**digits) ** G

**Staff sign-in.** A try names one person (their name, or their badge, which only
names them) and one PIN. The attacker is assumed to know every name and to be staff
themselves: signing in with their own PIN between guesses clears the doubling, so only
the hourly limit binds (:func:`hourly_guesses`). Each person's PIN is assumed equally
likely among the PINs :func:`kiosk.access.pins.check_new_pin` allows of the shortest length the
config allows (``space``). Whatever the number of people enrolled, ``G`` tries spread
over them as ``g_1 + g_2 + ... = G`` find somebody's PIN with a chance of at most::

    g_1 / space + g_2 / space + ... = G / space
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiosk.access.pins import weak_pins
from kiosk.access.throttle import HOUR_S, ThrottleLimits

__all__ = [
    "DAYS",
    "MAX_CHANCE",
    "SECONDS_PER_TRY",
    "Bound",
    "code_bound",
    "hourly_guesses",
    "pin_space",
    "sign_in_bound",
    "timeline_guesses",
]

DAYS = 30
SECONDS_PER_TRY = 1.0
MAX_CHANCE = 0.01
"""The most a setting may leave an attacker: config loading refuses more."""


@dataclass(frozen=True)
class Bound:
    """``guesses`` in :data:`DAYS` days among ``space`` values, ``targets`` of them right
    (live codes; 1 for one person's PIN); ``chance`` that a guess finds one."""

    guesses: int
    space: int
    targets: int
    chance: float

    @property
    def percent(self) -> str:
        """The chance as docs and messages write it: ``0.72 %``."""
        shown = self.chance * 100
        return f"{shown:.2g} %" if shown < 0.1 else f"{shown:.2f} %"

    @property
    def too_high(self) -> bool:
        return self.chance > MAX_CHANCE


def timeline_guesses(
    limits: ThrottleLimits, seconds: float = DAYS * 86400, per_try: float = SECONDS_PER_TRY
) -> int:
    """Tries the keypad's timeline lets through in ``seconds`` when no success ever
    clears the run: run k is ``free_attempts`` tries and a lockout of
    ``min(initial * 2**(k-1), max)`` from the last of them; the hourly limit, if any,
    can only lower this."""
    free, t, guesses, k = limits.free_attempts, 0.0, 0, 0
    while t < seconds:
        k += 1
        lockout = min(limits.initial_lockout_s * 2.0 ** min(k - 1, 64), limits.max_lockout_s)
        run = (free - 1) * per_try + max(lockout, per_try)
        if lockout >= limits.max_lockout_s:  # every run from here on is the same
            full, rest = divmod(seconds - t, run)
            guesses += int(full) * free + min(free, math.ceil(rest / per_try))
            break
        guesses += min(free, math.ceil((seconds - t) / per_try))
        t += run
    if limits.failures_per_hour:
        guesses = min(guesses, hourly_guesses(limits, seconds, per_try))
    return guesses


def hourly_guesses(
    limits: ThrottleLimits, seconds: float = DAYS * 86400, per_try: float = SECONDS_PER_TRY
) -> int:
    """Tries in ``seconds`` when successes clear every run: at most ``failures_per_hour``
    in any hour (a burst at the start of each), or one per ``per_try`` without a limit."""
    if not limits.failures_per_hour:
        return math.ceil(seconds / per_try)
    burst = min(limits.failures_per_hour, math.ceil(HOUR_S / per_try))
    hours, rest = divmod(seconds, HOUR_S)
    return int(hours) * burst + min(burst, math.ceil(rest / per_try))


def pin_space(digits: int) -> int:
    """How many PINs of ``digits`` digits a person may have."""
    return 10**digits - len(weak_pins(digits))


def code_bound(limits: ThrottleLimits, digits: int, live_parcels: int) -> Bound:
    """The chance to open a door by guessing codes for :data:`DAYS` days."""
    guesses = timeline_guesses(limits)
    space = 10**digits
    chance = -math.expm1(guesses * math.log1p(-min(live_parcels, space) / space))
    return Bound(guesses, space, live_parcels, chance)


def sign_in_bound(limits: ThrottleLimits, pin_digits: int) -> Bound:
    """The chance to sign in as anybody enrolled by guessing for :data:`DAYS` days."""
    guesses = hourly_guesses(limits)
    space = pin_space(pin_digits)
    return Bound(guesses, space, 1, min(1.0, guesses / space))
