"""The bound docs/security.md states for a code-guessing attacker, held by the code."""

from __future__ import annotations

from kiosk.throttle import Throttle

DAYS = 30
LIVE_PARCELS = 100
CODE_SPACE = 10**8  # 8 digits


def max_guesses(seconds: float) -> int:
    """Guesses an attacker gets in ``seconds`` typing as fast as the throttle allows."""
    now = [0.0]
    throttle = Throttle(lambda: now[0])
    guesses = 0
    while now[0] < seconds:
        wait = throttle.retry_after()
        if wait > 0:
            now[0] += wait
            continue
        throttle.record_failure()
        guesses += 1
        now[0] += 1.0  # one second to type eight digits and press OK, generously fast
    return guesses


def test_thirty_days_of_nonstop_guessing_get_at_most_7300_tries() -> None:
    assert max_guesses(DAYS * 86400) <= 7300


def test_chance_of_opening_any_door_in_thirty_days_is_below_one_percent() -> None:
    guesses = max_guesses(DAYS * 86400)
    p_miss_all = (1 - LIVE_PARCELS / CODE_SPACE) ** guesses
    assert 1 - p_miss_all < 0.0075
